"""hubspot-activity on the shared build: the analyst's questions through the CLI, and its safety."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from hubspot_activity_investigate import layer, settings
from hubspot_activity_investigate.catalog import QUESTIONS
from hubspot_activity_investigate.errors import InvestigationError
from tests.dbt_build import ANALYTICS, SOURCE_SCHEMA
from tests.investigate_support import (
    AS_OF,
    INJECTIONS,
    PASSWORD,
    SIX,
    answered,
    closed_port,
    model_counts,
    raw,
    rows,
    run_cli,
    warehouse_env,
)

ROOT = Path(__file__).resolve().parent.parent


def flags(params: dict[str, str]) -> list[str]:
    return [part for key, value in params.items() for part in (f"--{key.replace('_', '-')}", value)]


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI; whatever it printed, answer or error, never shows the password."""
    result = run_cli(env, *args)
    assert PASSWORD not in result.stdout + result.stderr
    return result


def plain_failure(result: subprocess.CompletedProcess[str], says: str) -> None:
    """Exit 1, nothing on stdout, one line on stderr saying `says`; no trace of a database."""
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1, result.stderr
    assert says in result.stderr
    for leak in ("Traceback", "psycopg", "ERROR:", "SQLSTATE", "FATAL", PASSWORD):
        assert leak not in result.stderr


@pytest.fixture(scope="module")
def env(dbt_build):
    return warehouse_env(dbt_build)


@pytest.fixture(scope="module")
def counts_before(dbt_build):
    return model_counts(dbt_build)


@pytest.fixture(scope="module")
def found(dbt_build):
    return settings.from_env(warehouse_env(dbt_build))


@pytest.mark.parametrize("case", SIX, ids=lambda case: case.title.replace(" ", "-"))
def test_the_six_questions_through_the_cli_equal_their_sql(dbt_build, env, case):
    params = case.params(dbt_build)
    result = cli(env, "ask", case.question, *flags(params), "--limit", "5000", "--format", "json")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    expected = case.expected(dbt_build, params)
    assert expected, f"{case.title}: the data set should have an answer"
    assert answered(answer, case) == expected, case.title
    assert answer["moreRows"] == 0


def test_a_readable_table_and_csv(dbt_build, env):
    user = rows(dbt_build, f'select "userId" from {raw("login_activity")} limit 1')[0][0]  # noqa: S608
    table = cli(
        env,
        "ask",
        "timeline",
        "--user",
        str(user),
        "--since",
        "60d",
        "--as-of",
        AS_OF,
        "--limit",
        "5000",
    )
    assert table.returncode == 0, table.stderr
    header, rule, *body, count = table.stdout.splitlines()
    assert header.split()[:4] == ["occurredAt", "portalId", "userId", "email"]
    assert set(rule) <= {"-", " "}
    assert count == f"{len(body)} rows"
    as_csv = cli(env, "ask", "pipeline-health", "--format", "csv")
    parsed = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    streams = rows(dbt_build, f"select stream, status from {ANALYTICS}.pipeline_health")  # noqa: S608
    assert {(row["stream"], row["status"]) for row in parsed} == set(streams)


def test_each_question_through_the_layer_equals_its_sql(dbt_build, found):
    window = ("2026-09-01", "2026-10-01")
    asked = {"since": window[0], "until": window[1], "limit": 5000}

    def ids(name, **more):
        answer = layer.ask(name, {**asked, **more}, found)
        return {row["eventId"] for row in answer.records()}

    failed = f'select id from {raw("login_activity")} where not "loginSucceeded" and "occurredAt" >= %s and "occurredAt" < %s'  # noqa: E501, S608
    assert ids("failed-logins") == {r[0] for r in rows(dbt_build, failed, *window)}
    removed = f'select id from {raw("security_activity")} where type = %s and "occurredAt" >= %s and "occurredAt" < %s'  # noqa: E501, S608
    expected = {r[0] for r in rows(dbt_build, removed, "REMOVE_TWO_FACTOR_AUTHENTICATION", *window)}
    assert ids("security-events", types="remove_two_factor_authentication") == expected
    changes = f"select event_id from {ANALYTICS}.privileged_changes where change_type = %s and occurred_at >= %s and occurred_at < %s"  # noqa: E501, S608
    expected = {r[0] for r in rows(dbt_build, changes, "user_added", *window)}
    assert expected
    assert ids("privileged-changes", change_type="user_added") == expected
    month = layer.ask("evidence-summary", {"month": "2026-09"}, found).records()
    failed_in_month = rows(dbt_build, failed.replace("select id", "select count(*)"), *window)[0][0]
    assert [row["loginsFailed"] for row in month] == [failed_in_month]
    health = layer.ask("pipeline-health", {}, found)
    held = rows(dbt_build, f"select 1 from {ANALYTICS}.pipeline_health")  # noqa: S608
    assert len(health.rows) == len(held)


def test_the_row_cap_says_how_many_rows_it_left_out(dbt_build, env, found):
    total = len(rows(dbt_build, f"select 1 from {raw('audit_logs')}"))  # noqa: S608
    answer = layer.ask(
        "timeline",
        {"source": "audit", "since": "2026-01-01", "until": "2026-10-02", "limit": 5},
        found,
    )
    assert (len(answer.rows), answer.more_rows) == (5, total - 5)
    shown = cli(
        env,
        "ask",
        "timeline",
        "--source",
        "audit",
        "--since",
        "2026-01-01",
        "--until",
        "2026-10-02",
        "--limit",
        "5",
    )
    assert shown.stdout.splitlines()[-1].startswith(f"5 rows; {total - 5} more rows not shown")


def test_the_connection_is_read_only_and_time_limited(dbt_build, found):
    with settings.connect(found) as conn:
        assert conn.execute("show default_transaction_read_only").fetchone() == ("on",)
        assert conn.execute("show statement_timeout").fetchone() == ("10s",)
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute(f"create table {ANALYTICS}.written_by_investigate (n int)")
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute(f"delete from {ANALYTICS}.activity_events")  # noqa: S608
        # The timeout is enforced, not only set: a shorter one for this session shows it.
        conn.execute("set statement_timeout = 200")
        with pytest.raises(psycopg.errors.QueryCanceled):
            conn.execute("select pg_sleep(2)")


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["timeline", "--user", "999999999"], "no user 999999999 in the warehouse"),
        (["timeline", "--user", "nobody@example.com"], "no user nobody@example.com"),
        (["failed-logins", "--portal", "4242"], "no portal 4242"),
        (["failed-logins", "--since", "2026-10-01", "--until", "2026-09-01"], "the range is empty"),
        (["timeline", "--since", "400d"], "a question reads at most 366"),
        (["timeline", "--portal", "62515abc"], "is not a numeric HubSpot portal id"),
        (["timeline", "--user", "12x45"], "is not a numeric HubSpot user id or an e-mail"),
        (["timeline", "--source", "email"], "is not one of login, audit, security, cms"),
        (["timeline", "--since", "last tuesday"], "is not a time"),
        (["evidence-summary", "--month", "2026-13"], "is not a month"),
        (["timeline", "--limit", "0"], "is not a number of rows"),
        (["timeline", "--month", "2026-10"], "unrecognized arguments"),
        (["who-did-it"], "invalid choice"),
    ],
)
def test_bad_input_is_one_plain_line_and_exit_1(env, args, says):
    plain_failure(cli(env, "ask", *args), says)


def test_injection_in_every_parameter_changes_nothing(dbt_build, env, found, counts_before):
    for question in QUESTIONS.values():
        for name in (*question.params, "limit"):
            for attempt in INJECTIONS:
                try:
                    answer = layer.ask(question.name, {name: attempt}, found)
                except InvestigationError as exc:
                    refused = str(exc)
                else:
                    assert answer.rows == (), (question.name, name, attempt)
                    refused = ""
                assert "SQLSTATE" not in refused
    # And through the CLI, one attempt per parameter of the widest question.
    for name in (*QUESTIONS["timeline"].params, "limit"):
        result = cli(env, "ask", "timeline", f"--{name.replace('_', '-')}", INJECTIONS[0])
        assert result.returncode in {0, 1}
        if result.returncode:
            plain_failure(result, "")
        else:
            assert result.stdout.strip() == "timeline: no rows"
    assert model_counts(dbt_build) == counts_before


def test_connection_failures_are_one_line_without_the_password(env):
    refused = cli({**env, "DBT_POSTGRES_PORT": str(closed_port())}, "ask", "pipeline-health")
    plain_failure(refused, "cannot connect to the warehouse")
    no_schema = cli({**env, "DBT_POSTGRES_SCHEMA": "no_such_schema"}, "ask", "pipeline-health")
    plain_failure(no_schema, "schema no_such_schema lacks the dbt models")
    unset = {k: v for k, v in env.items() if not k.startswith(("DBT_", "TARGET_"))}
    plain_failure(cli(unset, "ask", "pipeline-health"), "no warehouse configured")
    # TARGET_POSTGRES_* alone (what `make warehouse` prints) is enough.
    target = {
        key.replace("DBT_POSTGRES_DBNAME", "TARGET_POSTGRES_DATABASE").replace(
            "DBT_POSTGRES_", "TARGET_POSTGRES_"
        ): value
        for key, value in env.items()
    }
    assert cli(target, "ask", "pipeline-health").returncode == 0


def test_without_the_extra_the_cli_says_which_to_install(tmp_path):
    # The package alone, none of the installed distributions: psycopg and mcp missing.
    script = (
        "import sys; sys.path = [p for p in sys.path if 'site-packages' not in p]; "
        f"sys.path.insert(0, {str(ROOT)!r}); "
        "from hubspot_activity_investigate.cli import main; sys.exit(main())"
    )
    env = {"PATH": os.environ["PATH"]}
    for args in (["ask", "timeline"], ["mcp"]):
        result = subprocess.run(
            [sys.executable, "-I", "-c", script, *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            cwd=tmp_path,
        )
        assert (result.returncode, result.stdout) == (1, "")
        assert result.stderr == (
            "hubspot-activity needs the investigate extra: "
            "pip install 'tap-hubspot-activity[investigate]'\n"
        )


def test_the_schema_follows_the_dbt_profile():
    found = settings.from_env({"TARGET_POSTGRES_HOST": "h", "DBT_SOURCE_SCHEMA": SOURCE_SCHEMA})
    assert found.schema == ANALYTICS
