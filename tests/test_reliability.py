"""Rate limits, kills at any moment, hostile responses and secrets, against real HTTP."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hubspot_emulator import EmulatorConfig, HubSpotEmulator
from tap_hubspot_activity.engine.errors import DailyQuotaReserveError, HubspotError
from tests.conftest import SMALL_PORTAL, STREAMS, TOKEN, run_tap, tap_config, truth_ids

TAP = [sys.executable, "-m", "tap_hubspot_activity"]


def test_governor_stays_under_the_rolling_limit():
    modes = {**SMALL_PORTAL, "ten_second_max": 20, "rate_limit_interval_ms": 1000}
    with HubSpotEmulator(EmulatorConfig(seed=41, **modes)) as emu:
        run = run_tap(tap_config(emu, page_size=25))
        stats = emu.stats()
        for stream in STREAMS:
            assert sorted(run.ids(stream)) == sorted(truth_ids(emu, stream))
    # Far more requests than one window allows, and not one 429.
    assert stats["total_requests"] > 3 * 20
    assert stats["rate_limited"] == 0
    assert "Rate-limit governor" in run.log


def test_daily_quota_reserve_stops_cleanly_with_state():
    with HubSpotEmulator(EmulatorConfig(seed=43, daily_max=60, **SMALL_PORTAL)) as emu:
        config = tap_config(emu, page_size=20, daily_quota_reserve=25)
        run = run_tap(config, expect_error=True)
        stats = emu.stats()
        assert isinstance(run.error, DailyQuotaReserveError)
        assert "daily_quota_reserve" in str(run.error)
        assert "resets at midnight" in str(run.error)
        # It never dug into the reserve, and never met a 429.
        assert stats["total_requests"] <= 60 - 25 + 1
        assert stats["rate_limited"] == 0
        for stream, bookmark in run.state.get("bookmarks", {}).items():
            value = bookmark.get("replication_key_value")
            if value:
                assert all(r["occurredAt"] <= value for r in run.records.get(stream, []))


def _read_until_killed(process: subprocess.Popen, kill_after: int) -> tuple[list, dict]:
    """Read RECORD/STATE lines; SIGKILL the tap after `kill_after` records."""
    records: list[dict] = []
    state: dict = {}
    assert process.stdout is not None
    for line in process.stdout:
        message = json.loads(line)
        if message["type"] == "RECORD":
            records.append(message)
            if len(records) >= kill_after:
                process.send_signal(signal.SIGKILL)
                break
        elif message["type"] == "STATE":
            state = message["value"]
    process.wait(timeout=30)
    process.stdout.close()
    return records, state


@pytest.mark.parametrize("point", [0.0, 0.03, 0.12, 0.27, 0.41, 0.58, 0.76, 0.93, 0.999])
def test_kill_minus_nine_then_resume_loses_nothing(tmp_path, point):
    with HubSpotEmulator(EmulatorConfig(seed=47, **SMALL_PORTAL)) as emu:
        total = sum(len(truth_ids(emu, stream)) for stream in STREAMS)
        kill_after = max(1, int(total * point))
        config = tmp_path / "config.json"
        config.write_text(json.dumps(tap_config(emu, page_size=30)))
        killed = subprocess.Popen(
            [*TAP, "--config", str(config)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        first, state = _read_until_killed(killed, kill_after)
        assert killed.returncode == -signal.SIGKILL
        state_file = tmp_path / "state.json"
        state_file.write_text(json.dumps(state))
        resumed = subprocess.run(
            [*TAP, "--config", str(config), "--state", str(state_file)],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        second = [json.loads(line) for line in filter(None, resumed.stdout.split("\n"))]
        for stream in STREAMS:
            got = {
                m["record"]["id"]
                for m in first + second
                if m["type"] == "RECORD" and m["stream"] == stream
            }
            assert got == set(truth_ids(emu, stream)), (stream, kill_after)


def test_secrets_never_reach_output_logs_state_or_catalog(tmp_path):
    secrets = {
        "client_secret": "cs-very-secret-5151",
        "refresh_token": "rt-very-secret-7373",
    }
    modes = {**SMALL_PORTAL, "oauth_client_secret": secrets["client_secret"]}
    modes["oauth_refresh_token"] = secrets["refresh_token"]
    with HubSpotEmulator(EmulatorConfig(seed=53, **modes)) as emu:
        outputs = []
        env = {**os.environ, "LOGLEVEL": "DEBUG"}
        token_config = tmp_path / "token.json"
        token_config.write_text(json.dumps(tap_config(emu)))
        oauth = {k: v for k, v in tap_config(emu).items() if k != "access_token"}
        oauth |= {"client_id": "emu-client-id", **secrets}
        oauth_config = tmp_path / "oauth.json"
        oauth_config.write_text(json.dumps(oauth))
        emu.inject_fault("401-expired", count=1, path="/activity/login")
        for config in (token_config, oauth_config):
            for extra in ([], ["--discover"], ["--about"], ["--test"]):
                done = subprocess.run(
                    [*TAP, "--config", str(config), *extra],
                    capture_output=True,
                    text=True,
                    timeout=120,
                    env=env,
                    check=False,
                )
                outputs.append(done.stdout + done.stderr)
        # A failing run's error path too.
        emu.configure(access_token="another-token")
        failed = subprocess.run(
            [*TAP, "--config", str(token_config)],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
            check=False,
        )
        outputs.append(failed.stdout + failed.stderr)
        issued = emu.stats()["requests"].get("/oauth/2026-03/token 200", 0)
    everything = "\n".join(outputs)
    assert failed.returncode == 1
    assert issued >= 2
    assert "DEBUG" in everything
    assert '"type":"STATE"' in everything.replace(" ", "")
    for secret in (TOKEN, *secrets.values(), "emu-at-"):
        assert secret not in everything, secret


class _ScriptedHandler(BaseHTTPRequestHandler):
    """Answers the details call, then serves the scripted body for every activity page."""

    body: bytes = b"{}"

    def do_GET(self) -> None:
        payload = b'{"portalId": 9}' if "/details" in self.path else self.body
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def scripted_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ScriptedHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)
stamps = st.one_of(
    # hypothesis wants naive bounds and adds the zone itself.
    st.datetimes(
        min_value=dt.datetime(2020, 1, 1),  # noqa: DTZ001
        max_value=dt.datetime(2026, 1, 1),  # noqa: DTZ001
        timezones=st.just(dt.UTC),
    ).map(lambda d: d.isoformat().replace("+00:00", "Z")),
    json_values,
)
records = st.fixed_dictionaries(
    {"id": st.one_of(st.text(min_size=1, max_size=6), st.integers(), json_values)},
    optional={
        "createdAt": stamps,
        "type": json_values,
        "userId": json_values,
        "actingUser": json_values,
        "surprise": json_values,
    },
)
envelopes = st.one_of(
    st.fixed_dictionaries(
        {"results": st.lists(records | json_values, max_size=5)},
        optional={"paging": json_values},
    ),
    json_values,
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=envelopes)
def test_hostile_responses_give_a_clear_error_or_logged_skips(scripted_server, body):
    _ScriptedHandler.body = json.dumps(body).encode()
    host, port = scripted_server.server_address[:2]
    config = {
        "access_token": TOKEN,
        "api_url": f"http://{host}:{port}",
        "start_date": "2019-12-31T00:00:00Z",
        "end_date": "2026-06-01T00:00:00Z",
        "max_retry_seconds": 1,
    }
    catalog = _only("security_activity", config)
    run = run_tap(config, catalog=catalog, expect_error=None)
    if run.error is not None:
        # Foreseeable: the tap's own plain errors, never a KeyError or TypeError.
        assert isinstance(run.error, HubspotError), repr(run.error)
        assert "HubSpot" in str(run.error)
        return
    usable = _usable_ids(body)
    assert set(run.ids("security_activity")) == usable
    for record in run.records.get("security_activity", []):
        assert record.get("userId") is None or type(record["userId"]) is int
        assert record["portalId"] == 9


def _usable_ids(body: object) -> set[str]:
    """Records with a non-empty string or integer id and an ISO createdAt in range."""
    if not isinstance(body, dict) or not isinstance(body.get("results"), list):
        return set()
    start = dt.datetime(2019, 12, 31, tzinfo=dt.UTC)
    end = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    usable = set()
    for record in body["results"]:
        if not isinstance(record, dict):
            continue
        record_id = record.get("id")
        if isinstance(record_id, bool) or not isinstance(record_id, str | int) or record_id == "":
            continue
        try:
            stamp = dt.datetime.fromisoformat(record.get("createdAt"))
        except (TypeError, ValueError):
            continue
        stamp = stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)
        if start <= stamp < end:
            usable.add(str(record_id))
    return usable


def _only(stream: str, config: dict) -> dict:
    from tap_hubspot_activity.tap import TapHubspotActivity  # noqa: PLC0415

    catalog = TapHubspotActivity(config=config).catalog_dict
    for entry in catalog["streams"]:
        selected = entry["tap_stream_id"] == stream
        for metadata in entry["metadata"]:
            if metadata["breadcrumb"] == []:
                metadata["metadata"]["selected"] = selected
    return catalog
