"""Time windows cut by their density: how dense a page says a window is, and where to cut it."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

# Windows are cut for about this many events: big enough that the partial page at each
# window's end is cheap, small enough that windows waiting for their turn stay light.
TARGET_WINDOW_RECORDS = 1_500
# A window that shows more than this many events still ahead is given up and split.
SPLIT_ABOVE = 2 * TARGET_WINDOW_RECORDS
# A window is sorted in memory before it is emitted; past this many records it is split
# whatever its pages showed (they may come in no time order at all).
MAX_WINDOW_RECORDS = 20_000
# Windows this short are not split by their density (a guess from one page), only past
# MAX_WINDOW_RECORDS events.
MIN_WINDOW = dt.timedelta(minutes=1)
# Windows this short are never split: past MAX_WINDOW_RECORDS events one is a failure.
# HubSpot lets an app send at most 250 requests in 10 s (190 on Enterprise), so 20,000
# events in one second would take dozens of apps writing batches at full rate at once.
MIN_SPLIT = dt.timedelta(seconds=1)
# A part of a window is cut in at most this many pieces: the guess behind the cut comes
# from one page, and a wrong one would mostly buy empty requests.
MAX_PIECES = 8
# A piece with fewer events than this joins its neighbour instead of costing a request.
MIN_PIECE_RECORDS = TARGET_WINDOW_RECORDS // 4
# Fewer records than this say nothing about density.
MIN_PAGE_FOR_DENSITY = 2

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
        pieces = _on_whole_ms(pieces)
        if len(pieces) < 2:  # noqa: PLR2004 - a split must make progress
            low, high = self.parts[0][0], self.parts[-1][1]
            middle = _floor_ms(low + (high - low) / 2)
            pieces = [(low, middle, self.estimate / 2), (middle, high, self.estimate / 2)]
        return pieces


def _floor_ms(moment: dt.datetime) -> dt.datetime:
    return moment - dt.timedelta(microseconds=moment.microsecond % 1000)


def _on_whole_ms(pieces: list[Part]) -> list[Part]:
    """The pieces with every cut between them on a whole millisecond, HubSpot's precision.

    A window cut inside a millisecond is asked for whole (see `whole_ms`): each piece
    would bring the other's events, and a dense millisecond would be read again and again.
    A piece left empty gives its events to the next one.
    """
    cut: list[Part] = []
    for low, high, events in pieces:
        if not cut:
            cut.append((low, high, events))
            continue
        boundary = _floor_ms(low)
        previous_low, _, previous_events = cut[-1]
        if boundary <= previous_low:
            cut[-1] = (previous_low, high, previous_events + events)
        else:
            cut[-1] = (previous_low, boundary, previous_events)
            cut.append((boundary, high, events))
    return cut


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
