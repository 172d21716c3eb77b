"""The command line as a user meets it: --test, --discover, bad settings, an unreachable host."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time

import pytest

from hubspot_emulator import EmulatorConfig, HubSpotEmulator
from tests.conftest import SMALL_PORTAL, TOKEN, tap_config

TAP = [sys.executable, "-m", "tap_hubspot_activity"]


def _cli(tmp_path, config, *args, timeout=120):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    started = time.monotonic()
    done = subprocess.run(
        [*TAP, "--config", str(path), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return done, time.monotonic() - started


def _last_line(done):
    return done.stderr.strip().splitlines()[-1]


def _plain(done):
    assert "Traceback" not in done.stderr
    assert "An unhandled error occurred" not in done.stderr


def test_test_mode_reports_one_line_per_portal(tmp_path):
    with HubSpotEmulator(EmulatorConfig(seed=3, enterprise=False, **SMALL_PORTAL)) as emu:
        done, _ = _cli(tmp_path, tap_config(emu), "--test")
        portal_id, url = emu.config.portal_id, emu.url
    assert done.returncode == 0, done.stderr
    _plain(done)
    line = next(line for line in done.stderr.splitlines() if "connection OK" in line)
    assert f"connection OK: portal {portal_id} ({url})" in line
    assert "login_activity ok" in line
    assert "security_activity ok" in line
    assert "audit_logs needs Enterprise (will be skipped)" in line
    assert done.stdout == ""


def test_test_mode_with_a_revoked_token_is_one_line_and_exit_1(tmp_path):
    with HubSpotEmulator(EmulatorConfig(seed=3, access_token="another", **SMALL_PORTAL)) as emu:
        done, _ = _cli(tmp_path, tap_config(emu), "--test")
    assert done.returncode == 1
    _plain(done)
    assert "connection failed" in _last_line(done)
    assert "401" in _last_line(done)
    assert TOKEN not in done.stderr


@pytest.mark.parametrize("mode", [["--discover"], ["--test"], []])
@pytest.mark.parametrize(
    ("setting", "value", "named"),
    [
        ("page_size", 500, "page_size"),
        ("start_date", "last tuesday", "start_date"),
        ("api_url", "http://10.0.0.1", "api_url"),
        ("api_version", "v4", "api_version"),
        ("oauth_token_endpoint", "v2", "oauth_token_endpoint"),
    ],
)
def test_a_bad_setting_is_one_line_and_exit_1_in_every_mode(tmp_path, mode, setting, value, named):
    config = {"access_token": TOKEN, "api_url": "http://127.0.0.1:9", setting: value}
    done, _ = _cli(tmp_path, config, *mode)
    assert done.returncode == 1, done.stderr
    _plain(done)
    assert named in _last_line(done)
    assert done.stdout == ""


@pytest.mark.parametrize("settings", [{}, {"oauth_token_endpoint": "v1", "api_version": "v3"}])
def test_discovery_needs_no_credentials(tmp_path, settings):
    done, _ = _cli(tmp_path, settings, "--discover")
    assert done.returncode == 0, done.stderr
    assert {entry["tap_stream_id"] for entry in json.loads(done.stdout)["streams"]} >= {
        "login_activity",
        "audit_logs",
        "security_activity",
    }


def test_an_unreachable_host_fails_within_30_seconds_naming_api_url(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again when the block ends: refused
    api_url = f"http://127.0.0.1:{port}"
    done, seconds = _cli(tmp_path, {"access_token": TOKEN, "api_url": api_url})
    assert done.returncode == 1
    _plain(done)
    assert seconds < 30
    assert api_url in _last_line(done)
    assert "Connection refused" in _last_line(done)
    assert len([line for line in done.stderr.splitlines() if "ERROR" in line]) == 1
