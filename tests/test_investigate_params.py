"""hubspot-activity's parameters, offline: times, ranges, ids, users, lists, settings."""

from __future__ import annotations

import datetime as dt
import json
import re
import shlex
from pathlib import Path

import pytest

from hubspot_activity_investigate import cli, params, settings
from hubspot_activity_investigate.errors import InvestigationError

NOW = dt.datetime(2026, 10, 1, 12, 0, tzinfo=dt.UTC)  # a Thursday


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7d", NOW - dt.timedelta(days=7)),
        ("24h", NOW - dt.timedelta(hours=24)),
        ("30m", NOW - dt.timedelta(minutes=30)),
        ("2w", NOW - dt.timedelta(weeks=2)),
        (" 7D ", NOW - dt.timedelta(days=7)),
        ("now", NOW),
        ("today", dt.datetime(2026, 10, 1, tzinfo=dt.UTC)),
        ("yesterday", dt.datetime(2026, 9, 30, tzinfo=dt.UTC)),
        ("monday", dt.datetime(2026, 9, 28, tzinfo=dt.UTC)),
        ("thursday", dt.datetime(2026, 10, 1, tzinfo=dt.UTC)),
        ("friday", dt.datetime(2026, 9, 25, tzinfo=dt.UTC)),
        ("2026-09-01", dt.datetime(2026, 9, 1, tzinfo=dt.UTC)),
        ("2026-09-01T08:00:00Z", dt.datetime(2026, 9, 1, 8, tzinfo=dt.UTC)),
        ("2026-09-01T10:00:00+02:00", dt.datetime(2026, 9, 1, 8, tzinfo=dt.UTC)),
    ],
)
def test_times(text, expected):
    assert params.parse_time(text, NOW) == expected


@pytest.mark.parametrize("text", ["7 days ago", "d7", "-7d", "1=1", "2026-02-30", ""])
def test_what_is_not_a_time(text):
    with pytest.raises(InvestigationError, match="is not a time"):
        params.parse_time(text, NOW)


def test_ranges():
    assert params.parse_range("7d", None, NOW) == (NOW - dt.timedelta(days=7), NOW)
    assert params.parse_range(None, None, NOW) == (NOW - params.DEFAULT_SINCE, NOW)
    assert params.parse_range(None, "2026-09-01", NOW)[0] == dt.datetime(2026, 8, 2, tzinfo=dt.UTC)
    with pytest.raises(InvestigationError, match="the range is empty"):
        params.parse_range("2026-10-01", "2026-09-01", NOW)
    with pytest.raises(InvestigationError, match="the range is empty"):
        params.parse_range("now", "now", NOW)
    with pytest.raises(InvestigationError, match="spans 400 days; a question reads at most 366"):
        params.parse_range("400d", None, NOW)


def test_ids_and_users():
    assert params.parse_id("62515", "portal") == 62515
    assert params.parse_id(62515, "portal") == 62515
    assert params.parse_user("12345") == params.User(user_id=12345)
    assert params.parse_user(" Zoe.Novak@Lumon.example ") == params.User(
        email="zoe.novak@lumon.example"
    )
    for bad in ("12x45", "1e5", "-1", "١٢٣", "9" * 19, "1 or 1=1"):
        with pytest.raises(InvestigationError, match="is not a numeric HubSpot portal id"):
            params.parse_id(bad, "portal")
    for bad in ("12x45", "zoe", "a@b@c", "x'; drop table t; --"):
        with pytest.raises(InvestigationError, match="user id or an e-mail"):
            params.parse_user(bad)


def test_names_lists_months_limits():
    assert params.parse_list("CHANGE_PASSWORD, remove_two_factor_authentication", "types") == (
        "change_password",
        "remove_two_factor_authentication",
    )
    assert params.parse_list("new_country_login", "detections", params.DETECTIONS) == (
        "new_country_login",
    )
    with pytest.raises(InvestigationError, match="security activity type"):
        params.parse_list("CHANGE_PASSWORD'--", "types")
    with pytest.raises(InvestigationError, match="is not one of"):
        params.parse_choice("admin", "change_type", params.CHANGE_TYPES)
    assert params.parse_month("2026-10", NOW) == dt.date(2026, 10, 1)
    assert params.parse_month("October", NOW) == dt.date(2026, 10, 1)
    assert params.parse_month("november", NOW) == dt.date(2025, 11, 1)
    assert params.parse_limit("20") == 20
    for bad in ("0", "5001", "ten", "-1"):
        with pytest.raises(InvestigationError, match="is not a number of rows"):
            params.parse_limit(bad)


def test_parse_takes_as_of_and_refuses_the_unknown():
    parsed = params.parse({"since": "24h", "as_of": "2026-10-01T12:00:00Z", "user": "7"})
    assert (parsed.since, parsed.until, parsed.user) == (
        NOW - dt.timedelta(hours=24),
        NOW,
        params.User(user_id=7),
    )
    with pytest.raises(InvestigationError, match="unknown parameter"):
        params.parse({"sql": "select 1"})


def test_settings_follow_the_dbt_profile_and_hide_the_password():
    with pytest.raises(InvestigationError, match=r"no warehouse configured.*make warehouse"):
        settings.from_env({"DBT_POSTGRES_USER": "someone"})
    env = {
        "TARGET_POSTGRES_HOST": "target-host",
        "TARGET_POSTGRES_PORT": "6543",
        "TARGET_POSTGRES_USER": "loader",
        "TARGET_POSTGRES_PASSWORD": "target-secret",
        "TARGET_POSTGRES_DATABASE": "warehouse",
    }
    found = settings.from_env(env)
    assert (found.host, found.port, found.user, found.dbname) == (
        "target-host",
        6543,
        "loader",
        "warehouse",
    )
    assert found.schema == "hubspot_activity_analytics"
    preferred = settings.from_env(
        {**env, "DBT_POSTGRES_HOST": "dbt-host", "DBT_POSTGRES_SCHEMA": "mine"}
    )
    assert (preferred.host, preferred.schema) == ("dbt-host", "mine")
    assert "target-secret" not in repr(found) + found.describe()
    with pytest.raises(InvestigationError, match="not a port number"):
        settings.from_env({**env, "TARGET_POSTGRES_PORT": "x"})


def test_the_readme_examples_parse_and_its_mcp_configuration_connects_as_described():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    body = readme.split("\n## Investigating\n", 1)[1].split("\n## ", 1)[0]
    commands = re.search(r"```bash\n(.*?)```", body, re.DOTALL).group(1)
    parser = cli.build_parser()
    for line in commands.splitlines():
        argv = shlex.split(line.split("#", 1)[0])
        assert argv[0] == ".venv/bin/hubspot-activity"
        parser.parse_args(argv[1:])
    client = json.loads(re.search(r"```json\n(.*?)```", body, re.DOTALL).group(1))
    server = client["mcpServers"]["hubspot-activity"]
    assert server["command"].endswith("/.venv/bin/hubspot-activity")
    assert server["args"] == ["mcp"]
    found = settings.from_env(server["env"])
    assert (found.host, found.user, found.dbname, found.schema) == (
        "warehouse.internal",
        "analyst_readonly",
        "analytics",
        "hubspot_activity_analytics",
    )
