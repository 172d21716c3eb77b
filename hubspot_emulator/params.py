"""Query parameters of the data endpoints: filters, bounds, limits and cursors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from .cms import EVENT_TYPES, OBJECT_TYPES
from .store import CursorError, PageQuery, cursor_lo, decode_cursor

if TYPE_CHECKING:
    from .config import EmulatorConfig

_INT32_MAX = 2**31 - 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class ParamError(ValueError):
    """A query parameter HubSpot would reject with VALIDATION_ERROR."""

    def __init__(self, message: str, param: str) -> None:
        super().__init__(message)
        self.param = param


def _first(params: dict[str, list[str]], name: str) -> str | None:
    values = params.get(name)
    return values[0] if values else None


def _int(raw: str, name: str, low: int = 0, high: int = 2**63 - 1) -> int:
    try:
        value = int(raw.strip())
    except ValueError:
        msg = f"{name} must be an integer, got {raw!r}"
        raise ParamError(msg, name) from None
    if not low <= value <= high:
        msg = f"{name} must be between {low} and {high}"
        raise ParamError(msg, name)
    return value


def _user(params: dict[str, list[str]], name: str) -> frozenset[int] | None:
    raw = _first(params, name)
    return None if raw is None else frozenset({_int(raw, name, 0, _INT32_MAX)})


def parse_limit(params: dict[str, list[str]], cfg: EmulatorConfig) -> int:
    """`limit`, defaulted, and capped at max_limit like HubSpot (or refused if configured)."""
    raw = _first(params, "limit")
    if raw is None:
        return cfg.default_limit
    value = _int(raw, "limit", 1, _INT32_MAX)
    if value > cfg.max_limit:
        if cfg.reject_over_limit:
            msg = f"limit must be at most {cfg.max_limit}"
            raise ParamError(msg, "limit")
        return cfg.max_limit
    return value


def parse_iso_us(raw: str, name: str) -> int:
    """ISO 8601 date-time to epoch microseconds; a missing offset means UTC."""
    try:
        moment = datetime.fromisoformat(raw.strip())
    except ValueError:
        msg = f"{name} must be an ISO 8601 date-time, got {raw!r}"
        raise ParamError(msg, name) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // timedelta(microseconds=1)


def resolve_bounds(
    after_us: int | None, before_us: int | None, cfg: EmulatorConfig
) -> tuple[int | None, int | None]:
    """Microsecond bounds to the inclusive ms range they select under the bound modes."""
    lo = hi = None
    if after_us is not None:
        lo = -(-after_us // 1000) if cfg.after_bound == "inclusive" else after_us // 1000 + 1
    if before_us is not None:
        hi = before_us // 1000 if cfg.before_bound == "inclusive" else -(-before_us // 1000) - 1
    return lo, hi


def parse_filters(stream: str, params: dict[str, list[str]], cfg: EmulatorConfig) -> PageQuery:
    """Each endpoint's own filters; unknown parameters are ignored, as HubSpot does."""
    descending = cfg.sort[stream] == "desc"
    if stream == "login":
        return PageQuery(descending, _user(params, "userId"))
    if stream == "security":
        after = _first(params, "fromTimestamp")
        before = _first(params, "toTimestamp")
        lo, hi = resolve_bounds(
            None if after is None else _int(after, "fromTimestamp") * 1000,
            None if before is None else _int(before, "toTimestamp") * 1000,
            cfg,
        )
        return PageQuery(descending, _user(params, "userId"), lo, hi)
    acting: set[int] = set()
    for raw in params.get("actingUserId", []):
        acting.update(_int(part, "actingUserId", 0, _INT32_MAX) for part in raw.split(","))
    for raw in params.get("sort", [])[:1]:
        if raw.strip() in ("occurredAt", "+occurredAt"):
            descending = False
        elif raw.strip() == "-occurredAt":
            descending = True
        else:
            msg = f"sort must be occurredAt or -occurredAt, got {raw!r}"
            raise ParamError(msg, "sort")
    after = _first(params, "occurredAfter")
    before = _first(params, "occurredBefore")
    lo, hi = resolve_bounds(
        None if after is None else parse_iso_us(after, "occurredAfter"),
        None if before is None else parse_iso_us(before, "occurredBefore"),
        cfg,
    )
    return PageQuery(descending, frozenset(acting) if "actingUserId" in params else None, lo, hi)


def parse_page(
    stream: str, params: dict[str, list[str]], cfg: EmulatorConfig
) -> tuple[PageQuery, tuple[int, str] | None]:
    """The resolved filters and the sort key to resume after (None on a first page)."""
    if stream == "cms":
        return parse_cms(params, cfg)
    query = parse_filters(stream, params, cfg)
    token = _first(params, "after")
    return query, (decode_cursor(token, query) if token else None)


# -- the CMS content audit log ---------------------------------------------------------

_CMS_SORT = {"timestamp": False, "+timestamp": False, "-timestamp": True}
# (record field, query parameter, accepted values or None for any string)
_CMS_LISTS: tuple[tuple[str, str, tuple[str, ...] | None], ...] = (
    ("event", "eventType", EVENT_TYPES),
    ("objectId", "objectId", None),
    ("objectType", "objectType", OBJECT_TYPES),
    ("userId", "userId", None),
)


def _values(
    params: dict[str, list[str]], name: str, allowed: tuple[str, ...] | None
) -> tuple[str, ...] | None:
    """A list filter, repeated (`userId=1&userId=2`) or comma-joined (`userId=1,2`)."""
    values = {part.strip() for raw in params.get(name, []) for part in raw.split(",")}
    values.discard("")
    if not values:
        return None
    unknown = sorted(values - set(allowed or values))
    if unknown:
        msg = f"{name} has unknown values {unknown}; expected some of {list(allowed or ())}"
        raise ParamError(msg, name)
    return tuple(sorted(values))


def _is_iso(raw: str) -> bool:
    try:
        datetime.fromisoformat(raw.strip())
    except ValueError:
        return False
    return True


def parse_cms(
    params: dict[str, list[str]], cfg: EmulatorConfig
) -> tuple[PageQuery, tuple[int, str] | None]:
    """CMS filters. `after` is an ISO time filter if it parses as one, else our cursor."""
    descending = cfg.sort["cms"] == "desc"
    for raw in params.get("sort", [])[:1]:
        if raw.strip() not in _CMS_SORT:
            msg = f"sort must be timestamp or -timestamp, got {raw!r}"
            raise ParamError(msg, "sort")
        descending = _CMS_SORT[raw.strip()]
    fields = []
    for field, name, allowed in _CMS_LISTS:
        values = _values(params, name, allowed)
        if values is not None:
            fields.append((field, values))
    token = _first(params, "after") or None
    after_us = before_us = None
    if token is not None and _is_iso(token):
        after_us, token = parse_iso_us(token, "after"), None
    # Otherwise `after` must be a cursor from paging.next.after: checked below.
    before = _first(params, "before")
    if before:
        # Only the time filter: this emulator serves no `paging.prev` cursors.
        before_us = parse_iso_us(before, "before")
    lo, hi = resolve_bounds(after_us, before_us, cfg)
    if token is not None:
        try:
            # The time filter of the first page travels inside the cursor that replaced it.
            lo = cursor_lo(token)
        except CursorError:
            msg = f"after must be an ISO 8601 date-time or a paging cursor, got {token!r}"
            raise ParamError(msg, "after") from None
    query = PageQuery(descending, None, lo, hi, tuple(fields))
    return query, (None if token is None else decode_cursor(token, query))
