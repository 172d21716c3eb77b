"""Time windows of a stream: cut by their density, fetched in parallel, emitted in order."""

from __future__ import annotations

import datetime as dt
import math
import threading
import typing as t
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from tap_hubspot_activity.client import format_timestamp

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from singer_sdk.helpers.types import Context

    from tap_hubspot_activity.streams import WindowedActivityStream

# Windows are cut for about this many events: big enough that the partial page at each
# window's end is cheap, small enough that windows waiting for their turn stay light.
TARGET_WINDOW_RECORDS = 1_500
# A window that shows more than this many events still ahead is given up and split.
SPLIT_ABOVE = 2 * TARGET_WINDOW_RECORDS
# A window is sorted in memory before it is emitted; past this many records it is split
# whatever its pages showed (they may come in no time order at all).
MAX_WINDOW_RECORDS = 20_000
# Windows this short are read whole, however dense.
MIN_WINDOW = dt.timedelta(minutes=1)
# A part of a window is cut in at most this many pieces: the guess behind the cut comes
# from one page, and a wrong one would mostly buy empty requests.
MAX_PIECES = 8
# A piece with fewer events than this joins its neighbour instead of costing a request.
MIN_PIECE_RECORDS = TARGET_WINDOW_RECORDS // 4
# Records held in windows fetched or being fetched and not yet emitted, per worker.
HELD_RECORDS_PER_WORKER = TARGET_WINDOW_RECORDS
# Fewer records than this say nothing about density.
MIN_PAGE_FOR_DENSITY = 2

Records = list[dict[str, t.Any]]
# (start, end, events it is thought to hold)
Part = tuple[dt.datetime, dt.datetime, float]


@dataclass(frozen=True)
class TooDense:
    """A window given up as too dense: its parts, oldest first, with their guessed events."""

    parts: tuple[Part, ...]

    @property
    def estimate(self) -> int:
        """Events the whole window is thought to hold."""
        return round(sum(events for _, _, events in self.parts))

    def pieces(self) -> list[Part]:
        """The windows to fetch instead: each part cut for TARGET_WINDOW_RECORDS events."""
        pieces: list[Part] = []
        for low, high, events in self.parts:
            count = max(1, min(MAX_PIECES, math.ceil(events / TARGET_WINDOW_RECORDS)))
            step = (high - low) / count
            for index in range(count):
                piece_low = low + step * index
                piece_high = high if index == count - 1 else piece_low + step
                if piece_low >= piece_high:
                    continue
                if pieces and min(pieces[-1][2], events / count) < MIN_PIECE_RECORDS:
                    previous_low, _, previous_events = pieces.pop()
                    pieces.append((previous_low, piece_high, previous_events + events / count))
                else:
                    pieces.append((piece_low, piece_high, events / count))
        if len(pieces) < 2:  # noqa: PLR2004 - a split must make progress
            low, high = self.parts[0][0], self.parts[-1][1]
            middle = low + (high - low) / 2
            pieces = [(low, middle, self.estimate / 2), (middle, high, self.estimate / 2)]
        return pieces


def give_up_early(
    page: list[str],
    start: dt.datetime,
    end: dt.datetime,
    seen: int,
) -> TooDense | None:
    """TooDense when the events still ahead of `page` in [start, end) pass SPLIT_ABOVE.

    HubSpot sends a window in time order, oldest or newest first, so the page's own span
    gives the density where the paging stands, and which side is still ahead. That is
    only a guess deciding where to cut: every piece is fetched again whole, so a wrong
    guess costs requests, never records.
    """
    if len(page) < MIN_PAGE_FOR_DENSITY:
        return None
    low, high = dt.datetime.fromisoformat(min(page)), dt.datetime.fromisoformat(max(page))
    oldest_first = page[0] <= page[-1]
    ahead = end - high if oldest_first else low - start
    if ahead <= dt.timedelta(0):
        return None
    span = (high - low).total_seconds()
    events = 2 * MAX_WINDOW_RECORDS if span <= 0 else len(page) * ahead.total_seconds() / span
    if events <= SPLIT_ABOVE:
        return None
    if oldest_first:
        return TooDense(((start, high, seen), (high, end, events)))
    return TooDense(((start, low, events), (low, end, seen)))


@dataclass
class Window:
    """[low, high) and its fetch, once started."""

    low: dt.datetime
    high: dt.datetime
    fetch: Future[Records | TooDense] | None = None
    # Records the fetch holds so far, as of its last page (written by its thread).
    fetched: int = 0

    def in_flight(self) -> bool:
        """Started and not finished."""
        return self.fetch is not None and not self.fetch.done()

    def held_records(self) -> int:
        """Records this window holds, or is thought to be fetching, until it is emitted."""
        if self.fetch is None:
            return 0
        if not self.fetch.done():
            return max(TARGET_WINDOW_RECORDS, self.fetched)
        if self.fetch.exception() is not None:
            return 0
        outcome = self.fetch.result()
        return 0 if isinstance(outcome, TooDense) else len(outcome)

    def too_dense(self) -> TooDense | None:
        """The fetch's verdict, if it finished by giving the window up."""
        if self.fetch is None or not self.fetch.done() or self.fetch.exception() is not None:
            return None
        outcome = self.fetch.result()
        return outcome if isinstance(outcome, TooDense) else None


class WindowSchedule:
    """Fetches a stream's range in windows with `max_concurrency` requests in flight.

    The range starts as one window: an empty or quiet range costs one request. A window
    that shows it is too dense is split where it stands as soon as a page tells, not
    when its turn comes, so the pieces are fetched side by side. Windows are emitted
    strictly oldest first, so STATE only ever moves past closed windows. A window
    starts only while the records held by windows not yet emitted stay within
    HELD_RECORDS_PER_WORKER per worker (one being fetched counts as at least
    TARGET_WINDOW_RECORDS); the oldest window always may, or nothing would move.
    """

    def __init__(
        self,
        stream: WindowedActivityStream,
        context: Context | None,
        start: dt.datetime,
        end: dt.datetime,
    ) -> None:
        """Plan [start, end) for `stream`; nothing is requested before `closed_windows`."""
        self.stream = stream
        self.context = context
        self.workers = int(stream.config["max_concurrency"])
        self.windows = [Window(start, end)]
        self.abandoned = threading.Event()
        self.pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix=stream.name)

    def closed_windows(self) -> Iterator[tuple[dt.datetime, Records]]:
        """(end, sorted events) of each window, oldest first."""
        while self.windows:
            self._start_fetches()
            head = self.windows[0]
            if head.fetch is None or not head.fetch.done():
                wait(
                    [window.fetch for window in self.windows if window.in_flight()],  # type: ignore[misc]
                    return_when=FIRST_COMPLETED,
                )
                self._split_dense_windows()
                continue
            outcome = head.fetch.result()
            if isinstance(outcome, TooDense):
                self._split_dense_windows()
                continue
            self.windows.pop(0)
            yield head.high, outcome

    def close(self) -> None:
        """Abandon the fetches still running and wait for their threads."""
        self.abandoned.set()
        self.pool.shutdown(wait=True, cancel_futures=True)

    def _start_fetches(self) -> None:
        in_flight = sum(window.in_flight() for window in self.windows)
        held = sum(window.held_records() for window in self.windows)
        budget = HELD_RECORDS_PER_WORKER * self.workers
        for index, window in enumerate(self.windows):
            if in_flight >= self.workers:
                break
            if window.fetch is not None:
                continue
            if index == 0 or held + TARGET_WINDOW_RECORDS <= budget:
                window.fetch = self.pool.submit(
                    self.stream.fetch_window, self.context, window, self.abandoned
                )
                in_flight += 1
                held += TARGET_WINDOW_RECORDS

    def _split_dense_windows(self) -> None:
        planned: list[Window] = []
        for window in self.windows:
            verdict = window.too_dense()
            if verdict is None:
                planned.append(window)
                continue
            pieces = verdict.pieces()
            self.stream.logger.info(
                "%s: about %d events from %s to %s, splitting the window in %d",
                self.stream.name,
                verdict.estimate,
                format_timestamp(window.low),
                format_timestamp(window.high),
                len(pieces),
            )
            planned.extend(Window(low, high) for low, high, _ in pieces)
        self.windows = planned
