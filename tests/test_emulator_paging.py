"""The HubSpot emulator's envelope, paging and limits, checked over real HTTP."""

from __future__ import annotations

import pytest

from tests.emulator_http import AUTH, STREAMS, USER_OF, UUID, emulator_fixtures, get, page_all

emu, http, _restore_modes = emulator_fixtures()


def test_envelope_has_cursor_and_link_and_last_page_has_no_paging(emu, http) -> None:
    body = get(http, emu, "login", limit=3).json()
    assert set(body) == {"results", "paging"}
    assert len(body["results"]) == 3
    nxt = body["paging"]["next"]
    assert set(nxt) == {"after", "link"}
    assert nxt["link"].startswith(f"{emu.url}/account-info/v3/activity/login?")
    followed = http.get(nxt["link"], headers=AUTH, timeout=10).json()
    by_cursor = get(http, emu, "login", limit=3, after=nxt["after"]).json()
    assert followed["results"] == by_cursor["results"]
    assert {r["id"] for r in followed["results"]}.isdisjoint(r["id"] for r in body["results"])

    user = USER_OF["login"](emu.truth("login")[0])
    mine = emu.truth("login", user_ids=[user])
    last = get(http, emu, "login", userId=user, limit=len(mine)).json()
    assert "paging" not in last
    assert len(last["results"]) == len(mine)


@pytest.mark.parametrize("order", ["asc", "desc"])
@pytest.mark.parametrize("stream", STREAMS)
def test_paging_through_everything_equals_truth(emu, http, stream: str, order: str) -> None:
    emu.configure(sort={stream: order})
    expected = emu.truth(stream)
    assert len(expected) > 300
    got = page_all(http, emu, stream, limit=97)
    assert got == (expected if order == "asc" else expected[::-1])


def test_audit_sort_param_overrides_the_default_order(emu, http) -> None:
    expected = emu.truth("audit-logs")
    assert page_all(http, emu, "audit-logs", limit=150, sort="-occurredAt") == expected[::-1]
    emu.configure(sort={"audit-logs": "desc"})
    assert page_all(http, emu, "audit-logs", limit=150, sort="occurredAt") == expected
    assert get(http, emu, "audit-logs", sort="bogus").status_code == 400


def test_default_limit_and_cap(emu, http) -> None:
    assert len(get(http, emu, "security").json()["results"]) == 20
    assert len(get(http, emu, "security", limit=500).json()["results"]) == 200
    emu.configure(default_limit=7, reject_over_limit=True)
    assert len(get(http, emu, "security").json()["results"]) == 7
    refused = get(http, emu, "security", limit=201)
    assert refused.status_code == 400
    assert refused.json()["category"] == "VALIDATION_ERROR"
    assert len(get(http, emu, "security", limit=200).json()["results"]) == 200


@pytest.mark.parametrize("bad", ["0", "-3", "abc", "1.5", ""])
def test_invalid_limit_is_a_validation_error(emu, http, bad: str) -> None:
    resp = get(http, emu, "login", limit=bad)
    assert resp.status_code == 400
    body = resp.json()
    assert body["status"] == "error"
    assert body["category"] == "VALIDATION_ERROR"
    assert UUID.match(body["correlationId"])
    assert "limit" in body["message"]


def test_malformed_or_foreign_cursor_is_rejected(emu, http) -> None:
    for bad in ("not-a-cursor", "eyJrIjoxfQ", "%%%"):
        resp = get(http, emu, "login", after=bad)
        assert resp.status_code == 400
        assert resp.json()["category"] == "VALIDATION_ERROR"
    cursor = get(http, emu, "login", limit=2).json()["paging"]["next"]["after"]
    user = USER_OF["login"](emu.truth("login")[-1])
    assert get(http, emu, "login", after=cursor, userId=user).status_code == 400
