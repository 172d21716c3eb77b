"""The optional cms_content_audit stream: derived ids, incremental, skipped when unavailable."""

from __future__ import annotations

import hashlib
import json

import pytest

from tests.conftest import SMALL_PORTAL, run_tap, tap_config
from tests.emulator import EmulatorConfig, HubSpotEmulator

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
    second = run_tap(config, state=first.state)
    got = set(second.ids("cms_content_audit"))
    assert {documented_id(event) for event in new} <= got
    assert len(got) <= len(new) + 2


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
