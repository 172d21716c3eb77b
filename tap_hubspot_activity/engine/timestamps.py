"""HubSpot's timestamps and the tap's fixed-width UTC form, strict about what is a time."""

from __future__ import annotations

import datetime as dt
import re

import pendulum

ONE_MS = dt.timedelta(milliseconds=1)
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
# Nothing HubSpot keeps predates this; nothing usable lies past the last 4-digit year.
OLDEST = EPOCH
NEWEST = dt.datetime(9999, 12, 31, tzinfo=dt.UTC)
# Epoch milliseconds since 1973 have 12 digits; 14 reach past the year 5000.
_EPOCH_MS = re.compile(r"^[0-9]{12,14}$")
_FAST = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$")
_ISO = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9:.,+\-Z]*)?$")


def format_timestamp(moment: dt.datetime) -> str:
    """An aware datetime in the tap's fixed-width UTC form (bookmarks compare as strings)."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def normalize_timestamp(value: object) -> str | None:
    """HubSpot's timestamp in the tap's form, or None when it is not a usable time.

    ISO 8601, or epoch milliseconds as digits (older CMS answers). Only ASCII digits
    count, the time must exist, and it must lie between 1970 and the year 9999 in UTC.
    """
    if not isinstance(value, str):
        return None
    try:
        if _FAST.match(value):
            moment = dt.datetime.fromisoformat(value)  # checks that the time exists
            return f"{value[:-1]}000Z" if OLDEST <= moment < NEWEST else None
        if _EPOCH_MS.match(value):
            moment = EPOCH + dt.timedelta(milliseconds=int(value))
        elif _ISO.match(value):
            moment = dt.datetime.fromisoformat(value)
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=dt.UTC)
            moment = moment.astimezone(dt.UTC)
        else:
            return None
    except (ValueError, OverflowError):
        return None
    return format_timestamp(moment) if OLDEST <= moment < NEWEST else None


def parse_datetime_setting(value: str) -> dt.datetime:
    """A date or date-time setting (ISO 8601) as an aware UTC datetime; ValueError if not."""
    try:
        parsed = pendulum.parse(value)
    except (pendulum.parsing.exceptions.ParserError, ValueError, TypeError) as exc:
        raise ValueError(str(exc)) from None
    if isinstance(parsed, pendulum.Date) and not isinstance(parsed, dt.datetime):
        return dt.datetime(parsed.year, parsed.month, parsed.day, tzinfo=dt.UTC)
    if not isinstance(parsed, dt.datetime):
        msg = f"{value!r} is not a date or date-time"
        raise ValueError(msg)  # noqa: TRY004 - a setting's value, not a type error
    return dt.datetime.fromtimestamp(parsed.timestamp(), tz=dt.UTC)


def iso_ms(moment: dt.datetime) -> str:
    """HubSpot's ISO form: UTC with milliseconds."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def epoch_ms(moment: dt.datetime) -> int:
    """Whole epoch milliseconds (integer arithmetic, no float rounding)."""
    return (moment - EPOCH) // ONE_MS


def whole_ms(start: dt.datetime, end: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) widened to whole milliseconds, HubSpot's precision.

    Window edges fall between milliseconds when a window is cut in pieces; sent as they
    are, the end would be truncated and an event in its last millisecond missed.
    """
    floor = start - dt.timedelta(microseconds=start.microsecond % 1000)
    ceiling = end + dt.timedelta(microseconds=-end.microsecond % 1000)
    return floor, ceiling
