# Git test upstream: git http-backend behind nginx + fcgiwrap, serving bare repos under
# $T/srv. Source after lib.sh.

# start_git_upstream: sets GIT_UP_PORT; the repos live in $GIT_SRV (add with make_manifest_repo)
start_git_upstream() {
  GIT_SRV=$T/srv
  mkdir -p "$GIT_SRV"
  fcgiwrap -s "unix:$T/fcgi.sock" >"$T/fcgiwrap.log" 2>&1 &
  PIDS+=("$!")
  for _ in $(seq 50); do [[ -S $T/fcgi.sock ]] && break; sleep 0.1; done
  GIT_UP_PORT=$(free_port)
  NGINX_HOST=${GIT_UP_HOST:-127.0.0.1} start_nginx gitnginx "$GIT_UP_PORT" 1 "  access_log $T/git-upstream.log;
  client_max_body_size 0;
  server {
    listen ${GIT_UP_HOST:-127.0.0.1}:$GIT_UP_PORT;
    location / {
      ${GIT_UP_AUTH:-}
      fastcgi_pass unix:$T/fcgi.sock;
      include /etc/nginx/fastcgi_params;
      fastcgi_param SCRIPT_FILENAME /usr/lib/git-core/git-http-backend;
      fastcgi_param GIT_PROJECT_ROOT $GIT_SRV;
      fastcgi_param GIT_HTTP_EXPORT_ALL \"\";
      fastcgi_param PATH_INFO \$uri;
      fastcgi_param GIT_PROTOCOL \$http_git_protocol;
    }
  }"
  GIT_UP_PID=$gitnginx_PID
}
# start_app_upstreams LAYERS: the registry `up` with test/app:v1 (LAYERS layers of 1 MB) and the Git
# upstream with the manifest repository org/app.
start_app_upstreams() {
  start_registry up
  push_test_image test/app v1 1 "$1"
  start_git_upstream
  make_manifest_repo org/app
}
stop_git_upstream() { stop_pid "$GIT_UP_PID"; }
# start_private_git_upstream SECRET: start_git_upstream behind nginx basic auth (user robot,
# password SECRET).
start_private_git_upstream() {
  htpasswd -bc "$T/git.htpasswd" robot "$1" 2>/dev/null
  GIT_UP_AUTH="auth_basic \"git\"; auth_basic_user_file $T/git.htpasswd;"
  start_git_upstream
}
restart_git_upstream() {
  restart_nginx gitnginx "$GIT_UP_PORT"
  GIT_UP_PID=$gitnginx_PID
}

export GIT_AUTHOR_NAME=test GIT_AUTHOR_EMAIL=test@example.com GIT_COMMITTER_NAME=test \
  GIT_COMMITTER_EMAIL=test@example.com GIT_CONFIG_NOSYSTEM=1 HOME=$T
git config --global init.defaultBranch main
git config --global protocol.file.allow always
git config --global advice.detachedHead false

# make_manifest_repo NAME: $GIT_SRV/NAME.git with Kubernetes YAML history, tags v1 v2, branches
# main and feature; the working clone stays in $T/work/NAME for later pushes.
make_manifest_repo() {
  local name=$1 w=$T/work/$1
  mkdir -p "$w" "$(dirname "$GIT_SRV/$name.git")"
  git init -q "$w"
  for i in 1 2 3 4 5; do
    mkdir -p "$w/apps/app$i"
    cat >"$w/apps/app$i/deployment.yaml" <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: {name: app$i}
spec:
  template:
    spec:
      containers:
        - name: app
          image: registry.test/app$i:1.$i
YAML
    head -c 20000 /dev/urandom | base64 >"$w/apps/app$i/blob.txt"
    git -C "$w" add -A
    git -C "$w" commit -qm "app$i"
    [[ $i == 2 ]] && git -C "$w" tag -a v1 -m v1
    [[ $i == 4 ]] && git -C "$w" tag v2
  done
  git -C "$w" branch feature HEAD~1
  git clone -q --bare "$w" "$GIT_SRV/$name.git"
  git -C "$GIT_SRV/$name.git" config http.receivepack false
  git -C "$GIT_SRV/$name.git" config uploadpack.allowFilter true
  git -C "$GIT_SRV/$name.git" config uploadpack.allowReachableSHA1InWant true
  git -C "$w" remote add origin "$GIT_SRV/$name.git"
}

# commit_upstream NAME MESSAGE: a new commit on main, pushed to the upstream bare repo
commit_upstream() {
  local w=$T/work/$1
  echo "$2 $(date +%s%N)" >>"$w/apps/app1/notes.txt"
  git -C "$w" add -A
  git -C "$w" commit -qm "$2"
  git -C "$w" push -q origin main
  git -C "$w" rev-parse HEAD
}

# wait_advertised URL SHA [SECONDS]: until URL advertises SHA as refs/heads/main (bounded:
# SECONDS, default 20); false when it never does.
wait_advertised() {
  local _
  for _ in $(seq $((${3:-20} * 10))); do
    [[ $(git ls-remote "$1" refs/heads/main | cut -f1) == "$2" ]] && return 0
    sleep 0.1
  done
  return 1
}

# write_git_outpost_config FILE PORT DATA [extra git yaml lines]
write_git_outpost_config() {
  local file=$1 port=$2 data=$3
  shift 3
  {
    echo "listen: 127.0.0.1:$port"
    echo "data_dir: $data"
    echo "git:"
    echo "  breaker_min_backoff: 500ms"
    echo "  breaker_max_backoff: 2s"
    for l in "$@"; do echo "  $l"; done
    echo "  upstreams:"
    echo "    - host: git.test"
    echo "      url: http://127.0.0.1:$GIT_UP_PORT"
    echo "      insecure: true"
  } >"$file"
}

# build_gogit: compiles tests/tools/gogit_client against Debian's go-git (GOPATH mode, offline).
# Sets GOGIT to the binary.
build_gogit() {
  local gp=$T/gopath
  mkdir -p "$gp/src/gogit_client"
  cp "$TOOLS/gogit_client/main.go" "$gp/src/gogit_client/"
  # Debian ships modules at their GOPATH paths without the /vN suffix; GOPATH mode needs it.
  local gm d mod
  for gm in $(find /usr/share/gocode/src -maxdepth 4 -name go.mod); do
    d=$(dirname "$gm")
    mod=$(awk '/^module /{print $2; exit}' "$gm")
    if [[ $mod =~ /v[0-9]+$ ]]; then
      mkdir -p "$gp/src/$(dirname "$mod")"
      ln -sfn "$d" "$gp/src/$mod"
    fi
  done
  (cd "$gp/src/gogit_client" &&
    GO111MODULE=off GOPATH="$gp:/usr/share/gocode" GOCACHE="${GO_CACHE_DIR:-$T/gocache}" GOFLAGS= \
      go build -o "$T/gogit" .) || die "building the go-git client failed"
  GOGIT=$T/gogit
}
