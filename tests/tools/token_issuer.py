#!/usr/bin/env python3
"""A Docker-style registry token service for tests (the "realm" of a docker-registry configured
with `auth: token`), with the standard library and the `openssl` CLI only.

  token_issuer.py --listen ADDR:PORT --key KEY.pem --cert CERT.pem --issuer NAME --service NAME
                  --user NAME --password-file FILE --anonymous-prefix PREFIX --log FILE
                  [--control FILE] [--expires-in SECONDS] [--registry-leeway SECONDS]

GET /token?service=S&scope=repository:NAME:ACTIONS[&scope=...] answers, like auth.docker.io,
200 {"token", "access_token", "expires_in", "issued_at"} with a JWT (RS256, signed by KEY with
`openssl dgst -sha256 -sign`; its header's x5c carries CERT, which the registry verifies against
its rootcertbundle) granting only what the account may do:
  - Basic credentials of --user with the password in --password-file: every action asked
    (pull, push, delete, *) on every repository;
  - no credentials (anonymous): `pull`, on repositories whose name starts with --anonymous-prefix;
    anything else is left out of the token (an empty grant, as Docker Hub does for a private
    repository), so the registry refuses it;
  - wrong credentials: 401. A missing or wrong `service`: 400.
GET /healthz answers 200.

--log gets one line per token request:
  <unix time> host=<Host header> account=<user|anonymous|refused> service=<service|->
  scope=<scope> ... granted=<type:name:actions> ... denied=<type:name:actions> ...
  expires_in=<n> status=<code>
(`scope=-` when the request named none). No secret is ever logged.

--control FILE is read for every request; its words:
  expires_in N   overrides --expires-in (so a test can make tokens short-lived for one step);
  refuse STATUS  a request with a scope the account may have nothing of is answered STATUS (e.g.
                 401, as ghcr.io answers an anonymous request for a private repository) instead
                 of a token that grants nothing.

docker-registry (distribution 2.8) accepts a token until `exp` + 60 s (token.Leeway, for clock
skew). So that the registry refuses a token once `expires_in` has passed, as a token service that
shares its clock would have it, the JWT's exp is issued_at + expires_in (rounded up to the second)
- --registry-leeway (default 60): the registry takes it for expires_in to expires_in + 1 s.
"""
import argparse
import base64
import binascii
import datetime
import http.server
import json
import math
import os
import subprocess
import threading
import time
import urllib.parse

ALL_ACTIONS = ("pull", "push", "delete", "*")


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def cert_der_b64(cert_pem_path):
    """The standard base64 of a PEM certificate's DER: what a JWS x5c entry holds."""
    lines = open(cert_pem_path).read().splitlines()
    start = lines.index("-----BEGIN CERTIFICATE-----")
    end = lines.index("-----END CERTIFICATE-----")
    return "".join(lines[start + 1:end])


def parse_scope(scope):
    """repository:library/app:pull,push -> ("repository", "library/app", ["pull", "push"])."""
    parts = scope.split(":")
    if len(parts) < 3:
        return None
    return parts[0], ":".join(parts[1:-1]), [a for a in parts[-1].split(",") if a]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _send(self, status, body, headers=()):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _account(self):
        """The account the request authenticates as: a name, "anonymous", or None (refused)."""
        auth = self.headers.get("Authorization")
        if not auth:
            return "anonymous"
        scheme, _, value = auth.partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            user, _, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        cfg = self.server.cfg
        want = open(cfg.password_file).read().strip()
        if user == cfg.user and password == want:
            return user
        return None

    def _control(self):
        """{"expires_in": N, "refuse": STATUS or 0} from --expires-in and the control file."""
        ctl = {"expires_in": self.server.cfg.expires_in, "refuse": 0}
        words = []
        if self.server.cfg.control:
            try:
                words = open(self.server.cfg.control).read().split()
            except OSError:
                pass
        for i, w in enumerate(words[:-1]):
            if w in ctl:
                ctl[w] = int(words[i + 1])
        return ctl

    def _grant(self, account, scope):
        parsed = parse_scope(scope)
        if not parsed:
            return None
        typ, name, actions = parsed
        cfg = self.server.cfg
        if account == cfg.user:
            allowed = [a for a in actions if a in ALL_ACTIONS]
        elif typ == "repository" and name.startswith(cfg.anonymous_prefix):
            allowed = [a for a in actions if a == "pull"]
        else:
            allowed = []
        return {"type": typ, "name": name, "actions": allowed}

    def _record(self, account, service, scopes, granted, denied, expires_in, status):
        fields = [f"{time.time():.3f}", f"host={self.headers.get('Host', '-')}",
                  f"account={account}", f"service={service or '-'}"]
        fields += [f"scope={s}" for s in scopes] or ["scope=-"]
        fields += [f"granted={g}" for g in granted]
        fields += [f"denied={d}" for d in denied]
        fields += [f"expires_in={expires_in}", f"status={status}"]
        with self.server.lock, open(self.server.cfg.log, "a") as f:
            f.write(" ".join(fields) + "\n")

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/healthz":
            self._send(200, {"ok": True})
            return
        if url.path != "/token":
            self._send(404, {"details": "not found"})
            return
        cfg = self.server.cfg
        query = urllib.parse.parse_qs(url.query)
        service = query.get("service", [""])[0]
        # Clients send one scope parameter per scope; some put several in one, space-separated.
        scopes = [s for v in query.get("scope", []) for s in v.split()]
        ctl = self._control()
        expires_in = ctl["expires_in"]
        account = self._account()
        if account is None:
            self._record("refused", service, scopes, [], [], expires_in, 401)
            self._send(401, {"details": "incorrect username or password"},
                       [("WWW-Authenticate", 'Basic realm="outpost-test-token-issuer"')])
            return
        if service != cfg.service:
            self._record(account, service, scopes, [], [], expires_in, 400)
            self._send(400, {"details": f"unknown service {service!r}"})
            return
        access, granted, denied = [], [], []
        for scope in scopes:
            g = self._grant(account, scope)
            if g is None:
                denied.append(scope)
                continue
            asked = parse_scope(scope)[2]
            if g["actions"]:
                access.append(g)
                granted.append(f"{g['type']}:{g['name']}:{','.join(g['actions'])}")
            missing = [a for a in asked if a not in g["actions"]]
            if missing:
                denied.append(f"{g['type']}:{g['name']}:{','.join(missing)}")
            if ctl["refuse"] and not g["actions"]:
                self._record(account, service, scopes, [], denied, expires_in, ctl["refuse"])
                self._send(ctl["refuse"], {"errors": [{"code": "DENIED", "message":
                                                       "requested access to the resource is denied"}]})
                return
        t = time.time()
        now = int(t)
        claims = {
            "iss": cfg.issuer,
            "sub": "" if account == "anonymous" else account,
            "aud": cfg.service,
            "exp": math.ceil(t + expires_in) - cfg.registry_leeway,
            "nbf": now - 1,
            "iat": now,
            "jti": b64url(os.urandom(12)),
            "access": access,
        }
        header = {"typ": "JWT", "alg": "RS256", "x5c": [self.server.x5c]}
        signing_input = (b64url(json.dumps(header, separators=(",", ":")).encode()) + "." +
                         b64url(json.dumps(claims, separators=(",", ":")).encode()))
        sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", cfg.key],
                             input=signing_input.encode(), capture_output=True, check=True).stdout
        token = signing_input + "." + b64url(sig)
        issued_at = datetime.datetime.fromtimestamp(now, datetime.timezone.utc)
        self._record(account, service, scopes, granted, denied, expires_in, 200)
        self._send(200, {"token": token, "access_token": token, "expires_in": expires_in,
                         "issued_at": issued_at.strftime("%Y-%m-%dT%H:%M:%SZ")})


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--listen", required=True, help="ADDR:PORT")
    p.add_argument("--key", required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--issuer", required=True)
    p.add_argument("--service", required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--password-file", required=True)
    p.add_argument("--anonymous-prefix", default="library/")
    p.add_argument("--log", required=True)
    p.add_argument("--control")
    p.add_argument("--expires-in", type=int, default=300)
    p.add_argument("--registry-leeway", type=int, default=60)
    cfg = p.parse_args()
    addr, port = cfg.listen.rsplit(":", 1)
    server = http.server.ThreadingHTTPServer((addr, int(port)), Handler)
    server.daemon_threads = True
    server.cfg, server.lock, server.x5c = cfg, threading.Lock(), cert_der_b64(cfg.cert)
    server.serve_forever()


if __name__ == "__main__":
    main()
