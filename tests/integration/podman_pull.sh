#!/usr/bin/env bash
# The CRI-O/podman registries.conf that `outpost node-config --format crio` writes, used verbatim by
# the runtime that reads it: `podman pull` (private storage, vfs, no systemd) of upstream.test and
# docker.io images through Outpost in front of a docker-registry origin. Each registry's own
# location (upstream.test, docker.io) is unreachable here: podman's HTTP(S) proxy is a closed
# loopback port and Go sends everything but loopback through it, so only the mirror entry, Outpost,
# can answer. Online the pulls are served through Outpost with the origin's digests; with the origin
# stopped the removed images pull again from Outpost's cache, and an image Outpost never saw fails
# with a clear error naming the mirror.
source "$(dirname "$0")/lib.sh"

command -v podman >/dev/null || die "podman is not installed (scripts/install-deps.sh --test)"

start_registry up
python3 "$TOOLS/make_image.py" "$T/layout" v1 --layer-mb 1 --layers 2 >/dev/null
python3 "$TOOLS/make_image.py" "$T/layout" never --layer-mb 1 --layers 1 --seed never >/dev/null
push_image "$T/layout" v1 "$up_PORT" test/app
push_image "$T/layout" v1 "$up_PORT" library/app  # docker.io/app:v1 is docker.io/library/app:v1
push_image "$T/layout" never "$up_PORT" test/app  # at the origin, never pulled through Outpost
up_digest() {  # up_digest REPO TAG: the manifest digest the origin serves
  curl -sfI -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    "http://127.0.0.1:$up_PORT/v2/$1/manifests/$2" | tr -d '\r' | sed -n 's/^docker-content-digest: //Ip'
}
v1_digest=$(up_digest test/app v1)
app_digest=$(up_digest library/app v1)
[[ $v1_digest == sha256:* && $app_digest == sha256:* ]] || die "no digests for test/app:v1 and library/app:v1 at the origin"

OP=$(free_port)
write_outpost_config "$T/outpost.yaml" "$OP" "$T/data" upstream.test "http://127.0.0.1:$up_PORT"
printf '    - name: docker.io\n      url: http://127.0.0.1:%s\n      insecure: true\n' "$up_PORT" >>"$T/outpost.yaml"
start_outpost op "$T/outpost.yaml"

# Without --config node-config knows upstream.test only by name, so its location is
# upstream.test, a name that does not resolve; docker.io is Docker Hub's.
"$OUTPOST_BIN" node-config --server "http://127.0.0.1:$OP" --registries upstream.test,docker.io --format crio \
  --out "$T/nodecfg" 2>"$T/node-config.log" || die "node-config failed: $(cat "$T/node-config.log")"
REGCONF=$T/nodecfg/crio/50-outpost.conf
[[ -f $REGCONF ]] || die "node-config wrote no crio/50-outpost.conf: $(cat "$T/node-config.log")"
log "registries.conf from node-config:"$'\n'"$(cat "$REGCONF")"
grep -qx 'location = "upstream.test"' "$REGCONF" || die "unexpected upstream.test location in $REGCONF"
grep -qx "location = \"127.0.0.1:$OP/upstream.test\"" "$REGCONF" || die "no Outpost mirror for upstream.test in $REGCONF"

# podman with everything private to this test: storage (vfs: no mounts), run and tmp dirs, events
# file, network config, containers.conf, storage.conf, home/XDG dirs, and node-config's file as its
# registries.conf (podman 4.3 has no variable for the drop-in dir: /etc/containers/registries.conf.d
# is still read, Debian's shortnames.conf aliases, which fully qualified names never use). Like
# skopeo in every test, podman as root notes blob locations in /var/lib/containers/cache. The
# signature policy accepts anything (what the images carry is not the point here).
PD=$T/podman
mkdir -p "$PD"/{storage,run,libpod-tmp,tmp,home,config,data,cache,runtime,networks}
chmod 700 "$PD/runtime"
cat >"$PD/storage.conf" <<TOML
[storage]
driver = "vfs"
runroot = "$PD/run"
graphroot = "$PD/storage"
TOML
cat >"$PD/containers.conf" <<TOML
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$PD/events.log"
tmp_dir = "$PD/libpod-tmp"
[network]
network_config_dir = "$PD/networks"
TOML
GUARD=$(free_port)  # nothing listens there: any non-loopback connection podman tries fails
podman_() {
  env HOME="$PD/home" XDG_CONFIG_HOME="$PD/config" XDG_DATA_HOME="$PD/data" XDG_CACHE_HOME="$PD/cache" \
    XDG_RUNTIME_DIR="$PD/runtime" TMPDIR="$PD/tmp" CONTAINERS_CONF="$PD/containers.conf" \
    CONTAINERS_STORAGE_CONF="$PD/storage.conf" CONTAINERS_REGISTRIES_CONF="$REGCONF" \
    HTTP_PROXY="http://127.0.0.1:$GUARD" HTTPS_PROXY="http://127.0.0.1:$GUARD" NO_PROXY= \
    http_proxy= https_proxy= no_proxy= \
    podman --root "$PD/storage" --runroot "$PD/run" --storage-driver vfs --cgroup-manager cgroupfs \
    --events-backend file --tmpdir "$PD/libpod-tmp" --network-config-dir "$PD/networks" "$@"
}
pull() {  # pull REF LABEL: podman pull, its output in $T/LABEL.pull
  podman_ pull --signature-policy "$T/policy.json" "$1" >"$T/$2.pull" 2>&1
}
digest_of() { podman_ image inspect --format '{{.Digest}}' "$1"; }
cache() { metric "outpost_registry_cache_total{kind=\"$1\",result=\"$2\"}" "$OP"; }

log "online: podman pulls upstream.test/test/app:v1 and docker.io/app:v1 through Outpost"
misses=$(cache manifest miss)
gets=$(upstream_gets "$T/up.log" /manifests/)
pull upstream.test/test/app:v1 online-upstream || die "online pull of upstream.test/test/app:v1: $(cat "$T/online-upstream.pull")"
pull docker.io/app:v1 online-dockerio || die "online pull of docker.io/app:v1: $(cat "$T/online-dockerio.pull")"
[[ $(digest_of upstream.test/test/app:v1) == "$v1_digest" ]] ||
  die "upstream.test/test/app:v1 digest $(digest_of upstream.test/test/app:v1) is not the origin's $v1_digest"
[[ $(digest_of docker.io/library/app:v1) == "$app_digest" ]] ||
  die "docker.io/app:v1 digest $(digest_of docker.io/library/app:v1) is not the origin's $app_digest"
(($(cache manifest miss) >= misses + 2)) || die "Outpost counted no manifest misses for the pulls"
(($(upstream_gets "$T/up.log" /manifests/) > gets)) || die "the origin served no manifest"
(($(cache blob miss) > 0)) || die "Outpost fetched no blob for podman"
for path in upstream.test/test/app docker.io/library/app; do
  grep -q "\"GET /v2/$path/manifests/v1\" 200" "$T/op.log" || die "Outpost's log shows no pull of $path:v1"
done
log "online pulls ok: $v1_digest (Outpost manifest misses $misses -> $(cache manifest miss))"

log "origin stopped: the removed images pull again from Outpost's cache"
stop_pid "$up_PID"
podman_ rmi upstream.test/test/app:v1 docker.io/library/app:v1 >"$T/rmi.log" 2>&1 || die "podman rmi: $(cat "$T/rmi.log")"
[[ -z $(podman_ images -q) ]] || die "images left after rmi: $(podman_ images)"
hits=$(cache blob hit)
pull upstream.test/test/app:v1 offline-upstream || die "offline pull of upstream.test/test/app:v1: $(cat "$T/offline-upstream.pull")"
pull docker.io/app:v1 offline-dockerio || die "offline pull of docker.io/app:v1: $(cat "$T/offline-dockerio.pull")"
[[ $(digest_of upstream.test/test/app:v1) == "$v1_digest" ]] || die "offline upstream.test digest differs from the origin's"
[[ $(digest_of docker.io/library/app:v1) == "$app_digest" ]] || die "offline docker.io digest differs from the origin's"
(($(cache blob hit) > hits)) || die "Outpost counted no blob hits for the offline pulls"
log "offline pulls ok (Outpost blob hits $hits -> $(cache blob hit))"

log "origin stopped: an image Outpost never saw fails with a clear error"
if pull upstream.test/test/app:never never; then
  die "upstream.test/test/app:never was pulled with the origin stopped: $(cat "$T/never.pull")"
fi
log "podman: $(tail -n 1 "$T/never.pull")"
grep -q "127.0.0.1:$OP/upstream.test/test/app:never: .*manifest unknown" "$T/never.pull" ||
  die "the error does not name the Outpost mirror's answer: $(cat "$T/never.pull")"
# ...and podman's direct attempt at upstream.test went nowhere but the closed proxy port.
grep -q "127.0.0.1:$GUARD" "$T/never.pull" || die "podman's direct attempt did not meet the guard: $(cat "$T/never.pull")"
[[ -z $(podman_ images -q --filter reference=upstream.test/test/app:never) ]] || die "app:never is in podman's storage"
[[ -z $(podman_ ps -aq) ]] || die "podman made a container"
# Storage goes with $T: vfs mounts nothing, and pull starts no conmon (lib.sh checks for processes).
! grep -qF "$T" /proc/self/mountinfo || die "podman left mounts: $(grep -F "$T" /proc/self/mountinfo)"
log "ok"
