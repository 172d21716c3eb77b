"""The HubSpot emulator's control API and command line, checked over real HTTP."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import requests

from hubspot_emulator import EmulatorConfig, HubSpotEmulator
from hubspot_emulator.config import DATA_FIELDS
from hubspot_emulator.process import spawn
from tests.emulator_http import CMS_PATH, emulator_fixtures, get

emu, http, _restore_modes = emulator_fixtures()


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
    flags = [
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
    # spawn(): `python -m hubspot_emulator --port 0 ...`, then SIGTERM when the block ends.
    with spawn(*flags) as proc:
        line = proc.banner
        match = re.fullmatch(r"HubSpot emulator listening on (http://127\.0\.0\.1:\d+)", line)
        assert match, line
        url = match.group(1)
        headers = {"Authorization": "Bearer cli-token"}
        resp = requests.get(f"{url}/account-info/v3/activity/login", headers=headers, timeout=10)
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
    assert proc.returncode == 0


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
