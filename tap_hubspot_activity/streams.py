"""The SDK streams: thin adapters declaring path, params, schema and key; the engine reads."""

from __future__ import annotations

import dataclasses
import datetime as dt
import sys
import typing as t
from functools import cached_property
from importlib import resources

from singer_sdk import SchemaDirectory, Stream, StreamSchema
from singer_sdk.helpers.conform import TypeConformanceLevel

from tap_hubspot_activity import schemas
from tap_hubspot_activity.checkpoints import Checkpoints
from tap_hubspot_activity.engine.http.failures import EndpointRules
from tap_hubspot_activity.engine.jobs import Job, StreamSpec, TimeFilter, partition_key
from tap_hubspot_activity.engine.manifests import Manifest

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from singer_sdk import Tap
    from singer_sdk.helpers.types import Context

    from tap_hubspot_activity.engine.extraction import Extraction
    from tap_hubspot_activity.manifest_stream import SyncManifestsStream
    from tap_hubspot_activity.settings import Settings

SCHEMAS = SchemaDirectory(resources.files(schemas))
# STATE carries every partition; written every this many records per partition, its
# volume stays proportional to the records, not to the square of the portals.
RECORDS_PER_STATE_PER_PARTITION = 100
MIN_STATE_EVERY = 1000


class ActivityStream(Stream):
    """An account-activity endpoint: what to ask HubSpot, as data; the engine reads and checks."""

    endpoint: t.ClassVar[str]
    # The server-side time filter; None: the endpoint has none (a cursor chain).
    time_filter: t.ClassVar[TimeFilter | None] = None
    # HubSpot's own name for the event time; copied into `occurredAt`.
    timestamp_field: t.ClassVar[str] = "occurredAt"
    primary_keys: t.ClassVar[list[str]] = ["portalId", "id"]
    replication_key = "occurredAt"
    # The engine already fits every field to the schema.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE
    rules: t.ClassVar[EndpointRules] = EndpointRules()
    unavailable_hint: t.ClassVar[str] = ""
    needs: t.ClassVar[str] = ""
    identity_fields: t.ClassVar[tuple[str, ...] | None] = None
    # Login and security history filter on one user at a time: a partition per user.
    partition_by_user: t.ClassVar[bool] = False

    def __init__(
        self,
        tap: Tap,
        settings: Settings,
        extraction: Extraction,
        manifests: SyncManifestsStream,
    ) -> None:
        """An adapter over the run's engine; its manifests go out through `manifests`."""
        self.settings = settings
        super().__init__(tap)
        self.extraction = extraction
        self.manifests = manifests
        self.records_synced = 0
        partitions = len(self.partitions or [{}])
        self.STATE_MSG_FREQUENCY = max(
            MIN_STATE_EVERY, RECORDS_PER_STATE_PER_PARTITION * partitions
        )
        self.checkpoints = Checkpoints(partitions)

    @override
    @property
    def partitions(self) -> list[dict[str, t.Any]] | None:
        return self.contexts

    @cached_property
    def contexts(self) -> list[dict[str, t.Any]] | None:
        """The partitions, made once: the SDK and get_records ask for them per partition."""
        portals = [{"portal": label} for label in self.settings.portal_labels]
        user_ids = self.settings.user_ids if self.partition_by_user else ()
        users = [{"userId": user_id} for user_id in user_ids] if user_ids else [{}]
        contexts = [{**portal, **user} for portal in portals or [{}] for user in users]
        return None if contexts == [{}] else contexts

    @property
    def path(self) -> str:
        """The endpoint's path for the configured API version."""
        return self.settings.activity_path(self.endpoint)

    def params(self) -> dict[str, t.Any]:
        """Query parameters of every request (a user partition adds its userId)."""
        return {}

    @cached_property
    def spec(self) -> StreamSpec:
        """The endpoint as the engine reads it (one for every partition's job)."""
        return StreamSpec(
            name=self.name,
            path=self.path,
            timestamp_field=self.timestamp_field,
            schema=self.schema,
            rules=dataclasses.replace(self.rules, api_version=self.settings.limits.api_version),
            time_filter=self.time_filter,
            params=self.params(),
            partition_params=("userId",) if self.partition_by_user else (),
            identity_fields=self.identity_fields,
            unavailable_hint=self.unavailable_hint,
            needs=self.needs,
        )

    def jobs(self, now: dt.datetime) -> list[Job]:
        """Every partition's read, planned before the SDK's sync (see `job`)."""
        saved = self.saved_bookmarks()
        return [self.job(partition, now, saved) for partition in self.partitions or [{}]]

    def job(
        self,
        partition: Mapping[str, t.Any] | None,
        now: dt.datetime,
        saved: Mapping[str, str] | None = None,
    ) -> Job:
        """The partition's read: from the bookmark less the lookback to the run's start.

        The end is the earlier of end_date and the moment the run began, so the
        bookmark never passes an event that may still be written. A verification run
        (verify_days) reads the last verify_days days whatever the bookmark.
        """
        settings = self.settings
        start = settings.start
        bookmark = (self.saved_bookmarks() if saved is None else saved).get(
            partition_key(self.name, partition)
        )
        if settings.verify is not None:
            start = max(start, now - settings.verify)
        elif bookmark:
            start = max(start, dt.datetime.fromisoformat(bookmark) - settings.lookback)
        end = now if settings.end is None else min(now, settings.end)
        return Job(
            spec=self.spec,
            partition=dict(partition or {}),
            portal=(partition or {}).get("portal"),
            start=start,
            end=end,
        )

    def saved_bookmarks(self) -> dict[str, str]:
        """Each partition's bookmark in the input STATE, by `partition_key`, in one pass.

        Read without creating an entry: the jobs are planned before the SDK's sync, and
        an empty entry made here would be written as a STATE even for a portal that then
        fails at its first request.
        """
        entry = self.tap_state.get("bookmarks", {}).get(self.name, {})
        entries = entry.get("partitions", []) if self.partitions else [{"context": {}, **entry}]
        return {
            partition_key(self.name, found.get("context")): str(found["replication_key_value"])
            for found in entries
            if found.get("replication_key_value")
        }

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, t.Any]]:
        partitions = self.partitions or []
        first, last = (partitions[0], partitions[-1]) if partitions else (None, None)
        if context == first:
            self.records_synced = 0  # the SDK counts a sync's records across partitions
            self.checkpoints = Checkpoints(len(partitions))
        elif self.checkpoints.due():
            # The SDK finalizes a partition's bookmark once its get_records returns:
            # before this one starts, the STATE covers the partitions that ended, all
            # of whose events were emitted, and nothing of this one.
            self.manifests.checkpoint()
        job = self.extraction.planned(partition_key(self.name, context))
        for item in self.extraction.records(job or self.job(context, dt.datetime.now(dt.UTC))):
            if isinstance(item, Manifest):
                # The engine hands a window's manifest over before its records.
                self.manifests.hold(item)
                continue
            self.records_synced += 1
            if self.records_synced % self.STATE_MSG_FREQUENCY == 0:
                # The SDK writes a STATE right after this record: the manifests of
                # every record up to it go out first.
                self.manifests.flush()
            yield item
        self.checkpoints.ended_one()
        if context == last:
            self.manifests.flush()  # before the STATE that ends the stream's sync


class WindowedStream(ActivityStream):
    """An endpoint with a server-side time filter, read in closed windows, emitted ascending."""

    is_sorted = True
    # The lookback re-reads events older than the bookmark on purpose.
    check_sorted = False


class LoginActivityStream(ActivityStream):
    """Login history (the last 90 days); the endpoint has no time filter.

    https://developers.hubspot.com/docs/api/settings/account-activity-api
    """

    name = "login_activity"
    endpoint = "login"
    timestamp_field = "loginAt"
    schema = StreamSchema(SCHEMAS)
    partition_by_user = True


class CmsContentAuditStream(ActivityStream):
    """CMS content audit log (CMS Hub Enterprise, scope `content`); off unless enabled.

    https://developers.hubspot.com/docs/api/cms/audit-logs

    Its `after`/`before` parameters are both time filters and paging cursors, so they
    are used as cursors only: the stream asks for newest first and filters client-side.
    The API has no event id: `id` is derived from the fields that identify an event
    (the display names are left out, so a rename cannot turn one event into two).
    """

    name = "cms_content_audit"
    timestamp_field = "timestamp"
    schema = StreamSchema(SCHEMAS)
    rules = EndpointRules(
        required_scope="content", skippable_when_forbidden=True, scope_is_optional=True
    )
    unavailable_hint = (
        "The CMS content audit log needs CMS Hub Enterprise and the `content` scope; "
        "the other streams still sync."
    )
    needs = "CMS Hub Enterprise and the content scope"
    identity_fields = ("timestamp", "userId", "event", "objectType", "objectId", "meta")
    # Optional: off unless the `cms_content_audit` setting or a catalog selects it.
    selected_by_default = False

    @property
    @override
    def path(self) -> str:
        """The CMS endpoint has its own version in its path (HubSpot's spec keeps the slash)."""
        return "/cms/v3/audit-logs/"

    @override
    def params(self) -> dict[str, t.Any]:
        params: dict[str, t.Any] = {"sort": "-timestamp"}
        if self.settings.user_ids:
            params["userId"] = [str(user_id) for user_id in self.settings.user_ids]
        return params


class AuditLogsStream(WindowedStream):
    """Centralized audit log (Enterprise only), filtered by occurredAfter/occurredBefore.

    https://developers.hubspot.com/docs/api/settings/account-activity-api
    """

    name = "audit_logs"
    endpoint = "audit-logs"
    schema = StreamSchema(SCHEMAS)
    rules = EndpointRules(skippable_when_forbidden=True)
    unavailable_hint = (
        "The centralized audit log needs HubSpot Enterprise; the other streams still sync."
    )
    needs = "Enterprise"

    # ISO 8601 with milliseconds.
    time_filter = TimeFilter(after="occurredAfter", before="occurredBefore")

    @override
    def params(self) -> dict[str, t.Any]:
        if self.settings.user_ids:
            return {"actingUserId": list(self.settings.user_ids)}
        return {}


class SecurityActivityStream(WindowedStream):
    """Security history, filtered by fromTimestamp/toTimestamp (epoch milliseconds).

    https://developers.hubspot.com/docs/api/settings/account-activity-api
    """

    name = "security_activity"
    endpoint = "security"
    timestamp_field = "createdAt"
    schema = StreamSchema(SCHEMAS)
    partition_by_user = True
    time_filter = TimeFilter(after="fromTimestamp", before="toTimestamp", epoch_ms=True)
