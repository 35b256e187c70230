#!/usr/bin/env bash
# The Kubernetes manifests render with `kubectl kustomize` and contain what a site needs (checked
# by parsing, not by eye); the embedded config is one `outpost serve` accepts; the Argo CD
# PreSync Job's own command line works against a running Outpost.
source "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)

command -v kubectl >/dev/null || die "kubectl is missing (scripts/install-deps.sh --test installs it)"
# Every overlay renders with each kubectl here: the newest, and Debian's 1.20 (kustomize v2.0.3,
# which reads a directory base only under bases:), as an operator's may be.
kubectls=("$(command -v kubectl)")
old=/opt/outpost-test/kubernetes-client/usr/bin/kubectl
[[ -x $old ]] && kubectls+=("$old")
minor() { "$1" version --client -o json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["clientVersion"]["minor"].rstrip("+"))'; }
oldest=99
for k in "${kubectls[@]}"; do m=$(minor "$k"); ((m < oldest)) && oldest=$m; done
((oldest <= 20)) || die "no kubectl 1.20 to render with (scripts/install-deps.sh --test unpacks Debian's)"
for k in "${kubectls[@]}"; do
  for overlay in base overlays/k3s-single-node overlays/multi-node overlays/ha overlays/hub; do
    "$k" kustomize "$ROOT/deploy/kubernetes/$overlay" >/dev/null 2>"$T/kustomize.err" ||
      die "kubectl 1.$(minor "$k") kustomize $overlay: $(cat "$T/kustomize.err")"
  done
  log "kubectl 1.$(minor "$k") renders every overlay"
done
for overlay in base overlays/k3s-single-node overlays/multi-node overlays/ha overlays/hub; do
  out=$T/$(basename "$overlay").yaml
  "${kubectls[-1]}" kustomize "$ROOT/deploy/kubernetes/$overlay" >"$out" 2>"$T/kustomize.err" ||
    die "kubectl kustomize $overlay: $(cat "$T/kustomize.err")"
  python3 - "$out" "$overlay" "$T/config-$(basename "$overlay").yaml" <<'PY' || die "$overlay: checks failed"
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
overlay = sys.argv[2]
kinds = {d["kind"] for d in docs}
hub = overlay.endswith("/hub")  # a Deployment on S3 and PostgreSQL, not a StatefulSet
workload = "Deployment" if hub else "StatefulSet"
need = {"Namespace", "ServiceAccount", "ConfigMap", "Secret", workload, "Service", "NetworkPolicy"}
assert need <= kinds, f"missing {need - kinds}"
assert not (hub and "StatefulSet" in kinds), "the hub keeps the base's StatefulSet"
for d in docs:
    if d["kind"] != "Namespace":
        assert d["metadata"].get("namespace") == "outpost", d["metadata"]
sts = next(d for d in docs if d["kind"] == workload)
ha = overlay.endswith("/ha")
assert sts["spec"]["replicas"] == (3 if ha or hub else 1)
pod = sts["spec"]["template"]["spec"]
c = pod["containers"][0]
assert c["image"].startswith("ghcr.io/outpost-edge/outpost:"), c["image"]
assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
assert pod["securityContext"]["runAsNonRoot"] is True
assert c["securityContext"]["readOnlyRootFilesystem"] is True
assert c["resources"]["requests"]["cpu"] and c["resources"]["requests"]["memory"]
if hub:  # the hot tier is the pod's own; the credentials come from Secrets
    data = next(v for v in pod["volumes"] if v["name"] == "data")
    assert "emptyDir" in data, data
    refs = {e["valueFrom"]["secretKeyRef"]["name"] for e in c["env"] if "valueFrom" in e and "secretKeyRef" in e["valueFrom"]}
    assert {"outpost-hub-s3", "outpost-hub-postgres"} <= refs, refs
    secrets = {d["metadata"]["name"] for d in docs if d["kind"] == "Secret"}
    assert {"outpost-hub-s3", "outpost-hub-postgres"} <= secrets, secrets
    assert next(d for d in docs if d["kind"] == "PodDisruptionBudget")["spec"]["maxUnavailable"] == 1
    conf = yaml.safe_load(next(d for d in docs if d["kind"] == "ConfigMap")["data"]["config.yaml"])
    assert conf["storage"]["s3"]["bucket"] and conf["metadata"]["postgres"]["url"].startswith("postgresql://")
    assert conf["cluster"]["peers_dns"].startswith("outpost-peers.outpost.svc")
    assert any(e["name"] == "POD_IP" for e in c["env"])
else:
    assert sts["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] == "data"
mounts = {m["mountPath"] for m in c["volumeMounts"]}
assert "/var/lib/outpost" in mounts and "/etc/outpost/config.yaml" in mounts
svc = next(d for d in docs if d["kind"] == "Service" and d["metadata"]["name"] == "outpost")
if overlay != "base" and not hub:
    assert svc["spec"]["type"] == "NodePort" and svc["spec"]["ports"][0]["nodePort"] == 30080
if overlay.endswith("multi-node") or ha:
    assert "PodDisruptionBudget" in kinds
if ha:  # a site cluster: one replica per node, peers by a headless Service, POD_IP advertised
    aff = pod["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert aff[0]["topologyKey"] == "kubernetes.io/hostname"
    peers = next(d for d in docs if d["kind"] == "Service" and d["metadata"]["name"] == "outpost-peers")
    assert peers["spec"]["clusterIP"] == "None" and peers["spec"]["publishNotReadyAddresses"]
    assert any(e["name"] == "POD_IP" for e in c["env"])
    assert svc["spec"]["sessionAffinity"] == "ClientIP"
    pdb = next(d for d in docs if d["kind"] == "PodDisruptionBudget")
    assert pdb["spec"]["maxUnavailable"] == 1
    conf = yaml.safe_load(next(d for d in docs if d["kind"] == "ConfigMap")["data"]["config.yaml"])
    assert conf["cluster"]["peers_dns"].startswith("outpost-peers.outpost.svc")
cm = next(d for d in docs if d["kind"] == "ConfigMap")
open(sys.argv[3], "w").write(cm["data"]["config.yaml"])
PY
  # the embedded config is valid for `outpost serve` (ha: as a pod sees it, POD_IP and the peer
  # token file in place)
  conf=$T/config-$(basename "$overlay").yaml
  if [[ $overlay == overlays/ha || $overlay == overlays/hub ]]; then
    printf 'peer-token-0123456789abcdef\n' >"$T/peer-token"
    sed -i "s#/etc/outpost/secrets/peer-token#$T/peer-token#" "$conf"
  fi
  POD_IP=10.42.0.17 OUTPOST_PRESYNC_TOKEN=0123456789abcdef0123 S3_ACCESS_KEY=ak S3_SECRET_KEY=sk PGPASSWORD=pw \
    "$OUTPOST_BIN" serve --config "$conf" --check-config >/dev/null 2>"$T/check.err" ||
    die "$overlay config.yaml rejected: $(cat "$T/check.err")"
  log "$overlay renders: $(grep -c '^kind:' "$out") objects"
done

log "Argo CD examples parse; the PreSync Job's command works against a running Outpost"
python3 - "$ROOT/deploy/examples/argocd" "$T/presync.args" <<'PY' || die "argocd examples"
import sys, yaml
app = yaml.safe_load(open(sys.argv[1] + "/application.yaml"))
assert "/git/github.com/" in app["spec"]["source"]["repoURL"]
assert app["spec"]["syncPolicy"]["retry"]["limit"] > 0
job = yaml.safe_load(open(sys.argv[1] + "/presync-bundle.yaml"))
ann = job["metadata"]["annotations"]
assert ann["argocd.argoproj.io/hook"] == "PreSync" and "hook-delete-policy" in str(ann)
assert job["spec"]["activeDeadlineSeconds"] > 0
open(sys.argv[2], "w").write("\n".join(job["spec"]["template"]["spec"]["containers"][0]["args"]))
PY
# run the Job's exact arguments, pointed at a local Outpost and a local bundle server
start_registry up
python3 "$TOOLS/make_image.py" "$T/layout" v2 --layer-mb 1 --layers 1 >/dev/null
push_image "$T/layout" v2 "$up_PORT" example/shop
write_outpost_config "$T/create.yaml" "$(free_port)" "$T/create-data" upstream.test "http://127.0.0.1:$up_PORT"
mkdir -p "$T/www/shop"
"$OUTPOST_BIN" bundle create --config "$T/create.yaml" --name shop --version v2 \
  --image upstream.test/example/shop:v2 -o "$T/www/shop/shop-v2.tar" 2>"$T/create.log" || die "create: $(cat "$T/create.log")"
WP=$(free_port)
(cd "$T/www" && exec python3 -m http.server "$WP" --bind 127.0.0.1 >"$T/web.log" 2>&1) &
PIDS+=("$!")
wait_http "http://127.0.0.1:$WP/"
OP=$(free_port)
write_outpost_config "$T/serve.yaml" "$OP" "$T/data" upstream.test "http://127.0.0.1:$up_PORT"
start_outpost op "$T/serve.yaml"
mapfile -t args < <(sed -e "s|http://outpost.outpost.svc:8080|http://127.0.0.1:$OP|" \
  -e "s|https://bundles.example.com|http://127.0.0.1:$WP|" "$T/presync.args")
"$OUTPOST_BIN" "${args[@]}" 2>"$T/presync.log" || die "the PreSync command failed: $(cat "$T/presync.log")"
grep -q 'is ready' "$T/presync.log" || die "PreSync output: $(cat "$T/presync.log")"

log "the node-doctor DaemonSet's arguments work against a node configured by node-config"
python3 - "$ROOT/deploy/examples/node-doctor/daemonset.yaml" "$T/doctor.args" <<'PY' || die "node-doctor example"
import sys, yaml
ds = yaml.safe_load(open(sys.argv[1]))
assert ds["kind"] == "DaemonSet"
init = ds["spec"]["template"]["spec"]["initContainers"][0]
mounts = {m["mountPath"] for m in init["volumeMounts"]}
assert {"/etc/containerd", "/run/containerd/containerd.sock"} <= mounts, mounts
open(sys.argv[2], "w").write("\n".join(init["args"]))
PY
"$OUTPOST_BIN" node-config --server "http://127.0.0.1:$OP" --registries upstream.test --format containerd \
  --out "$T/nodecfg" 2>/dev/null || die "node-config"
sed "s|/etc/containerd/certs.d|$T/nodecfg/containerd/certs.d|" "$T/nodecfg/containerd/config-v2.toml" >"$T/node.toml"
sed -i '1i version = 2' "$T/node.toml"
mapfile -t args < <(sed -e "s|\$(OUTPOST_URL)|http://127.0.0.1:$OP|" -e 's|\$(NODE_NAME)|node-1|' "$T/doctor.args")
"$OUTPOST_BIN" "${args[@]}" --no-canary --containerd-config "$T/node.toml" >"$T/doctor.log" 2>&1 ||
  die "the DaemonSet's doctor failed: $(cat "$T/doctor.log")"
log "ok"
