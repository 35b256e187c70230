#!/usr/bin/env python3
"""An HTTP proxy for tests that records what crosses it and can lie about content.

  recording_proxy.py --listen PORT --target http://HOST:PORT --log FILE --control FILE

Every request is forwarded to the target (method, path with query, headers) and its answer
streamed back. One line per request goes to the log: METHOD PATH-WITH-QUERY STATUS, then
"auth=<Authorization header or ->". The control file is read for every request:
  pass           forward untouched
  corrupt-blobs  flip one byte of every blob body (/blobs/ paths, 2xx): wrong content with the
                 right length and headers, which only a digest check catches
  ratelimit L R  add Docker Hub's rate-limit headers to manifest answers (GET and HEAD):
                 ratelimit-limit: L;w=21600, ratelimit-remaining: R;w=21600,
                 docker-ratelimit-source: 192.0.2.7
  strip-scope    drop the scope parameter from every WWW-Authenticate challenge (what a registry
                 that does not name the scope it wants sends); the rest of it is kept
"""
import argparse
import http.client
import http.server
import re
import threading
import urllib.parse

HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
       "proxy-authorization", "proxy-authenticate", "host"}


CHALLENGE_PARAM = re.compile(r'\s*([A-Za-z0-9_-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^,]*)\s*,?')


def strip_scope(challenge):
    """Bearer realm="r",service="s",scope="x" -> Bearer realm="r",service="s"."""
    scheme, _, params = challenge.strip().partition(" ")
    kept = [f"{k}={v}" for k, v in CHALLENGE_PARAM.findall(params) if k.lower() != "scope"]
    return scheme + (" " + ",".join(kept) if kept else "")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _words(self):
        try:
            return open(self.server.control).read().split() or ["pass"]
        except OSError:
            return ["pass"]

    def _mode(self):
        return self._words()[0]

    def _record(self, status):
        auth = self.headers.get("Authorization") or "-"
        with self.server.lock, open(self.server.log, "a") as f:
            f.write(f"{self.command} {self.path} {status} auth={auth}\n")

    def _forward(self):
        target = self.server.target
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
        conn = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
        try:
            conn.request(self.command, self.path, body=body, headers=headers)
            resp = conn.getresponse()
        except OSError:
            self._record(502)
            self.send_response(502)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self._record(resp.status)
        lie = (self._mode() == "corrupt-blobs" and "/blobs/" in self.path
               and 200 <= resp.status < 300 and self.command == "GET")
        self.send_response(resp.status)
        words = self._words()
        for k, v in resp.getheaders():
            if k.lower() not in HOP:
                if words[0] == "strip-scope" and k.lower() == "www-authenticate":
                    v = strip_scope(v)
                self.send_header(k, v)
        if words[0] == "ratelimit" and len(words) == 3 and "/manifests/" in self.path:
            self.send_header("ratelimit-limit", f"{words[1]};w=21600")
            self.send_header("ratelimit-remaining", f"{words[2]};w=21600")
            self.send_header("docker-ratelimit-source", "192.0.2.7")
        chunked = self.command != "HEAD" and resp.getheader("Content-Length") is None
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if self.command == "HEAD":
            conn.close()
            return
        first = True
        while True:
            data = resp.read(65536)
            if not data:
                break
            if lie and first:
                data = bytes([data[0] ^ 0xFF]) + data[1:]
            first = False
            if chunked:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            else:
                self.wfile.write(data)
        if chunked:
            self.wfile.write(b"0\r\n\r\n")
        conn.close()

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _forward


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--listen", type=int, required=True)
    p.add_argument("--target", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--control", required=True)
    args = p.parse_args()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.listen), Handler)
    server.daemon_threads = True
    server.target = urllib.parse.urlparse(args.target)
    server.log, server.control, server.lock = args.log, args.control, threading.Lock()
    server.serve_forever()


if __name__ == "__main__":
    main()
