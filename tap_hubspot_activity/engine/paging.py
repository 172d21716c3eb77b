"""Reading HubSpot's cursor pages: guarded against loops, a window at a time or a whole chain."""

from __future__ import annotations

import datetime as dt
import typing as t
from dataclasses import dataclass

import msgspec

from tap_hubspot_activity.engine.advance import Advance
from tap_hubspot_activity.engine.errors import FatalError, shown
from tap_hubspot_activity.engine.timestamps import format_timestamp, whole_ms
from tap_hubspot_activity.engine.windows import (
    MAX_WINDOW_RECORDS,
    MIN_SPLIT,
    MIN_WINDOW,
    TooDense,
    give_up_early,
)

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping

    from tap_hubspot_activity.engine.client import PortalClient
    from tap_hubspot_activity.engine.failures import EndpointRules
    from tap_hubspot_activity.engine.progress import Progress
    from tap_hubspot_activity.engine.records import RecordShaper

Record = dict[str, t.Any]
# The early stop of a newest-first chain needs this many records in a row, all older than
# the range by EARLY_STOP_MARGIN, closing a page: one record out of order cannot stop it.
EARLY_STOP_TAIL = 10
EARLY_STOP_MARGIN = dt.timedelta(minutes=1)
# HubSpot keeps no events from the future; a day covers any clock's error.
FUTURE_MARGIN = dt.timedelta(days=1)
# A cursor chain keeps each event's time and id until it ends: past this many events
# (11,000 logins a day for HubSpot's 90 days, about 300 MB held) it is no portal's log.
MAX_CHAIN_EVENTS = 1_000_000


@dataclass
class Endpoint:
    """Where and how one partition of a stream is read."""

    client: PortalClient
    path: str
    params: dict[str, t.Any]
    rules: EndpointRules
    shaper: RecordShaper
    portal_id: int
    page_size: int
    progress: Progress


@dataclass
class Page:
    """One page of a read: its usable records, and how many entries HubSpot sent."""

    records: list[Record]
    size: int
    # Events new to the read (see `Advance.page`).
    new: int


def pages(
    endpoint: Endpoint,
    extra: Mapping[str, t.Any],
    *,
    first: bool,
    max_events: int | None = None,
) -> Iterator[Page]:
    """Each page's records, shaped, following `paging.next.after` until the last page.

    Every page must move the read forward (see `Advance`): a read that stops moving ends
    with an error naming the endpoint rather than a loop.
    """
    horizon = format_timestamp(dt.datetime.now(dt.UTC) + FUTURE_MARGIN)
    advance = Advance(endpoint.path, horizon=horizon, max_events=max_events)
    after: str | None = None
    while True:
        params = {**endpoint.params, **extra, "limit": endpoint.page_size}
        if after is not None:
            params["after"] = after
        body = endpoint.client.get(endpoint.path, params, endpoint.rules, first=first)
        endpoint.progress.page()
        results = body.get("results")
        if not isinstance(results, list):
            msg = f"HubSpot's answer on {endpoint.path} has no `results` list"
            raise FatalError(msg)
        sent = msgspec.json.encode(results) if results else None
        records = [
            record
            for raw in results
            if (record := endpoint.shaper.shape(raw, endpoint.portal_id)) is not None
        ]
        new = advance.page([(record["occurredAt"], record["id"]) for record in records], sent)
        yield Page(records, len(results), new)
        after = _next_cursor(body, endpoint.path)
        if after is None:
            return
        advance.cursor(after)


def _next_cursor(body: Mapping[str, t.Any], path: str) -> str | None:
    paging = body.get("paging")
    following = paging.get("next") if isinstance(paging, dict) else None
    after = following.get("after") if isinstance(following, dict) else None
    if after is None or after == "":
        return None
    if isinstance(after, bool) or not isinstance(after, str | int):
        msg = f"HubSpot sent an unreadable paging cursor on {path} ({shown(type(after).__name__)})"
        raise FatalError(msg)
    return str(after)


def fetch_window(
    endpoint: Endpoint,
    window_params: Callable[[dt.datetime, dt.datetime], dict[str, t.Any]],
    start: dt.datetime,
    end: dt.datetime,
    held: list[int],
) -> list[Record] | TooDense:
    """All events in [start, end), sorted; TooDense when the window should be split.

    Neither the sort order nor whether the bounds are inclusive is documented, so the
    request asks for a little more (one millisecond before, through the end, in whole
    milliseconds) and [start, end) is kept client-side, de-duplicated on id. After each
    page, its density tells how many events are still ahead: past SPLIT_ABOVE the
    window is given up there (see `give_up_early`). `held[0]` follows the records held.

    A window holds at most MAX_WINDOW_RECORDS events, and may bring as many again from
    outside its range: past the first, a window longer than MIN_SPLIT is split and a
    shorter one is a failure; past the second, the server ignores the range.
    """
    low, high = format_timestamp(start), format_timestamp(end)
    by_density = end - start > MIN_WINDOW
    splittable = end - start > MIN_SPLIT
    by_id: dict[str, Record] = {}
    outside = 0
    for page in pages(endpoint, window_params(*whole_ms(start, end)), first=False):
        before = len(by_id)
        stamps: list[str] = []
        for record in page.records:
            if low <= record["occurredAt"] < high:
                by_id[record["id"]] = record
                stamps.append(record["occurredAt"])
        held[0] = len(by_id)
        outside += page.new - (len(by_id) - before)
        if outside > MAX_WINDOW_RECORDS:
            msg = (
                f"HubSpot sent more than {MAX_WINDOW_RECORDS:,} events outside the requested "
                f"time range on {endpoint.path} ({low} to {high}): it does not honour the time "
                "filter; stopping"
            )
            raise FatalError(msg)
        if len(by_id) > MAX_WINDOW_RECORDS:
            if splittable:
                return TooDense(((start, end, 2 * len(by_id)),))
            msg = (
                f"HubSpot sent more than {MAX_WINDOW_RECORDS:,} events on {endpoint.path} from "
                f"{low} to {high}, more than HubSpot holds in a second, and a window that short "
                "cannot be split further; stopping"
            )
            raise FatalError(msg)
        if by_density and page.size >= endpoint.page_size:
            verdict = give_up_early(stamps, start, end, len(by_id))
            if verdict is not None:
                return verdict
    return sorted(by_id.values(), key=lambda record: (record["occurredAt"], record["id"]))


def read_chain(endpoint: Endpoint, start: dt.datetime, end: dt.datetime) -> Iterator[Record]:
    """The records in [start, end) of an endpoint without a time filter, in HubSpot's order.

    The order is undocumented, so paging stops early only when a page closes a run of at
    least EARLY_STOP_TAIL records (on one page or several), descending, all older than
    the range by a margin, after a newer one: a newest-first chain has then passed the
    range. Anything less (a record out of order, an oldest-first chain) reads on to the
    end, at most MAX_CHAIN_EVENTS events.
    """
    low, high = format_timestamp(start), format_timestamp(end)
    passed = _PassedRange(format_timestamp(start - EARLY_STOP_MARGIN))
    with endpoint.client.chain():
        for page in pages(endpoint, {}, first=True, max_events=MAX_CHAIN_EVENTS):
            for record in page.records:
                passed.see(record["occurredAt"])
                if low <= record["occurredAt"] < high:
                    yield record
            if passed.proven():
                return


class _PassedRange:
    """The run of records, in chain order, older than the range and descending."""

    def __init__(self, stop_below: str) -> None:
        self.stop_below = stop_below
        # The newest record before the run, the run's first (its newest) and last ones.
        self.newest_before: str | None = None
        self.first: str | None = None
        self.last: str | None = None
        self.length = 0

    def see(self, stamp: str) -> None:
        if stamp < self.stop_below and (self.last is None or stamp <= self.last):
            self.first = self.first or stamp
            self.last = stamp
            self.length += 1
            return
        # The run ends here: what it held came before whatever run follows.
        for earlier in (self.first, stamp if stamp >= self.stop_below else None):
            if earlier is not None and (self.newest_before or "") < earlier:
                self.newest_before = earlier
        self.first = self.last = None
        self.length = 0
        if stamp < self.stop_below:
            self.see(stamp)

    def proven(self) -> bool:
        """Whether the run is long enough, and a newer record came first."""
        return (
            self.length >= EARLY_STOP_TAIL
            and self.first is not None
            and self.newest_before is not None
            and self.newest_before > self.first
        )
