"""HubSpotEmulator: lifecycle, ground truth, mutation, faults, auth, rate limits, stats."""

from __future__ import annotations

import collections
import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Self

from . import errors
from .config import FAULT_KINDS, STREAMS, EmulatorConfig
from .data import DAY_MS, HOUR_MS, iso_ms, seeded
from .incidents import PERIOD_HOURS
from .server import EmulatorHTTPServer
from .store import EventStore

if TYPE_CHECKING:
    from collections.abc import Iterable
    from types import TracebackType

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
WINDOW_S = 10.0
# The portal's time zone (US/Eastern, as /details says): the daily limit resets there.
_PORTAL_OFFSET_S = -5 * 3600


def to_ms_ceil(moment: datetime) -> int:
    """Smallest epoch ms at or after `moment` (naive means UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    micros = (moment - _EPOCH) // timedelta(microseconds=1)
    return -(-micros // 1000)


@dataclass
class _Fault:
    kind: str
    remaining: int
    path: str | None
    # Matching requests to let through before the fault starts: fails mid-run.
    after: int = 0


class HubSpotEmulator:
    """A loopback HTTP server that behaves like HubSpot's account-activity API."""

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self._config = config or EmulatorConfig()
        self.lock = threading.RLock()
        anchor = self._config.now or datetime.now(UTC)
        self._anchor_ms = to_ms_ceil(anchor)
        self._t0 = time.monotonic()
        self.store = EventStore(self._config, self._anchor_ms)
        self._tokens: dict[str, float] = {}
        self._faults: list[_Fault] = []
        self._fault_rng = seeded(self._config.seed, "faults")
        self._late_rng = seeded(self._config.seed, "late")
        self._window: collections.deque[float] = collections.deque()
        self._daily: tuple[int, int] = (0, 0)  # (portal-local day, requests counted)
        self._server: EmulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._inflight = 0
        # Requests in flight per path: how many endpoints a client reads at once.
        self._paths_inflight: collections.Counter[str] = collections.Counter()
        self._peak_paths = 0
        self._total = 0
        self._by_status: collections.Counter[str] = collections.Counter()
        self._recent: collections.deque[float] = collections.deque()
        self._peak_rate = self._peak_inflight = self._rate_limited = 0

    # -- lifecycle ------------------------------------------------------------------

    @property
    def config(self) -> EmulatorConfig:
        return self._config

    @property
    def url(self) -> str:
        if self._server is None:
            msg = "the emulator is not started"
            raise RuntimeError(msg)
        return f"http://{self._config.host}:{self._server.server_port}"

    def start(self) -> Self:
        """Bind and serve in a daemon thread; returns self."""
        if self._server is not None:
            return self
        self._server = EmulatorHTTPServer((self._config.host, self._config.port), self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="hubspot-emulator",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and drop open keep-alive connections."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.close_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def now_ms(self) -> int:
        """The emulator clock: the anchor (config.now or start) plus real elapsed time."""
        if self._config.now is None:
            # The real clock, the one the tap reads: no drift between the two.
            return int(time.time() * 1000)
        return self._anchor_ms + int((time.monotonic() - self._t0) * 1000)

    # -- ground truth and mutation ----------------------------------------------------

    def truth(
        self,
        stream: str,
        since: datetime | None = None,
        until: datetime | None = None,
        user_ids: Iterable[int] | None = None,
    ) -> list[dict[str, Any]]:
        """Exactly what the endpoint serves with timestamp in [since, until), ascending."""
        _check_stream(stream)
        since_ms = None if since is None else to_ms_ceil(since)
        until_ms = None if until is None else to_ms_ceil(until)
        users = None if user_ids is None else frozenset(user_ids)
        with self.lock:
            events = self.store.select(stream, since_ms, until_ms, users)
            return [self.store.render(stream, ev) for ev in events]

    def next_events(self) -> dict[str, Any]:
        """Per stream, when its next event happens (ISO, UTC) and the data's cutoff.

        The data is a function of the clock up to a second before start: events after it
        appear only when the emulator is started again after they happen.
        """
        with self.lock:
            cutoff = self.store.cutoff_ms
            upcoming = {stream: self.store.next_event_ms(stream) for stream in self.store.events}
        return {
            "served_until": iso_ms(cutoff),
            "next": {stream: None if ms is None else iso_ms(ms) for stream, ms in upcoming.items()},
        }

    def add_events(self, stream: str, count: int, late_minutes: float = 0) -> list[dict[str, Any]]:
        """Insert `count` events stamped now, or `late_minutes` ago (late arrivals)."""
        _check_stream(stream)
        if count < 0 or late_minutes < 0:
            msg = "count and late_minutes must be >= 0"
            raise ValueError(msg)
        with self.lock:
            at = self.now_ms() - int(late_minutes * 60_000)
            added = self.store.add(stream, count, at)
            return [self.store.render(stream, ev) for ev in added]

    def delete_events(self, stream: str, ids: Iterable[str]) -> int:
        """Remove served events by id (not CMS, which has none): how many were removed."""
        _check_stream(stream)
        if stream == "cms":
            msg = "CMS records have no id to delete by"
            raise ValueError(msg)
        with self.lock:
            return self.store.remove(stream, {str(event_id) for event_id in ids})

    def arrive(self, stream: str) -> None:
        """Events arriving during a run: half now, half a few minutes late."""
        count = self._config.arrivals_per_request
        if count <= 0:
            return
        with self.lock:
            now = self.now_ms()
            self.store.add(stream, count - count // 2, now)
            for _ in range(count // 2):
                self.store.add(stream, 1, now - self._late_rng.randint(60_000, 300_000))

    def configure(self, **modes: Any) -> EmulatorConfig:
        """Change mode fields while serving; returns the new config."""
        with self.lock:
            self._config = self._config.with_modes(modes)
            self.store.config = self._config
            return self._config

    def inject_fault(
        self, kind: str, count: int = 1, path: str | None = None, after: int = 0
    ) -> None:
        """Fail `count` requests whose path contains `path` (None: activity), after `after`."""
        if kind not in FAULT_KINDS:
            msg = f"unknown fault kind {kind!r}; known: {FAULT_KINDS}"
            raise ValueError(msg)
        if count < 1 or after < 0:
            msg = "count must be >= 1 and after >= 0"
            raise ValueError(msg)
        with self.lock:
            self._faults.append(_Fault(kind, count, path, after))

    def clear_faults(self) -> None:
        """Forget injected faults that have not fired yet."""
        with self.lock:
            self._faults.clear()

    def take_fault(self, path: str, *, activity: bool) -> str | None:
        """The fault this request must suffer, if any (consumes one injected fault)."""
        with self.lock:
            for fault in self._faults:
                if (fault.path is None and activity) or (
                    fault.path is not None and fault.path in path
                ):
                    if fault.after > 0:
                        fault.after -= 1
                        return None
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    return fault.kind
            cfg = self._config
            if (
                activity
                and cfg.fault_rate
                and cfg.fault_kinds
                and (self._fault_rng.random() < cfg.fault_rate)
            ):
                return self._fault_rng.choice(cfg.fault_kinds)
        return None

    def incidents(self) -> dict[str, Any]:
        """The newest complete set of planted incidents, plus older ones still served."""
        store, planner = self.store, self.store.planner
        sets = []
        # Older sets count only while all their events are still served.
        oldest_ms = max(store.login_floor_ms, store.history_start_ms)
        newest = planner.period_of(store.cutoff_ms // HOUR_MS)
        oldest = planner.period_of(oldest_ms // HOUR_MS)
        with self.lock:
            for period in range(newest, oldest - 1, -1):
                plan = planner.plan(period)
                if plan.last_ms <= store.cutoff_ms and plan.hour * HOUR_MS >= oldest_ms:
                    sets.append(plan.info)
            if not sets:
                return {"period_hours": PERIOD_HOURS, "earlier": []}
            latest = dict(sets[0])
            nc = latest["new_country"]
            before = to_ms_ceil(datetime.fromisoformat(nc["occurred_at"]))
            prior = store.select("login", None, before, frozenset({nc["user_id"]}))
            countries = {store.render("login", ev).get("countryCode") for ev in prior}
            latest["new_country"] = {
                **nc,
                "previous_country_codes": sorted(c for c in countries if c),
            }
        return {"period_hours": PERIOD_HOURS, **latest, "earlier": sets[1:]}

    # -- auth, rate limits, tokens --------------------------------------------------------

    def issue_token(self, client_id: str, client_secret: str, refresh_token: str) -> errors.Reply:
        cfg = self._config
        if not (
            hmac.compare_digest(client_id, cfg.oauth_client_id)
            and hmac.compare_digest(client_secret, cfg.oauth_client_secret)
        ):
            return errors.oauth_error("BAD_CLIENT_ID", "missing or invalid client id")
        if not hmac.compare_digest(refresh_token, cfg.oauth_refresh_token):
            return errors.oauth_error("BAD_REFRESH_TOKEN", "missing or invalid refresh token")
        token = "emu-at-" + secrets.token_urlsafe(24)
        with self.lock:
            self._tokens[token] = time.monotonic() + cfg.token_lifetime_s
        return errors.Reply(
            200,
            {
                "token_type": "bearer",
                "refresh_token": refresh_token,
                "access_token": token,
                "expires_in": cfg.token_lifetime_s,
            },
        )

    def authenticate(self, header: str | None) -> tuple[errors.Reply | None, bool]:
        """(error reply or None, whether the token was issued by our OAuth endpoint)."""
        scheme, _, token = (header or "").strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return errors.auth_missing(), False
        with self.lock:
            expires = self._tokens.get(token)
        if expires is not None:
            late = time.monotonic() - expires
            return (errors.auth_expired(int(late)) if late >= 0 else None), True
        cfg = self._config
        if cfg.require_oauth or (
            cfg.access_token is not None and not hmac.compare_digest(token, cfg.access_token)
        ):
            return errors.auth_missing(), False
        return None, False

    def charge(self, *, oauth: bool) -> tuple[errors.Reply | None, dict[str, str]]:
        """Count one request against the limits: (429 reply or None, rate headers)."""
        cfg = self._config
        with self.lock:
            now = time.monotonic()
            window_s = cfg.rate_limit_interval_ms / 1000
            while self._window and self._window[0] <= now - window_s:
                self._window.popleft()
            day = (self.now_ms() // 1000 + _PORTAL_OFFSET_S) * 1000 // DAY_MS
            if self._daily[0] != day:
                self._daily = (day, 0)
            reply = None
            if not oauth and self._daily[1] >= cfg.daily_max:
                reply = errors.rate_limited("DAILY", cfg.portal_id)
            elif len(self._window) >= cfg.ten_second_max:
                reply = errors.rate_limited("TEN_SECONDLY_ROLLING", cfg.portal_id)
            else:
                self._window.append(now)
                if not oauth:
                    self._daily = (day, self._daily[1] + 1)
            headers: dict[str, str] = {}
            if cfg.rate_limit_headers:
                interval = str(cfg.rate_limit_interval_ms)
                headers["X-HubSpot-RateLimit-Interval-Milliseconds"] = interval
                headers["X-HubSpot-RateLimit-Max"] = str(cfg.ten_second_max)
                headers["X-HubSpot-RateLimit-Remaining"] = str(
                    max(0, cfg.ten_second_max - len(self._window))
                )
                # OAuth calls have no daily limit, so HubSpot omits the daily headers.
                if not oauth:
                    headers["X-HubSpot-RateLimit-Daily"] = str(cfg.daily_max)
                    headers["X-HubSpot-RateLimit-Daily-Remaining"] = str(
                        max(0, cfg.daily_max - self._daily[1])
                    )
            return reply, headers

    # -- stats ----------------------------------------------------------------------

    def begin_request(self, path: str) -> None:
        with self.lock:
            self._paths_inflight[path] += 1
            self._peak_paths = max(self._peak_paths, len(+self._paths_inflight))
            now = time.monotonic()
            self._recent.append(now)
            while self._recent[0] <= now - WINDOW_S:
                self._recent.popleft()
            self._peak_rate = max(self._peak_rate, len(self._recent))
            self._inflight += 1
            self._peak_inflight = max(self._peak_inflight, self._inflight)

    def end_request(self, path: str, status: int | str) -> None:
        with self.lock:
            self._paths_inflight[path] -= 1
            self._inflight -= 1
            self._total += 1
            self._by_status[f"{path} {status}"] += 1
            if status == HTTPStatus.TOO_MANY_REQUESTS:
                self._rate_limited += 1

    def stats(self) -> dict[str, Any]:
        """Request counts since start or the last reset_stats()."""
        with self.lock:
            return {
                "total_requests": self._total,
                "requests": dict(self._by_status),
                "peak_requests_per_10s": self._peak_rate,
                "peak_concurrency": self._peak_inflight,
                "peak_paths_in_flight": self._peak_paths,
                "rate_limited": self._rate_limited,
            }

    def reset_stats(self) -> None:
        with self.lock:
            self._total = self._peak_rate = self._rate_limited = 0
            self._by_status.clear()
            self._recent.clear()
            self._peak_inflight = self._inflight
            self._peak_paths = len(+self._paths_inflight)


def _check_stream(stream: str) -> None:
    if stream not in STREAMS:
        msg = f"unknown stream {stream!r}; expected one of {STREAMS}"
        raise ValueError(msg)
