"""HubSpot's failures and bad settings: retried, skipped or stopped with a plain message."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

import pytest
from singer_sdk.exceptions import ConfigValidationError

from hubspot_emulator import EmulatorConfig, HubSpotEmulator
from tap_hubspot_activity.engine.errors import HubspotError
from tap_hubspot_activity.tap import TapHubspotActivity
from tests.conftest import SMALL_PORTAL, STREAMS, TOKEN, run_tap, tap_config, truth_ids


def _assert_complete(run, emulator):
    for stream in STREAMS:
        assert sorted(run.ids(stream)) == sorted(truth_ids(emulator, stream)), stream


@pytest.mark.parametrize(
    "kind", ["500", "502", "503", "504", "423", "477", "429", "reset", "truncated", "html"]
)
def test_transient_faults_are_retried_without_loss(fresh_emulator, kind):
    fresh_emulator.inject_fault(kind, count=2, path="/activity/security")
    run = run_tap(tap_config(fresh_emulator, page_size=100))
    _assert_complete(run, fresh_emulator)
    assert "Retrying" in run.log


def test_slow_response_times_out_and_is_retried(fresh_emulator):
    fresh_emulator.configure(slow_seconds=3.0)
    fresh_emulator.inject_fault("slow", count=1, path="/activity/audit-logs")
    run = run_tap(tap_config(fresh_emulator, request_timeout=1, page_size=200))
    _assert_complete(run, fresh_emulator)
    assert "within request_timeout" in run.log


def test_bad_token_is_a_plain_fatal_error():
    with HubSpotEmulator(EmulatorConfig(seed=3, users=10, access_token="the-right-one")) as emu:
        run = run_tap(tap_config(emu), expect_error=True)
    assert isinstance(run.error, HubspotError)
    message = str(run.error)
    assert "401 INVALID_AUTHENTICATION" in message
    assert "correlationId" in message
    assert "access_token" in message
    assert TOKEN not in message
    assert TOKEN not in run.log


def test_missing_scope_names_the_scope(fresh_emulator):
    fresh_emulator.configure(missing_scopes=True)
    run = run_tap(tap_config(fresh_emulator), expect_error=True)
    assert "MISSING_SCOPES" in str(run.error)
    assert "account-info.security.read" in str(run.error)


def test_audit_logs_skipped_without_enterprise(fresh_emulator):
    fresh_emulator.configure(enterprise=False)
    run = run_tap(tap_config(fresh_emulator))
    assert "audit_logs" not in run.records
    assert "Skipping audit_logs" in run.log
    assert "Enterprise" in run.log
    for stream in ("login_activity", "security_activity"):
        assert sorted(run.ids(stream)) == sorted(truth_ids(fresh_emulator, stream))


def test_daily_limit_stops_cleanly_with_state(fresh_emulator):
    first_window_done = run_tap(tap_config(fresh_emulator))
    fresh_emulator.inject_fault("429-daily", count=50, path="/activity/security")
    run = run_tap(tap_config(fresh_emulator), expect_error=True)
    assert "daily" in str(run.error).lower()
    assert "resets at midnight" in str(run.error)
    assert first_window_done.state


def test_failed_request_does_not_advance_state_and_rerun_loses_nothing():
    # Security fails for good after a few pages: the bookmark stays at the last closed
    # window, and a rerun from the last STATE completes the stream. Dense enough (about
    # 12,000 events over 60 days) to be read in several windows of 15 to 20 pages; the
    # fault comes after 40 requests so that at least one window holding events has closed
    # whatever the windows' cuts (the oldest are empty: start_date is before the history).
    dense = EmulatorConfig(seed=23, **{**SMALL_PORTAL, "security_per_day": 200.0})
    with HubSpotEmulator(dense) as emulator:
        recent = (dt.datetime.now(dt.UTC) - dt.timedelta(days=70)).isoformat()
        config = tap_config(
            emulator, page_size=100, max_retry_seconds=2, start_date=recent, max_concurrency=1
        )
        emulator.inject_fault("502", count=1000, path="/activity/security", after=40)
        broken = run_tap(config, expect_error=True)
        assert "502" in str(broken.error)
        emitted = set(broken.ids("security_activity"))
        assert emitted, "some windows should have closed before the failure"
        bookmark = broken.state["bookmarks"]["security_activity"]["replication_key_value"]
        assert bookmark == max(r["occurredAt"] for r in broken.records["security_activity"])
        assert emitted < set(truth_ids(emulator, "security_activity"))
        emulator.clear_faults()
        rerun = run_tap(config, state=broken.state)
        union = emitted | set(rerun.ids("security_activity"))
        assert union == set(truth_ids(emulator, "security_activity"))


def test_bad_request_carries_hubspots_message(fresh_emulator):
    fresh_emulator.configure(reject_over_limit=True, max_limit=50)
    run = run_tap(tap_config(fresh_emulator, page_size=200), expect_error=True)
    assert "400 VALIDATION_ERROR" in str(run.error)
    assert "correlationId" in str(run.error)


@pytest.mark.parametrize(
    ("overrides", "setting"),
    [
        ({"start_date": "yesterday-ish"}, "start_date"),
        ({"start_date": "2025-02-01", "end_date": "2025-01-01"}, "end_date"),
        ({"page_size": 0}, "page_size"),
        ({"page_size": 201}, "page_size"),
        ({"api_version": "v4"}, "api_version"),
        ({"oauth_token_endpoint": "2026-09"}, "oauth_token_endpoint"),
        ({"api_url": "http://api.hubapi.com"}, "api_url"),
        ({"access_token": None}, "access_token"),
        ({"client_id": "a", "client_secret": "b", "refresh_token": "c"}, "access_token"),
        ({"access_token": None, "client_id": "a"}, "client_secret"),
    ],
)
def test_bad_settings_fail_before_any_request(emulator, overrides, setting):
    emulator.reset_stats()
    config = {k: v for k, v in {**tap_config(emulator), **overrides}.items() if v is not None}
    with pytest.raises(ConfigValidationError) as caught:
        TapHubspotActivity(config=config)
    assert setting in " ".join(caught.value.errors)
    assert emulator.stats()["total_requests"] == 0


def test_cli_reports_a_fatal_error_without_traceback(tmp_path):
    with HubSpotEmulator(EmulatorConfig(seed=3, users=10, access_token="right")) as emu:
        config_file = tmp_path / "config.json"
        config_file.write_text(json.dumps(tap_config(emu)))
        done = subprocess.run(
            [sys.executable, "-m", "tap_hubspot_activity", "--config", str(config_file)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "INVALID_AUTHENTICATION" in done.stderr
    assert TOKEN not in done.stderr + done.stdout


def test_cli_failing_first_stream_stops_the_streams_read_ahead(tmp_path):
    # audit_logs, synced first, fails for good while the later streams are read ahead:
    # the run ends with the one error, and nothing of the later streams is emitted.
    with HubSpotEmulator(EmulatorConfig(seed=3, users=10, latency_ms=30)) as emu:
        emu.inject_fault("502", count=10_000, path="/activity/audit-logs")
        config_file = tmp_path / "config.json"
        config_file.write_text(json.dumps(tap_config(emu, max_retry_seconds=2)))
        done = subprocess.run(
            [sys.executable, "-m", "tap_hubspot_activity", "--config", str(config_file)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        requests_seen = emu.stats()["requests"]
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "502 BAD_GATEWAY" in done.stderr.strip().splitlines()[-1]
    assert "An unhandled error occurred" not in done.stderr
    assert any("/activity/login 200" in key for key in requests_seen), "read ahead"
    messages = [json.loads(line) for line in done.stdout.splitlines() if line]
    assert not [m for m in messages if m["type"] == "RECORD"]


def test_cli_rejects_bad_config_without_traceback(tmp_path):
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps({"access_token": "x", "page_size": 500}))
    done = subprocess.run(
        [sys.executable, "-m", "tap_hubspot_activity", "--config", str(config_file)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "page_size" in done.stderr
