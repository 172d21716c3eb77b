"""The three account-activity streams: login history, audit log and security history."""

from __future__ import annotations

import datetime as dt
import sys
import typing as t
from importlib import resources

from singer_sdk import SchemaDirectory, StreamSchema

from tap_hubspot_activity import schemas
from tap_hubspot_activity.client import (
    HubspotActivityStream,
    StreamUnavailableError,
    format_timestamp,
)

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
ONE_MS = dt.timedelta(milliseconds=1)


def _iso_ms(moment: dt.datetime) -> str:
    """HubSpot's ISO form: UTC with milliseconds."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _epoch_ms(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1000)


class UserPartitionedMixin:
    """Endpoints whose user filter takes one user: one partition per configured user."""

    config: t.Mapping[str, t.Any]

    @property
    def partitions(self) -> list[dict] | None:
        """One context per `user_ids` entry, or None to read every user."""
        user_ids = self.config.get("user_ids")
        return [{"userId": int(user_id)} for user_id in user_ids] if user_ids else None


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
    def get_records(self, context: Context | None) -> Iterable[dict[str, t.Any]]:
        start, end = self.sync_bounds(context)
        if start >= end:
            self.logger.info("%s: nothing to read, %s is not before %s", self.name, start, end)
            return
        self.logger.info("%s: reading events from %s to %s", self.name, start, end)
        size = INITIAL_WINDOW
        total = 0
        while start < end:
            window_end = min(start + size, end)
            batch = self.fetch_window(context, start, window_end)
            if batch is None:
                size = (window_end - start) / 2
                self.logger.info(
                    "%s: more than %d events in one window, halving it to %s",
                    self.name,
                    MAX_WINDOW_RECORDS,
                    size,
                )
                continue
            yield from batch
            # Every record of the closed window has been processed by now.
            self._write_state_message()
            total += len(batch)
            self.logger.info(
                "%s: %d events up to %s (%d this run)",
                self.name,
                len(batch),
                format_timestamp(window_end),
                total,
            )
            start = window_end
            if len(batch) < MAX_WINDOW_RECORDS // 4:
                size = min(size * 2, MAX_WINDOW)

    def fetch_window(
        self,
        context: Context | None,
        start: dt.datetime,
        end: dt.datetime,
    ) -> list[dict[str, t.Any]] | None:
        """All events in [start, end), sorted; None when the window is too dense to hold."""
        low, high = format_timestamp(start), format_timestamp(end)
        window_context = {**(context or {}), "window_start": low, "window_end": high}
        by_id: dict[str, dict[str, t.Any]] = {}
        for raw in self.request_records(window_context):
            record = self.stamp(raw)
            if record is None or not low <= record["occurredAt"] < high:
                continue
            by_id[record["id"]] = record
            if len(by_id) > MAX_WINDOW_RECORDS and end - start > MIN_WINDOW:
                return None
        return sorted(by_id.values(), key=lambda record: (record["occurredAt"], record["id"]))


class LoginActivityStream(UserPartitionedMixin, HubspotActivityStream):
    """Login history (the last 90 days).

    https://developers.hubspot.com/docs/api/settings/account-activity-api

    The endpoint has no time filter, so pages are read and filtered client-side. The
    order is undocumented: paging stops early only once the order seen so far is
    newest-first and the page has passed the start of the range; otherwise every page
    is read. The bookmark is final only at the end of the stream (the SDK's progress
    markers), so a killed run starts again from the previous bookmark.
    """

    name = "login_activity"
    endpoint = "login"
    timestamp_field = "loginAt"
    schema = StreamSchema(SCHEMAS)
    is_sorted = False

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, t.Any]]:
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


class AuditLogsStream(WindowedActivityStream):
    """Centralized audit log (Enterprise only), filtered by occurredAfter/occurredBefore.

    https://developers.hubspot.com/docs/api/settings/account-activity-api
    """

    name = "audit_logs"
    endpoint = "audit-logs"
    schema = StreamSchema(SCHEMAS)
    skippable_when_forbidden = True

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

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, t.Any]]:
        try:
            yield from super().get_records(context)
        except StreamUnavailableError as exc:
            self.logger.warning(
                "Skipping audit_logs: %s. The centralized audit log needs HubSpot Enterprise; "
                "the other streams still sync.",
                exc,
            )


class SecurityActivityStream(UserPartitionedMixin, WindowedActivityStream):
    """Security history, filtered by fromTimestamp/toTimestamp (epoch milliseconds).

    https://developers.hubspot.com/docs/api/settings/account-activity-api
    """

    name = "security_activity"
    endpoint = "security"
    timestamp_field = "createdAt"
    schema = StreamSchema(SCHEMAS)

    @override
    def window_params(self, start: dt.datetime, end: dt.datetime) -> dict[str, t.Any]:
        return {"fromTimestamp": _epoch_ms(start) - 1, "toTimestamp": _epoch_ms(end)}
