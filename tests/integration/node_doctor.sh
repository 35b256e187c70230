#!/usr/bin/env bash
# `outpost doctor` against containerd 1.6 from Debian, run with its own root, socket and
# config.toml (its CRI registry config_path pointing at what `outpost node-config` wrote), and the
# nodes Outpost lists:
# - correct config: doctor exits 0, and the canary it pulled through containerd's hosts
#   directory shows for the node in /api/v1/nodes (under both upstreams);
# - a hosts.toml pointing elsewhere (straight at the registry): exit 1, naming that file;
# - a config_path that misses the directory: exit 1, naming config.toml;
# - the canary never comes from a registry: with Outpost stopped the pull fails;
# - a containerd 2.x config (version = 3, io.containerd.cri.v1.images) is read and checked: one
#   directory passes, a list fails (the transfer service reads no list), unless local pulls;
# - k3s registries.yaml and CRI-O registries.conf as node-config writes them pass, others fail;
# - pulls from two client addresses list both; a third registered node without pulls is flagged;
#   outpost_node_last_pull_timestamp_seconds and `outpost status` show them.
source "$(dirname "$0")/lib.sh"

start_app_registry
OP=$(free_port)
write_outpost_config "$T/outpost.yaml" "$OP" "$T/data" upstream.test "http://127.0.0.1:$up_PORT"
printf '    - name: second.test\n      url: http://127.0.0.1:%s\n      insecure: true\n' "$up_PORT" >>"$T/outpost.yaml"
start_outpost op "$T/outpost.yaml"
SERVER=http://127.0.0.1:$OP

"$OUTPOST_BIN" node-config --server "$SERVER" --out "$T/nodecfg" --config "$T/outpost.yaml" 2>"$T/node-config.log" ||
  die "node-config: $(cat "$T/node-config.log")"
CERTS=$T/nodecfg/containerd/certs.d
for f in upstream.test/hosts.toml second.test/hosts.toml; do [[ -f $CERTS/$f ]] || die "node-config wrote no $f"; done
grep_q 'io.containerd.cri.v1.images' "$T/nodecfg/containerd/config-v3.toml" || die "no containerd 2.x snippet"

# containerd with node-config's registry section (CRI itself is off here: doctor reads the file).
CTRD_EXTRA="[plugins.\"io.containerd.grpc.v1.cri\".registry]
  config_path = \"$CERTS\"" start_containerd

doctor() {
  "$OUTPOST_BIN" doctor --server "$SERVER" --containerd-address "$CTRD_SOCK" "$@" >"$T/doctor.out" 2>&1
}

log "correct config: doctor exits 0 and its canary shows in Outpost"
doctor --containerd-config "$CTRD_CONFIG" --node-name node-a || die "doctor failed: $(cat "$T/doctor.out")"
log "doctor said:"$'\n'"$(cat "$T/doctor.out")"
grep_q "$CERTS/upstream.test/hosts.toml:" "$T/doctor.out" || die "doctor did not name the hosts.toml"
node=$(curl -sf "$SERVER/api/v1/nodes/node-a")
python3 - "$node" <<'PY' || die "node-a's canary is not in Outpost: $node"
import json, sys
n = json.loads(sys.argv[1])
assert n["last_canary"] and sorted(n["canary_upstreams"]) == ["second.test", "upstream.test"], n
assert n["runtime"] == "containerd" and n["runtime_version"].startswith("1.6"), n
assert not n["flagged"], n
PY

log "a hosts.toml that points elsewhere: doctor exits 1 and names it"
cp -a "$CERTS" "$T/elsewhere"
printf 'server = "https://second.test"\n[host."http://127.0.0.1:%s"]\n  capabilities = ["pull", "resolve"]\n' "$up_PORT" \
  >"$T/elsewhere/second.test/hosts.toml"
sed "s|$CERTS|$T/elsewhere|" "$CTRD_CONFIG" >"$T/elsewhere.toml"
doctor --containerd-config "$T/elsewhere.toml" --node-name node-b && die "doctor passed a bypass: $(cat "$T/doctor.out")"
grep_q "$T/elsewhere/second.test/hosts.toml:2" "$T/doctor.out" || die "doctor did not name the file and line: $(cat "$T/doctor.out")"
grep_q "BYPASSES" "$T/doctor.out" || die "no bypass reported"
curl -sf "$SERVER/api/v1/nodes/node-b" | grep_q '"flagged":true' || die "node-b is not flagged"

log "a config_path that misses the directory: doctor exits 1 and names config.toml"
sed "s|$CERTS|$T/nowhere|" "$CTRD_CONFIG" >"$T/nowhere.toml"
doctor --containerd-config "$T/nowhere.toml" --node-name node-b && die "doctor passed a missing hosts dir"
grep_q "$T/nowhere.toml:" "$T/doctor.out" || die "doctor did not name config.toml: $(cat "$T/doctor.out")"

log "the canary exists only at Outpost: with Outpost stopped its pull fails"
stop_pid "$op_PID"
doctor --containerd-config "$CTRD_CONFIG" --node-name node-a --registries upstream.test --no-register &&
  die "the canary pull passed without Outpost"
grep_q "FAILED" "$T/doctor.out" || die "no canary failure reported: $(cat "$T/doctor.out")"
start_outpost op "$T/outpost.yaml"

log "containerd 2.x (version = 3): read and checked"
v3() {
  printf 'version = 3\n[plugins."io.containerd.cri.v1.images"]\n  %s\n[plugins."io.containerd.cri.v1.images".registry]\n  config_path = "%s"\n' \
    "$1" "$2" >"$T/v3.toml"
  doctor --containerd-config "$T/v3.toml" --node-name node-v3 --no-canary
}
v3 "snapshotter = 'overlayfs'" "$CERTS" || die "v3 with one directory: $(cat "$T/doctor.out")"
v3 "snapshotter = 'overlayfs'" "$CERTS:/etc/docker/certs.d" && die "v3 with a list passed: $(cat "$T/doctor.out")"
grep_q "containerd#12415" "$T/doctor.out" || die "the list is not explained: $(cat "$T/doctor.out")"
v3 "use_local_image_pull = true" "$CERTS:/etc/docker/certs.d" || die "v3 local pulls with a list: $(cat "$T/doctor.out")"

log "k3s and CRI-O files from node-config pass; a missing mirror fails"
doctor --runtime k3s --k3s-config "$T/nodecfg/k3s/registries.yaml" --node-name node-k3s --no-canary ||
  die "k3s: $(cat "$T/doctor.out")"
mkdir -p "$T/crio.d" && cp "$T/nodecfg/crio/50-outpost.conf" "$T/crio.d/"
doctor --runtime crio --crio-config "$T/none.conf" --crio-conf-d "$T/crio.d" --node-name node-crio --no-canary ||
  die "crio: $(cat "$T/doctor.out")"
printf 'mirrors:\n  "upstream.test":\n    endpoint: ["http://127.0.0.1:%s"]\n' "$up_PORT" >"$T/k3s-bad.yaml"
doctor --runtime k3s --k3s-config "$T/k3s-bad.yaml" --node-name node-k3s --no-canary && die "k3s bypass passed"
grep_q "$T/k3s-bad.yaml:3" "$T/doctor.out" || die "k3s: no file and line: $(cat "$T/doctor.out")"

log "pulls from two client addresses; a third node registered without pulls is flagged"
for a in 127.0.0.2 127.0.0.3; do
  curl -sf --interface "$a" -o /dev/null -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    "$SERVER/v2/test/app/manifests/v1" || die "manifest pull from $a"
done
"$OUTPOST_BIN" node-config --server "$SERVER" --registries upstream.test --format k3s --register node-c \
  >/dev/null 2>"$T/register.log" || die "node-config --register: $(cat "$T/register.log")"
curl -sf "$SERVER/api/v1/nodes" >"$T/nodes.json"
python3 - "$T/nodes.json" <<'PY' || die "nodes list: $(cat "$T/nodes.json")"
import json, sys
d = json.load(open(sys.argv[1]))
by = {n["name"]: n for n in d["nodes"]}
for a in ("127.0.0.2", "127.0.0.3"):
    assert a in by and by[a]["last_pull"] and not by[a]["registered"], a
assert by["node-c"]["flagged"] and "since it registered" in by["node-c"]["why"], by["node-c"]
assert not by["node-a"]["flagged"], by["node-a"]
PY
[[ $(metric 'outpost_node_last_pull_timestamp_seconds{node="127.0.0.2"}' "$OP") != 0 ]] || die "no last-pull metric for 127.0.0.2"
"$OUTPOST_BIN" status --server "$SERVER" >"$T/status.out" || true
grep_q "node-c .*FLAGGED" "$T/status.out" || die "outpost status does not flag node-c: $(cat "$T/status.out")"
log "ok"
