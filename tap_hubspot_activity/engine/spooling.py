"""A job's read written to its spool: records in batches, each with its manifests in place."""

from __future__ import annotations

import typing as t

from tap_hubspot_activity.engine.paging import read_chain
from tap_hubspot_activity.engine.timestamps import format_timestamp

if t.TYPE_CHECKING:
    import datetime as dt

    from tap_hubspot_activity.engine.dedup import StreamIds
    from tap_hubspot_activity.engine.manifests import Manifest, ManifestScope
    from tap_hubspot_activity.engine.paging import Endpoint
    from tap_hubspot_activity.engine.progress import Progress
    from tap_hubspot_activity.engine.schedule import WindowSchedule
    from tap_hubspot_activity.engine.spool import Spool

# A cursor chain is spooled in batches of this many records; closed windows that are
# ready together in batches of up to about this many.
CHAIN_BATCH = 1000
WINDOW_BATCH = 10_000


def spool_chain(  # noqa: PLR0913 - the read, where it goes and what it reports
    endpoint: Endpoint,
    start: dt.datetime,
    end: dt.datetime,
    *,
    spool: Spool,
    scope: ManifestScope,
    progress: Progress,
    ids: StreamIds,
) -> None:
    """The chain's records in [start, end) whose id is new to the run, then its manifests."""
    batch: list[dict[str, t.Any]] = []
    events: list[tuple[str, str]] = []
    for record in read_chain(endpoint, start, end):
        if not ids.first(record["id"]):
            continue
        batch.append(record)
        events.append((record["occurredAt"], str(record["id"])))
        if len(batch) >= CHAIN_BATCH:
            spool.append(batch)
            progress.emitted(len(batch))
            batch = []
    spool.append(batch)
    progress.emitted(len(batch))
    # The chain's manifests come after all of its records: its bookmark moves only once
    # the whole chain was emitted, after them.
    spool.append([], scope.chain(start, end, events))
    progress.finish()


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
