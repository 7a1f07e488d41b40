#!/usr/bin/env python3
"""A fault-injecting HTTP proxy in front of an AWS emulator (moto), for issue 15's benchmark.

    target/moto-venv/bin/python scripts/faultproxy.py --upstream http://127.0.0.1:PORT \
        [--port 0] [--fault-rate 0.3] [--delay-ms 5] [--seed 15] [--log requests.jsonl]

It prints `export AMIREF_FAULT_PROXY=http://127.0.0.1:PORT` once it listens, then serves
until interrupted. scripts/faultbench.py imports it and runs it in a thread instead.

Each request is read whole (head and Content-Length body, both bounded). A seeded draw
decides its fate, in the order the requests arrive:

- with probability `fault_rate`, it is answered at once, never forwarded, with a fault:
  half of the faults are throttling, half "service unavailable", in the protocol of the
  service the request is for:
  - EC2 (query protocol, `Version=2016-11-15`): EC2's XML error body
    (`<Response><Errors><Error><Code>...`) with `RequestLimitExceeded` or `Unavailable`,
    both HTTP 503, as EC2 answers them;
  - STS (query protocol, `Action=GetCallerIdentity` ...): the `<ErrorResponse>` body with
    `Throttling` (HTTP 400) or `ServiceUnavailable` (HTTP 503);
  - JSON protocols (SSM, the Marketplace Catalog; `X-Amz-Target` or a JSON body):
    `{"__type": "ThrottlingException"}` (HTTP 400) or `ServiceUnavailable` (HTTP 503);
- otherwise it is held `delay_ms` and forwarded to the upstream; the answer goes back as it
  came.

Only a loopback upstream is accepted, and the proxy listens on 127.0.0.1 only. Python's
standard library only: it runs under moto's own venv, or any python3.
"""

from __future__ import annotations

import argparse
import http.client
import http.server
import json
import random
import sys
import threading
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from typing import Optional

MAX_BODY = 8 * 1024 * 1024
THROTTLED = "throttled"
UNAVAILABLE = "unavailable"
# Headers not passed on: hop-by-hop ones (RFC 9110 section 7.6.1).
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
}


@dataclass
class Request:
    """One request the proxy saw: when, what, where, and whether it was faulted."""

    at: float
    operation: str
    region: str
    service: str
    fault: Optional[str]
    status: int
    seconds: float


@dataclass
class Stats:
    """What the proxy did, shared by its handler threads (under `lock`)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: list = field(default_factory=list)

    def add(self, request: Request) -> None:
        with self.lock:
            self.requests.append(request)

    def take(self) -> list:
        """The requests since the last call (and forgets them)."""
        with self.lock:
            taken, self.requests = self.requests, []
        return taken


def describe(headers, body: bytes) -> tuple[str, str, str]:
    """(service, operation, region) of a request, from its signature and body."""
    region, service = "", ""
    auth = headers.get("Authorization", "")
    # AWS4-HMAC-SHA256 Credential=AKID/20261201/us-east-1/ec2/aws4_request, ...
    marker = "Credential="
    if marker in auth:
        scope = auth.split(marker, 1)[1].split(",", 1)[0].split("/")
        if len(scope) >= 4:
            region, service = scope[2], scope[3]
    target = headers.get("X-Amz-Target")
    if target:
        return service or "json", target.rsplit(".", 1)[-1], region
    form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
    action = form.get("Action", [""])[0]
    return service or "query", action or "?", region


def fault_answer(service: str, kind: str, json_protocol: bool) -> tuple[int, str, bytes]:
    """(status, content type, body) of an injected fault, as the service would answer."""
    request_id = str(uuid.uuid4())
    if json_protocol:
        code, status = (
            ("ThrottlingException", 400) if kind == THROTTLED else ("ServiceUnavailable", 503)
        )
        body = json.dumps({"__type": code, "message": f"injected by faultproxy: {kind}"})
        return status, "application/x-amz-json-1.1", body.encode()
    if service == "sts":
        code, status = (
            ("Throttling", 400) if kind == THROTTLED else ("ServiceUnavailable", 503)
        )
        body = (
            '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
            f"<Error><Type>Sender</Type><Code>{code}</Code>"
            f"<Message>injected by faultproxy: {kind}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        )
        return status, "text/xml", body.encode()
    code = "RequestLimitExceeded" if kind == THROTTLED else "Unavailable"
    message = (
        "Request limit exceeded." if kind == THROTTLED else "The server is overloaded."
    )
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message>"
        f"</Error></Errors><RequestID>{request_id}</RequestID></Response>"
    )
    return 503, "text/xml;charset=UTF-8", body.encode()


class FaultProxy:
    """The proxy: `start()` serves in a daemon thread, `stop()` ends it."""

    def __init__(
        self,
        upstream: str,
        fault_rate: float = 0.3,
        delay_ms: float = 5.0,
        seed: int = 15,
        port: int = 0,
        log_path: Optional[str] = None,
    ):
        parsed = urllib.parse.urlsplit(upstream)
        if parsed.scheme != "http" or parsed.hostname not in ("127.0.0.1", "localhost"):
            raise ValueError(f"the proxy forwards only to a loopback http emulator, not {upstream}")
        if not 0.0 <= fault_rate <= 1.0:
            raise ValueError(f"--fault-rate must be between 0 and 1, not {fault_rate}")
        self.upstream = (parsed.hostname, parsed.port or 80)
        self.fault_rate = fault_rate
        self.delay = delay_ms / 1000.0
        self.rng = random.Random(seed)
        self.rng_lock = threading.Lock()
        self.stats = Stats()
        self.log = open(log_path, "a", encoding="utf-8") if log_path else None
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self.server.daemon_threads = True
        self.thread: Optional[threading.Thread] = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def draw(self) -> Optional[str]:
        """The next request's fault (or None), from the seeded sequence."""
        with self.rng_lock:
            if self.rng.random() >= self.fault_rate:
                return None
            return THROTTLED if self.rng.random() < 0.5 else UNAVAILABLE

    def record(self, request: Request) -> None:
        self.stats.add(request)
        if self.log:
            with self.stats.lock:
                self.log.write(json.dumps(request.__dict__) + "\n")
                self.log.flush()

    def start(self) -> "FaultProxy":
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        if self.log:
            self.log.close()

    def _handler(self):
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            upstream_conn: Optional[http.client.HTTPConnection] = None

            def log_message(self, *args):  # quiet: the stats say what happened
                pass

            def finish(self):
                if self.upstream_conn is not None:
                    self.upstream_conn.close()
                super().finish()

            def _serve(self):
                started = time.monotonic()
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_BODY or self.headers.get("Transfer-Encoding"):
                    self.send_error(413, "request body too large or chunked")
                    return
                body = self.rfile.read(length) if length else b""
                service, operation, region = describe(self.headers, body)
                json_protocol = bool(self.headers.get("X-Amz-Target")) or (
                    self.headers.get("Content-Type", "").startswith("application/x-amz-json")
                    or self.headers.get("Content-Type", "").startswith("application/json")
                )
                fault = proxy.draw()
                if fault:
                    status, ctype, answer = fault_answer(service, fault, json_protocol)
                    self.send_response(status)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                else:
                    time.sleep(proxy.delay)
                    status = self._forward(body)
                proxy.record(
                    Request(
                        at=started,
                        operation=operation,
                        region=region,
                        service=service,
                        fault=fault,
                        status=status,
                        seconds=time.monotonic() - started,
                    )
                )

            def _forward(self, body: bytes) -> int:
                headers = {
                    k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP
                }
                for attempt in range(2):
                    if self.upstream_conn is None:
                        self.upstream_conn = http.client.HTTPConnection(*proxy.upstream, timeout=120)
                    try:
                        self.upstream_conn.request(self.command, self.path, body=body, headers=headers)
                        answer = self.upstream_conn.getresponse()
                        payload = answer.read()
                        break
                    except (http.client.HTTPException, OSError):
                        # A kept-alive upstream connection may have been closed: once more, fresh.
                        self.upstream_conn.close()
                        self.upstream_conn = None
                        if attempt == 1:
                            self.send_error(502, "the upstream did not answer")
                            return 502
                self.send_response(answer.status, answer.reason)
                for k, v in answer.getheaders():
                    if k.lower() not in HOP_BY_HOP and k.lower() != "content-length":
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                return answer.status

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _serve

        return Handler


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--upstream", required=True, help="the emulator, e.g. http://127.0.0.1:5000")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: a free one)")
    parser.add_argument("--fault-rate", type=float, default=0.3)
    parser.add_argument("--delay-ms", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--log", help="append each request as a JSON line to this file")
    args = parser.parse_args()
    try:
        proxy = FaultProxy(
            args.upstream, args.fault_rate, args.delay_ms, args.seed, args.port, args.log
        )
    except (ValueError, OSError) as e:
        print(f"faultproxy: {e}", file=sys.stderr)
        return 2
    print(f"export AMIREF_FAULT_PROXY={proxy.url}", flush=True)
    try:
        proxy.server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
