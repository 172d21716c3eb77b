"""Pre-sorted per-stream event lists with bisect-based windows and opaque cursors."""

from __future__ import annotations

import base64
import binascii
import bisect
import hashlib
import json
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from . import cms
from .config import STREAMS, EmulatorConfig
from .data import (
    ADDED_BASE,
    DAY_MS,
    HOUR_MS,
    ID_SPACE,
    Event,
    User,
    build_users,
    generate_bucket,
    opaque_id,
    pick_user,
    seeded,
)
from .incidents import Planner
from .records import render

_SORT_KEY = itemgetter(0, 1)
_MS = itemgetter(0)


class CursorError(ValueError):
    """A malformed or foreign `after` value."""


@dataclass(frozen=True)
class PageQuery:
    """A resolved request: inclusive ms range, user filter, field filters and direction."""

    descending: bool
    user_ids: frozenset[int] | None = None
    lo_ms: int | None = None
    hi_ms: int | None = None
    # (record field, accepted string values) pairs, sorted: the CMS list filters.
    fields: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def fingerprint(self) -> str:
        users = sorted(self.user_ids) if self.user_ids is not None else None
        parts: list[Any] = [self.descending, users, self.lo_ms, self.hi_ms]
        if self.fields:
            parts.append(self.fields)
        raw = json.dumps(parts)
        return hashlib.sha256(raw.encode()).hexdigest()[:12]

    def keeps(self, record: dict[str, Any]) -> bool:
        return all(str(record.get(name)) in values for name, values in self.fields)


def encode_cursor(key: tuple[int, str], query: PageQuery, *, carry_lo: bool = False) -> str:
    """Opaque cursor: the last sort key, the filter fingerprint, maybe the lower bound."""
    data: dict[str, Any] = {"k": [key[0], key[1]], "f": query.fingerprint()}
    if carry_lo:
        # For an endpoint whose `after` is also its time filter: the cursor replaces it.
        data["lo"] = query.lo_ms
    raw = json.dumps(data, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _read_cursor(token: str) -> dict[str, Any]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        ms, eid = data["k"]
        shapes = [isinstance(eid, str), isinstance(data["f"], str)]
    except (binascii.Error, ValueError, TypeError, KeyError) as exc:
        msg = "the after cursor is malformed"
        raise CursorError(msg) from exc
    lo = data.get("lo")
    shapes += [type(ms) is int, lo is None or type(lo) is int]
    if not all(shapes):
        msg = "the after cursor is malformed"
        raise CursorError(msg)
    return dict(data)


def cursor_lo(token: str) -> int | None:
    """The lower time bound a cursor carries (see encode_cursor's carry_lo)."""
    return _read_cursor(token).get("lo")


def decode_cursor(token: str, query: PageQuery) -> tuple[int, str]:
    """The sort key inside a cursor; CursorError if it is not ours or not for this query."""
    data = _read_cursor(token)
    ms, eid = data["k"]
    fingerprint = data["f"]
    # Reusing a cursor with other filters would silently skip or repeat records.
    if fingerprint != query.fingerprint():
        msg = "the after cursor belongs to a request with other filters"
        raise CursorError(msg)
    return ms, eid


class EventStore:
    """The whole synthetic portal; callers serialize access with their own lock."""

    def __init__(self, config: EmulatorConfig, now_ms: int) -> None:
        self.config = config
        self.users: list[User] = build_users(config.seed, config.users)
        self.user_index = {u.id: i for i, u in enumerate(self.users)}
        self.planner = Planner(config.seed, self.users, config.portal_id, config.history_days)
        # Nothing newer than a second before start exists, so the data set never grows
        # by itself and a restart later only adds newer events.
        self.cutoff_ms = now_ms - 1000
        self.history_start_ms = (now_ms - config.history_days * DAY_MS) // HOUR_MS * HOUR_MS
        self.login_floor_ms = now_ms - config.login_retention_days * DAY_MS
        self.events: dict[str, list[Event]] = {}
        for stream in STREAMS:
            first = self.history_start_ms
            if stream == "login":
                # Logins older than the retention window are never served: skip them.
                first = max(first, self.login_floor_ms // HOUR_MS * HOUR_MS)
            self.events[stream] = self._generate(stream, first // HOUR_MS)
        self._rng = seeded(config.seed, "arrivals")
        self._added: dict[tuple[str, int], int] = {}

    def _generate(self, stream: str, first_hour: int) -> list[Event]:
        out: list[Event] = []
        for hour in range(first_hour, self.cutoff_ms // HOUR_MS + 1):
            if stream == "cms":
                bucket = cms.generate_bucket(self.config, hour, self.users)
            else:
                bucket = generate_bucket(self.config, stream, hour, len(self.users))
            bucket.extend(self.planner.events_for(stream, hour))
            bucket.sort(key=_SORT_KEY)
            if hour == self.cutoff_ms // HOUR_MS:
                bucket = [ev for ev in bucket if ev[0] <= self.cutoff_ms]
            # Buckets are disjoint and ascending, so appending keeps the list sorted.
            out.extend(bucket)
        return out

    def next_event_ms(self, stream: str, horizon_hours: int = 72) -> int | None:
        """When the first event after the cutoff happens: a restart after it serves it."""
        first_hour = self.cutoff_ms // HOUR_MS
        for hour in range(first_hour, first_hour + horizon_hours):
            if stream == "cms":
                bucket = cms.generate_bucket(self.config, hour, self.users)
            else:
                bucket = generate_bucket(self.config, stream, hour, len(self.users))
            bucket.extend(self.planner.events_for(stream, hour))
            later = [ev[0] for ev in bucket if ev[0] > self.cutoff_ms]
            if later:
                return min(later)
        return None

    def render(self, stream: str, ev: Event) -> dict[str, Any]:
        if stream == "cms":
            return cms.render(ev, self.users[ev[2]])
        return render(
            stream,
            ev,
            self.users,
            portal_id=self.config.portal_id,
            extra_fields=self.config.extra_fields,
        )

    def floor_ms(self, stream: str) -> int | None:
        return self.login_floor_ms if stream == "login" else None

    def add(self, stream: str, count: int, at_ms: int) -> list[Event]:
        """Insert `count` new events at `at_ms`, keeping the list sorted."""
        hour = at_ms // HOUR_MS
        added = []
        for _ in range(count):
            seq = self._added.get((stream, hour), 0)
            if seq >= ID_SPACE - ADDED_BASE:
                msg = "too many events added within one hour"
                raise ValueError(msg)
            self._added[(stream, hour)] = seq + 1
            eid = (
                str(hour * ID_SPACE + ADDED_BASE + seq)
                if stream != "audit-logs"
                else opaque_id(self._rng)
            )
            ev: Event = (
                at_ms,
                eid,
                pick_user(self._rng, len(self.users)),
                self._rng.getrandbits(128),
                None,
            )
            if stream == "cms":
                ev = self._distinct_cms(ev)
            bisect.insort(self.events[stream], ev, key=_SORT_KEY)
            added.append(ev)
        return added

    def remove(self, stream: str, ids: set[str]) -> int:
        """Delete the events with these ids (HubSpot losing or dropping them); how many."""
        kept = [ev for ev in self.events[stream] if ev[1] not in ids]
        removed = len(self.events[stream]) - len(kept)
        self.events[stream] = kept
        return removed

    def _distinct_cms(self, ev: Event) -> Event:
        # CMS records have no id: one equal to another served record would be a duplicate.
        evs = self.events["cms"]
        same_ms = evs[
            bisect.bisect_left(evs, ev[0], key=_MS) : bisect.bisect_right(evs, ev[0], key=_MS)
        ]
        taken = {cms.identity(other, self.users) for other in same_ms}
        while cms.identity(ev, self.users) in taken:
            ev = (ev[0], ev[1], ev[2], self._rng.getrandbits(128), None)
        return ev

    def _uidx(self, user_ids: frozenset[int] | None) -> set[int] | None:
        if user_ids is None:
            return None
        return {self.user_index[u] for u in user_ids if u in self.user_index}

    def _window(self, stream: str, query: PageQuery) -> tuple[int, int]:
        evs = self.events[stream]
        lo = query.lo_ms
        floor = self.floor_ms(stream)
        if floor is not None:
            lo = floor if lo is None else max(lo, floor)
        i0 = 0 if lo is None else bisect.bisect_left(evs, lo, key=_MS)
        i1 = len(evs) if query.hi_ms is None else bisect.bisect_right(evs, query.hi_ms, key=_MS)
        return i0, max(i0, i1)

    def page(
        self, stream: str, query: PageQuery, after: tuple[int, str] | None, limit: int
    ) -> tuple[list[Event], bool]:
        """Up to `limit` events strictly after `after` in query order, and whether more follow."""
        evs = self.events[stream]
        i0, i1 = self._window(stream, query)
        wanted = self._uidx(query.user_ids)
        out: list[Event] = []
        step, stop = (-1, i0 - 1) if query.descending else (1, i1)
        if not query.descending:
            i = i0 if after is None else max(i0, bisect.bisect_right(evs, after, key=_SORT_KEY))
        else:
            i = (
                i1 - 1
                if after is None
                else min(i1, bisect.bisect_left(evs, after, key=_SORT_KEY)) - 1
            )
        positions = range(i, stop, step)  # empty when the cursor lies past the window
        if wanted is None and not query.fields:
            return [evs[p] for p in positions[:limit]], len(positions) > limit
        for p in positions:
            ev = evs[p]
            if (wanted is None or ev[2] in wanted) and (
                not query.fields or query.keeps(self.render(stream, ev))
            ):
                if len(out) == limit:
                    return out, True
                out.append(evs[p])
        return out, False

    def select(
        self,
        stream: str,
        since_ms: int | None,
        until_ms: int | None,
        user_ids: frozenset[int] | None,
    ) -> list[Event]:
        """Ascending events in [since, until): the ground truth behind every endpoint."""
        hi = None if until_ms is None else until_ms - 1
        evs = self.events[stream]
        i0, i1 = self._window(stream, PageQuery(descending=False, lo_ms=since_ms, hi_ms=hi))
        wanted = self._uidx(user_ids)
        return [ev for ev in evs[i0:i1] if wanted is None or ev[2] in wanted]
