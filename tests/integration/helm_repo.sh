#!/usr/bin/env bash
# Helm chart repositories through Outpost: a classic repository served as static files by nginx
# (index.yaml with absolute and relative chart URLs). Through Outpost the index parses, every chart
# URL points at Outpost, every chart downloads byte-identical and matches its digest, fetched once
# for many clients. With nginx stopped the index and fetched charts are still served and a
# never-fetched chart fails fast. Hostile paths, hosts and index URLs are refused and not followed.
source "$(dirname "$0")/lib.sh"

WP=$(free_port)
start_chart_repo "$WP" "http://127.0.0.1:$WP"
OP=$(free_port)
write_outpost_config "$T/serve.yaml" "$OP" "$T/data" upstream.test "http://127.0.0.1:9"
# refresh_interval 1s: stale at once, so requests refresh within the budget or serve the copy
helm_yaml "http://127.0.0.1:$WP" "refresh_interval: 1s" "fetch_timeout: 5s" \
  "breaker_min_backoff: 500ms" "breaker_max_backoff: 2s" >>"$T/serve.yaml"
start_outpost op "$T/serve.yaml"
REPO="http://127.0.0.1:$OP/helm/charts.test/stable"

log "the index parses and every chart URL points at Outpost"
curl -sf "$REPO/index.yaml" -o "$T/index.yaml" || die "no index through Outpost"
python3 - "$T/index.yaml" "$REPO/" "$T/www/stable/expected.json" <<'PY' || die "served index is wrong"
import json, sys, urllib.parse, yaml
idx = yaml.safe_load(open(sys.argv[1]))
base, expected = sys.argv[2], json.load(open(sys.argv[3]))
urls = {}
for name, versions in idx["entries"].items():
    for e in versions:
        assert len(e["urls"]) == 1, e
        u = urllib.parse.urljoin(base, e["urls"][0])
        assert u.startswith(base + "charts/"), u
        urls[f'{e["name"]}-{e["version"]}.tgz'] = u
for f in expected:
    assert f in urls, (f, sorted(urls))
assert "../escape" not in idx["entries"], "hostile chart name served"
assert idx["entries"]["nginx"][0]["deprecated"] is True, "types not kept"
print(len(urls), "charts listed")
PY

log "every chart downloads byte-identical and matches the index digest; 10 clients, 1 upstream GET"
python3 -c 'import json,sys; [print(k, v["sha256"], v["source"]) for k, v in json.load(open(sys.argv[1])).items()]' \
  "$T/www/stable/expected.json" >"$T/expected.txt"
while read -r file sha src; do
  pids=()
  for i in $(seq 10); do curl -sf "$REPO/charts/$file" -o "$T/got-$file.$i" & pids+=($!); done
  wait "${pids[@]}"
  for i in $(seq 10); do
    cmp -s "$T/www/$src" "$T/got-$file.$i" || die "$file (client $i) differs from upstream"
  done
  [[ $(sha256sum <"$T/got-$file.1" | cut -d' ' -f1) == "$sha" ]] || die "$file digest"
  gets=$(grep -c "GET /$src " "$T/charts-access.log" || true)
  [[ $gets == 1 ]] || die "$file fetched $gets times upstream"
done <"$T/expected.txt"

log "bad input: hostile paths, an unknown host, a chart on another host, a wrong digest"
code() { curl -s --path-as-is -o "$T/body" -w '%{http_code}' "$@"; }
upstream_files() { grep -vc 'GET /stable/index.yaml' "$T/charts-access.log" || true; }  # (refreshes aside)
before=$(upstream_files)
for p in "/helm/charts.test/../etc/index.yaml" "/helm/charts.test/-x/index.yaml" \
  "/helm/charts.test/stable/charts/..%2f..%2fescape.tgz" "/helm/charts.test/stable/charts/a;b.tgz" \
  "/helm/charts.test/.git/index.yaml" "/helm/charts.test/stable/other.txt"; do
  c=$(code "http://127.0.0.1:$OP$p")
  [[ $c == 400 || $c == 404 ]] || die "$p got HTTP $c"
done
c=$(code "http://127.0.0.1:$OP/helm/evil.test/x/index.yaml")
[[ $c == 404 ]] && grep -q 'not in helm.upstreams' "$T/body" || die "unknown host: $c $(cat "$T/body")"
c=$(code "$REPO/charts/evil-6.6.6.tgz")
[[ $c == 403 ]] && grep -q 'not in helm.upstreams: not followed' "$T/body" || die "foreign chart URL: $c $(cat "$T/body")"
c=$(code -X DELETE "$REPO/index.yaml")
[[ $c == 405 ]] || die "DELETE got $c"
[[ $(upstream_files) == "$before" ]] || die "bad requests reached the upstream"
c=$(code "$REPO/charts/bad-1.0.0.tgz")
[[ $c == 502 ]] && grep -q "does not match the index's digest" "$T/body" || die "wrong digest: $c $(cat "$T/body")"
[[ -z $(ls -A "$T/data/tmp") ]] || die "a bad chart left temp files"

log "a bundle carries the charts Argo CD Applications install (and --chart ones)"
mkdir -p "$T/apps"
cat >"$T/apps/apps.yaml" <<YAML
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: cache}
spec:
  source: {repoURL: "$REPO", chart: redis, targetRevision: 18.1.0}
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: shop}
spec:
  sources:
    - {repoURL: "http://127.0.0.1:$WP/stable", chart: app, targetRevision: 0.1.0}
    - {repoURL: "https://example.invalid/manifests.git", path: shop}
YAML
"$OUTPOST_BIN" images --charts "$T/apps" >"$T/charts.txt" || die "images --charts"
[[ $(wc -l <"$T/charts.txt") == 2 ]] || die "charts found: $(cat "$T/charts.txt")"
write_outpost_config "$T/create.yaml" "$(free_port)" "$T/create-data" upstream.test "http://127.0.0.1:9"
sed -n '/^helm:/,$p' "$T/serve.yaml" >>"$T/create.yaml"
"$OUTPOST_BIN" bundle create --config "$T/create.yaml" --name shop --version v1 --images-from "$T/apps" \
  --chart 'charts.test/stable/nginx:1.2.3+build.1' -o "$T/charts.tar" 2>"$T/create.log" ||
  die "bundle create with charts: $(cat "$T/create.log")"
grep -q '3 charts' "$T/create.log" || die "not 3 charts: $(cat "$T/create.log")"

log "upstream stopped: the index and fetched charts are still served; a never-fetched chart fails fast"
stop_pid "$charts_PID"
curl -sf -D "$T/headers" "$REPO/index.yaml" -o "$T/index-offline.yaml" || die "index offline"
cmp -s "$T/index.yaml" "$T/index-offline.yaml" || die "offline index differs"
grep -qi '^X-Outpost-Stale-Seconds:' "$T/headers" || die "no staleness header"
while read -r file sha src; do
  curl -sf "$REPO/charts/$file" -o "$T/offline-$file" || die "offline $file"
  cmp -s "$T/www/$src" "$T/offline-$file" || die "offline $file differs"
done <"$T/expected.txt"
# bad-1.0.0 was never stored (its digest did not match)
ms=$(elapsed_ms curl -s "$REPO/charts/bad-1.0.0.tgz")
c=$(code "$REPO/charts/bad-1.0.0.tgz")
[[ $c == 503 ]] && grep -q 'not cached' "$T/body" || die "never-fetched chart offline: $c $(cat "$T/body")"
log "never-fetched chart offline: HTTP $c in ${ms} ms: $(cat "$T/body")"
log "the bundle imported into a fresh Outpost serves its charts with the upstream stopped"
OP2=$(free_port)
write_outpost_config "$T/fresh.yaml" "$OP2" "$T/fresh" upstream.test "http://127.0.0.1:9"
sed -n '/^helm:/,$p' "$T/serve.yaml" >>"$T/fresh.yaml"
"$OUTPOST_BIN" bundle import --config "$T/fresh.yaml" "$T/charts.tar" 2>"$T/import.log" || die "import: $(cat "$T/import.log")"
start_outpost op2 "$T/fresh.yaml"
REPO2="http://127.0.0.1:$OP2/helm/charts.test/stable"
curl -sf "$REPO2/index.yaml" -o "$T/fresh-index.yaml" || die "no index from the bundle's charts"
python3 - "$T/fresh-index.yaml" <<'PY' || die "fresh index lacks the bundle's charts"
import sys, yaml
idx = yaml.safe_load(open(sys.argv[1]))
got = sorted(f'{e["name"]}-{e["version"]}' for v in idx["entries"].values() for e in v)
assert got == ["app-0.1.0", "nginx-1.2.3+build.1", "redis-18.1.0"], got
assert all(e["urls"][0].startswith("charts/") for v in idx["entries"].values() for e in v)
PY
for f in redis-18.1.0.tgz:stable/redis-18.1.0.tgz app-0.1.0.tgz:stable/sub/app-0.1.0.tgz \
  nginx-1.2.3+build.1.tgz:stable/nginx-1.2.3+build.1.tgz; do
  curl -sf "$REPO2/charts/${f%%:*}" -o "$T/fresh-chart" || die "chart ${f%%:*} from the bundle"
  cmp -s "$T/www/${f#*:}" "$T/fresh-chart" || die "chart ${f%%:*} differs"
done
c=$(code "$REPO2/charts/redis-18.0.0.tgz")
[[ $c == 404 ]] || die "a chart outside the bundle got $c"
log "ok"
