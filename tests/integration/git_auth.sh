#!/usr/bin/env bash
# A Git upstream that needs credentials (nginx basic auth in front of http-backend): Outpost
# mirrors it with username/password_file; clients need none; the secret is in no log, no argv,
# no mirror config file.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/git_lib.sh"

SECRET="git-s3cret-$RANDOM$RANDOM"
start_private_git_upstream "$SECRET"
make_manifest_repo org/private
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$GIT_UP_PORT/org/private.git/info/refs?service=git-upload-pack")
[[ $code == 401 ]] || die "upstream does not require auth ($code)"

OP=$(free_port)
write_git_outpost_config "$T/outpost.yaml" "$OP" "$T/data"
upstream_credentials "$T/outpost.yaml" "$SECRET"
start_outpost op "$T/outpost.yaml"
VIA=http://127.0.0.1:$OP/git/git.test/org/private.git

git ls-remote "$VIA" >"$T/refs" || die "ls-remote of a private upstream"
git clone -q "$VIA" "$T/clone" || die "clone of a private upstream"
[[ $(git -C "$T/clone" rev-parse HEAD) == $(git -C "$T/work/org/private" rev-parse HEAD) ]] || die "wrong HEAD"
secret_in_no_log "$SECRET" "$T/op.log" "$T/data/git"
log "ok"
