"""The HubSpot emulator's filters and time bounds, checked over real HTTP."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from tests.emulator_http import USER_OF, emulator_fixtures, get, ms, page_all, when

emu, http, _restore_modes = emulator_fixtures()


def test_login_user_filter_and_ignored_time_params(emu, http) -> None:
    user = USER_OF["login"](emu.truth("login")[5])
    expected = emu.truth("login", user_ids=[user])
    got = page_all(http, emu, "login", userId=user, limit=4)
    assert got == expected[::-1]
    assert {r["userId"] for r in got} == {user}
    # /login has no time filter: HubSpot ignores unknown parameters.
    plain = get(http, emu, "login", limit=50).json()["results"]
    assert (
        get(http, emu, "login", limit=50, occurredAfter="2099-01-01T00:00:00Z").json()["results"]
        == plain
    )
    assert get(http, emu, "login", userId="abc").status_code == 400


def test_audit_acting_user_repeated_and_comma_joined(emu, http) -> None:
    truth = emu.truth("audit-logs")
    users = sorted({USER_OF["audit-logs"](r) for r in truth[:40]})[:2]
    expected = emu.truth("audit-logs", user_ids=users)
    assert 0 < len(expected) < len(truth)
    repeated = page_all(http, emu, "audit-logs", actingUserId=users, limit=50)
    joined = page_all(http, emu, "audit-logs", actingUserId=",".join(map(str, users)), limit=50)
    assert repeated == joined == expected
    assert get(http, emu, "audit-logs", actingUserId="x").status_code == 400


@pytest.mark.parametrize(
    "bounds", [("exclusive", "exclusive"), ("inclusive", "inclusive"), ("inclusive", "exclusive")]
)
def test_audit_iso_bounds_at_an_exact_event(emu, http, bounds: tuple[str, str]) -> None:
    emu.configure(after_bound=bounds[0], before_bound=bounds[1])
    truth = emu.truth("audit-logs")
    first, last = truth[len(truth) // 3], truth[len(truth) // 3 + 40]
    lo, hi = when(first, "audit-logs"), when(last, "audit-logs")
    expected = [
        r
        for r in truth
        if (lo <= when(r, "audit-logs") if bounds[0] == "inclusive" else lo < when(r, "audit-logs"))
        and (
            when(r, "audit-logs") <= hi if bounds[1] == "inclusive" else when(r, "audit-logs") < hi
        )
    ]
    got = page_all(
        http,
        emu,
        "audit-logs",
        occurredAfter=first["occurredAt"],
        occurredBefore=last["occurredAt"],
        limit=9,
    )
    assert got == expected
    assert (first["id"] in {r["id"] for r in got}) == (bounds[0] == "inclusive")
    assert (last["id"] in {r["id"] for r in got}) == (bounds[1] == "inclusive")
    offset = page_all(
        http,
        emu,
        "audit-logs",
        limit=200,
        occurredAfter=lo.isoformat(),
        occurredBefore=hi.isoformat(),
    )
    assert offset == expected


def test_audit_invalid_dates_are_rejected(emu, http) -> None:
    for bad in ("yesterday", "1738961929529", "2025-13-01T00:00:00Z"):
        resp = get(http, emu, "audit-logs", occurredAfter=bad)
        assert resp.status_code == 400, bad
        assert resp.json()["category"] == "VALIDATION_ERROR"


@pytest.mark.parametrize("bound", ["exclusive", "inclusive"])
def test_security_epoch_ms_bounds_and_user(emu, http, bound: str) -> None:
    emu.configure(after_bound=bound, before_bound=bound)
    truth = emu.truth("security")
    first, last = truth[100], truth[160]
    lo, hi = ms(when(first, "security")), ms(when(last, "security"))
    inside = (lambda t: lo <= t <= hi) if bound == "inclusive" else (lambda t: lo < t < hi)
    expected = [r for r in truth if inside(ms(when(r, "security")))]
    got = page_all(http, emu, "security", fromTimestamp=lo, toTimestamp=hi, limit=11)
    assert got == expected[::-1]
    assert (first["id"] in {r["id"] for r in got}) == (bound == "inclusive")
    user = first["userId"]
    mine = page_all(http, emu, "security", fromTimestamp=lo, userId=user, limit=3)
    assert mine
    assert {r["userId"] for r in mine} == {user}
    assert get(http, emu, "security", fromTimestamp="2025-01-01").status_code == 400
    assert get(http, emu, "security", toTimestamp="1.5").status_code == 400


def test_login_history_is_limited_to_90_days(emu) -> None:
    now = datetime.fromtimestamp(emu.now_ms() / 1000, UTC)
    logins = emu.truth("login")
    oldest_login = when(logins[0], "login")
    assert oldest_login >= now - timedelta(days=90)
    assert oldest_login < now - timedelta(days=89)
    assert when(emu.truth("audit-logs")[0], "audit-logs") < now - timedelta(days=95)
    assert when(emu.truth("security")[0], "security") < now - timedelta(days=95)


def test_bursts_share_a_millisecond_and_ties_follow_id_order(emu, http) -> None:
    truth = emu.truth("security")
    per_ms = Counter(r["createdAt"] for r in truth)
    burst_at = next(t for t, n in per_ms.items() if n >= 3)
    burst = [r["id"] for r in truth if r["createdAt"] == burst_at]
    assert burst == sorted(burst)
    served = page_all(http, emu, "security", limit=200)
    assert [r["id"] for r in served if r["createdAt"] == burst_at] == burst[::-1]
