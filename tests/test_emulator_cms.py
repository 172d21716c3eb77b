"""The HubSpot emulator's CMS content audit log, checked over real HTTP."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import timedelta, timezone
from typing import Any

import pytest

from hubspot_emulator import EmulatorConfig, HubSpotEmulator
from hubspot_emulator.__main__ import build_parser, config_from_args
from hubspot_emulator.cms import EVENT_TYPES, OBJECT_TYPES
from hubspot_emulator.config import DATA_FIELDS
from tests.emulator_http import (
    AUTH,
    CMS_FIELDS,
    CMS_PATH,
    TINY,
    UUID,
    cms_all,
    cms_get,
    emulator_fixtures,
    get,
    when,
)

emu, http, _restore_modes = emulator_fixtures()


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
