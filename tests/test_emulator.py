"""The HubSpot emulator keeps every promise its modes make, checked over real HTTP."""

from __future__ import annotations

import concurrent.futures
import dataclasses
import json
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests

from hubspot_emulator import EmulatorConfig, HubSpotEmulator
from hubspot_emulator.__main__ import build_parser, config_from_args
from hubspot_emulator.catalog import SECURITY_TYPES
from hubspot_emulator.cms import EVENT_TYPES, OBJECT_TYPES
from hubspot_emulator.config import DATA_FIELDS

if TYPE_CHECKING:
    from collections.abc import Iterator

AUTH = {"Authorization": "Bearer test-token"}
TIME_FIELD = {
    "login": "loginAt",
    "audit-logs": "occurredAt",
    "security": "createdAt",
    "cms": "timestamp",
}
USER_OF = {
    "login": lambda r: r["userId"],
    "audit-logs": lambda r: r["actingUser"]["userId"],
    "security": lambda r: r["userId"],
}
STREAMS = ("login", "audit-logs", "security")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
# Small but over 90 days of history, and no rate limit unless a test asks for one.
# 80 users leave enough home-only users that no planted "new country" user repeats.
BASE = EmulatorConfig(
    seed=7,
    users=80,
    logins_per_day=20,
    audits_per_day=30,
    security_per_day=10,
    history_days=100,
    ten_second_max=100_000,
)
BASE_MODES = {
    f.name: getattr(BASE, f.name) for f in dataclasses.fields(BASE) if f.name not in DATA_FIELDS
}
TINY: dict[str, Any] = {
    "users": 10,
    "logins_per_day": 5,
    "audits_per_day": 5,
    "security_per_day": 5,
    "history_days": 5,
}


@pytest.fixture(scope="module")
def emu() -> Iterator[HubSpotEmulator]:
    with HubSpotEmulator(BASE) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


@pytest.fixture(autouse=True)
def _restore_modes(emu: HubSpotEmulator) -> Iterator[None]:
    yield
    emu.clear_faults()
    emu.configure(**BASE_MODES)


def get(
    http: requests.Session,
    emu: HubSpotEmulator,
    stream: str,
    headers: dict[str, str] | None = None,
    version: str = "v3",
    **params: Any,
) -> requests.Response:
    return http.get(
        f"{emu.url}/account-info/{version}/activity/{stream}",
        params=params,
        headers=AUTH if headers is None else headers,
        timeout=10,
    )


def page_all(
    http: requests.Session, emu: HubSpotEmulator, stream: str, **params: Any
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    while True:
        resp = get(http, emu, stream, **params)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        out.extend(body["results"])
        if "paging" not in body:
            return out
        params = {**params, "after": body["paging"]["next"]["after"]}


CMS_PATH = "/cms/v3/audit-logs/"
CMS_FIELDS = {
    "event",
    "fullName",
    "meta",
    "objectId",
    "objectName",
    "objectType",
    "timestamp",
    "userId",
}


def cms_get(
    http: requests.Session,
    emu: HubSpotEmulator,
    path: str = CMS_PATH,
    headers: dict[str, str] | None = None,
    **params: Any,
) -> requests.Response:
    return http.get(
        f"{emu.url}{path}", params=params, headers=AUTH if headers is None else headers, timeout=10
    )


def cms_all(http: requests.Session, emu: HubSpotEmulator, **params: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    while True:
        resp = cms_get(http, emu, **params)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        out.extend(body["results"])
        if "paging" not in body:
            return out
        params = {**params, "after": body["paging"]["next"]["after"]}


def when(rec: dict[str, Any], stream: str) -> datetime:
    return datetime.fromisoformat(rec[TIME_FIELD[stream]])


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def oauth_token(
    http: requests.Session, emu: HubSpotEmulator, version: str = "v1", **overrides: str
) -> requests.Response:
    form = {
        "grant_type": "refresh_token",
        "client_id": "emu-client-id",
        "client_secret": "emu-client-secret",
        "refresh_token": "emu-refresh-token",
        **overrides,
    }
    return http.post(f"{emu.url}/oauth/{version}/token", data=form, timeout=10)


# -- envelope, paging, limits ---------------------------------------------------------


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


# -- filters and bounds ---------------------------------------------------------------


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


# -- data shape -----------------------------------------------------------------------


def test_records_look_like_hubspot(emu) -> None:
    logins, audits, security = (emu.truth(s) for s in STREAMS)
    assert all(re.fullmatch(r"\d{12}", r["id"]) for r in logins + security)
    assert all(re.fullmatch(r"[A-Za-z0-9]{27}", r["id"]) for r in audits)
    assert len({r["id"] for r in logins}) == len(logins)
    assert all(
        re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", r["loginAt"]) for r in logins
    )
    found = emu.incidents()
    planted = {i for s in [found, *found["earlier"]] for i in s["brute_force"]["event_ids"]}
    organic = [r for r in logins if r["id"] not in planted]
    failed = sum(not r["loginSucceeded"] for r in organic) / len(organic)
    assert 0.04 < failed < 0.14
    assert any("location" not in r for r in logins)
    assert any("location" in r and r["location"] is None for r in logins)
    assert any(r.get("userAgent") in ("", "curl/8.5.0") for r in logins)
    assert all(r["countryCode"] == r["countryCode"].lower() for r in logins)
    places = {r.get("location") for r in logins + security}
    assert any(p and not p.isascii() for p in places)
    assert {r["category"] for r in audits} >= {"PIPELINE", "PROPERTY_VALUE", "CRM_OBJECT"}
    assert any(r.get("targetObjectId") == "Sales Pipeline" for r in audits)
    assert any("subCategory" not in r for r in audits)
    assert all(isinstance(r["actingUser"]["userId"], int) for r in audits)
    assert len(SECURITY_TYPES) == len(set(SECURITY_TYPES)) == 151
    assert {r["type"] for r in security} <= set(SECURITY_TYPES)
    assert all(isinstance(r.get("actingUser", ""), (str, type(None))) for r in security)
    urls = [r["infoUrl"] for r in security if r.get("infoUrl")]
    assert urls
    assert all(u.startswith("app.hubspot.com/") for u in urls)


def test_extra_fields_mode(emu, http) -> None:
    assert not any("riskScore" in r or "newNested" in r for r in emu.truth("security"))
    emu.configure(extra_fields=True)
    served = page_all(http, emu, "security", limit=200)
    assert any("riskScore" in r for r in served)
    assert any(r.get("newNested") == {"a": 1, "tags": ["beta"]} for r in served)
    assert served == emu.truth("security")[::-1]


def test_details_and_date_versions(emu, http) -> None:
    details = http.get(f"{emu.url}/account-info/v3/details", headers=AUTH, timeout=10)
    assert details.status_code == 200
    assert details.json() == {
        "portalId": 62515,
        "accountType": "STANDARD",
        "timeZone": "US/Eastern",
        "companyCurrency": "USD",
        "additionalCurrencies": [],
        "utcOffset": "-05:00",
        "utcOffsetMilliseconds": -18000000,
        "uiDomain": "app.hubspot.com",
        "dataHostingLocation": "na1",
    }
    v3 = get(http, emu, "audit-logs", limit=5).json()["results"]
    for version in ("2025-09", "2026-03", "2026-09"):
        assert get(http, emu, "audit-logs", version=version, limit=5).json()["results"] == v3
    missing = get(http, emu, "audit-logs", version="v4")
    assert missing.status_code == 404
    assert missing.json()["status"] == "error"
    assert UUID.match(missing.json()["correlationId"])


# -- determinism ------------------------------------------------------------------------


def test_same_seed_same_data_and_a_later_restart_only_adds() -> None:
    anchor = datetime(2026, 3, 10, 15, 30, tzinfo=UTC)
    small: dict[str, Any] = {**TINY, "history_days": 30}
    first = HubSpotEmulator(EmulatorConfig(seed=21, now=anchor, **small))
    again = HubSpotEmulator(EmulatorConfig(seed=21, now=anchor, **small))
    later = HubSpotEmulator(EmulatorConfig(seed=21, now=anchor + timedelta(days=2), **small))
    other = HubSpotEmulator(EmulatorConfig(seed=22, now=anchor, **small))
    for stream in (*STREAMS, "cms"):
        assert first.truth(stream) == again.truth(stream)
        window: dict[str, Any] = {"since": anchor - timedelta(days=20), "until": anchor}
        assert first.truth(stream, **window) == later.truth(stream, **window)
        assert first.truth(stream, **window) != other.truth(stream, **window)
    assert first.incidents() == again.incidents()
    assert later.truth("audit-logs", since=anchor)
    assert not first.truth("audit-logs", since=anchor - timedelta(seconds=1))


def test_two_started_instances_serve_identical_pages(http) -> None:
    cfg = EmulatorConfig(seed=3, now=datetime(2026, 1, 5, tzinfo=UTC), **TINY)
    with HubSpotEmulator(cfg) as one, HubSpotEmulator(cfg) as two:
        for stream in STREAMS:
            assert page_all(http, one, stream, limit=13) == page_all(http, two, stream, limit=13)
        assert cms_all(http, one, limit=13) == cms_all(http, two, limit=13)


# -- mutation while paging --------------------------------------------------------------


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


# -- auth -------------------------------------------------------------------------------


def test_missing_or_empty_token_is_401(emu, http) -> None:
    for headers in ({}, {"Authorization": "Bearer "}, {"Authorization": "Basic abc"}):
        resp = get(http, emu, "security", headers=headers)
        assert resp.status_code == 401
        body = resp.json()
        assert body["category"] == "INVALID_AUTHENTICATION"
        assert body["message"].startswith("Authentication credentials not found.")
        assert UUID.match(body["correlationId"])


def test_static_token_mode(emu, http) -> None:
    emu.configure(access_token="pat-na1-right")
    assert get(http, emu, "login").status_code == 401
    ok = get(http, emu, "login", headers={"Authorization": "Bearer pat-na1-right"})
    assert ok.status_code == 200
    assert ok.headers["X-HubSpot-RateLimit-Daily"] == "1000000"


def test_oauth_refresh_and_token_use(emu, http) -> None:
    emu.configure(access_token="pat-na1-only", require_oauth=True)
    resp = oauth_token(http, emu)
    assert resp.status_code == 200
    grant = resp.json()
    assert grant["token_type"] == "bearer"
    assert grant["refresh_token"] == "emu-refresh-token"
    assert grant["expires_in"] == 1800
    assert grant["access_token"] != oauth_token(http, emu).json()["access_token"]
    used = get(http, emu, "login", headers={"Authorization": f"Bearer {grant['access_token']}"})
    assert used.status_code == 200
    # OAuth calls have no daily limit, so no daily headers.
    assert "X-HubSpot-RateLimit-Max" in used.headers
    assert "X-HubSpot-RateLimit-Daily" not in used.headers
    static = get(http, emu, "login", headers={"Authorization": "Bearer pat-na1-only"})
    assert static.status_code == 401


def test_the_date_versioned_token_endpoint_answers_in_camel_case(emu, http) -> None:
    emu.configure(require_oauth=True)
    grant = oauth_token(http, emu, "2026-03").json()
    assert set(grant) == {"tokenType", "refreshToken", "accessToken", "expiresIn"}
    assert grant["expiresIn"] == 1800
    used = get(http, emu, "login", headers={"Authorization": f"Bearer {grant['accessToken']}"})
    assert used.status_code == 200
    emu.configure(token_case="snake")
    assert "access_token" in oauth_token(http, emu, "2026-03").json()
    emu.configure(token_case="camel")
    assert "accessToken" in oauth_token(http, emu, "v1").json()
    assert oauth_token(http, emu, "2026-09").status_code == 404
    refused = oauth_token(http, emu, "2026-03", refresh_token="nope")
    assert refused.json()["status"] == "BAD_REFRESH_TOKEN"


def test_bad_oauth_credentials(emu, http) -> None:
    bad_refresh = oauth_token(http, emu, refresh_token="nope")
    assert bad_refresh.status_code == 400
    assert bad_refresh.json()["status"] == "BAD_REFRESH_TOKEN"
    assert bad_refresh.json()["message"] == "missing or invalid refresh token"
    assert UUID.match(bad_refresh.json()["correlationId"])
    bad_client = oauth_token(http, emu, client_secret="nope")
    assert bad_client.status_code == 400
    assert bad_client.json()["status"] == "BAD_CLIENT_ID"


def test_expired_oauth_token(emu, http) -> None:
    emu.configure(token_lifetime_s=0)
    token = oauth_token(http, emu).json()["access_token"]
    resp = get(http, emu, "login", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 401
    assert resp.json()["category"] == "EXPIRED_AUTHENTICATION"
    assert re.fullmatch(
        r"The OAuth token used to make this call expired \d+ second\(s\) ago\.",
        resp.json()["message"],
    )


def test_missing_scopes_mode(emu, http) -> None:
    emu.configure(missing_scopes=True)
    for stream in STREAMS:
        resp = get(http, emu, stream)
        assert resp.status_code == 403
        body = resp.json()
        assert body["category"] == "MISSING_SCOPES"
        assert body["errors"][0]["context"]["requiredGranularScopes"] == [
            "account-info.security.read"
        ]
    assert (
        http.get(f"{emu.url}/account-info/v3/details", headers=AUTH, timeout=10).status_code == 200
    )


def test_non_enterprise_forbids_only_audit_logs(emu, http) -> None:
    emu.configure(enterprise=False)
    resp = get(http, emu, "audit-logs")
    assert resp.status_code == 403
    assert resp.json()["category"] == "FORBIDDEN"
    assert "Enterprise" in resp.json()["message"]
    assert get(http, emu, "login").status_code == 200
    assert get(http, emu, "security").status_code == 200


# -- faults -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "status", "category"),
    [
        ("500", 500, "INTERNAL_ERROR"),
        ("502", 502, "BAD_GATEWAY"),
        ("503", 503, "SERVICE_UNAVAILABLE"),
        ("504", 504, "GATEWAY_TIMEOUT"),
        ("423", 423, "LOCKED"),
        ("477", 477, "MIGRATION_IN_PROGRESS"),
        ("401-expired", 401, "EXPIRED_AUTHENTICATION"),
    ],
)
def test_status_faults(emu, http, kind: str, status: int, category: str) -> None:
    emu.inject_fault(kind, count=2, path="/activity/security")
    assert get(http, emu, "login").status_code == 200
    for _ in range(2):
        resp = get(http, emu, "security")
        assert resp.status_code == status
        assert resp.json()["category"] == category
        assert UUID.match(resp.json()["correlationId"])
    if kind == "477":
        assert resp.headers["Retry-After"] == "1"
    assert get(http, emu, "security").status_code == 200


@pytest.mark.parametrize(
    ("kind", "policy"), [("429", "TEN_SECONDLY_ROLLING"), ("429-daily", "DAILY")]
)
def test_rate_limit_faults(emu, http, kind: str, policy: str) -> None:
    emu.inject_fault(kind)
    resp = get(http, emu, "audit-logs")
    assert resp.status_code == 429
    assert resp.json()["errorType"] == "RATE_LIMIT"
    assert resp.json()["policyName"] == policy
    assert get(http, emu, "audit-logs").status_code == 200


def test_html_gateway_fault(emu, http) -> None:
    emu.inject_fault("html")
    resp = get(http, emu, "login")
    assert resp.status_code == 502
    assert resp.headers["Content-Type"].startswith("text/html")
    assert "<h1>502 Bad Gateway</h1>" in resp.text


def test_reset_fault_drops_the_connection(emu, http) -> None:
    emu.inject_fault("reset", path="/activity/login")
    with pytest.raises(requests.ConnectionError):
        get(http, emu, "login")
    assert get(http, emu, "login").status_code == 200
    assert emu.stats()["requests"]["/account-info/v3/activity/login reset"] >= 1


def test_truncated_fault(emu, http) -> None:
    emu.inject_fault("truncated")
    resp = get(http, emu, "security", limit=10)
    assert resp.status_code == 200
    assert int(resp.headers["Content-Length"]) == len(resp.content)
    with pytest.raises(requests.JSONDecodeError):
        resp.json()
    assert len(get(http, emu, "security", limit=10).json()["results"]) == 10


def test_slow_fault_and_latency(emu, http) -> None:
    emu.configure(slow_seconds=0.3)
    emu.inject_fault("slow")
    start = time.monotonic()
    assert get(http, emu, "login", limit=1).status_code == 200
    assert time.monotonic() - start >= 0.3
    emu.configure(latency_ms=150)
    start = time.monotonic()
    assert get(http, emu, "login", limit=1).status_code == 200
    assert time.monotonic() - start >= 0.15


def test_random_faults(emu, http) -> None:
    emu.configure(fault_rate=1.0, fault_kinds=("503",))
    assert [get(http, emu, s).status_code for s in STREAMS] == [503, 503, 503]
    assert (
        http.get(f"{emu.url}/account-info/v3/details", headers=AUTH, timeout=10).status_code == 200
    )
    emu.configure(fault_rate=0.0)
    assert get(http, emu, "login").status_code == 200


# -- rate limits and stats ----------------------------------------------------------------


def test_ten_second_rate_limit(http) -> None:
    with HubSpotEmulator(EmulatorConfig(ten_second_max=5, **TINY)) as emu:
        remaining = []
        for _ in range(5):
            resp = get(http, emu, "login")
            assert resp.status_code == 200
            assert resp.headers["X-HubSpot-RateLimit-Max"] == "5"
            assert resp.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
            remaining.append(resp.headers["X-HubSpot-RateLimit-Remaining"])
        assert remaining == ["4", "3", "2", "1", "0"]
        limited = get(http, emu, "security")
        assert limited.status_code == 429
        assert limited.headers["X-HubSpot-RateLimit-Remaining"] == "0"
        body = limited.json()
        assert body["policyName"] == "TEN_SECONDLY_ROLLING"
        assert body["errorType"] == "RATE_LIMIT"
        assert body["message"] == "You have reached your ten_secondly_rolling limit."
        stats = emu.stats()
        assert stats["rate_limited"] == 1
        assert stats["requests"]["/account-info/v3/activity/security 429"] == 1
        emu.configure(rate_limit_headers=False)
        assert not any(h.startswith("X-HubSpot") for h in get(http, emu, "login").headers)


def test_daily_limit_spares_oauth(http) -> None:
    with HubSpotEmulator(EmulatorConfig(daily_max=3, **TINY)) as emu:
        daily = [
            get(http, emu, "login").headers["X-HubSpot-RateLimit-Daily-Remaining"] for _ in range(3)
        ]
        assert daily == ["2", "1", "0"]
        limited = get(http, emu, "login")
        assert limited.status_code == 429
        assert limited.json()["policyName"] == "DAILY"
        token = oauth_token(http, emu).json()["access_token"]
        assert (
            get(http, emu, "login", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        )


def test_stats_count_requests_rate_and_concurrency(http) -> None:
    with HubSpotEmulator(EmulatorConfig(**TINY)) as emu:
        for _ in range(3):
            get(http, emu, "login")
        get(http, emu, "login", headers={})
        emu.configure(latency_ms=250)

        def one(_: int) -> int:
            return requests.get(
                f"{emu.url}/account-info/v3/activity/security", headers=AUTH, timeout=10
            ).status_code

        start = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            assert list(pool.map(one, range(4))) == [200] * 4
        assert time.monotonic() - start < 0.9  # overlapped, not 4 x 250 ms
        stats = http.get(f"{emu.url}/_emulator/stats", timeout=10).json()
        assert stats == {
            "total_requests": 8,
            "peak_requests_per_10s": 8,
            "peak_concurrency": 4,
            "peak_paths_in_flight": 1,
            "rate_limited": 0,
            "requests": {
                "/account-info/v3/activity/login 200": 3,
                "/account-info/v3/activity/login 401": 1,
                "/account-info/v3/activity/security 200": 4,
            },
        }
        assert http.post(f"{emu.url}/_emulator/reset-stats", timeout=10).ok
        assert emu.stats()["total_requests"] == 0
        assert emu.stats()["requests"] == {}


# -- incidents -------------------------------------------------------------------------------


def test_planted_incidents_are_in_the_served_data(emu, http) -> None:
    found = emu.incidents()
    assert http.get(f"{emu.url}/_emulator/incidents", timeout=10).json() == found
    week_ago = emu.now_ms() - 7 * 86_400_000
    logins = {r["id"]: r for r in emu.truth("login")}

    brute = found["brute_force"]
    attempts = [logins[i] for i in brute["event_ids"]]
    assert len(attempts) == 12
    assert {(r["userId"], r["ipAddress"], r["loginSucceeded"]) for r in attempts} == {
        (brute["user_id"], brute["ip_address"], False)
    }
    times = sorted(ms(when(r, "login")) for r in attempts)
    assert times[-1] - times[0] < 4 * 60_000
    assert times[0] > week_ago

    new = found["new_country"]
    abroad = logins[new["event_id"]]
    assert abroad["loginSucceeded"] is True
    assert abroad["countryCode"] == new["country_code"] == "br"
    earlier = [
        r
        for r in emu.truth("login", user_ids=[new["user_id"]])
        if when(r, "login") < when(abroad, "login")
    ]
    assert len(earlier) >= 2
    assert {r["countryCode"] for r in earlier} == {"us"} == set(new["previous_country_codes"])
    assert ms(when(abroad, "login")) > week_ago

    removal = found["admin_2fa_removal"]
    event = next(r for r in emu.truth("security") if r["id"] == removal["event_id"])
    assert event["type"] == "REMOVE_TWO_FACTOR_AUTHENTICATION"
    assert event["userId"] == removal["admin_user_id"] != removal["target_user_id"]
    assert event["objectId"] == str(removal["target_user_id"])
    assert ms(when(event, "security")) > week_ago
    assert found["earlier"]


# -- CMS content audit log ---------------------------------------------------------------


def test_cms_envelope_paths_and_record_shape(emu, http) -> None:
    body = cms_get(http, emu, limit=3).json()
    assert set(body) == {"results", "paging"}
    assert len(body["results"]) == 3
    nxt = body["paging"]["next"]
    assert set(nxt) == {"after", "link"}
    assert nxt["link"].startswith(f"{emu.url}{CMS_PATH}?")
    followed = http.get(nxt["link"], headers=AUTH, timeout=10).json()
    assert followed["results"] == cms_get(http, emu, limit=3, after=nxt["after"]).json()["results"]
    for path in ("/cms/v3/audit-logs", "/cms/audit-logs/v3", "/cms/audit-logs/2026-03"):
        assert cms_get(http, emu, path, limit=3).json()["results"] == body["results"], path
    assert cms_get(http, emu, "/cms/v4/audit-logs/").status_code == 404
    truth = emu.truth("cms")
    assert "paging" not in cms_get(http, emu, limit=200, after=truth[-200]["timestamp"]).json()
    for rec in truth:
        assert set(rec) == CMS_FIELDS
        assert isinstance(rec["userId"], str)
        assert rec["userId"].isdigit()
        assert isinstance(rec["objectId"], str)
        assert isinstance(rec["meta"], dict)
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", rec["timestamp"])
    assert {r["event"] for r in truth} == set(EVENT_TYPES)
    assert {r["objectType"] for r in truth} == set(OBJECT_TYPES)
    assert len(OBJECT_TYPES) == 24
    metas = [r["meta"] for r in truth]
    assert {} in metas
    assert any("rowsDeleted" in m for m in metas)
    assert any(m.get("changedFields") == ["title"] for m in metas)
    names: dict[tuple[str, str], set[str]] = {}
    for rec in truth:
        names.setdefault((rec["objectType"], rec["objectId"]), set()).add(rec["objectName"])
    assert all(len(v) == 1 for v in names.values())


def test_cms_bursts_meta_only_pairs_and_no_exact_duplicates(emu) -> None:
    truth = emu.truth("cms")
    canon = [json.dumps(r, sort_keys=True) for r in truth]
    assert len(set(canon)) == len(canon)
    per_ms = Counter(r["timestamp"] for r in truth)
    assert any(n >= 3 for n in per_ms.values())
    without_meta = Counter(
        json.dumps({k: v for k, v in r.items() if k != "meta"}, sort_keys=True) for r in truth
    )
    pairs = [k for k, n in without_meta.items() if n >= 2]
    assert pairs
    twins = [r for r in truth if json.loads(pairs[0]).items() <= r.items()]
    assert len(twins) == 2
    assert twins[0]["meta"] != twins[1]["meta"]


@pytest.mark.parametrize("order", ["asc", "desc"])
def test_cms_paging_to_the_end_equals_truth(emu, http, order: str) -> None:
    expected = emu.truth("cms")
    assert len(expected) > 300
    newest_first = expected[::-1]
    # The default order comes from config.sort["cms"] (desc unless configured).
    assert cms_all(http, emu, limit=97) == newest_first
    emu.configure(sort={"cms": order})
    assert cms_all(http, emu, limit=97) == (expected if order == "asc" else newest_first)
    assert cms_all(http, emu, limit=150, sort="timestamp") == expected
    assert cms_all(http, emu, limit=150, sort="-timestamp") == newest_first
    assert cms_get(http, emu, sort="occurredAt").status_code == 400
    assert len(cms_get(http, emu).json()["results"]) == 20
    assert len(cms_get(http, emu, limit=500).json()["results"]) == 200


def test_cms_list_filters(emu, http) -> None:
    truth = emu.truth("cms")
    events = cms_all(http, emu, limit=200, eventType="PUBLISHED,DELETED", sort="timestamp")
    assert events == [r for r in truth if r["event"] in ("PUBLISHED", "DELETED")]
    repeated = cms_all(http, emu, limit=200, eventType=["PUBLISHED", "DELETED"], sort="timestamp")
    assert repeated == events
    kinds = ["HUBDB_TABLE", "CONTENT_SETTINGS"]
    by_type = cms_all(http, emu, limit=50, objectType=",".join(kinds))
    assert by_type == [r for r in truth if r["objectType"] in kinds][::-1]
    users = sorted({r["userId"] for r in truth[:30]})[:2]
    mine = [r for r in truth if r["userId"] in users]
    assert 0 < len(mine) < len(truth)
    assert cms_all(http, emu, limit=7, userId=users) == mine[::-1]
    assert cms_all(http, emu, limit=7, userId=",".join(users)) == mine[::-1]
    assert mine == emu.truth("cms", user_ids=[int(u) for u in users])
    target = truth[10]
    combined = cms_all(
        http,
        emu,
        limit=3,
        objectId=target["objectId"],
        objectType=target["objectType"],
        eventType=target["event"],
        userId=target["userId"],
    )
    assert target in combined
    assert combined == [
        r
        for r in truth[::-1]
        if (r["objectId"], r["objectType"], r["event"], r["userId"])
        == (target["objectId"], target["objectType"], target["event"], target["userId"])
    ]
    assert cms_get(http, emu, userId="no-such-user").json() == {"results": []}
    for bad in ({"eventType": "MOVED"}, {"objectType": "BLOG,PAGE"}):
        resp = cms_get(http, emu, **bad)
        assert resp.status_code == 400
        assert resp.json()["category"] == "VALIDATION_ERROR"
    cursor = cms_get(http, emu, limit=2, eventType="UPDATED").json()["paging"]["next"]["after"]
    assert cms_get(http, emu, after=cursor, eventType="CREATED").status_code == 400
    assert cms_get(http, emu, after=cursor, eventType="UPDATED").status_code == 200


@pytest.mark.parametrize(
    "bounds", [("exclusive", "exclusive"), ("inclusive", "inclusive"), ("inclusive", "exclusive")]
)
def test_cms_iso_after_and_before_are_time_filters(emu, http, bounds: tuple[str, str]) -> None:
    emu.configure(after_bound=bounds[0], before_bound=bounds[1])
    truth = emu.truth("cms")
    first, last = truth[len(truth) // 3], truth[len(truth) // 3 + 60]
    lo, hi = when(first, "cms"), when(last, "cms")

    def inside(rec: dict[str, Any]) -> bool:
        moment = when(rec, "cms")
        above = lo <= moment if bounds[0] == "inclusive" else lo < moment
        below = moment <= hi if bounds[1] == "inclusive" else moment < hi
        return above and below

    expected = [r for r in truth if inside(r)]
    # Small pages: after page one, the cursor replaces `after` and carries its bound along.
    window = {"after": first["timestamp"], "before": last["timestamp"], "limit": 7}
    assert cms_all(http, emu, **window) == expected[::-1]
    assert cms_all(http, emu, **window, sort="timestamp") == expected
    assert (first in expected) == (bounds[0] == "inclusive")
    assert (last in expected) == (bounds[1] == "inclusive")
    plus_two = timezone(timedelta(hours=2))
    shifted = {
        "after": lo.astimezone(plus_two).isoformat(),
        "before": hi.astimezone(plus_two).isoformat(),
    }
    assert cms_all(http, emu, limit=200, **shifted) == expected[::-1]
    only_after = cms_all(http, emu, limit=50, after=first["timestamp"], sort="timestamp")
    assert only_after == [r for r in truth if inside(r) or when(r, "cms") >= hi]
    for bad in ({"after": "1583792674672"}, {"after": "yesterday"}, {"before": "not-a-date"}):
        resp = cms_get(http, emu, **bad)
        assert resp.status_code == 400, bad
        assert resp.json()["category"] == "VALIDATION_ERROR"


def test_cms_forbidden_without_enterprise_or_scope(emu, http) -> None:
    emu.configure(cms_enterprise=False)
    resp = cms_get(http, emu)
    assert resp.status_code == 403
    body = resp.json()
    assert body["status"] == "error"
    assert body["category"] == "FORBIDDEN"
    assert "CMS Hub Enterprise" in body["message"]
    assert UUID.match(body["correlationId"])
    assert get(http, emu, "audit-logs").status_code == 200
    emu.configure(cms_enterprise=True, cms_scope=False)
    resp = cms_get(http, emu)
    assert resp.status_code == 403
    body = resp.json()
    assert body["category"] == "MISSING_SCOPES"
    assert body["errors"][0]["context"]["requiredGranularScopes"] == ["content"]
    assert get(http, emu, "login").status_code == 200
    # The account-activity scope is another scope: missing it leaves the CMS log alone.
    emu.configure(cms_scope=True, missing_scopes=True, enterprise=False)
    assert cms_get(http, emu).status_code == 200
    assert cms_get(http, emu, headers={}).status_code == 401


def test_cms_added_events_faults_and_stats(http) -> None:
    with HubSpotEmulator(EmulatorConfig(**TINY)) as emu:
        before = emu.truth("cms")
        page = cms_get(http, emu, limit=5).json()
        added = emu.add_events("cms", 6)
        assert len({r["timestamp"] for r in added}) == 1
        assert len({json.dumps(r, sort_keys=True) for r in added}) == 6
        rest = cms_all(http, emu, limit=5, after=page["paging"]["next"]["after"])
        assert page["results"] + rest == before[::-1]
        late = emu.add_events("cms", 2, late_minutes=30)
        truth = emu.truth("cms")
        assert all(r in truth for r in added + late)
        assert len(truth) == len(before) + 8
        assert cms_all(http, emu, limit=200)[:6] == [r for r in truth if r in added][::-1]
        control = http.get(f"{emu.url}/_emulator/truth", params={"stream": "cms"}, timeout=10)
        assert control.json() == truth
        posted = http.post(
            f"{emu.url}/_emulator/events", json={"stream": "cms", "count": 1}, timeout=10
        )
        assert posted.json()[0] in emu.truth("cms")
        emu.reset_stats()
        emu.inject_fault("503")
        assert cms_get(http, emu).status_code == 503
        resp = cms_get(http, emu)
        assert resp.status_code == 200
        assert "X-HubSpot-RateLimit-Remaining" in resp.headers
        assert emu.stats()["requests"] == {
            f"{CMS_PATH} 200": 1,
            f"{CMS_PATH} 503": 1,
        }


def test_cms_cli_flags() -> None:
    args = build_parser().parse_args(
        ["--cms-per-day", "50", "--sort-cms", "asc", "--not-cms-enterprise", "--no-cms-scope"]
    )
    cfg = config_from_args(args)
    assert (cfg.cms_per_day, cfg.sort["cms"], cfg.cms_enterprise, cfg.cms_scope) == (
        50.0,
        "asc",
        False,
        False,
    )
    defaults = config_from_args(build_parser().parse_args([]))
    assert (defaults.cms_per_day, defaults.sort["cms"]) == (20.0, "desc")
    assert defaults.cms_enterprise
    assert defaults.cms_scope
    assert "cms_per_day" in DATA_FIELDS


# -- control API and CLI ---------------------------------------------------------------------


def test_control_endpoints_mirror_the_python_api(emu, http) -> None:
    base = f"{emu.url}/_emulator"
    truth = http.get(f"{base}/truth", params={"stream": "security"}, timeout=10).json()
    assert truth == emu.truth("security")
    added = http.post(
        f"{base}/events", json={"stream": "security", "count": 2, "late_minutes": 5}, timeout=10
    ).json()
    assert [r["id"] for r in added] == [
        r["id"] for r in emu.truth("security") if r["id"] in {a["id"] for a in added}
    ]
    conf = http.post(f"{base}/config", json={"sort": {"security": "asc"}}, timeout=10)
    assert conf.json()["sort"]["security"] == "asc"
    assert get(http, emu, "security", limit=3).json()["results"] == emu.truth("security")[:3]
    assert http.post(
        f"{base}/faults", json={"kind": "503", "path": "/activity/security"}, timeout=10
    ).ok
    assert get(http, emu, "security").status_code == 503
    assert http.post(f"{base}/config", json={"seed": 1}, timeout=10).status_code == 400
    assert http.post(f"{base}/config", json={"bogus": 1}, timeout=10).status_code == 400
    assert http.post(f"{base}/faults", json={"kind": "999"}, timeout=10).status_code == 400
    assert http.get(f"{base}/config", timeout=10).json()["access_token"] is None


def test_cli_serves_and_stops_on_sigterm() -> None:
    args = [
        sys.executable,
        "-m",
        "tests.emulator",
        "--port",
        "0",
        "--seed",
        "5",
        "--users",
        "10",
        "--history-days",
        "3",
        "--sort-login",
        "asc",
        "--access-token",
        "cli-token",
        "--not-enterprise",
        "--no-cms-scope",
    ]
    repo = Path(__file__).resolve().parents[1]
    with subprocess.Popen(args, cwd=repo, stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline().strip()
            match = re.fullmatch(r"HubSpot emulator listening on (http://127\.0\.0\.1:\d+)", line)
            assert match, line
            url = match.group(1)
            headers = {"Authorization": "Bearer cli-token"}
            resp = requests.get(
                f"{url}/account-info/v3/activity/login", headers=headers, timeout=10
            )
            results = resp.json()["results"]
            assert results == sorted(results, key=lambda r: (r["loginAt"], r["id"]))
            assert (
                requests.get(
                    f"{url}/account-info/v3/activity/audit-logs", headers=headers, timeout=10
                ).status_code
                == 403
            )
            cms = requests.get(f"{url}{CMS_PATH}", headers=headers, timeout=10)
            assert cms.status_code == 403
            assert cms.json()["category"] == "MISSING_SCOPES"
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=10) == 0


def test_next_events_says_when_a_restart_would_serve_something_new(emu, http) -> None:
    upcoming = http.get(f"{emu.url}/_emulator/next-events", timeout=10).json()
    assert set(upcoming["next"]) == {"login", "audit-logs", "security", "cms"}
    due = upcoming["next"]["login"]
    assert due > upcoming["served_until"]
    assert all(row["loginAt"] < due for row in emu.truth("login"))
    # An emulator of the same data started just after that moment serves it.
    fixed = {name: getattr(emu.config, name) for name in DATA_FIELDS if name != "now"}
    moment = datetime.fromisoformat(due) + timedelta(seconds=2)
    with HubSpotEmulator(EmulatorConfig(**{**fixed, "now": moment})) as restarted:
        times = {row["loginAt"] for row in restarted.truth("login")}
    assert due in times
