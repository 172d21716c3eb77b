"""What a long run has done, told at most every PROGRESS_SECONDS per stream and portal."""

from __future__ import annotations

import threading
import time
import typing as t

from tap_hubspot_activity.engine.timestamps import format_timestamp

if t.TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Callable
    from logging import Logger

PROGRESS_SECONDS = 10.0


class Progress:
    """One (stream, portal) read: records, pages and, for time windows, the range closed."""

    def __init__(
        self,
        where: str,
        start: dt.datetime,
        logger: Logger,
        *,
        clock: Callable[[], float] = time.monotonic,
        every: float = PROGRESS_SECONDS,
    ) -> None:
        """Start counting now."""
        self.where = where
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
        """The state of the read in one line: counts, rates, and how far windows are closed.

        No share of the range or time left is printed: events crowd into recent weeks, so
        the share of time closed says little about the work left, and a guess would mislead.
        """
        elapsed = max(self.clock() - self.began, 1e-9)
        text = (
            f"{self.where}: {self.records:,} records, {self.pages} pages in {elapsed:.0f} s "
            f"({self.records / elapsed:,.0f} records/s, {self.pages / elapsed:.1f} pages/s)"
        )
        if self.closed_until > self.start:
            text += f", emitted up to {format_timestamp(self.closed_until)}"
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
