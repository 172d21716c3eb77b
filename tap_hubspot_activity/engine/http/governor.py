"""Per-portal rate-limit governor: stays under HubSpot's limits instead of meeting 429s."""

from __future__ import annotations

import collections
import math
import threading
import time
import typing as t

from tap_hubspot_activity.engine.errors import DailyQuotaReserveError
from tap_hubspot_activity.engine.http.priority import ChainPriority, Queue
from tap_hubspot_activity.engine.redaction import shown

if t.TYPE_CHECKING:
    from collections.abc import Callable, Mapping

# Until HubSpot's headers say otherwise, assume the smallest published budget
# (Free/Starter: 100 requests per 10 s).
DEFAULT_MAX_REQUESTS = 100
DEFAULT_INTERVAL_SECONDS = 10.0
# HubSpot's rolling windows are 1 s and 10 s; a header announcing more is not believed
# beyond this, so no pause the headers ask for can last longer.
MAX_INTERVAL_SECONDS = 60.0
MIN_INTERVAL_SECONDS = 0.1
# HubSpot documents its rolling limits per 10 seconds ("a value of 10000 would be a window
# of 10 seconds"): a wait longer than that (and the window's slack) is the server's
# headers' doing, and worth a warning.
DOCUMENTED_INTERVAL_SECONDS = 10.0
LONG_WAIT_SECONDS = DOCUMENTED_INTERVAL_SECONDS + 1.0
INTERVAL_HEADER = "X-HubSpot-RateLimit-Interval-Milliseconds"
# Leave this share of the rolling budget unused (at least MIN_HEADROOM requests): other
# integrations share the app's limit, and the window edges of client and server never
# line up exactly.
HEADROOM = 0.05
MIN_HEADROOM = 2
# A request counts in the server's window from when it arrives, a little after we send
# it (later still on a busy machine): hold each send in our window this much longer (a
# share of the window, at least MIN_WINDOW_SLACK_SECONDS).
WINDOW_SLACK = 0.02
MIN_WINDOW_SLACK_SECONDS = 0.15
DAILY_RESET_JUMP = 100
# A request that may wait looks again this often while a chain request is queued first.
YIELD_SECONDS = 0.01
# While cursor chains run, other requests leave each chain this share of the budget: at a
# round trip of 250 ms a chain needs 40 of HubSpot's 190 per 10 s, and windows can wait
# without lengthening the run, while the chain cannot.
CHAIN_SHARE = 0.25


class RateLimitGovernor:
    """Throttles one portal's requests to its rolling limit and guards its daily quota.

    Every request of every stream and thread of a portal goes through one governor:
    `wait_turn` before sending, `observe` after the answer. It learns the budget from
    X-HubSpot-RateLimit-Max / -Interval-Milliseconds, trusts -Remaining over its own
    count (other apps' calls count too), and stops the run at the daily reserve.
    While cursor chains run, the others leave each a share of the budget, and requests
    marked `first` (those continuing a chain) take the next turn ahead of the others
    (see ChainPriority).
    """

    def __init__(
        self,
        *,
        daily_quota_reserve: int = 0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        warn: Callable[[str], None] = lambda _text: None,
        priority: ChainPriority | None = None,
    ) -> None:
        """Start with the conservative default budget; `warn` says once why waits are long."""
        self.daily_quota_reserve = daily_quota_reserve
        self._clock = clock
        self._sleep = sleep
        self._warn = warn
        self._warned = False
        # The headers behind the interval and behind the pause now in force, as sent.
        self._interval_cause = ""
        self._pause_cause = ""
        self._lock = threading.Lock()
        self._sent: collections.deque[float] = collections.deque()
        self._max_requests = DEFAULT_MAX_REQUESTS
        self._interval = DEFAULT_INTERVAL_SECONDS
        self._paused_until = 0.0
        self.priority = priority or ChainPriority()
        self._queue = Queue()
        self.daily_remaining: int | None = None
        self.requests_sent = 0
        self._in_flight = 0
        self._waiting_since = 0.0
        self._waiters = 0
        self.seconds_waited = 0.0

    @property
    def budget(self) -> int:
        """Requests this tap allows itself per rolling interval."""
        spare = max(MIN_HEADROOM, int(self._max_requests * HEADROOM))
        return max(1, self._max_requests - spare)

    def wait_turn(self, *, first: bool = False) -> None:
        """Block until one more request fits the rolling budget, then count it as sent."""
        waiting = False
        with self._lock:
            self._queue.arrive(first=first)
        try:
            while True:
                with self._lock:
                    wait = self._try_take(first=first)
                    if wait > 0 and not waiting:
                        # seconds_waited is wall-clock time in which any request waited.
                        waiting = True
                        if not self._waiters:
                            self._waiting_since = self._clock()
                        self._waiters += 1
                    warning = self._long_wait_warning(wait)
                if warning:
                    self._warn(warning)
                if wait <= 0:
                    return
                self._sleep(wait)
        finally:
            with self._lock:
                self._queue.leave(first=first)
                if waiting:
                    self._waiters -= 1
                    if not self._waiters:
                        self.seconds_waited += self._clock() - self._waiting_since

    def paused_seconds(self) -> float:
        """Wall-clock seconds in which any request waited its turn, a wait going on included."""
        with self._lock:
            ongoing = self._clock() - self._waiting_since if self._waiters else 0.0
            return self.seconds_waited + ongoing

    def _try_take(self, *, first: bool) -> float:
        """0 when the request may go now (and is counted), else how long to wait (locked)."""
        self._check_daily_reserve()
        now = self._clock()
        window = self._interval + max(MIN_WINDOW_SLACK_SECONDS, self._interval * WINDOW_SLACK)
        while self._sent and self._sent[0] <= now - window:
            self._sent.popleft()
        wait = self._paused_until - now
        per_chain = max(1, int(self.budget * CHAIN_SHARE))
        reserve = self.priority.reserve(first=first, per_chain=per_chain, most=self.budget // 2)
        limit = max(1, self.budget - reserve)
        if wait <= 0 and len(self._sent) >= limit:
            wait = self._sent[len(self._sent) - limit] + window - now
        if wait <= 0 and self._queue.behind(first=first):
            wait = YIELD_SECONDS
        if wait > 0:
            return wait
        self._sent.append(now)
        self.requests_sent += 1
        self._in_flight += 1
        if self.daily_remaining is not None:
            # Count our own call now, so parallel threads cannot overshoot.
            self.daily_remaining -= 1
        return 0.0

    def _long_wait_warning(self, wait: float) -> str:
        """The one warning for a wait past HubSpot's documented interval (locked), or ""."""
        if self._warned or wait <= LONG_WAIT_SECONDS:
            return ""
        self._warned = True
        # Only headers make a wait this long: a pause they asked for, or a long interval.
        paused = self._paused_until > self._clock()
        cause = self._pause_cause if paused else self._interval_cause
        return (
            f"the server's rate-limit headers hold requests for {wait:.1f} s ({cause}), "
            f"longer than the {DOCUMENTED_INTERVAL_SECONDS:.0f} s interval HubSpot "
            f"documents; the tap waits at most {MAX_INTERVAL_SECONDS:.0f} s at a time, and "
            "the run is slower for it"
        )

    def _check_daily_reserve(self) -> None:
        if self.daily_remaining is not None and self.daily_remaining <= self.daily_quota_reserve:
            msg = (
                f"Stopping: the portal has {self.daily_remaining} API calls left "
                f"today and daily_quota_reserve keeps {self.daily_quota_reserve} for "
                "other integrations. The quota resets at midnight in the portal's "
                "time zone; state up to the last emitted record is saved."
            )
            raise DailyQuotaReserveError(msg)

    def observe(self, headers: Mapping[str, str]) -> None:
        """Learn the limits from HubSpot's rate-limit headers."""
        maximum = _int_header(headers, "X-HubSpot-RateLimit-Max")
        interval_ms = _int_header(headers, INTERVAL_HEADER)
        remaining = _int_header(headers, "X-HubSpot-RateLimit-Remaining")
        daily_remaining = _int_header(headers, "X-HubSpot-RateLimit-Daily-Remaining")
        with self._lock:
            if maximum and maximum > 0:
                self._max_requests = maximum
            if interval_ms and interval_ms > 0:
                seconds = interval_ms / 1000
                self._interval = min(MAX_INTERVAL_SECONDS, max(MIN_INTERVAL_SECONDS, seconds))
                self._interval_cause = f"{INTERVAL_HEADER}: {shown(headers[INTERVAL_HEADER], 40)}"
            self._in_flight = max(0, self._in_flight - 1)
            # Requests overtake each other on the way, so an answer may report more calls
            # left than we know remain: keep the lower figure, unless the jump is too big
            # to be reordering (the quota reset at midnight).
            if daily_remaining is not None and (
                self.daily_remaining is None
                or daily_remaining < self.daily_remaining
                or daily_remaining > self.daily_remaining + self._in_flight + DAILY_RESET_JUMP
            ):
                self.daily_remaining = daily_remaining
            if remaining is not None and remaining < max(1, self._max_requests * HEADROOM / 2):
                # Someone else is spending this app's budget too: let the window roll.
                cause = f"X-HubSpot-RateLimit-Remaining: {remaining}, half an interval"
                if self._interval_cause:
                    cause += f" of {self._interval_cause}"
                self._hold(self._interval / 2, cause)

    def pause(self, seconds: float, cause: str = "a 429 answer") -> None:
        """Hold every request of the portal for a while (after a 429), at most an interval."""
        with self._lock:
            self._hold(min(max(0.0, seconds), MAX_INTERVAL_SECONDS), cause)

    def _hold(self, seconds: float, cause: str) -> None:
        until = self._clock() + seconds
        if until > self._paused_until:
            self._paused_until, self._pause_cause = until, cause


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return int(number) if math.isfinite(number) and abs(number) < 2**53 else None
