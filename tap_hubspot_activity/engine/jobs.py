"""What the engine is asked to read: endpoints as data, and one job per (stream, partition)."""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

import msgspec

from tap_hubspot_activity.engine.http.failures import EndpointRules
from tap_hubspot_activity.engine.timestamps import ONE_MS, epoch_ms, iso_ms

if t.TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Mapping

    from tap_hubspot_activity.engine.spool import Spool


@dataclass(frozen=True)
class TimeFilter:
    """An endpoint's server-side time filter: its two parameters and how they write a time."""

    after: str
    before: str
    # True: epoch milliseconds; False: ISO 8601 in UTC with milliseconds.
    epoch_ms: bool = False

    def params(self, start: dt.datetime, end: dt.datetime) -> dict[str, t.Any]:
        """The filter for [start - 1 ms, end], `start` and `end` on whole milliseconds."""
        if self.epoch_ms:
            return {self.after: epoch_ms(start) - 1, self.before: epoch_ms(end)}
        return {self.after: iso_ms(start - ONE_MS), self.before: iso_ms(end)}


@dataclass(frozen=True)
class StreamSpec:
    """One endpoint as the engine reads it: plain data, the same for every partition."""

    name: str
    path: str
    timestamp_field: str
    schema: Mapping[str, t.Any]
    rules: EndpointRules = field(default_factory=EndpointRules)
    # Read in time windows with this filter; None: one cursor chain, filtered here.
    time_filter: TimeFilter | None = None
    # Query parameters of every request (sort, actingUserId, ...).
    params: Mapping[str, t.Any] = field(default_factory=dict)
    # Partition keys sent as query parameters of the same name (userId).
    partition_params: tuple[str, ...] = ()
    # Fields hashed into an `id` when HubSpot sends none.
    identity_fields: tuple[str, ...] | None = None
    unavailable_hint: str = ""
    # What a portal needs for this endpoint, said by --test when it lacks it.
    needs: str = ""

    @property
    def windowed(self) -> bool:
        """Read in time windows (else one cursor chain)."""
        return self.time_filter is not None

    def request_params(self, partition: Mapping[str, t.Any]) -> dict[str, t.Any]:
        """The query parameters of a partition's requests (the page and cursor aside)."""
        return {
            **self.params,
            **{key: partition[key] for key in self.partition_params if key in partition},
        }


def partition_key(stream: str, partition: Mapping[str, t.Any] | None) -> str:
    """A job's identity: the stream and its partition context, canonically."""
    return stream + msgspec.json.encode(dict(sorted((partition or {}).items()))).decode()


@dataclass
class Job:
    """One (stream, partition) to read: its portal, its range [start, end) and its spool."""

    spec: StreamSpec
    partition: dict[str, t.Any]
    portal: str | None
    start: dt.datetime
    end: dt.datetime
    spool: Spool | None = None
    # Emitted, and its spool let go; read again if asked for again.
    replayed: bool = False

    @property
    def key(self) -> str:
        """See `partition_key`."""
        return partition_key(self.spec.name, self.partition)
