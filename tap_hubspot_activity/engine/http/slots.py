"""A portal's requests in flight: at most N at once, chain requests served first."""

from __future__ import annotations

import contextlib
import threading
import typing as t

from tap_hubspot_activity.engine.http.priority import ChainPriority, Queue
from tap_hubspot_activity.engine.stopping import wait_unless_stopped

if t.TYPE_CHECKING:
    from collections.abc import Iterator

# How often a waiting request looks at the stop flag.
POLL_SECONDS = 0.2


class Slots:
    """Counts requests in flight for one portal, whichever stream or window they serve.

    While cursor chains run, one slot each is kept free for them (see ChainPriority), and
    a request that continues a chain (`first`) takes the next free slot ahead of the others.
    """

    def __init__(
        self, size: int, stop: threading.Event, priority: ChainPriority | None = None
    ) -> None:
        """`size` requests in flight at most; waiting ends when `stop` is set."""
        self.size = size
        self.stop = stop
        self.priority = priority or ChainPriority()
        self.in_flight = 0
        self.peak = 0
        self._queue = Queue()
        self._changed = threading.Condition()

    @contextlib.contextmanager
    def chain(self) -> Iterator[None]:
        """While a cursor chain runs, one slot is kept free for it."""
        try:
            with self.priority.chain():
                yield
        finally:
            self.wake()

    def wake(self) -> None:
        """Let every waiting request look again (a chain ended)."""
        with self._changed:
            self._changed.notify_all()

    @contextlib.contextmanager
    def hold(self, *, first: bool = False) -> Iterator[None]:
        """Hold a slot for the duration of one request."""
        with self._changed:
            self._queue.arrive(first=first)
            try:
                while self._full(first=first) or self._queue.behind(first=first):
                    wait_unless_stopped(self.stop, POLL_SECONDS, self._changed)
            finally:
                self._queue.leave(first=first)
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

    def _full(self, *, first: bool) -> bool:
        kept = self.priority.reserve(first=first, per_chain=1, most=self.size - 1)
        return self.in_flight >= self.size - kept
