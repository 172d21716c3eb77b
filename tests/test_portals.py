"""Several portals in one run: per-portal state, rate limits and failures."""

from __future__ import annotations

import contextlib
import datetime as dt

import pytest
from singer_sdk.exceptions import ConfigValidationError

from hubspot_emulator import EmulatorConfig, HubSpotEmulator
from tap_hubspot_activity.tap import PortalsFailedError, TapHubspotActivity
from tests.conftest import SMALL_PORTAL, STREAMS, TOKEN, run_tap, tap_config, truth_ids
from tests.fleet_support import RecordingEmulator, peak_overlap

PORTAL_IDS = {"us": 1001, "eu": 2002, "apac": 3003}


@pytest.fixture
def three_portals(monkeypatch):
    monkeypatch.setenv("EU_PORTAL_TOKEN", "eu-token-from-env")
    emulators = {
        label: HubSpotEmulator(EmulatorConfig(seed=60 + i, portal_id=portal_id, **SMALL_PORTAL))
        for i, (label, portal_id) in enumerate(PORTAL_IDS.items())
    }
    for emulator in emulators.values():
        emulator.start()
    yield emulators
    for emulator in emulators.values():
        emulator.stop()


def _config(emulators, **overrides):
    portals = []
    for label, emulator in emulators.items():
        entry = {"label": label, "api_url": emulator.url}
        if label == "eu":
            entry["access_token_env"] = "EU_PORTAL_TOKEN"
        else:
            entry["access_token"] = f"{TOKEN}-{label}"
        portals.append(entry)
    base = tap_config(next(iter(emulators.values())), portals=portals, **overrides)
    del base["access_token"]
    return base


def _by_portal(run, stream):
    ids: dict[int, list[str]] = {}
    for record in run.records.get(stream, []):
        ids.setdefault(record["portalId"], []).append(record["id"])
    return ids


def _bookmarks(state, stream):
    partitions = state["bookmarks"][stream].get("partitions", [])
    return {p["context"]["portal"]: p.get("replication_key_value") for p in partitions}


@pytest.mark.parametrize("parallel", [1, 4])
def test_each_portal_reconciles_and_keeps_its_own_bookmark(three_portals, parallel):
    run = run_tap(_config(three_portals, max_parallel_portals=parallel))
    for stream in STREAMS:
        got = _by_portal(run, stream)
        for label, emulator in three_portals.items():
            ids = got[PORTAL_IDS[label]]
            assert len(ids) == len(set(ids))
            assert sorted(ids) == sorted(truth_ids(emulator, stream)), (stream, label)
        bookmarks = _bookmarks(run.state, stream)
        assert set(bookmarks) == set(PORTAL_IDS)
        for label, portal_id in PORTAL_IDS.items():
            newest = max(r["occurredAt"] for r in run.records[stream] if r["portalId"] == portal_id)
            assert bookmarks[label] == newest
    for emulator in three_portals.values():
        assert emulator.stats()["requests"].get("/account-info/2026-09/details 200") == 1


@pytest.mark.parametrize(("parallel", "expected_peak"), [(1, 1), (3, 3)])
def test_portals_are_read_at_the_same_time(parallel, expected_peak):
    # Three portals, one emulator each, one request at a time within each portal: any
    # overlap of their requests comes from portals running side by side. (One emulator
    # under three labels would be one portalId listed three times, which is refused.)
    modes = {**SMALL_PORTAL, "latency_ms": 100.0}
    with contextlib.ExitStack() as stack:
        emulators = {
            label: stack.enter_context(
                RecordingEmulator(EmulatorConfig(seed=66, portal_id=6600 + index, **modes))
            )
            for index, label in enumerate(("a", "b", "c"))
        }
        portals = [
            {"label": label, "access_token": f"{TOKEN}-{label}", "api_url": emulator.url}
            for label, emulator in emulators.items()
        ]
        recent = (dt.datetime.now(dt.UTC) - dt.timedelta(days=65)).isoformat()
        config = tap_config(
            emulators["a"], portals=portals, max_concurrency=1, page_size=200, start_date=recent
        )
        del config["access_token"]
        run_tap({**config, "max_parallel_portals": parallel})
        requests = [
            (began, ended)
            for emulator in emulators.values()
            for began, ended, *_ in emulator.requests
        ]
    assert peak_overlap(requests) == expected_peak


def test_incremental_run_reads_only_the_portal_that_changed(three_portals):
    config = _config(three_portals, lookback_minutes=0)
    first = run_tap(config)
    new = three_portals["eu"].add_events("security", 4)
    second = run_tap(config, state=first.state)
    got = _by_portal(second, "security_activity")
    assert {str(e["id"]) for e in new} <= set(got[PORTAL_IDS["eu"]])
    # The unchanged portals re-read only the events at their own bookmark (the start is
    # inclusive, so the events sharing its millisecond come again).
    bookmarks = _bookmarks(first.state, "security_activity")
    for label in ("us", "apac"):
        reread = {
            record["occurredAt"]
            for record in second.records["security_activity"]
            if record["portalId"] == PORTAL_IDS[label]
        }
        assert reread <= {bookmarks[label]}


def test_a_failing_portal_fails_alone(three_portals):
    three_portals["apac"].configure(access_token="a-different-token")
    three_portals["eu"].configure(enterprise=False)
    run = run_tap(_config(three_portals), expect_error=True)
    assert isinstance(run.error, PortalsFailedError)
    assert "portal 'apac'" in str(run.error)
    assert "INVALID_AUTHENTICATION" in str(run.error)
    assert "1 of 3 portals failed" in str(run.error)
    assert TOKEN not in str(run.error)
    for stream in STREAMS:
        got = _by_portal(run, stream)
        assert PORTAL_IDS["apac"] not in got
        assert sorted(got[PORTAL_IDS["us"]]) == sorted(truth_ids(three_portals["us"], stream))
        bookmarks = _bookmarks(run.state, stream)
        assert bookmarks.get("us")
        assert not bookmarks.get("apac")
    # eu has no Enterprise: its audit log is skipped, its other streams complete.
    assert PORTAL_IDS["eu"] not in _by_portal(run, "audit_logs")
    assert sorted(_by_portal(run, "security_activity")[PORTAL_IDS["eu"]]) == sorted(
        truth_ids(three_portals["eu"], "security_activity")
    )
    assert "Skipping audit_logs for portal 'eu'" in run.log


@pytest.mark.parametrize(
    ("portals", "message"),
    [
        ([{"label": "a", "access_token": "x"}, {"label": "a", "access_token": "y"}], "unique"),
        ([{"label": "a"}], "portals[a]: no credentials"),
        ([{"label": "a", "client_id": "c"}], "portals[a]: OAuth needs"),
        ([{"label": "a", "access_token": "x", "api_url": "http://example.com"}], "https"),
        ([{"label": "a", "access_token_env": "NOT_SET_ANYWHERE"}], "portals[a]: no credentials"),
    ],
)
def test_bad_portal_settings_are_named(portals, message):
    with pytest.raises(ConfigValidationError) as caught:
        TapHubspotActivity(config={"portals": portals})
    assert message in " ".join(caught.value.errors)


def test_portals_and_top_level_credentials_together_are_refused():
    config = {"access_token": "x", "portals": [{"label": "a", "access_token": "y"}]}
    with pytest.raises(ConfigValidationError) as caught:
        TapHubspotActivity(config=config)
    assert "not at the top level" in " ".join(caught.value.errors)
