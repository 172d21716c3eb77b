"""The three account-activity streams: login history, audit log and security history."""

from __future__ import annotations

import collections
import datetime as dt
import hashlib
import itertools
import json
import math
import sys
import threading
import typing as t
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from importlib import resources

from singer_sdk import SchemaDirectory, StreamSchema

from tap_hubspot_activity import schemas
from tap_hubspot_activity.client import (
    HubspotActivityStream,
    format_timestamp,
)
from tap_hubspot_activity.fanout import CHECKPOINT

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    from collections.abc import Iterable

    from singer_sdk.helpers.types import Context

SCHEMAS = SchemaDirectory(resources.files(schemas))

INITIAL_WINDOW = dt.timedelta(days=7)
MAX_WINDOW = dt.timedelta(days=366)
MIN_WINDOW = dt.timedelta(minutes=1)
# A window is sorted in memory before it is emitted; past this many records it is
# split in two and fetched again, which keeps memory flat on dense portals.
MAX_WINDOW_RECORDS = 20_000
# Windows are sized for about this many events: big enough that the extra request at
# each window edge is cheap, small enough that windows in flight stay light.
TARGET_WINDOW_RECORDS = 2_000
ONE_MS = dt.timedelta(milliseconds=1)


def _iso_ms(moment: dt.datetime) -> str:
    """HubSpot's ISO form: UTC with milliseconds."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _epoch_ms(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1000)


@dataclass(frozen=True)
class TooDense:
    """A window with about `estimate` events: more than is worth holding at once."""

    estimate: int


def _estimate_events(stamps: list[str], start: dt.datetime, end: dt.datetime) -> int:
    """Events in [start, end), judged from one page of time-ordered stamps."""
    first = dt.datetime.fromisoformat(min(stamps))
    last = dt.datetime.fromisoformat(max(stamps))
    span = (last - first).total_seconds()
    if span <= 0:
        return MAX_WINDOW_RECORDS * 2
    return int(len(stamps) * (end - start).total_seconds() / span)


class WindowPlanner:
    """Cuts [start, end) into windows sized from the event density seen so far."""

    def __init__(self, start: dt.datetime, end: dt.datetime) -> None:
        """Begin with a week: a first guess, corrected by every closed window."""
        self.next_start = start
        self.end = end
        self.size = INITIAL_WINDOW

    def has_next(self) -> bool:
        """Whether any of the range is still unplanned."""
        return self.next_start < self.end

    def take(self) -> tuple[dt.datetime, dt.datetime]:
        """The next window to fetch."""
        start = self.next_start
        self.next_start = min(start + self.size, self.end)
        return start, self.next_start

    def learn(self, start: dt.datetime, end: dt.datetime, count: int) -> None:
        """Aim the next windows at TARGET_WINDOW_RECORDS events each."""
        if count == 0:
            self.size = min(self.size * 2, MAX_WINDOW)
            return
        seconds_per_event = (end - start).total_seconds() / count
        wanted = dt.timedelta(seconds=seconds_per_event * TARGET_WINDOW_RECORDS)
        self.size = max(MIN_WINDOW, min(wanted, MAX_WINDOW))


class WindowedActivityStream(HubspotActivityStream):
    """An endpoint with a server-side time filter, read in closed time windows.

    Neither the sort order nor whether the bounds are inclusive is documented, so each
    window asks for a little more than it needs (one millisecond before its start,
    through its end), keeps exactly [start, end) client-side, de-duplicates on id and
    emits the window sorted. The output is ascending across the run, and STATE is
    written after every window: a killed run resumes from the last closed window.
    """

    is_sorted = True
    # The lookback re-reads events older than the bookmark on purpose.
    check_sorted = False

    def window_params(self, start: dt.datetime, end: dt.datetime) -> dict[str, t.Any]:
        """The endpoint's own time-filter parameters for [start - 1 ms, end]."""
        raise NotImplementedError

    @override
    def get_url_params(
        self,
        context: Context | None,
        next_page_token: str | None,
    ) -> dict[str, t.Any]:
        params = super().get_url_params(context, next_page_token)
        if context and "window_start" in context:
            start = dt.datetime.fromisoformat(context["window_start"])
            end = dt.datetime.fromisoformat(context["window_end"])
            params.update(self.window_params(start, end))
        return params

    @override
    def extract(self, context: Context | None) -> Iterable[t.Any]:
        start, end = self.sync_bounds(context)
        if start >= end:
            self.logger.info("%s: nothing to read, %s is not before %s", self.name, start, end)
            return
        self.logger.info("%s: reading events from %s to %s", self.name, start, end)
        planner = WindowPlanner(start, end)
        workers = int(self.config["max_concurrency"])
        # Windows in flight, oldest first: fetched in parallel, emitted strictly in order.
        pending: collections.deque[tuple[dt.datetime, dt.datetime, Future]] = collections.deque()
        total = 0
        stop = threading.Event()
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=self.name)

        def submit(low: dt.datetime, high: dt.datetime) -> Future:
            return pool.submit(self.fetch_window, context, low, high, stop)

        def top_up() -> None:
            # Keep `workers` requests in flight; finished windows wait for their turn to
            # be emitted, up to a bound that keeps memory flat.
            in_flight = sum(not future.done() for _, _, future in pending)
            while planner.has_next() and in_flight < workers and len(pending) < 2 * workers:
                low, high = planner.take()
                pending.append((low, high, submit(low, high)))
                in_flight += 1

        try:
            while pending or planner.has_next():
                top_up()
                while not pending[0][2].done():
                    waiting = [future for _, _, future in pending if not future.done()]
                    wait(waiting, return_when=FIRST_COMPLETED)
                    top_up()
                low, high, future = pending.popleft()
                batch = future.result()
                if isinstance(batch, TooDense):
                    pieces = max(2, min(workers, math.ceil(batch.estimate / TARGET_WINDOW_RECORDS)))
                    self.logger.info(
                        "%s: about %d events from %s to %s, splitting the window in %d",
                        self.name,
                        batch.estimate,
                        format_timestamp(low),
                        format_timestamp(high),
                        pieces,
                    )
                    step = (high - low) / pieces
                    edges = [low + step * i for i in range(pieces)] + [high]
                    for piece_low, piece_high in reversed(list(itertools.pairwise(edges))):
                        pending.appendleft((piece_low, piece_high, submit(piece_low, piece_high)))
                    planner.learn(low, high, batch.estimate)
                    continue
                planner.learn(low, high, len(batch))
                yield from batch
                yield CHECKPOINT
                total += len(batch)
                self.logger.info(
                    "%s: %d events up to %s (%d this run)",
                    self.name,
                    len(batch),
                    format_timestamp(high),
                    total,
                )
        finally:
            stop.set()
            pool.shutdown(wait=True, cancel_futures=True)

    def fetch_window(
        self,
        context: Context | None,
        start: dt.datetime,
        end: dt.datetime,
        stop: threading.Event | None = None,
    ) -> list[dict[str, t.Any]] | TooDense:
        """All events in [start, end), sorted; TooDense when the window should be split.

        HubSpot sends a window in time order (either way), so the span of the first full
        page tells the window's density: a window far over TARGET_WINDOW_RECORDS is given
        up after that one page, not after paging through it. Were the order random, the
        span would look wide and MAX_WINDOW_RECORDS still bounds the window.
        `stop` is set when the window is no longer wanted: its retries then give up.
        """
        self.fetch_abandoned.event = stop
        low, high = format_timestamp(start), format_timestamp(end)
        window_context = {**(context or {}), "window_start": low, "window_end": high}
        page_size = int(self.config["page_size"])
        splittable = end - start > MIN_WINDOW
        by_id: dict[str, dict[str, t.Any]] = {}
        first_page: list[str] = []
        for seen, raw in enumerate(self.request_records(window_context), start=1):
            record = self.stamp(raw)
            if record is not None and low <= record["occurredAt"] < high:
                by_id[record["id"]] = record
                if seen <= page_size:
                    first_page.append(record["occurredAt"])
            if splittable and seen == page_size and len(first_page) > 1:
                estimate = _estimate_events(first_page, start, end)
                if estimate > 2 * TARGET_WINDOW_RECORDS:
                    return TooDense(estimate)
            if splittable and len(by_id) > MAX_WINDOW_RECORDS:
                return TooDense(2 * len(by_id))
        return sorted(by_id.values(), key=lambda record: (record["occurredAt"], record["id"]))


class ClientFilteredStream(HubspotActivityStream):
    """An endpoint without a usable time filter: paged whole, filtered client-side.

    The order is undocumented: paging stops early only once the order seen so far is
    newest-first and the page has passed the start of the range; otherwise every page
    is read. The bookmark is final only at the end of the stream (the SDK's progress
    markers), so a killed run starts again from the previous bookmark.
    """

    is_sorted = False

    @override
    def extract(self, context: Context | None) -> Iterable[t.Any]:
        start, end = self.sync_bounds(context)
        low, high = format_timestamp(start), format_timestamp(end)
        # Newest-first is proven by a descent and no ascent among the records seen.
        descended = ascended = False
        previous: str | None = None
        for raw in self.request_records(context):
            record = self.stamp(raw)
            if record is None:
                continue
            occurred_at = record["occurredAt"]
            if previous is not None:
                descended |= occurred_at < previous
                ascended |= occurred_at > previous
            previous = occurred_at
            if low <= occurred_at < high:
                yield record
            elif occurred_at < low and descended and not ascended:
                self.logger.info(
                    "%s: reached %s, older than the start %s; the rest is older still",
                    self.name,
                    occurred_at,
                    low,
                )
                return


class LoginActivityStream(ClientFilteredStream):
    """Login history (the last 90 days); the endpoint has no time filter.

    https://developers.hubspot.com/docs/api/settings/account-activity-api
    """

    name = "login_activity"
    endpoint = "login"
    timestamp_field = "loginAt"
    schema = StreamSchema(SCHEMAS)
    partition_by_user = True


class CmsContentAuditStream(ClientFilteredStream):
    """CMS content audit log (CMS Hub Enterprise, scope `content`); off unless enabled.

    https://developers.hubspot.com/docs/api/cms/audit-logs

    Its `after`/`before` parameters are both time filters and paging cursors, so they
    are used as cursors only: the stream asks for newest first and filters client-side.
    The API has no event id: `id` is derived (see `event_id`).
    """

    name = "cms_content_audit"
    timestamp_field = "timestamp"
    schema = StreamSchema(SCHEMAS)
    skippable_when_forbidden = True
    required_scope = "content"
    scope_is_optional = True
    unavailable_hint = (
        "The CMS content audit log needs CMS Hub Enterprise and the `content` scope; "
        "the other streams still sync."
    )
    # Fields that make one content event what it is; names shown beside them are not.
    IDENTITY_FIELDS: t.ClassVar[tuple[str, ...]] = (
        "timestamp",
        "userId",
        "event",
        "objectType",
        "objectId",
        "meta",
    )

    @property
    def path(self) -> str:  # type: ignore[override]
        """The CMS endpoint has its own version in its path (HubSpot's spec keeps the slash)."""
        return "/cms/v3/audit-logs/"

    # Optional: off unless the `cms_content_audit` setting or a catalog selects it.
    selected_by_default = False

    @override
    def get_url_params(
        self,
        context: Context | None,
        next_page_token: str | None,
    ) -> dict[str, t.Any]:
        params = super().get_url_params(context, next_page_token)
        params["sort"] = "-timestamp"
        if self.config.get("user_ids"):
            params["userId"] = [str(user_id) for user_id in self.config["user_ids"]]
        return params

    @override
    def stamp(self, record: object) -> dict | None:
        if isinstance(record, dict) and "id" not in record:
            record["id"] = event_id(record, self.IDENTITY_FIELDS)
        return super().stamp(record)


def event_id(record: t.Mapping[str, t.Any], fields: tuple[str, ...]) -> str:
    """A stable id from the fields that identify an event: SHA-256 of their canonical JSON."""
    identity = {field: record.get(field) for field in fields}
    canonical = json.dumps(identity, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


class AuditLogsStream(WindowedActivityStream):
    """Centralized audit log (Enterprise only), filtered by occurredAfter/occurredBefore.

    https://developers.hubspot.com/docs/api/settings/account-activity-api
    """

    name = "audit_logs"
    endpoint = "audit-logs"
    schema = StreamSchema(SCHEMAS)
    skippable_when_forbidden = True
    unavailable_hint = (
        "The centralized audit log needs HubSpot Enterprise; the other streams still sync."
    )

    @override
    def window_params(self, start: dt.datetime, end: dt.datetime) -> dict[str, t.Any]:
        return {"occurredAfter": _iso_ms(start - ONE_MS), "occurredBefore": _iso_ms(end)}

    @override
    def get_url_params(
        self,
        context: Context | None,
        next_page_token: str | None,
    ) -> dict[str, t.Any]:
        params = super().get_url_params(context, next_page_token)
        if self.config.get("user_ids"):
            params["actingUserId"] = [int(user_id) for user_id in self.config["user_ids"]]
        return params


class SecurityActivityStream(WindowedActivityStream):
    """Security history, filtered by fromTimestamp/toTimestamp (epoch milliseconds).

    https://developers.hubspot.com/docs/api/settings/account-activity-api
    """

    name = "security_activity"
    endpoint = "security"
    timestamp_field = "createdAt"
    schema = StreamSchema(SCHEMAS)
    partition_by_user = True

    @override
    def window_params(self, start: dt.datetime, end: dt.datetime) -> dict[str, t.Any]:
        return {"fromTimestamp": _epoch_ms(start) - 1, "toTimestamp": _epoch_ms(end)}
