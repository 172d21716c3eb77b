"""The tap against hostile and broken servers (tests/hostile.py): one test per class of attack.

Every foreseeable failure ends with exit 1 and one plain line within
max(60 s, max_retry_seconds + 30 s), or exit 0 with exactly the right records; memory
stays within the response cap plus 200 MB; no secret leaves the configured origin or
appears in any output.
"""

from __future__ import annotations

import datetime as dt
import json
import typing as t

import pytest

from tests import hostile
from tests.conftest import run_tap
from tests.hostile import HostileServer
from tests.hostile_cli import (
    FAST,
    REFRESH,
    SECRET,
    TOKEN,
    assert_plain_failure,
    run_cli,
)
from tests.hostile_cli import config_for as _config
from tests.hostile_portals import quiet_portal_per_token


def test_one_record_out_of_order_costs_no_event():
    with HostileServer(hostile.login_out_of_order) as server:
        run = run_tap(_config(server))
    ids = sorted(run.ids("login_activity"))
    assert ids == ["0", "2", "3", "4"]
    bookmark = run.state["bookmarks"]["login_activity"]["replication_key_value"]
    assert bookmark == max(record["occurredAt"] for record in run.records["login_activity"])


# 2. Unusable timestamps: skipped with a warning, never a bookmark, never a crash.


def test_unusable_timestamps_are_skipped_and_never_become_the_bookmark():
    with HostileServer(hostile.bad_timestamps) as server:
        config = _config(server)
        run = run_tap(config)
        assert run.ids("security_activity") == ["s0", "s6"]
        assert run.log.count("without a usable id or createdAt") == len(hostile.BAD_TIMES)
        bookmark = run.state["bookmarks"]["security_activity"]["replication_key_value"]
        assert bookmark == run.records["security_activity"][-1]["occurredAt"]
        again = run_tap(config, state=run.state)  # the next run starts from it, fine
    assert again.error is None


# 3. and 4. Secrets go to the configured origin only.


@pytest.mark.parametrize("status", [307, 302])
def test_the_token_request_never_follows_a_redirect_to_another_host(status):
    with (
        HostileServer(hostile.empty, "127.0.0.2") as elsewhere,
        HostileServer(hostile.oauth_redirect) as server,
    ):
        server.state.update(target=elsewhere.url, status=status)
        config = _config(server, client_id="id", client_secret=SECRET, refresh_token=REFRESH)
        del config["access_token"]
        run = run_cli(config)
        assert elsewhere.requests == []
    assert_plain_failure(run, "HubSpot refused to refresh the access token", str(status))
    assert SECRET not in run.stderr + run.stdout


def test_api_calls_never_follow_a_redirect_to_another_host():
    with (
        HostileServer(hostile.empty, "127.0.0.2") as elsewhere,
        HostileServer(hostile.api_redirect, attack_details=True) as server,
    ):
        server.state["target"] = elsewhere.url
        run = run_cli(_config(server))
        assert elsewhere.requests == []
    assert_plain_failure(run, "302", "follows no redirect")


@pytest.mark.parametrize("where", ["api_url", "portals"])
def test_an_api_url_that_parsers_read_two_ways_is_refused_before_any_request(where):
    with HostileServer(hostile.empty, "127.0.0.2") as elsewhere, HostileServer(hostile.empty):
        tricky = f"{elsewhere.url}\\@127.0.0.1:9"
        config: dict[str, t.Any] = {"access_token": TOKEN, "api_url": tricky, **FAST}
        if where == "portals":
            config = {"portals": [{"label": "a", "access_token": TOKEN, "api_url": tricky}], **FAST}
        run = run_cli(config)
        assert elsewhere.requests == []
    assert_plain_failure(run, "Bad settings", "backslash")
    assert TOKEN not in run.stderr


# 5. Redaction, before any cut, in every message.


def test_a_token_with_a_trailing_newline_works_and_is_never_printed():
    with HostileServer(hostile.empty) as server:
        run = run_cli(_config(server, access_token=TOKEN + "\n"))
        assert {request["auth"] for request in server.requests} == {f"Bearer {TOKEN}"}
    assert run.code == 0
    assert TOKEN[:16] not in run.stderr + run.stdout


def test_secrets_echoed_by_the_token_endpoint_are_redacted():
    with HostileServer(hostile.oauth_echo) as server:
        config = _config(server, client_id="id", client_secret=SECRET, refresh_token=REFRESH)
        del config["access_token"]
        run = run_cli(config)
    assert_plain_failure(run, "refused to refresh")
    for secret in (SECRET, REFRESH):
        for start in range(len(secret) - 15):
            assert secret[start : start + 16] not in run.stderr + run.stdout


def test_a_message_cut_at_300_characters_leaves_no_piece_of_the_token():
    with HostileServer(hostile.echo_token) as server:
        run = run_cli(_config(server))
    assert_plain_failure(run, "HubSpot answered 400")
    for start in range(len(TOKEN) - 15):
        assert TOKEN[start : start + 16] not in run.stderr


# 6. Everything ends: cursor loops.


@pytest.mark.parametrize("mode", [hostile.cursor_cycle, hostile.ignores_after])
def test_a_looping_cursor_ends_the_run_and_emits_nothing_twice(mode):
    with HostileServer(mode) as server:
        run = run_cli(_config(server))
        login_requests = len(server.paths("/activity/login"))
    assert_plain_failure(run, "login")
    assert login_requests <= 5
    ids = [message["record"]["id"] for message in run.messages("RECORD")]
    assert len(ids) == len(set(ids))


# 7. A body that trickles or never ends.


def test_a_trickling_body_is_bounded_by_the_request_timeout():
    with HostileServer(hostile.trickle, attack_details=True) as server:
        run = run_cli(_config(server))
    assert_plain_failure(run, "request_timeout")


# 8. Every pause is capped, and the log says how long.


def test_a_retry_after_beyond_the_budget_gives_up_at_once():
    with HostileServer(hostile.retry_after_forever, attack_details=True) as server:
        run = run_cli(_config(server))
    assert_plain_failure(run, "the 100000 s to wait")
    assert run.seconds < 15


def test_retry_after_inf_is_ignored_and_the_usual_waits_are_logged():
    with HostileServer(hostile.retry_after_inf, attack_details=True) as server:
        run = run_cli(_config(server, max_retry_seconds=12))
    # inf is no number of seconds: the rolling window's 10 s are waited instead.
    assert "Retrying /account-info/2026-09/details in 10.0 s" in run.stderr
    assert_plain_failure(run, "429", "the 10 s to wait")


def test_a_rate_limit_interval_of_three_years_is_not_believed():
    with HostileServer(hostile.huge_interval) as server:
        run = run_cli(_config(server))
    assert run.code == 0, run.stderr[-1000:]
    assert run.seconds < 45


# 9. One portal that hangs does not hold the others' records.


def test_a_hanging_portal_fails_alone_and_the_others_are_emitted():
    with (
        HostileServer(hostile.hang, attack_details=True) as stuck,
        HostileServer(hostile.login_out_of_order) as healthy,
    ):
        config = {
            "portals": [
                {"label": "stuck", "access_token": TOKEN, "api_url": stuck.url},
                {"label": "fine", "access_token": TOKEN, "api_url": healthy.url},
            ],
            "start_date": (dt.datetime.now(dt.UTC) - dt.timedelta(days=30)).isoformat(),
            **FAST,
        }
        run = run_cli(config)
    assert_plain_failure(run, "1 of 2 portals failed", "'stuck'")
    records = run.messages("RECORD")
    assert len([m for m in records if m["stream"] != "sync_manifests"]) == 4
    state = run.messages("STATE")[-1]["value"]["bookmarks"]["login_activity"]["partitions"]
    assert [entry["context"]["portal"] for entry in state if "replication_key_value" in entry] == [
        "fine"
    ]


# 10. SIGTERM stops at once, keeps the last STATE, exits non-zero.


def test_sigterm_during_a_hang_stops_promptly_with_exit_1():
    with HostileServer(hostile.hang, attack_details=True) as server:
        config = _config(server, max_retry_seconds=600, request_timeout=600)
        run = run_cli(config, stop_when=lambda: bool(server.requests))
    assert run.code == 1
    assert run.seconds < 5  # from the signal to the exit
    assert "Stopped by SIGTERM" in run.last_line


# 11. Memory: the response cap.


@pytest.mark.parametrize("mode", [hostile.one_gib_page, hostile.gzip_bomb, hostile.endless_chunked])
def test_an_oversized_answer_fails_within_the_cap(mode):
    hostile.gzip_bomb_body()  # made before the server answers, not while the tap waits
    with HostileServer(mode, attack_details=True) as server:
        run = run_cli(_config(server, max_response_mb=4))
    assert_plain_failure(run, "larger than 4 MB")
    assert run.max_rss_mb < 4 + 200


# 12. Many portals: STATE grows with the records, not the square of the portals.


def test_many_portals_write_state_in_proportion_and_few_files():
    sizes = {}
    # One token, one portalId each: one portal listed many times would be refused.
    with HostileServer(quiet_portal_per_token, attack_details=True) as server:
        for count in (100, 400):
            portals = [
                {"label": f"p{i}", "access_token": f"{TOKEN}-{i}", "api_url": server.url}
                for i in range(count)
            ]
            run = run_cli({"portals": portals, **FAST}, open_files=128, timeout=240)
            assert run.code == 0, run.stderr[-1500:]
            sizes[count] = sum(len(json.dumps(m)) for m in run.messages("STATE"))
    # Quadratic growth would be 16x; each portal adds its own bookmarks once or twice.
    assert sizes[400] / sizes[100] < 6


# 13. Plain errors, never a traceback.


@pytest.mark.parametrize(
    ("mode", "fragment"),
    [
        (hostile.hang, "request_timeout"),
        (hostile.truncated, "broke off"),
        (hostile.many_headers, "more than 100 headers"),
        (hostile.deep_json, "nested too deeply"),
        (hostile.redirect_loop, "follows no redirect"),
    ],
)
def test_broken_answers_end_in_one_plain_line(mode, fragment):
    with HostileServer(mode, attack_details=True) as server:
        run = run_cli(_config(server))
    assert_plain_failure(run, fragment)


def test_a_tls_failure_is_one_plain_line():
    with HostileServer(hostile.empty) as server:
        config = _config(server, api_url=server.url.replace("http://", "https://"))
        run = run_cli(config)
    assert_plain_failure(run, "TLS")
    assert run.seconds < 35


@pytest.mark.parametrize("expires_in", ["abc", -1])
def test_a_nonsense_token_lifetime_requests_one_token(expires_in):
    with HostileServer(hostile.oauth_expires) as server:
        server.state["expires_in"] = expires_in
        config = _config(server, client_id="id", client_secret=SECRET, refresh_token=REFRESH)
        del config["access_token"]
        run = run_cli(config)
        assert len(server.paths("/oauth/")) == 1
        assert len(server.paths("/activity/")) >= 3
    assert run.code == 0, run.stderr[-1000:]


def test_the_details_call_is_retried_once_per_portal_and_named_right():
    with HostileServer(hostile.unavailable, attack_details=True) as server:
        run = run_cli(_config(server))
        retried = len(server.paths("/details"))
    assert_plain_failure(run, "503", "/account-info/2026-09/details")
    assert "Retrying /account-info/2026-09/details" in run.stderr
    assert retried <= 4  # one budget of 3 s (1 + 2 s of waits), not one per stream
    assert run.seconds < 15


# 14. Values from HubSpot cannot forge a log line.


def test_hubspot_values_cannot_forge_log_lines():
    with HostileServer(hostile.injected_ids) as server:
        run = run_cli(_config(server))
    assert run.code == 1
    assert not any("| FAKE |" in line.split("injected")[0][:60] for line in run.stderr.splitlines())
    assert all(not line.startswith("2026-11-23 12:00:00,000") for line in run.stderr.splitlines())
    assert "\\x0a" in run.stderr
