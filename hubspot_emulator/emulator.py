"""HubSpotEmulator: lifecycle, ground truth, mutation, faults, auth, rate limits, stats."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Self

from .access import Access
from .config import STREAMS, EmulatorConfig
from .data import HOUR_MS, iso_ms, seeded
from .faults import FaultPlan
from .incidents import PERIOD_HOURS
from .server import EmulatorHTTPServer
from .stats import RequestStats
from .store import EventStore

if TYPE_CHECKING:
    from collections.abc import Iterable
    from types import TracebackType

    from . import errors

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_ms_ceil(moment: datetime) -> int:
    """Smallest epoch ms at or after `moment` (naive means UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    micros = (moment - _EPOCH) // timedelta(microseconds=1)
    return -(-micros // 1000)


class HubSpotEmulator:
    """A loopback HTTP server that behaves like HubSpot's account-activity API."""

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self._config = config or EmulatorConfig()
        self.lock = threading.RLock()
        anchor = self._config.now or datetime.now(UTC)
        self._anchor_ms = to_ms_ceil(anchor)
        self._t0 = time.monotonic()
        self.store = EventStore(self._config, self._anchor_ms)
        self._faults = FaultPlan(self._config.seed, self.lock)
        self._access = Access(self.lock)
        self._stats = RequestStats(self.lock)
        self._late_rng = seeded(self._config.seed, "late")
        self._server: EmulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None

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
        self._faults.inject(kind, count, path, after)

    def clear_faults(self) -> None:
        """Forget injected faults that have not fired yet."""
        self._faults.clear()

    def take_fault(self, path: str, *, activity: bool) -> str | None:
        """The fault this request must suffer, if any (consumes one injected fault)."""
        return self._faults.take(path, self._config, activity=activity)

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

    # -- auth, rate limits, tokens (access.py) and stats (stats.py) ----------------------

    def issue_token(self, client_id: str, client_secret: str, refresh_token: str) -> errors.Reply:
        return self._access.issue_token(self._config, client_id, client_secret, refresh_token)

    def authenticate(self, header: str | None) -> tuple[errors.Reply | None, bool]:
        """(error reply or None, whether the token was issued by our OAuth endpoint)."""
        return self._access.authenticate(self._config, header)

    def charge(self, *, oauth: bool) -> tuple[errors.Reply | None, dict[str, str]]:
        """Count one request against the limits: (429 reply or None, rate headers)."""
        with self.lock:
            return self._access.charge(self._config, self.now_ms(), oauth=oauth)

    def begin_request(self, path: str) -> None:
        self._stats.begin(path)

    def end_request(self, path: str, status: int | str) -> None:
        self._stats.end(path, status)

    def stats(self) -> dict[str, Any]:
        """Request counts since start or the last reset_stats()."""
        return self._stats.snapshot()

    def reset_stats(self) -> None:
        self._stats.reset()


def _check_stream(stream: str) -> None:
    if stream not in STREAMS:
        msg = f"unknown stream {stream!r}; expected one of {STREAMS}"
        raise ValueError(msg)
