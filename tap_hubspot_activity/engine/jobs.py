"""What the engine is asked to read: streams, portals, and one job per (stream, partition)."""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

import msgspec

from tap_hubspot_activity.engine.failures import EndpointRules

if t.TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Callable, Mapping

    from tap_hubspot_activity.engine.spool import Spool


def _no_params(_partition: Mapping[str, t.Any]) -> dict[str, t.Any]:
    return {}


@dataclass(frozen=True)
class StreamSpec:
    """One endpoint as the engine reads it (the SDK stream's declarations, nothing more)."""

    name: str
    path: str
    timestamp_field: str
    schema: Mapping[str, t.Any]
    rules: EndpointRules = field(default_factory=EndpointRules)
    # Time-filter parameters for [start - 1 ms, end]; None: a cursor chain, filtered here.
    window_params: Callable[[dt.datetime, dt.datetime], dict[str, t.Any]] | None = None
    # Parameters of a partition (userId, actingUserId, sort, ...).
    params: Callable[[Mapping[str, t.Any]], dict[str, t.Any]] = _no_params
    # Fields hashed into an `id` when HubSpot sends none.
    identity_fields: tuple[str, ...] | None = None
    unavailable_hint: str = ""
    # What a portal needs for this endpoint, said by --test when it lacks it.
    needs: str = ""

    @property
    def windowed(self) -> bool:
        """Read in time windows (else one cursor chain)."""
        return self.window_params is not None


@dataclass(frozen=True)
class PortalSettings:
    """One HubSpot account: where to call and with what credentials."""

    label: str | None
    api_url: str
    credentials: dict[str, str]

    @property
    def name(self) -> str:
        """How logs and errors refer to the portal."""
        return f"portal {self.label!r}" if self.label is not None else "the portal"


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
