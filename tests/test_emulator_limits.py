"""The HubSpot emulator's rate limits and stats, checked over real HTTP."""

from __future__ import annotations

import concurrent.futures
import time

import pytest
import requests

from hubspot_emulator import EmulatorConfig, HubSpotEmulator
from tests.emulator_http import AUTH, TINY, get, http_session, oauth_token

http = pytest.fixture(http_session, scope="module", name="http")


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
