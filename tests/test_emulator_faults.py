"""The HubSpot emulator's faults, injected and random, checked over real HTTP."""

from __future__ import annotations

import time

import pytest
import requests

from tests.emulator_http import AUTH, STREAMS, UUID, emulator_fixtures, get

emu, http, _restore_modes = emulator_fixtures()


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
