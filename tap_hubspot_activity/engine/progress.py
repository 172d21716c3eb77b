"""What a long run has done and has left, told at most every PROGRESS_SECONDS per stream."""

from __future__ import annotations

import threading
import time
import typing as t

if t.TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Callable
    from logging import Logger

PROGRESS_SECONDS = 10.0


class Progress:
    """One (stream, portal) read: records, pages and, for time windows, the range closed."""

    def __init__(  # noqa: PLR0913 - the read and how to tell of it
        self,
        where: str,
        start: dt.datetime,
        end: dt.datetime,
        logger: Logger,
        *,
        clock: Callable[[], float] = time.monotonic,
        every: float = PROGRESS_SECONDS,
    ) -> None:
        """Start counting now."""
        self.where = where
        self.span = (end - start).total_seconds()
        self.start = start
        self.logger = logger
        self.clock = clock
        self.every = every
        self.began = self.last_told = clock()
        self.records = 0
        self.pages = 0
        self.closed_until = start
        self._lock = threading.Lock()

    def page(self) -> None:
        """One more page requested (windows are read by several threads)."""
        with self._lock:
            self.pages += 1
        self._maybe_tell()

    def emitted(self, records: int, closed_until: dt.datetime | None = None) -> None:
        """Records read and, for windows, the range closed so far (oldest first)."""
        with self._lock:
            self.records += records
            if closed_until is not None:
                self.closed_until = closed_until
        self._maybe_tell()

    def line(self) -> str:
        """The state of the read in one line: counts, rates, share done, time left."""
        elapsed = max(self.clock() - self.began, 1e-9)
        text = (
            f"{self.where}: {self.records:,} records, {self.pages} pages in {elapsed:.0f} s "
            f"({self.records / elapsed:,.0f} records/s, {self.pages / elapsed:.1f} pages/s)"
        )
        if self.closed_until > self.start and self.span > 0:
            share = min(1.0, (self.closed_until - self.start).total_seconds() / self.span)
            left = elapsed * (1 - share) / share
            text += f", {share:.0%} of the range done, about {_duration(left)} left"
        return text

    def finish(self) -> None:
        """The closing line of the read."""
        self.logger.info("%s; done", self.line())

    def _maybe_tell(self) -> None:
        now = self.clock()
        with self._lock:
            if now - self.last_told < self.every:
                return
            self.last_told = now
        self.logger.info("%s", self.line())


def _duration(seconds: float) -> str:
    if seconds < 90:  # noqa: PLR2004 - a minute and a half reads better in seconds
        return f"{seconds:.0f} s"
    minutes = seconds / 60
    return f"{minutes:.0f} min" if minutes < 90 else f"{minutes / 60:.1f} h"  # noqa: PLR2004
