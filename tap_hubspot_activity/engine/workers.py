"""Daemon threads kept for the run's short-lived calls: requests, window fetches, job reads."""

from __future__ import annotations

import queue
import threading
import typing as t

if t.TYPE_CHECKING:
    from collections.abc import Callable


class Outcome:
    """The result or the error of one call, and when it is there."""

    def __init__(self) -> None:
        """Not done yet."""
        self.done = threading.Event()
        self.value: t.Any = None
        self.error: BaseException | None = None

    def run(self, call: Callable[[], t.Any]) -> None:
        """Run `call`, keeping what it returns or raises."""
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
        self._tasks: queue.SimpleQueue[tuple[Callable[[], t.Any], Outcome]] = queue.SimpleQueue()
        self._idle = 0
        self._lock = threading.Lock()

    def submit(self, call: Callable[[], t.Any]) -> Outcome:
        """Run `call` on an idle kept thread (a new one if none is idle)."""
        outcome = Outcome()
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


# Shared by requests, window fetches and job reads: all come and go thousands of times a run.
WORKERS = Workers()
