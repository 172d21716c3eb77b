"""OAuth apps: refresh before expiry, refresh once on a 401, clear error on a bad grant."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from hubspot_emulator import EmulatorConfig, HubSpotEmulator
from tap_hubspot_activity.engine.errors import FatalError
from tests.conftest import SMALL_PORTAL, STREAMS, run_tap, tap_config, truth_ids

CLIENT = {
    "access_token": None,
    "client_id": "emu-client-id",
    "client_secret": "emu-client-secret",
    "refresh_token": "emu-refresh-token",
}


def _oauth_config(emu, **overrides):
    config = {**tap_config(emu), **CLIENT, **overrides}
    return {k: v for k, v in config.items() if v is not None}


@pytest.fixture
def oauth_emulator():
    with HubSpotEmulator(EmulatorConfig(seed=31, require_oauth=True, **SMALL_PORTAL)) as emu:
        yield emu


def test_oauth_sync_is_complete_and_refreshes_once(oauth_emulator):
    oauth_emulator.reset_stats()
    run = run_tap(_oauth_config(oauth_emulator))
    for stream in STREAMS:
        assert sorted(run.ids(stream)) == sorted(truth_ids(oauth_emulator, stream))
    assert oauth_emulator.stats()["requests"].get("/oauth/2026-03/token 200") == 1
    for secret in CLIENT.values():
        if secret:
            assert secret not in run.output
    assert "emu-client-secret" not in run.log
    assert "emu-refresh-token" not in run.log


@pytest.mark.parametrize("endpoint", ["2026-03", "v1"])
@pytest.mark.parametrize("case", ["snake", "camel"])
def test_either_token_endpoint_in_either_casing(oauth_emulator, endpoint, case):
    # Short tokens: the refresh must have read expiresIn / expires_in to refresh in time.
    oauth_emulator.configure(token_case=case, token_lifetime_s=2, latency_ms=40)
    oauth_emulator.reset_stats()
    run = run_tap(_oauth_config(oauth_emulator, oauth_token_endpoint=endpoint, page_size=20))
    assert sorted(run.ids("audit_logs")) == sorted(truth_ids(oauth_emulator, "audit_logs"))
    requests = oauth_emulator.stats()["requests"]
    assert requests.get(f"/oauth/{endpoint}/token 200", 0) >= 2
    assert not any(key.startswith("/oauth/") and endpoint not in key for key in requests)
    assert not any(" 401" in key for key in requests), requests


def test_short_lived_tokens_are_refreshed_before_expiry(oauth_emulator):
    oauth_emulator.configure(token_lifetime_s=2, latency_ms=40)
    oauth_emulator.reset_stats()
    run = run_tap(_oauth_config(oauth_emulator, page_size=20))
    assert sorted(run.ids("audit_logs")) == sorted(truth_ids(oauth_emulator, "audit_logs"))
    stats = oauth_emulator.stats()["requests"]
    assert stats.get("/oauth/2026-03/token 200", 0) >= 2
    assert not any(" 401" in key for key in stats), stats


def test_expired_token_mid_run_is_refreshed_once(oauth_emulator):
    oauth_emulator.inject_fault("401-expired", count=1, path="/activity/security")
    run = run_tap(_oauth_config(oauth_emulator))
    assert sorted(run.ids("security_activity")) == sorted(
        truth_ids(oauth_emulator, "security_activity")
    )
    assert oauth_emulator.stats()["requests"].get("/oauth/2026-03/token 200") == 2


def test_repeated_401_after_refresh_is_fatal(oauth_emulator):
    # Every activity request is refused, so no stream can prove the fresh token between
    # one refusal and the next: a token that succeeded once and is then refused looks
    # expired and is replaced again, by design (faults on one path only made this test
    # depend on which stream's request came back first).
    oauth_emulator.inject_fault("401-expired", count=50, path="/activity/")
    run = run_tap(_oauth_config(oauth_emulator), expect_error=True)
    assert "EXPIRED_AUTHENTICATION" in str(run.error)


def test_bad_refresh_token_is_a_clear_error(oauth_emulator):
    run = run_tap(_oauth_config(oauth_emulator, refresh_token="revoked"), expect_error=True)
    assert isinstance(run.error, FatalError)
    assert "refresh_token" in str(run.error)
    assert "BAD_REFRESH_TOKEN" in str(run.error)
    assert "revoked" not in str(run.error)


def test_short_tokens_under_a_rate_limit_with_eight_requests_in_flight(oauth_emulator):
    # Tokens of 3 s while requests queue for slots and for the governor: the token is
    # attached only once a request may go, so none expires while it waits.
    oauth_emulator.configure(
        token_lifetime_s=3, latency_ms=150, ten_second_max=10, rate_limit_interval_ms=1000
    )
    oauth_emulator.reset_stats()
    recent = "2026-10-25T00:00:00Z"
    run = run_tap(_oauth_config(oauth_emulator, page_size=20, max_concurrency=8, start_date=recent))
    for stream in STREAMS:
        expected = truth_ids(oauth_emulator, stream, since=dt.datetime(2026, 10, 25, tzinfo=dt.UTC))
        assert sorted(run.ids(stream)) == sorted(expected), stream
    stats = oauth_emulator.stats()
    assert stats["requests"].get("/oauth/2026-03/token 200", 0) >= 2
    assert stats["peak_concurrency"] >= 2
    # The rate limit really held requests back while tokens expired.
    paused = re.search(r"([0-9.]+) s paused by the rolling limit", run.log)
    assert paused is not None
    assert float(paused.group(1)) > 1.0
