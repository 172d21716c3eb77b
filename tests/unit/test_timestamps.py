"""Only real times become occurredAt; the rest are None: a skipped record, never a bookmark."""

from __future__ import annotations

import pytest

from tap_hubspot_activity.engine.timestamps import normalize_timestamp


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-23T17:04:59.000Z", "2026-11-23T17:04:59.000000Z"),
        ("2026-01-01T00:00:00+02:00", "2025-12-31T22:00:00.000000Z"),
        ("2026-01-01T00:00:00.123456Z", "2026-01-01T00:00:00.123456Z"),
        ("1700000000000", "2023-11-14T22:13:20.000000Z"),
    ],
)
def test_times_are_normalized_to_fixed_width_utc(value, expected):
    assert normalize_timestamp(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "2026-11-23T17:04:99.000Z",  # matches the fast path, is no time
        "0001-01-01T00:00:00+01:00",  # before year 1 in UTC
        "9999-12-31T23:59:59-01:00",  # after year 9999 in UTC
        "2026-11-23T17:04:5\u00b9.000Z",  # a superscript digit
        "\u0662\u0660\u0662\u0666-01-01",  # Arabic-Indic digits
        "12345678901234567890",  # a 20-digit epoch
        "1969-12-31T23:59:59Z",
        "",
        None,
        1700000000000,
    ],
)
def test_what_is_not_a_usable_time_is_none(value):
    assert normalize_timestamp(value) is None
