"""The HubSpot emulator's records' shape, checked over real HTTP."""

from __future__ import annotations

import re

from hubspot_emulator.security_types import SECURITY_TYPES
from tests.emulator_http import AUTH, STREAMS, UUID, emulator_fixtures, get, page_all

emu, http, _restore_modes = emulator_fixtures()


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
