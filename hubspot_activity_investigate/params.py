"""The questions' parameters, parsed from text: times and ranges, ids, users, names, lists."""

from __future__ import annotations

import datetime as dt
import re
import typing as t
from dataclasses import dataclass

from hubspot_activity_investigate.errors import InvestigationError

SOURCES = ("login", "audit", "security", "cms")
CHANGE_TYPES = (
    "admin_granted",
    "user_added",
    "user_removed",
    "two_factor_removed",
    "sso_removed",
    "credential_created",
    "credential_viewed",
    "credential_rotated",
)
DETECTIONS = ("failed_login_burst", "new_country_login", "privileged_change")
# Without --since, an event question reads this far back; no question reads more than
# MAX_RANGE at once (a year of evidence, and a bound on what one question may scan).
DEFAULT_SINCE = dt.timedelta(days=30)
MAX_RANGE = dt.timedelta(days=366)
DEFAULT_LIMIT = 200
MAX_LIMIT = 5000
MAX_TEXT = 200
MAX_ITEMS = 20
_RELATIVE = re.compile(r"(\d{1,6})\s*(m|min|h|d|w)")
_UNITS = {"m": "minutes", "min": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_MONTHS = (
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
)  # fmt: skip
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
_TYPE = re.compile(r"[A-Za-z0-9_]{1,80}")
_ID_DIGITS = 18  # below 2**63: a PostgreSQL bigint

# What each parameter means: the CLI's help and the MCP tools' descriptions.
HELP = {
    "portal": "HubSpot portal (account) id; default: every portal in the warehouse",
    "user": "a HubSpot user id (e.g. 12345) or that user's e-mail address",
    "source": f"the stream: {', '.join(SOURCES)}",
    "since": "start of the range (inclusive): 7d, 24h, 30m, 2w ago, monday (this week's), "
    "today, yesterday, a date (2026-10-01, UTC) or an ISO time (2026-10-01T08:00:00Z); "
    "default: 30 days before until",
    "until": "end of the range (exclusive), in the same forms; default: now",
    "as_of": "the 'now' relative times count back from, as an ISO time; default: the clock",
    "action": "an action (auth.login_failed) or a dotted prefix of it (security, audit.user)",
    "types": "security activity types, comma-separated, e.g. CHANGE_PASSWORD,"
    "ADD_TWO_FACTOR_AUTHENTICATION; default: every type",
    "change_type": f"one kind of privileged change: {', '.join(CHANGE_TYPES)}",
    "detections": f"which detections, comma-separated: {', '.join(DETECTIONS)}; default: all",
    "month": "a month, 2026-10 or october (the latest one not in the future); "
    "default: the months the range (since, until) touches",
    "limit": f"at most this many rows (1 to {MAX_LIMIT}; default {DEFAULT_LIMIT})",
}


@dataclass(frozen=True)
class User:
    """A user named by id or by e-mail address."""

    user_id: int | None = None
    email: str | None = None

    def __str__(self) -> str:
        """The id, or the e-mail address."""
        return str(self.user_id) if self.user_id is not None else str(self.email)


@dataclass(frozen=True)
class Params:
    """A question's parameters, parsed and checked."""

    since: dt.datetime
    until: dt.datetime
    portal: int | None = None
    user: User | None = None
    source: str | None = None
    action: str | None = None
    types: tuple[str, ...] = ()
    change_type: str | None = None
    detections: tuple[str, ...] = DETECTIONS
    month: dt.date | None = None
    limit: int = DEFAULT_LIMIT


SHOWN = 40  # characters of a bad value an error line repeats


def _shown(text: str) -> str:
    return repr(text if len(text) <= SHOWN else text[:SHOWN] + "...")


def _bad(text: str, name: str, expected: str) -> InvestigationError:
    return InvestigationError(f"{name.replace('_', '-')}: {_shown(text)} is not {expected}")


def parse_time(text: str, now: dt.datetime, name: str = "since") -> dt.datetime:
    """7d, 24h, 30m, 2w (ago), now, today, yesterday, a weekday, a date or an ISO time."""
    word = text.strip().lower()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if relative := _RELATIVE.fullmatch(word):
        return now - dt.timedelta(**{_UNITS[relative[2]]: int(relative[1])})
    if word in {"now", "today", "yesterday"}:
        return {"now": now, "today": midnight, "yesterday": midnight - dt.timedelta(days=1)}[word]
    if word in _WEEKDAYS:
        back = (now.weekday() - _WEEKDAYS.index(word)) % 7
        return midnight - dt.timedelta(days=back)
    try:
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise _bad(text, name, "a time (7d, 24h, monday, 2026-10-01 or an ISO time)") from None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


def parse_range(
    since: str | None, until: str | None, now: dt.datetime
) -> tuple[dt.datetime, dt.datetime]:
    """[since, until): non-empty, at most MAX_RANGE; until defaults to now."""
    end = parse_time(until, now, "until") if until else now
    start = parse_time(since, now, "since") if since else end - DEFAULT_SINCE
    if start >= end:
        msg = (
            f"the range is empty: since {start:%Y-%m-%d %H:%M} is not before "
            f"until {end:%Y-%m-%d %H:%M} (UTC)"
        )
        raise InvestigationError(msg)
    if end - start > MAX_RANGE:
        msg = (
            f"the range spans {(end - start).days} days; a question reads at most {MAX_RANGE.days}"
        )
        raise InvestigationError(msg)
    return start, end


def parse_id(text: str | int, name: str) -> int:
    """A numeric HubSpot id (a portal, a user)."""
    digits = str(text).strip()
    if not (digits.isascii() and digits.isdigit() and len(digits) <= _ID_DIGITS):
        raise _bad(str(text), name, f"a numeric HubSpot {name} id")
    return int(digits)


def parse_user(text: str | int) -> User:
    """A user id or an e-mail address."""
    value = str(text).strip()
    if value.isascii() and value.isdigit():
        return User(user_id=parse_id(value, "user"))
    if len(value) <= MAX_TEXT and _EMAIL.fullmatch(value):
        return User(email=value.lower())
    raise _bad(value, "user", "a numeric HubSpot user id or an e-mail address")


def parse_choice(text: str, name: str, choices: tuple[str, ...]) -> str:
    """One of `choices`."""
    value = text.strip().lower()
    if value not in choices:
        raise _bad(text, name, f"one of {', '.join(choices)}")
    return value


def parse_list(text: str, name: str, choices: tuple[str, ...] | None = None) -> tuple[str, ...]:
    """Comma-separated names (security types: letters, digits, underscores)."""
    items = tuple(dict.fromkeys(item.strip() for item in text.split(",") if item.strip()))
    if not items or len(items) > MAX_ITEMS:
        raise _bad(text, name, f"a list of 1 to {MAX_ITEMS} names")
    if choices is not None:
        return tuple(parse_choice(item, name, choices) for item in items)
    for item in items:
        if not _TYPE.fullmatch(item):
            raise _bad(item, name, "a security activity type (letters, digits, _)")
    return tuple(item.lower() for item in items)


def parse_month(text: str, now: dt.datetime) -> dt.date:
    """2026-10, or a month's name: the latest such month not after `now`."""
    word = text.strip().lower()
    if word in _MONTHS:
        number = _MONTHS.index(word) + 1
        year = now.year if number <= now.month else now.year - 1
        return dt.date(year, number, 1)
    try:
        return dt.datetime.strptime(word, "%Y-%m").replace(tzinfo=dt.UTC).date()
    except ValueError:
        raise _bad(text, "month", "a month (2026-10 or october)") from None


def parse_limit(value: str | int) -> int:
    """A row cap, 1 to MAX_LIMIT."""
    text = str(value).strip()
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_LIMIT:
        raise _bad(text, "limit", f"a number of rows from 1 to {MAX_LIMIT}")
    return int(text)


def parse_text(value: str, name: str) -> str:
    """Free text compared as a value (an action): bounded in length, never SQL."""
    if not value.strip() or len(value) > MAX_TEXT or not value.isprintable():
        raise _bad(value, name, f"a printable text of 1 to {MAX_TEXT} characters")
    return value.strip().lower()


def parse(raw: t.Mapping[str, str | int | None], now: dt.datetime | None = None) -> Params:
    """Every given parameter, parsed; None and empty values are not given."""
    given = {key: value for key, value in raw.items() if value is not None and value != ""}
    as_of = given.pop("as_of", None)
    clock = parse_time(str(as_of), dt.datetime.now(dt.UTC), "as_of") if as_of else now
    clock = clock or dt.datetime.now(dt.UTC)
    since, until = parse_range(
        t.cast("str | None", given.pop("since", None)),
        t.cast("str | None", given.pop("until", None)),
        clock,
    )
    fields: dict[str, t.Any] = {"since": since, "until": until}
    parsers: dict[str, t.Callable[[t.Any], object]] = {
        "portal": lambda v: parse_id(v, "portal"),
        "user": parse_user,
        "source": lambda v: parse_choice(str(v), "source", SOURCES),
        "action": lambda v: parse_text(str(v), "action"),
        "types": lambda v: parse_list(str(v), "types"),
        "change_type": lambda v: parse_choice(str(v), "change_type", CHANGE_TYPES),
        "detections": lambda v: parse_list(str(v), "detections", DETECTIONS),
        "month": lambda v: parse_month(str(v), clock),
        "limit": parse_limit,
    }
    for key, value in given.items():
        if key not in parsers:
            msg = f"unknown parameter {key}"
            raise InvestigationError(msg)
        fields[key] = parsers[key](value)
    return Params(**fields)
