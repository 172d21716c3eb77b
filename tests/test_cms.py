"""The optional cms_content_audit stream: derived ids, incremental, skipped when unavailable."""

from __future__ import annotations

import hashlib
import json
import time

import pytest

from hubspot_emulator import EmulatorConfig, HubSpotEmulator
from tests.conftest import SMALL_PORTAL, run_tap, tap_config

IDENTITY = ("timestamp", "userId", "event", "objectType", "objectId", "meta")


def documented_id(event: dict) -> str:
    """The README's derivation, written out independently of the tap's code."""
    identity = {field: event.get(field) for field in IDENTITY}
    canonical = json.dumps(identity, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


@pytest.fixture
def cms_emulator():
    with HubSpotEmulator(EmulatorConfig(seed=91, cms_per_day=25.0, **SMALL_PORTAL)) as emu:
        yield emu


def test_off_by_default(cms_emulator):
    run = run_tap(tap_config(cms_emulator))
    assert "cms_content_audit" not in run.records
    assert not any("/cms/" in key for key in cms_emulator.stats()["requests"])


@pytest.mark.parametrize("order", ["asc", "desc"])
def test_enabled_stream_equals_truth_with_derived_ids(cms_emulator, order):
    cms_emulator.configure(sort={"cms": order})
    run = run_tap(tap_config(cms_emulator, cms_content_audit=True, page_size=30))
    truth = cms_emulator.truth("cms")
    expected = {documented_id(event) for event in truth}
    ids = run.ids("cms_content_audit")
    assert len(ids) == len(set(ids))
    assert set(ids) == expected
    # Events that differ only in meta keep distinct ids.
    assert len(expected) == len(truth)
    record = run.records["cms_content_audit"][0]
    assert record["occurredAt"][:23] == record["timestamp"][:23]
    assert record["portalId"] == cms_emulator.config.portal_id


def test_ids_are_stable_across_runs(cms_emulator):
    config = tap_config(cms_emulator, cms_content_audit=True)
    first = run_tap(config)
    second = run_tap(config)
    assert sorted(first.ids("cms_content_audit")) == sorted(second.ids("cms_content_audit"))


def test_incremental_run_reads_only_new_events(cms_emulator):
    config = tap_config(cms_emulator, cms_content_audit=True, lookback_minutes=0)
    first = run_tap(config)
    new = cms_emulator.add_events("cms", 4)
    # An event stamped in the very millisecond a sync starts belongs to the next sync.
    time.sleep(0.01)
    second = run_tap(config, state=first.state)
    new_ids = {documented_id(event) for event in new}
    assert new_ids <= set(second.ids("cms_content_audit"))
    # Only what shares the bookmark's millisecond is read again (the start is inclusive).
    bookmark = first.state["bookmarks"]["cms_content_audit"]["replication_key_value"]
    again = [r for r in second.records["cms_content_audit"] if r["id"] not in new_ids]
    assert all(r["occurredAt"] == bookmark for r in again), again


@pytest.mark.parametrize(
    ("mode", "hint"), [("cms_enterprise", "CMS Hub Enterprise"), ("cms_scope", "content")]
)
def test_unavailable_cms_is_skipped_not_failed(cms_emulator, mode, hint):
    cms_emulator.configure(**{mode: False})
    run = run_tap(tap_config(cms_emulator, cms_content_audit=True))
    assert "cms_content_audit" not in run.records
    assert "Skipping cms_content_audit" in run.log
    assert hint in run.log
    assert run.records["security_activity"]


def _catalog(emu, *, cms_selected: bool) -> dict:
    from tap_hubspot_activity.tap import TapHubspotActivity  # noqa: PLC0415

    catalog = TapHubspotActivity(config=tap_config(emu)).catalog_dict
    for entry in catalog["streams"]:
        for metadata in entry["metadata"]:
            if metadata["breadcrumb"] == []:
                metadata["metadata"]["selected"] = (
                    cms_selected if entry["tap_stream_id"] == "cms_content_audit" else True
                )
    return catalog


def test_the_setting_wins_over_a_catalog_like_meltanos(cms_emulator):
    # Meltano selects every stream; meltano.yml passes cms_content_audit: false.
    off = run_tap(
        tap_config(cms_emulator, cms_content_audit=False),
        catalog=_catalog(cms_emulator, cms_selected=True),
    )
    assert "cms_content_audit" not in off.records
    on = run_tap(
        tap_config(cms_emulator, cms_content_audit=True),
        catalog=_catalog(cms_emulator, cms_selected=False),
    )
    assert set(on.ids("cms_content_audit")) == {
        documented_id(event) for event in cms_emulator.truth("cms")
    }
    assert set(on.records["cms_content_audit"][0]) >= {"objectType", "event", "meta"}


def test_without_the_setting_the_catalog_decides(cms_emulator):
    run = run_tap(tap_config(cms_emulator), catalog=_catalog(cms_emulator, cms_selected=True))
    assert run.records["cms_content_audit"]
