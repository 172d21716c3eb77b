"""The sync_manifests stream: the engine's manifests, emitted where the activity streams say."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sys
import typing as t
from importlib import resources

from singer_sdk import SchemaDirectory, Stream, StreamSchema

from tap_hubspot_activity import schemas
from tap_hubspot_activity.engine.timestamps import format_timestamp

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    from collections.abc import Iterable

    from singer_sdk import Tap
    from singer_sdk.helpers.types import Context

    from tap_hubspot_activity.engine.manifests import Manifest

SCHEMAS = SchemaDirectory(resources.files(schemas))


class SyncManifestsStream(Stream):
    """One record per range read: what was emitted for it, for dbt's completeness checks.

    The activity streams `hold` their manifests as the engine hands them over and
    `flush` them just before the SDK writes a STATE (every STATE_MSG_FREQUENCY records
    of a stream, and at its end), so each one is written before any STATE that covers
    its events. Writing manifests writes the tap's STATE too, whose size grows with the
    portals: flushed only there, the STATE volume stays proportional to the records, not
    to the square of the portals. Synced on its own, as the SDK does with every stream
    (last), it writes whatever is still held.
    """

    name = "sync_manifests"
    schema = StreamSchema(SCHEMAS)
    primary_keys: t.ClassVar[list[str]] = ["portalId", "id"]
    # Incremental, never FULL_TABLE: with emit_activate_version_messages a full-table
    # sync would tell the target to retire every earlier manifest. Its bookmark is never
    # read (each sync emits what it is handed), so declaring it sorted only spares a
    # warning per emit; manifests read ahead may go out after later ones.
    replication_key = "extracted_at"
    is_sorted = True
    check_sorted = False

    def __init__(self, tap: Tap, *, tap_version: str, verification: bool) -> None:
        """Manifests of this sync: one start time, one purpose, one tap version."""
        super().__init__(tap)
        self.tap = tap
        self.tap_version = tap_version
        self.sync_started_at = format_timestamp(dt.datetime.now(dt.UTC))
        self.purpose = "verification" if verification else "extraction"
        self.pending: list[Manifest] = []

    def hold(self, manifest: Manifest) -> None:
        """Keep a manifest until the next `flush`."""
        self.pending.append(manifest)

    def flush(self) -> None:
        """Write the held manifests now, if any (a RECORD each, then the tap's STATE)."""
        if self.pending:
            self.sync()

    def checkpoint(self) -> None:
        """Write the held manifests, then the tap's STATE as it stands.

        Called between two partitions of a stream: the STATE then covers only events
        that were emitted, and their manifests go out before it.
        """
        self.flush()
        self.tap.state_writer.write_state(self.tap.state)

    def record(self, manifest: Manifest) -> dict[str, t.Any]:
        """The manifest as a sync_manifests record."""
        read_with = json.dumps(dict(manifest.filter), sort_keys=True, separators=(",", ":"))
        identity = "|".join(
            (
                str(manifest.portal_id),
                manifest.stream,
                read_with,
                manifest.range_start,
                manifest.range_end,
                self.sync_started_at,
            )
        )
        return {
            "portalId": manifest.portal_id,
            "id": hashlib.sha256(identity.encode()).hexdigest(),
            "stream": manifest.stream,
            "filter": read_with,
            "range_start": manifest.range_start,
            "range_end": manifest.range_end,
            "record_count": manifest.record_count,
            "ids": list(manifest.ids),
            "first_occurred_at": manifest.first_occurred_at,
            "last_occurred_at": manifest.last_occurred_at,
            "extracted_at": manifest.extracted_at,
            "sync_started_at": self.sync_started_at,
            "purpose": self.purpose,
            "tap_version": self.tap_version,
        }

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, t.Any]]:
        held, self.pending = self.pending, []
        for manifest in held:
            yield self.record(manifest)
