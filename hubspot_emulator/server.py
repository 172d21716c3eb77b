"""HTTP layer: routing, request validation, paging envelope, faults on the wire."""

from __future__ import annotations

import contextlib
import json
import re
import socket
import struct
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit

from . import errors
from .control import handle_control
from .params import ParamError, parse_limit, parse_page
from .store import CursorError, encode_cursor

if TYPE_CHECKING:
    from .backend import Backend
    from .config import EmulatorConfig

VERSIONS = frozenset({"v3", "2025-09", "2026-03", "2026-09"})
_ACTIVITY = re.compile(r"^/account-info/([^/]+)/activity/(login|audit-logs|security)/?$")
# The CMS content audit log: the older path (trailing slash in the spec) and the newer ones.
_CMS = re.compile(r"^/cms/(?:v3/audit-logs|audit-logs/(?:v3|2026-03))/?$")
# POST token endpoints: the deprecated v1 one (until 2027-02-16) and the date-versioned one.
TOKEN_PATHS = {"/oauth/v1/token": "v1", "/oauth/2026-03/token": "2026-03"}
_DETAILS = re.compile(r"^/account-info/([^/]+)/details/?$")


class EmulatorHTTPServer(ThreadingHTTPServer):
    """Threaded so concurrent clients overlap; tracks sockets so stop() can drop them."""

    daemon_threads = True
    # Idle keep-alive connections would make server_close() wait forever otherwise.
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], emulator: Backend) -> None:
        self.emulator = emulator
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, Handler)

    def close_connections(self) -> None:
        with self.connections_lock:
            for conn in list(self.connections):
                with contextlib.suppress(OSError):  # already closed by the peer
                    conn.shutdown(socket.SHUT_RDWR)


class Handler(BaseHTTPRequestHandler):
    """One request; API paths go through auth, limits and faults, control paths do not."""

    protocol_version = "HTTP/1.1"
    server_version = "HubSpotEmulator/1.0"
    timeout = 120
    # Headers and body in one buffered write, sent at once: otherwise Nagle plus the
    # client's delayed ACK adds ~40 ms to every keep-alive response.
    wbufsize = 1 << 16
    disable_nagle_algorithm = True
    server: EmulatorHTTPServer

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            with self.server.connections_lock:
                self.server.connections.discard(self.connection)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002, ARG002 - stdlib API
        # The default line includes the query string; request logging is opt-in below.
        return

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    # -- plumbing -------------------------------------------------------------------

    def _dispatch(self, method: str) -> None:
        emu = self.server.emulator
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        if url.path.startswith("/_emulator/"):
            self._send(handle_control(emu, method, url.path, url.query, body))
            return
        emu.begin_request(url.path)
        status: int | str = "error"
        try:
            status = self._api(emu, method, url.path, url.query, body)
        finally:
            emu.end_request(url.path, status)
            if emu.config.log_requests:
                sys.stderr.write(f"{method} {url.path} {status}\n")

    def _send(self, reply: errors.Reply, headers: dict[str, str] | None = None) -> int:
        if isinstance(reply.body, str):
            data = reply.body.encode("utf-8")
        else:
            data = json.dumps(reply.body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        self._write(reply.status, data, reply.content_type, {**reply.headers, **(headers or {})})
        return reply.status

    def _write(self, status: int, data: bytes, content_type: str, headers: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _reset(self) -> str:
        # SO_LINGER 0 turns the close into a TCP RST, like a dropped upstream connection.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        return "reset"

    # -- the API --------------------------------------------------------------------

    def _api(self, emu: Backend, method: str, path: str, query: str, body: bytes) -> int | str:
        cfg = emu.config
        if cfg.latency_ms > 0:
            time.sleep(cfg.latency_ms / 1000)
        route = _route(path)
        if route is None or method != ("POST" if route[0] == "oauth" else "GET"):
            return self._send(
                errors.not_found(path) if route is None else errors.method_not_allowed(method)
            )
        kind, stream = route
        # Faults come first: a failing gateway answers before HubSpot checks anything.
        fault = emu.take_fault(path, activity=stream is not None)
        if fault == "reset":
            return self._reset()
        if fault == "slow":
            time.sleep(cfg.slow_seconds)
        elif fault not in (None, "truncated"):
            return self._send(
                errors.fault_reply(str(fault), cfg.portal_id), _fault_rate_headers(cfg, str(fault))
            )
        if kind == "oauth":
            return self._send(_oauth(emu, body, str(stream)))
        reply, headers = self._authorized(emu, stream, path, query)
        if fault == "truncated" and reply.status == HTTPStatus.OK:
            data = json.dumps(reply.body, ensure_ascii=False).encode("utf-8")
            self._write(reply.status, data[: len(data) // 2], reply.content_type, headers)
            return "200-truncated"
        return self._send(reply, headers)

    def _authorized(
        self, emu: Backend, stream: str | None, path: str, query: str
    ) -> tuple[errors.Reply, dict[str, str]]:
        denied, oauth = emu.authenticate(self.headers.get("Authorization"))
        if denied is not None:
            return denied, {}
        limited, headers = emu.charge(oauth=oauth)
        if limited is not None:
            return limited, headers
        if stream is None:
            return errors.Reply(HTTPStatus.OK, _details(emu.config)), headers
        return self._activity(emu, stream, path, query), headers

    def _activity(self, emu: Backend, stream: str, path: str, query: str) -> errors.Reply:
        cfg = emu.config
        denied = _denied(cfg, stream)
        if denied is not None:
            return denied
        params = parse_qs(query, keep_blank_values=True)
        try:
            page_query, after = parse_page(stream, params, cfg)
            limit = parse_limit(params, cfg)
        except ParamError as exc:
            return errors.validation(str(exc), exc.param)
        except CursorError as exc:
            return errors.validation(str(exc), "after")
        with emu.lock:
            events, more = emu.store.page(stream, page_query, after, limit)
            results = [emu.store.render(stream, ev) for ev in events]
        body: dict[str, Any] = {"results": results}
        if more:
            last = events[-1]
            # CMS `after` doubles as a time filter, so its cursor carries that bound along.
            cursor = encode_cursor((last[0], last[1]), page_query, carry_lo=stream == "cms")
            pairs = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k != "after"]
            host = self.headers.get("Host") or f"{cfg.host}:{self.server.server_port}"
            link = f"http://{host}{path}?{urlencode([*pairs, ('after', cursor)])}"
            body["paging"] = {"next": {"after": cursor, "link": link}}
        emu.arrive(stream)
        return errors.Reply(200, body)


def _route(path: str) -> tuple[str, str | None] | None:
    """("oauth" | "details" | "activity", stream) or None for a 404."""
    if path in TOKEN_PATHS:
        return "oauth", TOKEN_PATHS[path]
    activity = _ACTIVITY.match(path)
    if activity and activity.group(1) in VERSIONS:
        return "activity", activity.group(2)
    if _CMS.match(path):
        return "activity", "cms"
    details = _DETAILS.match(path)
    if details and details.group(1) in VERSIONS:
        return "details", None
    return None


def _denied(cfg: EmulatorConfig, stream: str) -> errors.Reply | None:
    """The 403 a portal without the scope or the tier gets, checked in that order."""
    if stream == "cms":
        if not cfg.cms_scope:
            return errors.missing_scopes(errors.CMS_SCOPE)
        return None if cfg.cms_enterprise else errors.not_cms_enterprise()
    if cfg.missing_scopes:
        return errors.missing_scopes()
    if stream == "audit-logs" and not cfg.enterprise:
        return errors.not_enterprise()
    return None


def _oauth(emu: Backend, body: bytes, version: str) -> errors.Reply:
    form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
    if form.get("grant_type") != "refresh_token":
        return errors.oauth_error("BAD_GRANT_TYPE", "missing or unknown grant type")
    reply = emu.issue_token(
        form.get("client_id", ""), form.get("client_secret", ""), form.get("refresh_token", "")
    )
    case = emu.config.token_case or ("snake" if version == "v1" else "camel")
    if reply.status != HTTPStatus.OK or case == "snake" or not isinstance(reply.body, dict):
        return reply
    camel = {_camel(key): value for key, value in reply.body.items()}
    return errors.Reply(reply.status, camel, reply.headers, reply.content_type)


def _camel(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(part.title() for part in rest)


def _details(cfg: EmulatorConfig) -> dict[str, Any]:
    return {
        "portalId": cfg.portal_id,
        "accountType": "STANDARD",
        "timeZone": "US/Eastern",
        "companyCurrency": "USD",
        "additionalCurrencies": [],
        "utcOffset": "-05:00",
        "utcOffsetMilliseconds": -18_000_000,
        "uiDomain": "app.hubspot.com",
        "dataHostingLocation": "na1",
    }


def _fault_rate_headers(cfg: EmulatorConfig, fault: str) -> dict[str, str]:
    # A real 429 still says which window was exhausted.
    if not fault.startswith("429") or not cfg.rate_limit_headers:
        return {}
    return {
        "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
        "X-HubSpot-RateLimit-Max": str(cfg.ten_second_max),
        "X-HubSpot-RateLimit-Remaining": "0",
    }
