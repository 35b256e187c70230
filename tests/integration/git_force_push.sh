#!/usr/bin/env bash
# Upstream force-pushes away commit X and deletes a branch. After Outpost syncs (triggered by a
# webhook), its advertised refs match upstream's new state, yet X stays fetchable by SHA.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/git_lib.sh"

start_git_upstream
make_manifest_repo org/app
OP=$(free_port)
ARGO=$(free_port)
python3 "$TOOLS/webhook_sink.py" "$ARGO" "$T/argocd.jsonl" &
PIDS+=("$!")
printf 'hook-secret\n' >"$T/secret"
write_git_outpost_config "$T/outpost.yaml" "$OP" "$T/data" "sync_interval: 1h" \
  "argocd_webhook: http://127.0.0.1:$ARGO/api/webhook" "public_url: http://127.0.0.1:$OP" \
  "webhook_secret_file: $T/secret"
start_outpost op "$T/outpost.yaml"
VIA=http://127.0.0.1:$OP/git/git.test/org/app.git
DIRECT=http://127.0.0.1:$GIT_UP_PORT/org/app.git
API=http://127.0.0.1:$OP/api/v1/git/webhook

git clone -q "$VIA" "$T/client"
x=$(git -C "$T/work/org/app" rev-parse main)
fx=$(git -C "$T/work/org/app" rev-parse feature)
log "X = $x (main), feature = $fx"

log "webhook: a new commit shows up at once (sync_interval is 1h)"
new=$(commit_upstream org/app "webhook test")
payload="{\"repository\":{\"clone_url\":\"http://127.0.0.1:$GIT_UP_PORT/org/app.git\"}}"
code=$(curl -s -o /dev/null -w '%{http_code}' -d "$payload" "$API")
[[ $code == 401 ]] || die "unsigned webhook gave $code"
sig=$(printf '%s' "$payload" | openssl dgst -sha256 -hmac hook-secret | awk '{print $NF}')
code=$(curl -s -o "$T/hook.out" -w '%{http_code}' -H 'Content-Type: application/json' -H 'X-GitHub-Event: push' \
  -H "X-Hub-Signature-256: sha256=$sig" -d "$payload" "$API")
[[ $code == 202 ]] || die "webhook gave $code: $(cat "$T/hook.out")"
for _ in $(seq 100); do git ls-remote "$VIA" refs/heads/main | grep_q "$new" && break; sleep 0.05; done
git ls-remote "$VIA" refs/heads/main | grep_q "$new" || die "webhook did not sync"
log "Argo CD was notified with a push event naming Outpost's URL"
for _ in $(seq 50); do [[ -s $T/argocd.jsonl ]] && break; sleep 0.1; done
python3 - "$T/argocd.jsonl" "$new" "http://127.0.0.1:$OP/git/git.test/org/app" <<'PYCHECK' || die "Argo CD notification: $(cat "$T/argocd.jsonl" 2>/dev/null)"
import hashlib, hmac, json, sys
events = [json.loads(l) for l in open(sys.argv[1])]
e = [e for e in events if json.loads(e["body"])["after"] == sys.argv[2]][0]
p = json.loads(e["body"])
assert e["path"] == "/api/webhook" and e["headers"]["X-GitHub-Event"] == "push", e
assert p["ref"] == "refs/heads/main" and p["repository"]["html_url"] == sys.argv[3], p
want = "sha256=" + hmac.new(b"hook-secret", e["body"].encode(), hashlib.sha256).hexdigest()
assert e["headers"]["X-Hub-Signature-256"] == want, e["headers"]
PYCHECK

log "force-push dropping X and $new, delete branch feature"
git -C "$T/work/org/app" reset -q --hard HEAD~3
git -C "$T/work/org/app" commit -q --allow-empty -m "rewritten history"
git -C "$T/work/org/app" push -q --force origin main
git -C "$T/work/org/app" push -q origin :feature
git -C "$GIT_SRV/org/app.git" reflog expire --expire=now --all
git -C "$GIT_SRV/org/app.git" gc -q --prune=now
git -C "$GIT_SRV/org/app.git" cat-file -e "$x^{commit}" 2>/dev/null && die "upstream still has X"
body='{"repo":"git.test/org/app"}'
curl -sf -o /dev/null -H "X-Gitlab-Token: hook-secret" -d "$body" "$API" || die "generic webhook (GitLab token)"
want=$(git ls-remote "$DIRECT" | sort)
for _ in $(seq 100); do [[ $(git ls-remote "$VIA" | sort) == "$want" ]] && break; sleep 0.05; done
diff <(git ls-remote "$VIA" | sort) <(echo "$want") || die "advertised refs do not match upstream"
git ls-remote "$VIA" | grep_q refs/outpost && die "hidden refs are advertised"

for v in 0 2; do
  log "fetch X by SHA through Outpost after it vanished upstream (protocol v$v)"
  rm -rf "$T/x$v"
  git init -q "$T/x$v"
  git -C "$T/x$v" -c protocol.version=$v fetch -q "$VIA" "$x" || die "X lost (v$v)"
  git -C "$T/x$v" -c protocol.version=$v fetch -q "$VIA" "$fx" || die "deleted branch tip lost (v$v)"
  git -C "$T/x$v" cat-file -e "$x^{commit}" || die "X not received"
done
log "the existing clone fetches the rewritten history with --prune"
git -C "$T/client" fetch -q origin --tags --force --prune || die "fetch after force-push"
git -C "$T/client" rev-parse -q --verify origin/feature >/dev/null && die "deleted branch not pruned"

log "webhook for an unknown repository: 404, nothing created"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Gitlab-Token: hook-secret" -d '{"repo":"git.test/org/other"}' "$API")
[[ $code == 404 ]] || die "unknown repo webhook gave $code"
[[ ! -e $T/data/git/git.test/org/other.git ]] || die "webhook created a mirror"
log "ok"
