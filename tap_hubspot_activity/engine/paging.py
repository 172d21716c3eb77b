"""Reading HubSpot's cursor pages: guarded against loops, a window at a time or a whole chain."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import typing as t
from dataclasses import dataclass

import msgspec

from tap_hubspot_activity.engine.errors import FatalError, shown
from tap_hubspot_activity.engine.timestamps import format_timestamp, whole_ms
from tap_hubspot_activity.engine.windows import (
    MAX_WINDOW_RECORDS,
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
# The early stop of a newest-first chain needs this many records, all older than the
# range by EARLY_STOP_MARGIN, closing a page: one record out of order cannot stop it.
EARLY_STOP_TAIL = 10
EARLY_STOP_MARGIN = dt.timedelta(minutes=1)
# Empty pages that still point to a next one: a few are odd, many are a loop.
MAX_EMPTY_PAGES = 10


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


def pages(endpoint: Endpoint, extra: Mapping[str, t.Any], *, first: bool) -> Iterator[list[t.Any]]:
    """Each page's `results`, following `paging.next.after` until the last page.

    A cursor seen before (a cycle) or a page identical to the one before it (a server
    ignoring `after`) ends the chain with an error rather than a loop.
    """
    after: str | None = None
    cursors: set[bytes] = set()
    seen_pages: set[bytes] = set()
    empty_in_a_row = 0
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
        if results:
            page = _digest(msgspec.json.encode(results))
            if page in seen_pages:
                msg = f"HubSpot sent the same page twice on {endpoint.path}: it ignores the cursor"
                raise FatalError(msg)
            seen_pages.add(page)
            empty_in_a_row = 0
        else:
            empty_in_a_row += 1
            if empty_in_a_row > MAX_EMPTY_PAGES:
                msg = f"HubSpot sent {empty_in_a_row} empty pages in a row on {endpoint.path}"
                raise FatalError(msg)
        yield results
        after = _next_cursor(body, endpoint.path)
        if after is None:
            return
        digest = _digest(after.encode())
        if digest in cursors:
            msg = f"HubSpot's paging cursor on {endpoint.path} came round again; stopping a loop"
            raise FatalError(msg)
        cursors.add(digest)


def _digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()


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
    """
    low, high = format_timestamp(start), format_timestamp(end)
    splittable = end - start > MIN_WINDOW
    by_id: dict[str, Record] = {}
    for results in pages(endpoint, window_params(*whole_ms(start, end)), first=False):
        page: list[str] = []
        for raw in results:
            record = endpoint.shaper.shape(raw, endpoint.portal_id)
            if record is not None and low <= record["occurredAt"] < high:
                by_id[record["id"]] = record
                page.append(record["occurredAt"])
        held[0] = len(by_id)
        if splittable and len(results) >= endpoint.page_size:
            verdict = give_up_early(page, start, end, len(by_id))
            if verdict is not None:
                return verdict
            if len(by_id) > MAX_WINDOW_RECORDS:
                return TooDense(((start, end, 2 * len(by_id)),))
    return sorted(by_id.values(), key=lambda record: (record["occurredAt"], record["id"]))


def read_chain(endpoint: Endpoint, start: dt.datetime, end: dt.datetime) -> Iterator[Record]:
    """The records in [start, end) of an endpoint without a time filter, in HubSpot's order.

    The order is undocumented, so paging stops early only when a page closes with at
    least EARLY_STOP_TAIL records, descending, all older than the range by a margin,
    after a page that began newer: a newest-first chain has then passed the range.
    Anything less (a record out of order, an oldest-first chain) reads on to the end.
    """
    low, high = format_timestamp(start), format_timestamp(end)
    stop_below = format_timestamp(start - EARLY_STOP_MARGIN)
    with endpoint.client.chain():
        yield from _read_pages(endpoint, low, high, stop_below)


def _read_pages(endpoint: Endpoint, low: str, high: str, stop_below: str) -> Iterator[Record]:
    newest_seen: str | None = None
    for results in pages(endpoint, {}, first=True):
        stamps: list[str] = []
        for raw in results:
            record = endpoint.shaper.shape(raw, endpoint.portal_id)
            if record is None:
                continue
            stamps.append(record["occurredAt"])
            if low <= record["occurredAt"] < high:
                yield record
        if _passed_range(stamps, stop_below, newest_seen):
            return
        if stamps:
            newest_seen = max(newest_seen or stamps[0], *stamps)


def _passed_range(stamps: list[str], stop_below: str, newest_before: str | None) -> bool:
    tail: list[str] = []
    for stamp in reversed(stamps):
        if stamp >= stop_below:
            break
        tail.append(stamp)
    descending = all(older <= newer for older, newer in itertools.pairwise(tail))
    if len(tail) < EARLY_STOP_TAIL or not descending:
        return False
    # Newer records came first (earlier in the page, or on an earlier page).
    return max(newest_before or "", stamps[0]) > tail[-1]
