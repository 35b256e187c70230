#!/usr/bin/env python3
"""A fault-injecting TCP proxy for tests: sits between Outpost and an upstream on loopback.

  fault_proxy.py --listen PORT --target HOST:PORT --control FILE [--log FILE]

--log: a line per connection accepted ("<unix time> <mode words>"), for counting dials.

The control file is read for every new connection and holds one line:
  pass                  forward bytes untouched
  rate BYTES_PER_SEC    forward, capping upstream->client bandwidth per connection
  linkrate BYTES_PER_SEC  forward, capping upstream->client bandwidth of all connections together
  delay MS              forward, adding MS of latency before the first upstream byte
  cut N                 forward, then drop the connection after N upstream->client bytes
  cutonce N             like cut, for the next connection only (the file then says "pass")
  blackhole             accept, read what the client sends, never answer
  blackholeonce         the next request (on a new or a pooled connection) is swallowed and never
                        answered, nor is anything after it on that connection; the file then
                        says "pass"
  refuse                accept and close at once
  upcutonce N           the first connection to carry N client->upstream bytes is dropped there
                        (a cut upload); the file then says "pass"
  upcuts N1,N2,...      like upcutonce N1, then N2 for the next connection to carry N2 bytes, …
  hold                  forward requests, but hold every upstream->client byte (of new and pooled
                        connections) until the file says something else
  rtt MS                a long line (read when a connection opens): connecting takes MS, and every
                        chunk reaches the other side MS/2 after it was sent, both ways, so each
                        request/answer exchange costs MS more; bandwidth is not limited
Options combine on one line, e.g. "rate 2000000 cut 5000000".
"""
import argparse, asyncio, time


def read_mode(path):
    try:
        words = open(path).read().split()
    except OSError:
        words = ["pass"]
    mode = {"blackhole": False, "refuse": False, "hold": False, "rate": 0, "cut": 0, "delay": 0, "linkrate": 0,
            "rtt": 0}
    i = 0
    while i < len(words):
        w = words[i]
        if w in ("blackhole", "refuse", "hold"):
            mode[w] = True
        elif w == "blackholeonce":
            mode["blackhole"] = True
            mode["once"] = True
        elif w == "upcuts" and i + 1 < len(words):
            cuts = [int(x) for x in words[i + 1].split(",") if x]
            mode["upcut"] = cuts[0]
            mode["once"] = True
            mode["then"] = "upcuts " + ",".join(map(str, cuts[1:])) if len(cuts) > 1 else "pass"
            i += 1
        elif w == "upcutonce" and i + 1 < len(words):
            mode["upcut"] = int(words[i + 1])
            mode["once"] = True
            i += 1
        elif w == "cutonce" and i + 1 < len(words):
            mode["cut"] = int(words[i + 1])
            mode["once"] = True
            i += 1
        elif w in ("rate", "cut", "delay", "linkrate", "rtt") and i + 1 < len(words):
            mode[w] = int(words[i + 1])
            i += 1
        i += 1
    return mode


class Link:
    """One shared bottleneck: chunks from all connections queue for it in arrival order."""

    def __init__(self):
        self.free_at = 0.0

    async def take(self, n, rate):
        now = time.monotonic()
        start = max(now, self.free_at)
        self.free_at = start + n / rate
        await asyncio.sleep(self.free_at - now)


LINK = Link()


def consume_once(path, mode):
    """A "cutonce" mode applies to one connection: the first to see it rewrites the file."""
    if mode.get("once"):
        with open(path, "w") as f:
            f.write(mode.get("then", "pass") + "\n")
    return mode


def close_quietly(writer):
    try:
        writer.close()
    except Exception:
        pass


async def pump(reader, writer, forward):
    """Copies chunks from reader to writer until either side ends. `forward(data)` decides for each
    chunk: it returns the bytes to send (may be empty) and whether to go on after them."""
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            out, more = await forward(data)
            if out:
                writer.write(out)
                await writer.drain()
            if not more:
                break
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        close_quietly(writer)


async def pump_late(reader, writer, delay):
    """Copies reader to writer, each chunk delivered `delay` seconds after it arrived, in order
    (latency without a bandwidth limit)."""
    queue = asyncio.Queue()

    async def read():
        try:
            while True:
                data = await reader.read(65536)
                await queue.put((time.monotonic() + delay, data))
                if not data:
                    return
        except (ConnectionError, asyncio.CancelledError):
            await queue.put((time.monotonic() + delay, b""))

    reading = asyncio.create_task(read())
    try:
        while True:
            due, data = await queue.get()
            if due > time.monotonic():
                await asyncio.sleep(due - time.monotonic())
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        reading.cancel()
        close_quietly(writer)


async def pipe_up(reader, writer, control):
    """client -> upstream. A mode switched while the (pooled) connection lives applies too."""
    swallowing = False
    sent = 0

    async def forward(data):
        nonlocal swallowing, sent
        now = read_mode(control)
        if now["refuse"]:
            return b"", False
        if now.get("upcut") and sent + len(data) >= now["upcut"]:
            consume_once(control, now)  # the first connection to carry N bytes is cut
            return data[: now["upcut"] - sent], False
        sent += len(data)
        if now["blackhole"] and now.get("once") and not swallowing:
            consume_once(control, now)
            swallowing = True
        if swallowing or (now["blackhole"] and not now.get("once")):
            return b"", True  # swallow: upstream never sees the request, never answers
        return data, True

    await pump(reader, writer, forward)


async def pipe_down(reader, writer, control):
    """upstream -> client, with rate, delay and cut re-read from the control file per chunk."""
    sent, start, first, cut_at = 0, time.monotonic(), True, 0

    async def forward(data):
        nonlocal sent, first, cut_at
        mode = read_mode(control)
        while mode["hold"]:
            await asyncio.sleep(0.05)
            mode = read_mode(control)
        if mode["cut"] and not cut_at:
            consume_once(control, mode)
            cut_at = sent + mode["cut"]
        if first and mode["delay"]:
            await asyncio.sleep(mode["delay"] / 1000)
        first = False
        if cut_at and sent + len(data) >= cut_at:
            return data[: cut_at - sent], False
        sent += len(data)
        if mode["linkrate"]:
            await LINK.take(len(data), mode["linkrate"])
        if mode["rate"]:
            ahead = sent / mode["rate"] - (time.monotonic() - start)
            if ahead > 0:
                await asyncio.sleep(ahead)
        return data, True

    await pump(reader, writer, forward)


async def handle(client_r, client_w, args):
    mode = read_mode(args.control)
    if args.log:
        with open(args.log, "a") as f:
            f.write(f"{time.time():.3f} {open(args.control).read().strip()}\n")
    if mode["refuse"]:
        client_w.close()
        return
    if mode["blackhole"]:
        consume_once(args.control, mode)
        try:
            while await client_r.read(65536):
                pass
        except ConnectionError:
            pass
        client_w.close()
        return
    host, port = args.target.rsplit(":", 1)
    if mode["rtt"]:
        await asyncio.sleep(mode["rtt"] / 1000)  # the handshake's round trip
    try:
        up_r, up_w = await asyncio.open_connection(host, int(port))
    except OSError:
        client_w.close()
        return
    if mode["rtt"]:
        a = asyncio.create_task(pump_late(client_r, up_w, mode["rtt"] / 2000))
        b = asyncio.create_task(pump_late(up_r, client_w, mode["rtt"] / 2000))
    else:
        a = asyncio.create_task(pipe_up(client_r, up_w, args.control))
        b = asyncio.create_task(pipe_down(up_r, client_w, args.control))
    done, pending = await asyncio.wait({a, b}, return_when=asyncio.FIRST_COMPLETED)
    if b in done:  # upstream side finished or was cut: drop the client side too
        a.cancel()
        up_w.close()
    await asyncio.gather(*pending, return_exceptions=True)


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--listen", type=int, required=True)
    p.add_argument("--target", required=True)
    p.add_argument("--control", required=True)
    p.add_argument("--log")
    args = p.parse_args()
    server = await asyncio.start_server(lambda r, w: handle(r, w, args), "127.0.0.1", args.listen)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
