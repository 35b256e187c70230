#!/usr/bin/env bash
# Hostile and malformed requests get 4xx OCI error bodies, dial nothing, store nothing, and
# the server keeps serving.
source "$(dirname "$0")/lib.sh"

start_registry up
push_test_image test/app v1 1 1
layer=$LAYER
start_registry_outpost "http://127.0.0.1:$up_PORT"
B="http://127.0.0.1:$OP"
curl -sf -o /dev/null "$B/v2/test/app/blobs/$layer" || die "warm-up"
hex=${layer#sha256:}
# the client has its verified bytes before the blob is fsynced and renamed into the store
for _ in $(seq 100); do [[ -f $T/data/blobs/sha256/${hex:0:2}/$hex ]] && break; sleep 0.05; done
blobs_before=$(find "$T/data/blobs" -type f | wc -l)
up_before=$(grep -c '"GET\|"HEAD' "$T/up.log" || true)

# expect METHOD PATH STATUS CODE [curl args...]
expect() {
  local method=$1 path=$2 status=$3 code=$4
  shift 4
  local got
  got=$(curl -s --path-as-is -X "$method" -o "$T/body" -w '%{http_code}' "$@" "$B$path")
  [[ $got == "$status" ]] || die "$method $path: status $got, want $status ($(cat "$T/body"))"
  if [[ $code != - ]]; then
    python3 -c "import json,sys; e=json.load(open('$T/body'))['errors'][0]; sys.exit(0 if e['code']=='$code' and e['message'] else 1)" ||
      die "$method $path: body is not an OCI error with code $code: $(cat "$T/body")"
  fi
}

z63=$(printf 'a%.0s' $(seq 63))
expect GET "/v2/../../etc/passwd/manifests/latest" 400 NAME_INVALID
expect GET "/v2/test/../../x/manifests/latest" 400 NAME_INVALID
expect GET "/v2/test/%2e%2e/manifests/latest" 400 NAME_INVALID
expect GET "/v2/-x/manifests/latest" 400 NAME_INVALID
expect GET "/v2/test/-rf/blobs/$layer" 400 NAME_INVALID
expect GET "/v2/Test/App/manifests/latest" 400 NAME_INVALID
expect GET "/v2/test/app/manifests/-x" 404 MANIFEST_UNKNOWN
expect GET "/v2/test/app/manifests/.INVALID_MANIFEST_NAME" 404 MANIFEST_UNKNOWN
expect HEAD "/v2/test/app/manifests/.INVALID_MANIFEST_NAME" 404 - -I
expect GET "/v2/test/app/manifests/sha256:xyz" 400 DIGEST_INVALID
expect GET "/v2/test/app/manifests/md5:$z63" 400 DIGEST_INVALID
expect GET "/v2/test/app/blobs/sha256:$z63" 400 DIGEST_INVALID
expect GET "/v2/test/app/blobs/sha256:../../../../etc/passwd" 404 NOT_FOUND
expect GET "/v2/test/app/manifests/v1?ns=evil.example.com" 404 NAME_UNKNOWN
expect GET "/v2/evil.example.com/x/manifests/latest" 404 NAME_UNKNOWN
expect GET "/v2/169.254.169.254:80/latest/manifests/x" 404 NAME_UNKNOWN
expect GET "/v2/test/app/tags/list?n=abc" 400 PAGINATION_NUMBER_INVALID
expect PUT "/v2/test/app/manifests/v2" 405 UNSUPPORTED -d '{}'
# the conformance suite's PUT of an invalid reference: the reference's error first, not 405
expect PUT "/v2/test/app/manifests/sha256:totallywrong" 400 DIGEST_INVALID -d '{}'
expect PUT "/v2/../x/manifests/v1" 400 NAME_INVALID -d '{}'
expect DELETE "/v2/test/app/blobs/$layer" 405 UNSUPPORTED
expect POST "/v2/test/app/blobs/uploads/" 405 UNSUPPORTED
expect PATCH "/v2/test/app/blobs/uploads/x" 405 UNSUPPORTED
expect GET "/v2/test/app/blobs/$layer" 416 BLOB_UNKNOWN -H 'Range: bytes=999999999-'
expect GET "/v2/test/app/blobs/$layer" 200 - -H 'Range: bytes=zz'
expect GET "/v2/test/app/manifests/v1" 431 SIZE_INVALID -H "X-Big: $(head -c 20000 /dev/zero | tr '\0' a)"
expect GET "/v2/test/app/blobs/$layer" 200 - -H 'Range: bytes=0-1,5-6'

log "malformed HTTP on the raw socket"
resp=$(printf 'GARBAGE\r\n\r\n' | timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$OP; cat >&3; cat <&3" || true)
[[ $resp == "HTTP/1.1 400"* ]] || die "garbage request got: $resp"
resp=$(printf 'GET /v2/ HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n' |
  timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$OP; cat >&3; cat <&3" || true)
[[ $resp == "HTTP/1.1 413"* ]] || die "oversize body got: $resp"

blobs_after=$(find "$T/data/blobs" -type f | wc -l)
up_after=$(grep -c '"GET\|"HEAD' "$T/up.log" || true)
[[ $blobs_before == "$blobs_after" ]] || die "bad requests stored something ($blobs_before -> $blobs_after)"
[[ $up_before == "$up_after" ]] || die "bad requests reached upstream ($up_before -> $up_after requests)"
curl -sf "$B/healthz" >/dev/null || die "server stopped serving"
curl -sf -o /dev/null "$B/v2/test/app/manifests/v1" || die "server stopped serving manifests"
log "ok"
