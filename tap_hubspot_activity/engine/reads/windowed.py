"""A windowed read (a server-side time filter): each window fetched, then spooled in order.

`fetch_window` reads one window [start, end) whole, or gives it up as too dense (see
cuts.py); `window_schedule` fetches the windows side by side (schedule.py); and
`spool_windows` writes the closed ones to the spool, oldest first, each batch's
manifests before its records.
"""

from __future__ import annotations

import typing as t

from tap_hubspot_activity.engine.errors import FatalError
from tap_hubspot_activity.engine.reads.cuts import (
    MAX_WINDOW_RECORDS,
    MIN_SPLIT,
    MIN_WINDOW,
    TooDense,
    give_up_early,
)
from tap_hubspot_activity.engine.reads.paging import pages
from tap_hubspot_activity.engine.reads.schedule import WindowSchedule
from tap_hubspot_activity.engine.timestamps import format_timestamp, whole_ms

if t.TYPE_CHECKING:
    import datetime as dt
    import threading
    from collections.abc import Callable
    from logging import Logger

    from tap_hubspot_activity.engine.dedup import StreamIds
    from tap_hubspot_activity.engine.jobs import TimeFilter
    from tap_hubspot_activity.engine.manifests import Manifest, ManifestScope
    from tap_hubspot_activity.engine.progress import Progress
    from tap_hubspot_activity.engine.reads.paging import Endpoint, Record
    from tap_hubspot_activity.engine.spool import Spool

# Closed windows that are ready together are spooled in batches of up to about this many.
WINDOW_BATCH = 10_000


def window_schedule(  # noqa: PLR0913 - the read, its range and its limits
    endpoint: Endpoint,
    time_filter: TimeFilter,
    start: dt.datetime,
    end: dt.datetime,
    *,
    in_flight: int,
    stop: threading.Event,
    name: str,
    logger: Logger,
) -> WindowSchedule:
    """[start, end) of the endpoint in windows filtered by `time_filter`, `in_flight` at once."""
    return WindowSchedule(
        name=name,
        start=start,
        end=end,
        fetch=lambda low, high, held: fetch_window(endpoint, time_filter.params, low, high, held),
        workers=in_flight,
        stop=stop,
        logger=logger,
    )


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


def spool_windows(  # noqa: PLR0913 - the read, where it goes and what it reports
    schedule: WindowSchedule,
    start: dt.datetime,
    *,
    spool: Spool,
    scope: ManifestScope,
    progress: Progress,
    ids: StreamIds,
) -> None:
    """The schedule's closed windows from `start`, each batch's manifests first.

    A window's records whose id the run emitted already are dropped before its manifest
    is made, so the manifest counts what is emitted.
    """
    low = start
    held: list[dict[str, t.Any]] = []
    manifests: list[Manifest] = []
    for high, window in schedule.closed_windows():
        records = ids.firsts(window)
        manifests.append(scope.window(low, high, records))
        held += records
        low = high
        progress.logger.debug(
            "%s: %d events up to %s", schedule.name, len(records), format_timestamp(high)
        )
        # Windows ready one after another go to the spool together, up to WINDOW_BATCH
        # records, their manifests first: few manifest writes on a fast read. A window
        # still awaited (or a failed fetch) sends what is held at once, so what closed
        # before a failure is emitted.
        if len(held) >= WINDOW_BATCH or not schedule.next_is_ready():
            spool.append(held, manifests)
            progress.emitted(len(held), closed_until=high)
            held, manifests = [], []
    if manifests:
        spool.append(held, manifests)
        progress.emitted(len(held), closed_until=low)
    progress.finish()
