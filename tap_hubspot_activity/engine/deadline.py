"""A call that must end by a deadline, whatever the socket does: it is left behind otherwise."""

from __future__ import annotations

import queue
import threading
import time
import typing as t

from tap_hubspot_activity.engine.errors import RetryableError

if t.TYPE_CHECKING:
    from collections.abc import Callable

T = t.TypeVar("T")


class _Outcome:
    """The result or the error of one call, and when it is there."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: t.Any = None
        self.error: BaseException | None = None

    def run(self, call: Callable[[], t.Any]) -> None:
        try:
            self.value = call()
        except BaseException as exc:  # noqa: BLE001 - raised again in the caller
            self.error = exc
        finally:
            self.done.set()


class Workers:
    """Daemon threads kept for calls: one is started only when none is idle.

    Long-lived threads, not one per request: a thread per call costs time and, through
    the allocator's per-thread arenas, memory that grows with the run.
    """

    def __init__(self) -> None:
        """No thread until the first call."""
        self._tasks: queue.SimpleQueue[tuple[Callable[[], t.Any], _Outcome]] = queue.SimpleQueue()
        self._idle = 0
        self._lock = threading.Lock()

    def submit(self, call: Callable[[], t.Any]) -> _Outcome:
        """Run `call` on an idle kept thread (a new one if none is idle)."""
        outcome = _Outcome()
        with self._lock:
            if self._idle:
                self._idle -= 1
            else:
                threading.Thread(target=self._work, name="request", daemon=True).start()
        self._tasks.put((call, outcome))
        return outcome

    def _work(self) -> None:
        while True:
            call, outcome = self._tasks.get()
            outcome.run(call)
            with self._lock:
                self._idle += 1


# Shared by request calls and window fetches: both come and go thousands of times a run.
WORKERS = Workers()


def by_deadline(call: Callable[[], T], deadline: float, what: str) -> T:
    """`call()`'s result, or RetryableError once `deadline` (monotonic) has passed.

    Socket timeouts bound each read, not a response: a server can trickle its status
    line or headers a byte at a time. The call runs in a daemon thread; past the
    deadline it is abandoned (its reads are still bounded by the response cap) and can
    never hold up the run or its exit.
    """
    outcome = WORKERS.submit(call)
    if not outcome.done.wait(max(0.0, deadline - time.monotonic())):
        msg = f"no complete answer from {what} within request_timeout"
        raise RetryableError(msg)
    if outcome.error is not None:
        raise outcome.error
    return t.cast("T", outcome.value)
