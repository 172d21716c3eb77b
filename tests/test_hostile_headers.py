"""Issue 25's header classes against the tap as a process (tests/hostile_headers.py's servers).

Header injection from the token endpoint and credentials a header cannot carry end in
one plain line that names the setting or the token endpoint and never the value;
look-alike ids give one record per (portalId, id) in a run, manifests counting exactly
what was emitted; rate-limit headers that hold requests longer than HubSpot's documented
interval say so once per portal.
"""

from __future__ import annotations

import collections
import json
import re
import subprocess
import sys
import typing as t

import pytest

from tests import hostile_headers
from tests.hostile import HostileServer
from tests.hostile_cli import (
    BOUND_S,
    FAST,
    REFRESH,
    SECRET,
    TOKEN,
    assert_plain_failure,
    config_for,
    run_cli,
)

if t.TYPE_CHECKING:
    from pathlib import Path

    from tests.hostile_cli import CliRun


def _oauth_config(server: HostileServer, **overrides: t.Any) -> dict[str, t.Any]:
    config = config_for(server, client_id="id", client_secret=SECRET, refresh_token=REFRESH)
    del config["access_token"]
    return {**config, **overrides}


def _never_shown(run: CliRun, value: str) -> None:
    output = run.stderr + run.stdout
    for start in range(max(1, len(value) - 15)):
        assert value[start : start + 16] not in output


# Classes 2 and 3: what goes into a header.


@pytest.mark.parametrize("kind", sorted(hostile_headers.BAD_TOKENS))
def test_an_issued_access_token_a_header_cannot_carry_is_refused_plainly(kind):
    issued = hostile_headers.BAD_TOKENS[kind]
    with HostileServer(hostile_headers.issues_access_token) as server:
        server.state["access_token"] = issued
        run = run_cli(_oauth_config(server))
        api_calls = [request for request in server.requests if "/oauth/" not in request["path"]]
    assert_plain_failure(run, "token endpoint issued an access token with")
    assert api_calls == []  # the token was never sent
    _never_shown(run, issued)


def test_an_issued_refresh_token_with_crlf_is_refused_before_it_is_posted_back():
    broken = "refresh-issued-0123456789\r\nX-Injected: yes"
    with HostileServer(hostile_headers.issues_refresh_token) as server:
        server.state["refresh_token"] = broken
        run = run_cli(_oauth_config(server))
        grants = [request["body"] for request in server.paths("/oauth/")]
    assert_plain_failure(run, "token endpoint issued a refresh token with a control character")
    assert len(grants) == 1  # the broken one never went back in a form
    _never_shown(run, broken)


@pytest.mark.parametrize(
    ("setting", "value", "named"),
    [
        ("access_token", TOKEN + "-\u20ac", "a non-ASCII character (U+20AC)"),
        ("access_token", TOKEN + "-caf\u00e9", "a non-ASCII character (U+00E9)"),
        ("access_token", TOKEN + "\x80tail", "a control character (U+0080)"),
        ("access_token", TOKEN + "\u2028tail", "a space (U+2028)"),
        ("client_secret", SECRET + "\u043a\u043b\u044e\u0447", "a non-ASCII character (U+043A)"),
    ],
)
@pytest.mark.parametrize("mode", [[], ["--test"], ["--discover"]])
def test_a_credential_a_header_cannot_carry_fails_every_mode_plainly(
    tmp_path: Path, mode, setting, value, named
):
    config: dict[str, t.Any] = {"api_url": "http://127.0.0.1:9", **FAST, setting: value}
    if setting != "access_token":
        config.update(client_id="id", refresh_token=REFRESH)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    done = subprocess.run(
        [sys.executable, "-m", "tap_hubspot_activity", "--config", str(path), *mode],
        capture_output=True,
        text=True,
        timeout=BOUND_S,
        check=False,
    )
    assert done.returncode == 1, done.stderr[-1500:]
    assert "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert f"{setting} has {named}" in last, last
    assert done.stdout == ""
    for start in range(len(value) - 15):
        assert value[start : start + 16] not in done.stderr


# Class 4: look-alike ids.


def test_lookalike_ids_give_one_record_per_portal_and_id_and_manifests_count_them():
    with HostileServer(hostile_headers.lookalike_ids) as server:
        run = run_cli(config_for(server, user_ids=[1, 2], cms_content_audit=True))
    assert run.code == 0, run.stderr[-2000:]
    emitted: dict[str, list[str]] = collections.defaultdict(list)
    listed: dict[str, list[str]] = collections.defaultdict(list)
    for message in run.messages("RECORD"):
        record = message["record"]
        if message["stream"] == "sync_manifests":
            listed[record["stream"]] += record["ids"]
        else:
            emitted[message["stream"]].append(record["id"])
    assert sorted(emitted["login_activity"]) == hostile_headers.LOGIN_KEYS
    assert emitted["security_activity"] == ["7"]
    assert len(emitted["cms_content_audit"]) == 1
    for stream, ids in emitted.items():
        assert collections.Counter(listed[stream]) == collections.Counter(ids), stream
    # One warning per stream and portal, counting the repeats of every partition:
    # login 2 repeats in userId 1, then userId 2's 7 records; security 1; the CMS log 1.
    warnings = [line for line in run.stderr.splitlines() if "whose id was emitted already" in line]
    assert len(warnings) == 3, warnings
    assert "login_activity: dropped 9 records" in "\n".join(warnings)
    assert "security_activity: dropped 1 record " in "\n".join(warnings)
    assert "cms_content_audit: dropped 1 record " in "\n".join(warnings)


# Class 7: rate-limit headers that hold requests longer than HubSpot's 10 s.


def test_a_long_rate_limit_interval_is_warned_about_once_per_portal():
    with (
        HostileServer(hostile_headers.long_interval, attack_details=True) as first,
        HostileServer(hostile_headers.long_interval, "127.0.0.2", attack_details=True) as second,
    ):
        portals = []
        for portal_id, (label, server) in enumerate({"a": first, "b": second}.items(), 9):
            # Remaining 0 pauses half an interval: 12 s, past HubSpot's documented 10 s.
            server.state.update(interval_ms=24_000, portal_id=portal_id)
            portals.append({"label": label, "access_token": TOKEN, "api_url": server.url})
        run = run_cli({"portals": portals, **FAST, "max_parallel_portals": 2})
    assert run.code == 0, run.stderr[-2000:]
    for label in "ab":
        lines = [
            line for line in run.stderr.splitlines() if f"Rate limit of portal '{label}'" in line
        ]
        assert len(lines) == 1, lines
        assert "X-HubSpot-RateLimit-Interval-Milliseconds: 24000" in lines[0]
        assert re.search(r"hold requests for 1[12]\.\d s", lines[0]), lines[0]
        assert "WARNING" in lines[0]
