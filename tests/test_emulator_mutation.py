"""The HubSpot emulator's events that arrive while a client pages, checked over real HTTP."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.emulator_http import emulator_fixtures, get, page_all, when

emu, http, _restore_modes = emulator_fixtures()


def test_cursor_is_stable_when_events_arrive_mid_paging(emu, http) -> None:
    before = emu.truth("audit-logs")
    page = get(http, emu, "audit-logs", limit=50).json()
    cursor_at = when(page["results"][-1], "audit-logs")
    now = datetime.fromtimestamp(emu.now_ms() / 1000, UTC)
    behind = (now - cursor_at).total_seconds() / 60 + 90  # lands before the cursor
    hidden = emu.add_events("audit-logs", 3, late_minutes=behind)
    ahead = emu.add_events("audit-logs", 4) + emu.add_events("audit-logs", 2, late_minutes=30)
    rest = page_all(http, emu, "audit-logs", limit=50, after=page["paging"]["next"]["after"])
    ids = [r["id"] for r in page["results"] + rest]
    assert len(ids) == len(set(ids))
    assert set(ids) == {r["id"] for r in before + ahead}
    assert not {r["id"] for r in hidden} & set(ids)
    assert {r["id"] for r in hidden} <= {r["id"] for r in emu.truth("audit-logs")}


def test_descending_cursor_skips_newer_arrivals(emu, http) -> None:
    before = emu.truth("login")
    page = get(http, emu, "login", limit=100).json()
    added = emu.add_events("login", 3)
    assert all(when(r, "login") > when(before[-1], "login") for r in added)
    rest = page_all(http, emu, "login", limit=100, after=page["paging"]["next"]["after"])
    assert page["results"] + rest == before[::-1]
    assert page_all(http, emu, "login", limit=200)[:3] == sorted(
        added, key=lambda r: (r["loginAt"], r["id"]), reverse=True
    )


def test_arrivals_per_request(emu, http) -> None:
    count = len(emu.truth("security"))
    emu.configure(arrivals_per_request=4)
    assert get(http, emu, "security", limit=1).status_code == 200
    assert get(http, emu, "security", limit=1).status_code == 200
    assert len(emu.truth("security")) == count + 8
