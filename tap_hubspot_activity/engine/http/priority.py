"""Cursor chains first: the one rule a portal's slots and its rate-limit governor both follow.

Nothing can parallelise a cursor chain, while time windows can wait without lengthening
the run. So while chains run, each gate of a portal (its slots, its governor's turns)
keeps part of itself for them, and a chain's request waiting at a gate goes ahead of the
others waiting there.
"""

from __future__ import annotations

import contextlib
import threading
import typing as t

if t.TYPE_CHECKING:
    from collections.abc import Iterator


class ChainPriority:
    """How many cursor chains of one portal run now; shared by all its gates."""

    def __init__(self) -> None:
        """No chain runs yet."""
        self.running = 0
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def chain(self) -> Iterator[None]:
        """A cursor chain runs for the duration."""
        with self._lock:
            self.running += 1
        try:
            yield
        finally:
            with self._lock:
                self.running -= 1

    def reserve(self, *, first: bool, per_chain: int, most: int) -> int:
        """What a gate keeps from a request that does not continue a chain.

        `per_chain` of the gate for each running chain, `most` in all; nothing is kept
        from a chain's own request (`first`).
        """
        return 0 if first else min(most, self.running * per_chain)


class Queue:
    """The requests waiting at one gate; those continuing a chain go first.

    The count is guarded by the gate's own lock: every call is made holding it.
    """

    def __init__(self) -> None:
        """Nobody waits yet."""
        self.chain_requests = 0

    def arrive(self, *, first: bool) -> None:
        """A request starts waiting at the gate (a chain's when `first`)."""
        self.chain_requests += first

    def leave(self, *, first: bool) -> None:
        """A request stops waiting, served or not."""
        self.chain_requests -= first

    def behind(self, *, first: bool) -> bool:
        """Whether a request must let a chain's request go first."""
        return not first and self.chain_requests > 0
