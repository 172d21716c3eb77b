"""The three account-activity streams: login history, audit log and security history."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sys
import typing as t
from importlib import resources

from singer_sdk import SchemaDirectory, StreamSchema

from tap_hubspot_activity import schemas
from tap_hubspot_activity.client import (
    HubspotActivityStream,
    format_timestamp,
)
from tap_hubspot_activity.fanout import CHECKPOINT
from tap_hubspot_activity.windows import (
    MAX_WINDOW_RECORDS,
    MIN_WINDOW,
    TooDense,
    Window,
    WindowSchedule,
    give_up_early,
)

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    import threading
    from collections.abc import Iterable

    from singer_sdk.helpers.types import Context

SCHEMAS = SchemaDirectory(resources.files(schemas))

ONE_MS = dt.timedelta(milliseconds=1)
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _iso_ms(moment: dt.datetime) -> str:
    """HubSpot's ISO form: UTC with milliseconds."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _epoch_ms(moment: dt.datetime) -> int:
    return (moment - EPOCH) // ONE_MS


def _whole_ms(start: dt.datetime, end: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) widened to whole milliseconds, HubSpot's precision.

    Window edges fall between milliseconds when a window is cut in pieces; sent as they
    are, the end would be truncated and an event in its last millisecond missed.
    """
    floor = start - dt.timedelta(microseconds=start.microsecond % 1000)
    ceiling = end + dt.timedelta(microseconds=-end.microsecond % 1000)
    return floor, ceiling


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
        """The endpoint's own time-filter parameters for [start - 1 ms, end].

        `start` and `end` are whole milliseconds.
        """
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
            params.update(self.window_params(*_whole_ms(start, end)))
        return params

    @override
    def extract(self, context: Context | None) -> Iterable[t.Any]:
        start, end = self.sync_bounds(context)
        if start >= end:
            self.logger.info("%s: nothing to read, %s is not before %s", self.name, start, end)
            return
        self.logger.info("%s: reading events from %s to %s", self.name, start, end)
        schedule = WindowSchedule(self, context, start, end)
        total = 0
        try:
            for high, batch in schedule.closed_windows():
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
            schedule.close()

    def fetch_window(
        self,
        context: Context | None,
        window: Window,
        abandoned: threading.Event,
    ) -> list[dict[str, t.Any]] | TooDense:
        """All events of `window`, sorted; TooDense when the window should be split.

        After every page, the density of that page tells how many events are still
        ahead: past SPLIT_ABOVE the window is given up there and then, not paged to
        its end (see `give_up_early`). Were the order random, the guess would look small and
        MAX_WINDOW_RECORDS still bounds the window. `abandoned` is set when the window
        is no longer wanted: its retries then give up. `window.fetched` follows the
        records held so far, for the schedule's memory budget.
        """
        self.fetch_abandoned.event = abandoned
        start, end = window.low, window.high
        low, high = format_timestamp(start), format_timestamp(end)
        window_context = {**(context or {}), "window_start": low, "window_end": high}
        page_size = int(self.config["page_size"])
        splittable = end - start > MIN_WINDOW
        by_id: dict[str, dict[str, t.Any]] = {}
        page: list[str] = []
        for seen, raw in enumerate(self.request_records(window_context), start=1):
            record = self.stamp(raw)
            if record is not None and low <= record["occurredAt"] < high:
                by_id[record["id"]] = record
                page.append(record["occurredAt"])
            if seen % page_size:
                continue
            window.fetched = len(by_id)
            if splittable:
                verdict = give_up_early(page, start, end, len(by_id))
                if verdict is not None:
                    return verdict
                if len(by_id) > MAX_WINDOW_RECORDS:
                    return TooDense(((start, end, 2 * len(by_id)),))
            page = []
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
