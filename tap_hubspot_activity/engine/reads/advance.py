"""Whether one paging read still moves forward: every page must bring events, and time, on."""

from __future__ import annotations

import hashlib
import typing as t

from tap_hubspot_activity.engine.errors import FatalError
from tap_hubspot_activity.engine.reads.cuts import MAX_WINDOW_RECORDS

if t.TYPE_CHECKING:
    from collections.abc import Sequence

# HubSpot's cursor is a position after the page's last record (its examples' `after`
# decodes to the last record's id; the CMS cursor is its timestamp), so every page of a
# real read brings events the read has not seen. Only an empty page, or one repeating
# the events that share its boundary, brings none: a few in a row are odd, more are a
# server that does not move.
MAX_STALLED_PAGES = 10
# New events at times the read has already passed (a burst sharing one millisecond
# across pages) are progress, up to the most events the tap takes from one window that
# cannot be split: a read past that mints events, it does not read a log.
MAX_EVENTS_IN_PLACE = MAX_WINDOW_RECORDS


def _digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()


class Advance:
    """One read's motion: the events, cursors and pages it saw, by digest, never whole.

    `page` takes each page's (occurredAt, id) pairs and raises a FatalError naming the
    endpoint when the read stops moving: a cursor or a page seen before, more than
    MAX_STALLED_PAGES pages in a row without an event the read had not seen, more than
    MAX_EVENTS_IN_PLACE new events in a row that do not move its position in time, or
    more than `max_events` events in all. An event stamped after `horizon` (HubSpot
    keeps no events from the future) is never progress.
    """

    def __init__(self, path: str, *, horizon: str, max_events: int | None = None) -> None:
        """Nothing seen yet."""
        self.path = path
        self.horizon = horizon
        self.max_events = max_events
        self.events: set[int] = set()
        self.stalled = 0
        self.in_place = 0
        # The earliest and latest page positions so far (a page's median time).
        self.span: tuple[str, str] | None = None
        self._pages: set[bytes] = set()
        self._cursors: set[bytes] = set()

    def page(self, events: Sequence[tuple[str, str]], sent: bytes | None = None) -> int:
        """Take a page's usable (occurredAt, id) events and its `results` as sent (if any).

        Returns how many of the events are new to the read.
        """
        if sent is not None:
            digest = _digest(sent)
            if digest in self._pages:
                msg = f"HubSpot sent the same page twice on {self.path}: it ignores the cursor"
                raise FatalError(msg)
            self._pages.add(digest)
        stamps = sorted(stamp for stamp, _ in events if stamp <= self.horizon)
        new = 0
        for stamp, event_id in events:
            if stamp > self.horizon:
                continue
            key = int.from_bytes(_digest(event_id.encode())[:8], "big")
            if key not in self.events:
                self.events.add(key)
                new += 1
        self._count_stalls(new)
        self._count_in_place(stamps, new)
        if self.max_events is not None and len(self.events) > self.max_events:
            msg = (
                f"HubSpot's paging on {self.path} passed {self.max_events:,} events in one "
                "read, more than a portal holds; stopping"
            )
            raise FatalError(msg)
        return new

    def cursor(self, after: str) -> None:
        """Take the cursor to the next page; one seen before is a cycle."""
        digest = _digest(after.encode())
        if digest in self._cursors:
            msg = f"HubSpot's paging cursor on {self.path} came round again; stopping a loop"
            raise FatalError(msg)
        self._cursors.add(digest)

    def _count_stalls(self, new: int) -> None:
        if new:
            self.stalled = 0
            return
        self.stalled += 1
        if self.stalled > MAX_STALLED_PAGES:
            msg = (
                f"HubSpot's paging on {self.path} is not moving: {self.stalled} pages in a "
                "row brought no event it had not sent before; stopping"
            )
            raise FatalError(msg)

    def _count_in_place(self, stamps: list[str], new: int) -> None:
        # A page's position is its median time: one record out of order cannot move it.
        if not stamps:
            return
        position = stamps[(len(stamps) - 1) // 2]
        if self.span is None or not self.span[0] <= position <= self.span[1]:
            low, high = self.span or (position, position)
            self.span = (min(low, position), max(high, position))
            self.in_place = 0
            return
        self.in_place += new
        if self.in_place > MAX_EVENTS_IN_PLACE:
            msg = (
                f"HubSpot's paging on {self.path} is not moving on in time: "
                f"{self.in_place:,} new events in a row at times it had already passed; stopping"
            )
            raise FatalError(msg)
