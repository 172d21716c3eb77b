"""A portal's requests in flight: at most N at once, chain requests served first."""

from __future__ import annotations

import contextlib
import threading
import typing as t

from tap_hubspot_activity.engine.errors import TerminatedError

if t.TYPE_CHECKING:
    from collections.abc import Iterator

# How often a waiting request looks at the stop flag.
POLL_SECONDS = 0.2


class Slots:
    """Counts requests in flight for one portal, whichever stream or window they serve.

    A request that continues a cursor chain (`first`) takes the next free slot ahead of
    the others: nothing can parallelise a chain, while windows can wait without
    lengthening the run.
    """

    def __init__(self, size: int, stop: threading.Event) -> None:
        """`size` requests in flight at most; waiting ends when `stop` is set."""
        self.size = size
        self.stop = stop
        self.in_flight = 0
        self.peak = 0
        self._firsts_waiting = 0
        self._chains = 0
        self._changed = threading.Condition()

    @contextlib.contextmanager
    def chain(self) -> Iterator[None]:
        """While a cursor chain runs, one slot is kept free for it."""
        with self._changed:
            self._chains += 1
        try:
            yield
        finally:
            with self._changed:
                self._chains -= 1
                self._changed.notify_all()

    @contextlib.contextmanager
    def hold(self, *, first: bool = False) -> Iterator[None]:
        """Hold a slot for the duration of one request."""
        with self._changed:
            self._firsts_waiting += first
            try:
                kept = 0 if first else min(self.size - 1, self._chains)
                while self.in_flight >= self.size - kept or (not first and self._firsts_waiting):
                    if self.stop.is_set():
                        msg = "stopped"
                        raise TerminatedError(msg)
                    self._changed.wait(POLL_SECONDS)
            finally:
                self._firsts_waiting -= first
                if first:
                    self._changed.notify_all()
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
        try:
            yield
        finally:
            with self._changed:
                self.in_flight -= 1
                self._changed.notify_all()
