#!/usr/bin/env bash
# Installs what Outpost needs to build, run and test on Debian 12 (bookworm).
# Idempotent: packages already present are skipped; apt-get update runs only when needed.
#   scripts/install-deps.sh          build + runtime dependencies
#   scripts/install-deps.sh --test   also the real peers the tests drive
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)

build_pkgs=(
  ca-certificates build-essential cmake ninja-build pkg-config git
  libboost1.81-all-dev libboost-url1.81-dev libyaml-dev libcurl4-openssl-dev libssl-dev libsqlite3-dev
  libyaml-cpp-dev nlohmann-json3-dev libcli11-dev libspdlog-dev libfmt-dev
  libarchive-dev libzstd-dev zlib1g-dev libtomlplusplus-dev libpugixml-dev libpq-dev
)
test_pkgs=(
  libgtest-dev libgmock-dev libbenchmark-dev
  docker-registry skopeo podman containerd nginx fcgiwrap curl python3 procps iproute2 apache2-utils
  golang-go golang-github-go-git-go-git-dev python3-yaml
  ceph-mon ceph-osd radosgw ceph-common postgresql
  chromium clang-16 libclang-rt-16-dev universal-ctags
)

want=("${build_pkgs[@]}")
[[ "${1:-}" == "--test" ]] && want+=("${test_pkgs[@]}")

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep "install ok installed" >/dev/null || missing+=("$p")
done
# kubectl renders the kustomize manifests in the tests; Debian's kubernetes-client provides it
# where no kubectl is installed already.
if [[ "${1:-}" == "--test" ]] && ! command -v kubectl >/dev/null; then missing+=(kubernetes-client); fi
# Node.js and npm run the browser tool in tests/tools/browser. Debian's nodejs and npm come in only
# where there is no node or npm yet: NodeSource's nodejs bundles npm and conflicts with Debian's.
if [[ "${1:-}" == "--test" ]]; then
  command -v node >/dev/null || missing+=(nodejs)
  command -v npm >/dev/null || missing+=(npm)
fi
if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#want[@]} packages present"
else
  sudo=()
  [[ $(id -u) -ne 0 ]] && sudo=(sudo)
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # The distro starts these services on install; the tests run their own instances.
  for svc in docker-registry nginx containerd; do
    if command -v systemctl >/dev/null && systemctl is-active --quiet "$svc" 2>/dev/null; then
      "${sudo[@]}" systemctl stop "$svc" || true
    fi
  done
fi

# Debian's kubectl 1.20 (kustomize v2.0.3) renders the deploy overlays in the tests beside any
# newer kubectl, since an operator's kubectl can be that old. Where no kubectl was installed it is
# the kubectl (above); where another one is, Debian's package is unpacked here, not installed.
old_kubectl_dir=/opt/outpost-test/kubernetes-client
if [[ "${1:-}" == "--test" ]] && ! dpkg-query -W -f='${Status}' kubernetes-client 2>/dev/null |
  grep "install ok installed" >/dev/null && [[ ! -x $old_kubectl_dir/usr/bin/kubectl ]]; then
  echo "install-deps: unpacking Debian's kubernetes-client into $old_kubectl_dir"
  dl=$(mktemp -d)
  sudo=()
  [[ $(id -u) -ne 0 ]] && sudo=(sudo)
  (cd "$dl" && { apt-get download kubernetes-client >/dev/null 2>&1 ||
    { "${sudo[@]}" apt-get update -qq && apt-get download kubernetes-client >/dev/null 2>&1; }; })
  "${sudo[@]}" mkdir -p "$old_kubectl_dir"
  "${sudo[@]}" dpkg-deb -x "$dl"/kubernetes-client_*.deb "$old_kubectl_dir"
  rm -rf "$dl"
fi

# The browser tool's npm packages (playwright-core, pinned by package-lock.json; it drives the
# chromium above and downloads no browser of its own).
browser_dir="$root/tests/tools/browser"
if [[ "${1:-}" == "--test" && ! -d "$browser_dir/node_modules" ]]; then
  echo "install-deps: installing npm packages in tests/tools/browser"
  npm ci --prefix "$browser_dir" --no-audit --no-fund --loglevel=error >/dev/null
fi
echo "install-deps: done"
