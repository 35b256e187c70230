#!/usr/bin/env bash
# Three Outpost replicas of one site (static peers) in front of a docker-registry origin:
# - 10 concurrent cold pulls spread over the replicas: the origin sends each blob once;
# - a replica whose copy of a blob is wrong is caught by the replica that asks it, and the fetch
#   falls through to a replica with the right bytes (the client that started it retries once);
# - kill -9 of a large blob's owner in the middle of the transfer: every client completes with the
#   right bytes, and fsck is clean on the survivors;
# - a replica restarted with an empty disk refills from its peers: no blob from the origin.
source "$(dirname "$0")/lib.sh"

start_registry up
python3 "$TOOLS/make_image.py" "$T/layout" v1 --layer-mb 3 --layers 3 >/dev/null
python3 "$TOOLS/make_image.py" "$T/layout" big --layer-mb 48 --layers 1 --seed big >/dev/null
python3 "$TOOLS/make_image.py" "$T/layout" lie --layer-mb 1 --layers 1 --seed lie >/dev/null
for tag in v1 big lie; do
  push_image "$T/layout" "$tag" "$up_PORT" test/app
  skopeo_ copy -q --src-tls-verify=false "docker://127.0.0.1:$up_PORT/test/app:$tag" "dir:$T/direct-$tag"
done
start_proxy link "$up_PORT"  # the site's WAN link

start_cluster "http://127.0.0.1:$link_PORT"
pull() {  # pull REPLICA TAG OUT: pulled byte-identical to the origin's
  skopeo_ copy -q --src-tls-verify=false "docker://127.0.0.1:${P[$1]}/upstream.test/test/app:$2" "dir:$T/$3" &&
    diff -r "$T/direct-$2" "$T/$3" >/dev/null
}
origin_blob_gets() { grep -c "\"GET /v2/test/app/blobs/$1 HTTP" "$T/up.log" || true; }
layers() { python3 -c 'import json,sys; [print(l["digest"]) for l in json.load(open(sys.argv[1]))["layers"]]' "$T/direct-$1/manifest.json"; }

log "10 concurrent cold pulls over the 3 replicas"
declare -A before
for d in $(layers v1); do before[$d]=$(origin_blob_gets "$d"); done  # the direct copies
pids=()
for n in $(seq 0 9); do
  pull $((n % 3 + 1)) v1 "cold-$n" &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || die "a concurrent cold pull failed"; done
for d in $(layers v1); do
  n=$(($(origin_blob_gets "$d") - before[$d]))
  [[ $n == 1 ]] || die "the origin sent $d $n times, not once"
done
log "the origin sent each of $(layers v1 | wc -l) layers once for 10 pulls over 3 replicas"

log "a replica holding wrong bytes is caught"
# Layer L of a fresh image is pulled through P, second in L's rendezvous order, so L's owner O
# fetches it (and keeps its second copy on P); O's copy is then damaged, and the third replica X,
# asked for L, asks O first.
replica_of() { local i; for i in 1 2 3; do [[ ${URLS[$i]} != "$1" ]] || echo "$i"; done; }
L=$(layers lie | sed -n 1p)
mapfile -t order < <(python3 "$TOOLS/hrw.py" "$L" "${URLS[@]:1}")
o=$(replica_of "${order[0]}")
p=$(replica_of "${order[1]}")
x=$(replica_of "${order[2]}")
pull "$p" lie "lie-first" || die "first pull of the fresh image"
f="$T/r$o-data/blobs/sha256/${L:7:2}/${L:7}"
[[ -f $f ]] || die "the owner (replica $o) does not hold $L"
chmod u+w "$f"
printf 'X' | dd of="$f" bs=1 seek=100 conv=notrunc 2>/dev/null
# The client that started the fetch is cut when the check fails (a blob's last byte is held until
# it verifies, so it never gets the whole wrong blob); its retry, as containerd's, gets the right
# bytes from the next replica.
pull "$x" lie "after-lie" || pull "$x" lie "after-lie-retry" || die "replica $x failed after the lie"
grep -q "peer ${URLS[$o]} sent content that does not verify" "$T/r$x.log" ||
  die "replica $x did not catch replica $o's wrong bytes"
cp "$T/direct-lie/${L:7}" "$f"  # repaired, so fsck below judges only what the cluster did

log "kill -9 of the big layer's owner in the middle of the transfer"
o=$(replica_of "$(python3 "$TOOLS/hrw.py" "$(layers big)" "${URLS[@]:1}" | sed -n 1p)")
echo "rate 8000000" >"$link_CTL"  # 48 MiB over ~6 s
pids=()
for i in 1 2 3; do
  [[ $i == "$o" ]] && continue
  for k in 1 2; do
    pull "$i" big "big-$i-$k" &
    pids+=($!)
  done
done
for _ in $(seq 600); do
  part=$(find "$T/r$o-data/tmp" -type f -size +8M 2>/dev/null | sed -n 1p)
  [[ -n $part ]] && break
  sleep 0.05
done
[[ -n ${part:-} ]] || die "the owner never started the big layer"
stop_pid "$(eval echo "\$r${o}_PID")" KILL
echo pass >"$link_CTL"
for p in "${pids[@]}"; do wait "$p" || die "a pull failed after the owner was killed"; done
for i in 1 2 3; do
  [[ $i == "$o" ]] && continue
  stop_pid "$(eval echo "\$r${i}_PID")"
  "$OUTPOST_BIN" fsck --data-dir "$T/r$i-data" >"$T/fsck-$i" || die "fsck on replica $i: $(cat "$T/fsck-$i")"
done
log "4 clients of the 2 survivors completed; fsck clean"

log "a replica restarted with an empty disk refills from its peers"
for i in 1 2 3; do start_replica "$i"; done
e=$((o % 3 + 1))
stop_pid "$(eval echo "\$r${e}_PID")"
rm -rf "$T/r$e-data"
start_replica "$e"
before=$(grep -c '"GET /v2/test/app/blobs/' "$T/up.log" || true)
pull "$e" v1 "refill" || die "the refilled replica's pull"
pull "$e" big "refill-big" || die "the refilled replica's big pull"
after=$(grep -c '"GET /v2/test/app/blobs/' "$T/up.log" || true)
[[ $before == "$after" ]] || die "the empty replica took $((after - before)) blobs from the origin"
log "ok"
