"""A hostile or broken HubSpot: a small standard-library server whose modes attack the tap.

Separate from the emulator, which stays faithful to HubSpot. `HostileServer(mode)` serves
on 127.0.0.1 (or another loopback address); every request is logged in `requests`. A mode
is a function (server, handler) -> None writing the whole answer; the details call is
answered normally unless the mode says otherwise.

    python -m tests.hostile MODE [--port P] [--host 127.0.0.1]   # one mode, standalone
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import functools
import json
import threading
import time
import typing as t
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
Mode = t.Callable[["HostileServer", "Handler"], None]


def iso(moment: dt.datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


class Handler(BaseHTTPRequestHandler):
    server: HostileServer  # type: ignore[assignment]
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.body = self.rfile.read(length).decode()
        self._serve()

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        self.route, self.query = parts.path, parse_qs(parts.query)
        self.server.requests.append(
            {
                "path": self.route,
                "query": self.query,
                "auth": self.headers.get("Authorization"),
                "body": getattr(self, "body", ""),
                "at": time.monotonic(),
            }
        )
        if self.route.endswith("/details") and not self.server.attack_details:
            self.json({"portalId": 9})
            return
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.server.mode(self.server, self)

    def json(self, body: object, status: int = 200, headers: dict[str, str] | None = None) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        for name, value in {"Content-Type": "application/json", **(headers or {})}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def raw(self, status: int, headers: dict[str, str], payload: bytes = b"") -> None:
        self.send_response(status)
        if "Content-Length" not in headers and "Transfer-Encoding" not in headers:
            headers = {**headers, "Content-Length": str(len(payload))}
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


class HostileServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, mode: Mode, host: str = "127.0.0.1", *, attack_details: bool = False):
        super().__init__((host, 0), Handler)
        self.mode = mode
        self.attack_details = attack_details
        self.requests: list[dict[str, t.Any]] = []
        self.state: dict[str, t.Any] = {}
        self.closing = threading.Event()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def paths(self, fragment: str) -> list[dict[str, t.Any]]:
        return [request for request in self.requests if fragment in request["path"]]

    def __enter__(self) -> t.Self:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.closing.set()
        self.shutdown()
        self.server_close()


def empty(server: HostileServer, handler: Handler) -> None:
    """A quiet portal: every endpoint answers one empty page."""
    handler.json({"results": []})


def login_out_of_order(server: HostileServer, handler: Handler) -> None:
    """Login history newest first, one event far older than the range in second place."""
    if "/activity/login" not in handler.route:
        empty(server, handler)
        return
    events = [NOW - dt.timedelta(hours=hours) for hours in (1, 24 * 400, 2, 3, 4)]
    records = [
        {"id": str(index), "loginAt": iso(moment), "loginSucceeded": True, "userId": 7}
        for index, moment in enumerate(events)
    ]
    if handler.query.get("after") == ["p2"]:
        handler.json({"results": records[3:]})
    else:
        handler.json({"results": records[:3], "paging": {"next": {"after": "p2"}}})


BAD_TIMES = [
    "2026-11-23T17:04:99.000Z",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-01:00",
    "2026-11-23T17:04:5\u00b9.000Z",
    "12345678901234567890",
]


def bad_timestamps(server: HostileServer, handler: Handler) -> None:
    """Security history with unusable timestamps between two good events."""
    if "/activity/security" not in handler.route:
        empty(server, handler)
        return
    good = [iso(NOW - dt.timedelta(hours=2)), iso(NOW - dt.timedelta(hours=1))]
    stamps = [good[0], *BAD_TIMES, good[1]]
    handler.json(
        {"results": [{"id": f"s{index}", "createdAt": stamp} for index, stamp in enumerate(stamps)]}
    )


def cursor_cycle(server: HostileServer, handler: Handler) -> None:
    """Login pages whose cursors go A -> B -> C -> A."""
    if "/activity/login" not in handler.route:
        empty(server, handler)
        return
    after = (handler.query.get("after") or ["start"])[0]
    following = {"start": "A", "A": "B", "B": "C", "C": "A"}[after]
    record = {"id": f"l-{after}", "loginAt": iso(NOW - dt.timedelta(minutes=5)), "userId": 1}
    handler.json({"results": [record], "paging": {"next": {"after": following}}})


def ignores_after(server: HostileServer, handler: Handler) -> None:
    """Login pages that ignore `after`: the same page, a fresh cursor every time."""
    if "/activity/login" not in handler.route:
        empty(server, handler)
        return
    server.state["n"] = server.state.get("n", 0) + 1
    record = {"id": "l-same", "loginAt": iso(NOW - dt.timedelta(minutes=5)), "userId": 1}
    handler.json({"results": [record], "paging": {"next": {"after": f"c{server.state['n']}"}}})


def trickle(server: HostileServer, handler: Handler) -> None:
    """A body that arrives one byte a second and never ends."""
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", "1000000")
    handler.end_headers()
    while not server.closing.wait(1.0):
        handler.wfile.write(b" ")
        handler.wfile.flush()


def hang(server: HostileServer, handler: Handler) -> None:
    """Accept the request and never answer."""
    server.closing.wait(600)


def retry_after_forever(server: HostileServer, handler: Handler) -> None:
    """429 with Retry-After: 100000."""
    handler.json({"status": "error", "category": "RATE_LIMITS"}, 429, {"Retry-After": "100000"})


def retry_after_inf(server: HostileServer, handler: Handler) -> None:
    """429 with Retry-After: inf."""
    handler.json({"status": "error", "category": "RATE_LIMITS"}, 429, {"Retry-After": "inf"})


def huge_interval(server: HostileServer, handler: Handler) -> None:
    """Quiet pages announcing a rate-limit interval of 10^11 ms."""
    handler.json(
        {"results": []},
        headers={
            "X-HubSpot-RateLimit-Max": "100",
            "X-HubSpot-RateLimit-Interval-Milliseconds": "100000000000",
            "X-HubSpot-RateLimit-Remaining": "0",
        },
    )


def one_gib_page(server: HostileServer, handler: Handler) -> None:
    """A page of 1 GiB, declared in Content-Length and sent."""
    size = 1024**3
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(size))
    handler.end_headers()
    chunk = b'{"results": [' + b" " * (1024 * 1024 - 13)
    handler.wfile.write(chunk)
    filler = b" " * 1024 * 1024
    for _ in range(1023):
        if server.closing.is_set():
            return
        handler.wfile.write(filler)


def endless_chunked(server: HostileServer, handler: Handler) -> None:
    """A chunked body that never ends."""
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Transfer-Encoding", "chunked")
    handler.end_headers()
    piece = b" " * 65536
    handler.wfile.write(b'd\r\n{"results": [\r\n')
    while not server.closing.is_set():
        handler.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")


@functools.cache
def gzip_bomb_body() -> bytes:
    """About 2 MB of gzip that inflates to 2 GiB.

    After a full flush the compressor starts afresh, so one MiB of spaces compresses to
    the same bytes every time: they are made once and repeated.
    """
    head, piece, tail = b'{"results": [', b" " * (1024 * 1024), b"]}"
    pieces = 2048
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    start = compressor.compress(head) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = compressor.compress(piece) + compressor.flush(zlib.Z_FULL_FLUSH)
    end = compressor.compress(tail) + compressor.flush()
    crc = zlib.crc32(head)
    for _ in range(pieces):
        crc = zlib.crc32(piece, crc)
    crc = zlib.crc32(tail, crc)
    size = (len(head) + pieces * len(piece) + len(tail)) % 2**32
    gzip_header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
    trailer = crc.to_bytes(4, "little") + size.to_bytes(4, "little")
    return gzip_header + start + block * pieces + end + trailer


def gzip_bomb(server: HostileServer, handler: Handler) -> None:
    """A 2 MB gzip body that inflates to 2 GiB, whatever Accept-Encoding said."""
    body = gzip_bomb_body()
    handler.raw(
        200,
        {
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
            "Content-Length": str(len(body)),
        },
        body,
    )


def oauth_redirect(server: HostileServer, handler: Handler) -> None:
    """The token endpoint redirects (307, or the status in state) to another host."""
    if handler.route.startswith("/oauth/"):
        status = server.state.get("status", 307)
        handler.raw(
            status, {"Location": server.state["target"] + handler.route, "Content-Length": "0"}
        )
    else:
        empty(server, handler)


def api_redirect(server: HostileServer, handler: Handler) -> None:
    """Every API call redirects to another host."""
    handler.raw(302, {"Location": server.state["target"] + handler.path, "Content-Length": "0"})


def oauth_echo(server: HostileServer, handler: Handler) -> None:
    """The token endpoint refuses and echoes the posted form (secrets included)."""
    if handler.route.startswith("/oauth/"):
        handler.json(
            {"status": "BAD_REFRESH_TOKEN", "message": handler.body, "echo": handler.body}, 400
        )
    else:
        empty(server, handler)


def oauth_expires(server: HostileServer, handler: Handler) -> None:
    """Tokens whose expires_in is state['expires_in']; quiet pages."""
    if handler.route.startswith("/oauth/"):
        number = len(server.paths("/oauth/"))
        handler.json({"access_token": f"issued-{number}", "expires_in": server.state["expires_in"]})
    else:
        empty(server, handler)


def echo_token(server: HostileServer, handler: Handler) -> None:
    """A 400 whose message puts the bearer token right where a 300-character cut falls."""
    if "/activity/security" in handler.route:
        token = (handler.headers.get("Authorization") or "").removeprefix("Bearer ")
        message = "x" * 270 + token + " and again " + token
        handler.json({"status": "error", "category": "VALIDATION_ERROR", "message": message}, 400)
    else:
        empty(server, handler)


def many_headers(server: HostileServer, handler: Handler) -> None:
    """An answer with 150 headers."""
    handler.json({"results": []}, headers={f"X-Filler-{i}": "x" for i in range(150)})


def deep_json(server: HostileServer, handler: Handler) -> None:
    """JSON nested 100,000 deep."""
    handler.raw(200, {"Content-Type": "application/json"}, b"[" * 100_000 + b"]" * 100_000)


def truncated(server: HostileServer, handler: Handler) -> None:
    """A body cut short of its Content-Length, every time."""
    handler.raw(200, {"Content-Type": "application/json", "Content-Length": "100"}, b'{"res')
    handler.close_connection = True


def redirect_loop(server: HostileServer, handler: Handler) -> None:
    """Every request redirected to itself."""
    handler.raw(301, {"Location": handler.path, "Content-Length": "0"})


def unavailable(server: HostileServer, handler: Handler) -> None:
    """503 on every call (the details call included when attack_details)."""
    handler.json({"status": "error", "message": "down"}, 503)


def injected_ids(server: HostileServer, handler: Handler) -> None:
    """Records whose id, category and message forge log lines."""
    forged = "x\n2026-11-23 12:00:00,000 | ERROR    | FAKE | injected"
    if "/activity/security" in handler.route:
        handler.json({"results": [{"id": forged, "createdAt": "not a time"}]})
    elif "/activity/audit-logs" in handler.route:
        handler.json({"status": "error", "category": forged, "message": forged}, 400)
    else:
        empty(server, handler)


MODES: dict[str, Mode] = {
    name: value
    for name, value in list(globals().items())
    if callable(value)
    and getattr(value, "__module__", "") == __name__
    and name.islower()
    and name not in {"iso", "main", "gzip_bomb_body"}
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("mode", choices=sorted(MODES))
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    with HostileServer(MODES[args.mode], args.host) as server:
        print(server.url, flush=True)  # noqa: T201
        server.closing.wait()


if __name__ == "__main__":
    main()
