"""A cursor chain (no time filter) read whole, filtered to its range, spooled with its manifests.

A chain's records are spooled in batches of CHAIN_BATCH and replayed only once the chain
has been read to its end (see Spool's `whole`); its manifests follow all of its records,
so its bookmark moves only once the whole chain was emitted.
"""

from __future__ import annotations

import datetime as dt
import typing as t

from tap_hubspot_activity.engine.reads.paging import pages
from tap_hubspot_activity.engine.timestamps import format_timestamp

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from tap_hubspot_activity.engine.dedup import StreamIds
    from tap_hubspot_activity.engine.manifests import ManifestScope
    from tap_hubspot_activity.engine.progress import Progress
    from tap_hubspot_activity.engine.reads.paging import Endpoint, Record
    from tap_hubspot_activity.engine.spool import Spool

# The early stop of a newest-first chain needs this many records in a row, all older than
# the range by EARLY_STOP_MARGIN, closing a page: one record out of order cannot stop it.
EARLY_STOP_TAIL = 10
EARLY_STOP_MARGIN = dt.timedelta(minutes=1)
# A cursor chain keeps each event's time and id until it ends: past this many events
# (11,000 logins a day for HubSpot's 90 days, about 300 MB held) it is no portal's log.
MAX_CHAIN_EVENTS = 1_000_000
# A chain is spooled in batches of this many records.
CHAIN_BATCH = 1000


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
