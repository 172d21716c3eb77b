"""A windowed read's range fetched in windows, several at once, handed on oldest first."""

from __future__ import annotations

import functools
import threading
import typing as t
from dataclasses import dataclass, field

from tap_hubspot_activity.engine.reads.cuts import TARGET_WINDOW_RECORDS, TooDense
from tap_hubspot_activity.engine.stopping import wait_unless_stopped
from tap_hubspot_activity.engine.timestamps import format_timestamp
from tap_hubspot_activity.engine.workers import WORKERS

if t.TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Callable, Iterator
    from logging import Logger

Records = list[dict[str, t.Any]]
# Records held in windows fetched or being fetched and not yet emitted, per worker.
HELD_RECORDS_PER_WORKER = TARGET_WINDOW_RECORDS
POLL_SECONDS = 0.5


@dataclass
class Window:
    """[low, high) and its fetch, once started (by a daemon thread: a hang cannot hold exit)."""

    low: dt.datetime
    high: dt.datetime
    started: bool = False
    done: bool = False
    outcome: Records | TooDense | None = None
    error: BaseException | None = None
    # Records the fetch holds so far, as of its last page (written by its thread).
    held: list[int] = field(default_factory=lambda: [0])

    def held_records(self) -> int:
        """Records this window holds, or is thought to be fetching, until it is emitted."""
        if not self.started:
            return 0
        if not self.done:
            return max(TARGET_WINDOW_RECORDS, self.held[0])
        return len(self.outcome) if isinstance(self.outcome, list) else 0


class WindowSchedule:
    """Fetches [start, end) in windows with `workers` fetches in flight.

    The range starts as one window: a quiet range costs one request. A window that
    shows it is too dense is split where it stands as soon as a page tells, so the
    pieces are fetched side by side. Windows are emitted strictly oldest first, so the
    bookmark only moves past closed windows. A window starts only while windows not yet
    emitted hold at most HELD_RECORDS_PER_WORKER records per worker (one being fetched
    counts as at least TARGET_WINDOW_RECORDS); the oldest window always may.
    """

    def __init__(  # noqa: PLR0913 - the range, its fetch and its limits
        self,
        *,
        name: str,
        start: dt.datetime,
        end: dt.datetime,
        fetch: Callable[[dt.datetime, dt.datetime, list[int]], Records | TooDense],
        workers: int,
        stop: threading.Event,
        logger: Logger,
    ) -> None:
        """Plan [start, end); nothing is requested before `closed_windows`."""
        self.name = name
        self.fetch = fetch
        self.workers = workers
        self.stop = stop
        self.logger = logger
        self.windows = [Window(start, end)]
        self.changed = threading.Condition()

    def closed_windows(self) -> Iterator[tuple[dt.datetime, Records]]:
        """(end, sorted events) of each window, oldest first; the first fetch error is raised."""
        while self.windows:
            with self.changed:
                head = self.windows[0]
                failed = next((window for window in self.windows if window.error), None)
                if failed is not None:
                    # The windows closed before the failure are still given, oldest first;
                    # nothing more is fetched or split.
                    if not (head.done and isinstance(head.outcome, list)):
                        raise t.cast("BaseException", failed.error)
                else:
                    self._split_dense_windows()
                    self._start_fetches()
                    head = self.windows[0]
                    if not head.done:
                        wait_unless_stopped(self.stop, POLL_SECONDS, self.changed)
                        continue
                self.windows.pop(0)
            yield head.high, t.cast("Records", head.outcome)

    def next_is_ready(self) -> bool:
        """Whether `closed_windows` can give its next window without waiting or failing."""
        with self.changed:
            return (
                bool(self.windows)
                and self.windows[0].done
                and not any(window.error for window in self.windows)
            )

    def _start_fetches(self) -> None:
        in_flight = sum(window.started and not window.done for window in self.windows)
        held = sum(window.held_records() for window in self.windows)
        budget = HELD_RECORDS_PER_WORKER * self.workers
        for index, window in enumerate(self.windows):
            if in_flight >= self.workers:
                break
            if window.started:
                continue
            if index == 0 or held + TARGET_WINDOW_RECORDS <= budget:
                window.started = True
                WORKERS.submit(functools.partial(self._run, window))
                in_flight += 1
                held += TARGET_WINDOW_RECORDS

    def _run(self, window: Window) -> None:
        try:
            outcome = self.fetch(window.low, window.high, window.held)
        except BaseException as exc:  # noqa: BLE001 - handed to the emitting thread
            with self.changed:
                window.error, window.done = exc, True
                self.changed.notify_all()
            return
        with self.changed:
            window.outcome, window.done = outcome, True
            self.changed.notify_all()

    def _split_dense_windows(self) -> None:
        planned: list[Window] = []
        for window in self.windows:
            verdict = window.outcome if window.done else None
            if not isinstance(verdict, TooDense):
                planned.append(window)
                continue
            pieces = verdict.pieces()
            # No count: the guess behind the cut comes from one page's density and can
            # be off fiftyfold; the progress lines count what was really read.
            self.logger.info(
                "%s: splitting %s to %s in %d windows: its pages were too dense for one",
                self.name,
                format_timestamp(window.low),
                format_timestamp(window.high),
                len(pieces),
            )
            planned.extend(Window(low, high) for low, high, _ in pieces)
        self.windows = planned
