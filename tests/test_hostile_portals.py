"""The portal list against hostile settings and servers: one portal twice, hundreds of portals.

One account listed twice would emit every event twice under one key (portalId, id): it is
refused with one line naming both entries, from the settings when they show it, else once
the portal ids are known, before any event of the later entry is emitted. Many portals
write STATE as they finish (a kill keeps their progress), and SIGTERM ends such a run
at once, the last STATE standing.
"""

from __future__ import annotations

import datetime as dt
import json
import typing as t

import pytest
from singer_sdk.exceptions import ConfigValidationError

from tap_hubspot_activity.engine.errors import FatalError
from tap_hubspot_activity.tap import TapHubspotActivity
from tests.hostile import HostileServer
from tests.hostile_cli import (
    FAST,
    REFRESH,
    SECRET,
    TOKEN,
    CliRun,
    assert_plain_failure,
    run_cli,
)
from tests.hostile_portals import one_event_each, portal_id_of, portal_per_token

# In the order the SDK syncs them.
STREAMS = ("audit_logs", "login_activity", "security_activity")
MANY = 300


def _start() -> str:
    return (dt.datetime.now(dt.UTC) - dt.timedelta(days=30)).isoformat()


def _portals_config(*entries: dict[str, t.Any], **overrides: t.Any) -> dict[str, t.Any]:
    return {"portals": list(entries), "start_date": _start(), **FAST, **overrides}


def _keys(run: CliRun) -> list[tuple[str, int, str]]:
    return [
        (message["stream"], message["record"]["portalId"], message["record"]["id"])
        for message in run.messages("RECORD")
        if message["stream"] != "sync_manifests"
    ]


def _bookmarked(state: dict[str, t.Any], stream: str) -> list[str]:
    partitions = state["bookmarks"].get(stream, {}).get("partitions", [])
    return [entry["context"]["portal"] for entry in partitions if "replication_key_value" in entry]


# 5. One portal listed twice.


@pytest.mark.parametrize("twice", ["same_url", "trailing_slash", "same_refresh_token"])
def test_one_portal_listed_twice_in_the_settings_is_refused_before_any_request(twice):
    with HostileServer(one_event_each) as server:
        first = {"label": "a", "access_token": TOKEN, "api_url": server.url}
        second = {**first, "label": "b"}
        if twice == "trailing_slash":
            second["api_url"] = f"{server.url}/"
        if twice == "same_refresh_token":
            oauth = {"client_id": "id", "client_secret": SECRET, "refresh_token": REFRESH}
            first = {"label": "a", "api_url": server.url, **oauth}
            second = {**first, "label": "b", "client_id": "another-app"}
        config = _portals_config(first, second)
        run = run_cli(config)
        sent = len(server.requests)
    assert_plain_failure(run, "portals[a]", "portals[b]", "listed twice")
    assert sent == 0
    assert not run.messages("RECORD")
    assert TOKEN not in run.stderr
    assert REFRESH not in run.stderr
    # Discovery needs no credentials, but a portal listed twice is refused there too.
    with pytest.raises(ConfigValidationError) as refused:
        TapHubspotActivity(config=config, validate_config=False)
    assert any("portals[a] and portals[b]" in error for error in refused.value.errors)


def test_two_urls_of_one_portal_emit_each_event_once_and_name_both_entries():
    # Two servers (two hosts) answering one portalId: only the portal ids can tell.
    with (
        HostileServer(one_event_each) as here,
        HostileServer(one_event_each, "127.0.0.2") as there,
    ):
        run = run_cli(
            _portals_config(
                {"label": "a", "access_token": TOKEN, "api_url": here.url},
                {"label": "b", "access_token": TOKEN, "api_url": there.url},
            )
        )
    assert_plain_failure(run, "1 of 2 portals failed", "portal 'a' and portal 'b'", "portalId 9")
    keys = _keys(run)
    assert sorted(keys) == sorted(set(keys))
    assert {stream for stream, _, _ in keys} == set(STREAMS)
    state = run.messages("STATE")[-1]["value"]
    for stream in STREAMS:
        assert _bookmarked(state, stream) == ["a"]


@pytest.mark.parametrize("parallel", [1, 4])
def test_the_later_entry_is_refused_even_when_its_portal_id_comes_first(parallel):
    # Two tokens of one account (portal 9); the first entry's details call is late.
    with HostileServer(portal_per_token, attack_details=True) as server:
        server.state["late"] = {f"{TOKEN}-a": 1.5}
        run = run_cli(
            _portals_config(
                {"label": "a", "access_token": f"{TOKEN}-a", "api_url": server.url},
                {"label": "b", "access_token": f"{TOKEN}-b", "api_url": server.url},
                max_parallel_portals=parallel,
            )
        )
    assert_plain_failure(run, "1 of 2 portals failed", "portal 'b': portal 'a' and portal 'b'")
    keys = _keys(run)
    assert sorted(keys) == sorted(set(keys))
    assert len(keys) == len(STREAMS)
    state = run.messages("STATE")[-1]["value"]
    for stream in STREAMS:
        assert _bookmarked(state, stream) == ["a"]


def test_the_connection_check_names_both_entries_of_one_portal():
    with HostileServer(portal_per_token, attack_details=True) as server:
        tap = TapHubspotActivity(
            config=_portals_config(
                {"label": "a", "access_token": f"{TOKEN}-a", "api_url": server.url},
                {"label": "b", "access_token": f"{TOKEN}-b", "api_url": server.url},
            )
        )
        with pytest.raises(FatalError) as failed:
            tap.check_connection()
    assert "portal 'a' and portal 'b' are one HubSpot portal" in str(failed.value)


# 6. Many portals: STATE as portals finish, SIGTERM at once.


def _many(server: HostileServer, count: int = MANY, **overrides: t.Any) -> dict[str, t.Any]:
    portals = [
        {"label": f"p{index}", "access_token": f"{TOKEN}-{index}", "api_url": server.url}
        for index in range(count)
    ]
    return _portals_config(*portals, **overrides)


def _assert_states_cover_only_emitted_events(run: CliRun) -> None:
    """Every bookmark of every STATE is the time of an event emitted before that STATE."""
    emitted: set[tuple[str, int, str]] = set()
    for line in run.stdout.splitlines():
        message = json.loads(line)
        if message["type"] == "RECORD" and message["stream"] in STREAMS:
            record = message["record"]
            emitted.add((message["stream"], record["portalId"], record["occurredAt"]))
        if message["type"] != "STATE":
            continue
        for stream in STREAMS:
            partitions = message["value"]["bookmarks"].get(stream, {}).get("partitions", [])
            for entry in partitions:
                if "replication_key_value" in entry:
                    token = f"{TOKEN}-{entry['context']['portal'][1:]}"
                    event = (stream, portal_id_of(token), entry["replication_key_value"])
                    assert event in emitted, event


def test_many_portals_write_state_as_they_finish():
    with HostileServer(portal_per_token, attack_details=True) as server:
        run = run_cli(_many(server), open_files=128)
    assert run.code == 0, run.stderr[-1500:]
    states = [message["value"] for message in run.messages("STATE")]
    for stream in STREAMS:
        counts = [len(_bookmarked(state, stream)) for state in states]
        assert any(0 < count <= MANY // 2 for count in counts), (stream, counts)
    # A tenth of the portals at a time, not one STATE per portal.
    assert len(states) < 20 * len(STREAMS)
    assert len(_bookmarked(states[-1], STREAMS[-1])) == MANY
    _assert_states_cover_only_emitted_events(run)


@pytest.mark.parametrize("parallel", [4, 32])
def test_sigterm_amid_many_portals_ends_at_once_and_keeps_their_progress(parallel):
    with HostileServer(portal_per_token, attack_details=True) as server:
        # Half of the first stream's portals were read: STATE has covered some of them.
        run = run_cli(
            _many(server, max_parallel_portals=parallel),
            stop_when=lambda: len(server.paths("/activity/audit-logs")) >= MANY // 2,
        )
    assert run.code == 1
    assert "Traceback" not in run.stderr
    assert run.seconds < 5  # from the signal to the exit
    assert "Stopped by SIGTERM" in run.last_line
    states = run.messages("STATE")
    assert states, "no STATE before the signal"
    assert MANY // 10 <= len(_bookmarked(states[-1]["value"], STREAMS[0])) < MANY
    _assert_states_cover_only_emitted_events(run)


def test_too_few_open_files_for_the_parallel_portals_is_one_plain_line():
    # Each portal read ahead holds a spool file and a connection: with the open-files limit
    # far below what max_parallel_portals needs, the run ends saying which limit to change.
    with HostileServer(portal_per_token, attack_details=True) as server:
        run = run_cli(_many(server, 40, max_parallel_portals=32), open_files=64)
    assert_plain_failure(run, "open-files limit")
