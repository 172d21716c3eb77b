"""What a long run has done, told at most every PROGRESS_SECONDS per stream and portal."""

from __future__ import annotations

import collections
import threading
import time
import typing as t

from tap_hubspot_activity.engine.timestamps import format_timestamp

if t.TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Callable
    from logging import Logger

PROGRESS_SECONDS = 10.0
# The time left is the range still open at the pace of this many seconds just past: events
# crowd into recent weeks, so the pace since the start (over quiet old months) would
# promise too little time; the recent pace follows the density as it rises.
PACE_SECONDS = 60.0
# A pace measured over less than this is noise, not an estimate.
MIN_PACE_SECONDS = 5.0


def duration(seconds: float) -> str:
    """A duration a person reads at a glance: 42 s, 3 min 5 s, 2 h 10 min."""
    whole = round(seconds)
    if whole < 60:  # noqa: PLR2004 - a minute
        return f"{whole} s"
    if whole < 3600:  # noqa: PLR2004 - an hour
        return f"{whole // 60} min {whole % 60} s"
    return f"{whole // 3600} h {whole % 3600 // 60} min"


class Progress:
    """One (stream, portal) read: records, pages and, for time windows, the range closed.

    `end` is given for windowed reads (their share of the range and time left are
    told); `paused` reads the portal's wall-clock seconds held by the rate limit, so the
    closing line says how much of this read's time the limit took.
    """

    def __init__(  # noqa: PLR0913 - the read, and its clocks
        self,
        where: str,
        start: dt.datetime,
        logger: Logger,
        *,
        end: dt.datetime | None = None,
        paused: Callable[[], float] | None = None,
        clock: Callable[[], float] = time.monotonic,
        every: float = PROGRESS_SECONDS,
    ) -> None:
        """Start counting now."""
        self.where = where
        self.start = start
        self.end = end
        self.logger = logger
        self.clock = clock
        self.every = every
        self._paused = paused
        self._paused_at_start = paused() if paused else 0.0
        self.began = self.last_told = clock()
        self.records = 0
        self.pages = 0
        self.closed_until = start
        # Where the events begin: the end of the first window that held any. Without
        # start_date the range reaches back years before the first event, and its share
        # (or a pace over the empty years) would say nothing of the work left.
        self.data_start: dt.datetime | None = None
        # (clock, closed_until) of the last PACE_SECONDS, oldest first.
        self._pace: collections.deque[tuple[float, dt.datetime]] = collections.deque(
            [(self.began, start)]
        )
        self._lock = threading.Lock()

    def page(self) -> None:
        """One more page requested (windows are read by several threads)."""
        with self._lock:
            self.pages += 1
        self._maybe_tell()

    def emitted(self, records: int, closed_until: dt.datetime | None = None) -> None:
        """Records read and, for windows, the range closed so far (oldest first)."""
        now = self.clock()
        with self._lock:
            self.records += records
            if closed_until is not None and closed_until > self.closed_until:
                self.closed_until = closed_until
                if self.data_start is None and records:
                    self.data_start = closed_until
                    self._pace.clear()
                self._pace.append((now, closed_until))
                while len(self._pace) > 2 and self._pace[1][0] <= now - PACE_SECONDS:  # noqa: PLR2004
                    self._pace.popleft()
        self._maybe_tell()

    def line(self) -> str:
        """The state of the read in one line: counts, rates, share of the range, time left."""
        elapsed = max(self.clock() - self.began, 1e-9)
        text = (
            f"{self.where}: {self.records:,} records, {self.pages:,} pages in "
            f"{duration(elapsed)} ({self.records / elapsed:,.0f} records/s, "
            f"{self.pages / elapsed:.1f} pages/s)"
        )
        share = self.share()
        if share is not None:
            text += (
                f", {share:.0%} of the time range since the first events emitted "
                f"(up to {format_timestamp(self.closed_until)})"
            )
            left = self.seconds_left()
            if left is not None:
                text += f", about {duration(left)} left at the recent pace"
        return text

    def share(self) -> float | None:
        """The share of [start, end) closed and emitted; None for a cursor chain."""
        begin = self.data_start
        if self.end is None or begin is None or self.end <= begin:
            return None
        if self.closed_until <= begin:
            return 0.0
        done = (self.closed_until - begin) / (self.end - begin)
        return min(1.0, max(0.0, done))

    def seconds_left(self) -> float | None:
        """The range still open at the pace of the last PACE_SECONDS, or None if unknown.

        A guess by its nature: it says what the recent pace implies, and nothing when
        too little time or range has passed to measure a pace at all.
        """
        now = self.clock()
        with self._lock:
            (then, low), (_, high) = self._pace[0], self._pace[-1]
        # Measured to now, not to the last window closed: a stall slows the pace.
        if self.end is None or now - then < MIN_PACE_SECONDS or high <= low:
            return None
        pace = (high - low).total_seconds() / (now - then)
        return (self.end - high).total_seconds() / pace

    def finish(self) -> None:
        """The closing line of the read: records, requests, wall time, time paused."""
        elapsed = self.clock() - self.began
        paused = (self._paused() - self._paused_at_start) if self._paused else 0.0
        self.logger.info(
            "%s: done, %s records, %s requests answered in %s (%s records/s); the portal's rate "
            "limit held requests for %.1f s of it (wall clock)",
            self.where,
            f"{self.records:,}",
            f"{self.pages:,}",
            duration(elapsed),
            f"{self.records / max(elapsed, 1e-9):,.0f}",
            paused,
        )

    def _maybe_tell(self) -> None:
        now = self.clock()
        with self._lock:
            if now - self.last_told < self.every:
                return
            self.last_told = now
        self.logger.info("%s", self.line())
