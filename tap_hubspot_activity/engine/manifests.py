"""Manifests: what one read emitted for a half-open time range, for the warehouse to check.

A manifest names a range [range_start, range_end) of one (stream, portal, filter), the
number of events emitted for it and their ids, so that the warehouse can prove it holds
every one of them (dbt's `completeness`) and a later re-read can tell what changed at
HubSpot since (`evidence_drift`). They cost no request: they describe what was read.

A closed time window gives one manifest. A cursor chain (login history, the CMS log)
is cut into pieces of at most MAX_IDS ids, at timestamp boundaries, covering the read's
whole range, so no manifest record grows with the history.
"""

from __future__ import annotations

import datetime as dt
import typing as t
from dataclasses import dataclass, field

from tap_hubspot_activity.engine.timestamps import format_timestamp

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

# At most this many ids in one manifest: ~40 bytes each, so a manifest stays well under
# a megabyte, far below PostgreSQL's and Snowflake's limits for one value.
MAX_IDS = 5_000
# Query parameters that order the answer without filtering it.
NOT_FILTERS = frozenset({"sort"})


@dataclass(frozen=True)
class Manifest:
    """The events one read emitted for [range_start, range_end)."""

    stream: str
    portal_id: int
    # The partition's filter as sent to HubSpot (userId, actingUserId...); {}: none.
    filter: Mapping[str, t.Any]
    range_start: str
    range_end: str
    ids: tuple[str, ...]
    first_occurred_at: str | None
    last_occurred_at: str | None
    extracted_at: str = field(
        default_factory=lambda: format_timestamp(dt.datetime.now(dt.UTC)), compare=False
    )

    @property
    def record_count(self) -> int:
        """How many events were emitted for the range."""
        return len(self.ids)

    def to_json(self) -> dict[str, t.Any]:
        """The manifest as a JSON object (spooled beside the records it describes)."""
        return {
            "stream": self.stream,
            "portal_id": self.portal_id,
            "filter": dict(self.filter),
            "range_start": self.range_start,
            "range_end": self.range_end,
            "ids": list(self.ids),
            "first_occurred_at": self.first_occurred_at,
            "last_occurred_at": self.last_occurred_at,
            "extracted_at": self.extracted_at,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, t.Any]) -> Manifest:
        """The inverse of `to_json`."""
        return cls(
            stream=data["stream"],
            portal_id=data["portal_id"],
            filter=data["filter"],
            range_start=data["range_start"],
            range_end=data["range_end"],
            ids=tuple(data["ids"]),
            first_occurred_at=data["first_occurred_at"],
            last_occurred_at=data["last_occurred_at"],
            extracted_at=data["extracted_at"],
        )


@dataclass(frozen=True)
class ManifestScope:
    """What every manifest of one job shares: its stream, portal and filter."""

    stream: str
    portal_id: int
    filter: Mapping[str, t.Any]

    @classmethod
    def of(cls, stream: str, portal_id: int, params: Mapping[str, t.Any]) -> ManifestScope:
        """The scope of a job sending `params` (the filters among them)."""
        return cls(stream, portal_id, {k: v for k, v in params.items() if k not in NOT_FILTERS})

    def window(
        self, low: dt.datetime, high: dt.datetime, records: Iterable[Mapping[str, t.Any]]
    ) -> Manifest:
        """The manifest of one closed window [low, high) and its records, in emitted order."""
        ids: list[str] = []
        stamps: list[str] = []
        for record in records:
            ids.append(str(record["id"]))
            stamps.append(record["occurredAt"])
        return self._manifest(format_timestamp(low), format_timestamp(high), ids, stamps)

    def chain(
        self,
        start: dt.datetime,
        end: dt.datetime,
        events: list[tuple[str, str]],
        max_ids: int = MAX_IDS,
    ) -> list[Manifest]:
        """Manifests covering [start, end) for a chain's (occurredAt, id) pairs, any order.

        The pieces are cut between two distinct timestamps, so that the events of one
        millisecond share a piece and the ranges stay exact; they follow one another
        without gap or overlap from start to end.
        """
        events = sorted(events)
        manifests: list[Manifest] = []
        low = format_timestamp(start)
        first = 0
        while len(events) - first > max_ids:
            cut = first + max_ids
            # Back off to the first event of the cut's millisecond; a millisecond holding
            # more than max_ids events (never seen) goes forward to its end instead.
            while cut > first and events[cut][0] == events[cut - 1][0]:
                cut -= 1
            if cut == first:
                cut = first + max_ids
                while cut < len(events) and events[cut][0] == events[cut - 1][0]:
                    cut += 1
                if cut == len(events):
                    break
            piece = events[first:cut]
            high = events[cut][0]
            manifests.append(self._pairs(low, high, piece))
            low, first = high, cut
        manifests.append(self._pairs(low, format_timestamp(end), events[first:]))
        return manifests

    def _pairs(self, low: str, high: str, pairs: list[tuple[str, str]]) -> Manifest:
        return self._manifest(low, high, [event_id for _, event_id in pairs], [s for s, _ in pairs])

    def _manifest(self, low: str, high: str, ids: list[str], stamps: list[str]) -> Manifest:
        return Manifest(
            stream=self.stream,
            portal_id=self.portal_id,
            filter=self.filter,
            range_start=low,
            range_end=high,
            ids=tuple(ids),
            first_occurred_at=min(stamps) if stamps else None,
            last_occurred_at=max(stamps) if stamps else None,
        )
