#!/usr/bin/env python3
"""Concurrent load against Outpost for tests: N connections at once, each one request.

  load_client.py --host H --port P --conns N --plan PLAN.json [--slowloris S]

PLAN.json: a list of {"method", "path", "status", "sha256"?, "length"?}; connection i sends
plan[i % len(plan)] with Connection: close and checks status, length and sha256 of the body.
--slowloris S opens S more connections first that send one header byte per second and never end
the request; they must be closed by the server (read timeout) while the N requests succeed.
Prints one JSON object: {"ok", "failed", "errors": [...first 10], "slowloris_closed", "p50_ms",
"max_ms"}; exits 1 if any request failed or a slow connection was never closed.
"""
import argparse, asyncio, hashlib, json, sys, time


async def one(host, port, item, results):
    start = time.monotonic()
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 30)
        req = f"{item['method']} {item['path']} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n"
        req += "".join(f"{k}: {v}\r\n" for k, v in item.get("headers", {}).items()) + "\r\n"
        writer.write(req.encode())
        await writer.drain()
        data = await asyncio.wait_for(reader.read(), 120)
        writer.close()
        head, _, body = data.partition(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        if "chunked" in head.decode("latin1").lower():
            body = dechunk(body)
        if status != item["status"]:
            raise ValueError(f"{item['path']}: HTTP {status}, wanted {item['status']}")
        if item["method"] != "HEAD":
            if "length" in item and len(body) != item["length"]:
                raise ValueError(f"{item['path']}: {len(body)} bytes, wanted {item['length']}")
            if "sha256" in item and hashlib.sha256(body).hexdigest() != item["sha256"]:
                raise ValueError(f"{item['path']}: wrong body")
        results["ok"] += 1
        results["ms"].append((time.monotonic() - start) * 1000)
    except Exception as e:  # noqa: BLE001 - every failure is reported
        results["failed"] += 1
        if len(results["errors"]) < 10:
            results["errors"].append(f"{item['path']}: {type(e).__name__}: {e}")


def dechunk(b):
    out = bytearray()
    while b:
        line, _, rest = b.partition(b"\r\n")
        n = int(line.split(b";")[0], 16)
        if n == 0:
            break
        out += rest[:n]
        b = rest[n + 2:]
    return bytes(out)


async def slowloris(host, port, results):
    reader, writer = await asyncio.open_connection(host, port)
    payload = b"GET /v2/ HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 10000
    try:
        for byte in payload:
            writer.write(bytes([byte]))
            await writer.drain()
            try:
                got = await asyncio.wait_for(reader.read(1), 1.0)
                if got == b"" or got:  # closed (or answered with an error): not starved
                    results["slowloris_closed"] += 1
                    return
            except asyncio.TimeoutError:
                pass
    except (ConnectionError, OSError):
        results["slowloris_closed"] += 1
        return
    finally:
        writer.close()


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--conns", type=int, default=500)
    ap.add_argument("--plan", required=True)
    ap.add_argument("--slowloris", type=int, default=0)
    a = ap.parse_args()
    plan = json.load(open(a.plan))
    results = {"ok": 0, "failed": 0, "errors": [], "ms": [], "slowloris_closed": 0}
    slow = [asyncio.create_task(slowloris(a.host, a.port, results)) for _ in range(a.slowloris)]
    await asyncio.sleep(0.5)
    await asyncio.gather(*(one(a.host, a.port, plan[i % len(plan)], results) for i in range(a.conns)))
    await asyncio.gather(*slow)
    ms = sorted(results.pop("ms")) or [0]
    results["p50_ms"] = round(ms[len(ms) // 2], 1)
    results["max_ms"] = round(ms[-1], 1)
    print(json.dumps(results))
    ok = results["failed"] == 0 and results["slowloris_closed"] == a.slowloris
    sys.exit(0 if ok else 1)


asyncio.run(main())
