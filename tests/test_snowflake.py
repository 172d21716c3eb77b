"""The whole dbt project on Snowflake's dialect: dbt-snowflake against fakesnow on loopback.

The raw tables the shared build loaded into PostgreSQL (tests/dbt_build.py) are copied
into fakesnow in target-snowflake's shape (tests/snowflake_load.py), then
`meltano invoke dbt-snowflake:build` builds staging, marts, detections and OCSF there.
Every model must hold the same rows as on PostgreSQL, the detections the incidents the
emulator planted, and every OCSF event must validate against OCSF 1.8.0.
"""

from __future__ import annotations

import json
import re
import time
import typing as t

import pytest

from tests.conftest import ensure_plugins, meltano
from tests.dbt_build import ANALYTICS, MODELS, SOURCE_SCHEMA, TABLES, TOKEN, DbtBuild
from tests.snowflake_load import FakeSnowServer, copy_table
from tests.test_ocsf import ocsf_errors

pytestmark = pytest.mark.pipeline

DATABASE = "HUBSPOT"
INCREMENTAL_SELECTOR = "config.materialized:incremental"
# What only an increment's compiled query holds: a load-time cutoff, read from the
# model's own table or from the watermarks when the node ran and written as a literal
# UTC timestamp (hs_utc_literal: on Snowflake a dateadd of the fraction); a first build
# reads everything.
INCREMENT_MARK = "loaded_at > dateadd("


def without_nulls(value: t.Any) -> t.Any:
    """Snowflake's object_construct leaves out every key whose value is NULL (its
    documentation), at every depth; fakesnow keeps them as JSON null inside nested
    objects. Dropped here, so the event is what Snowflake itself stores."""
    if isinstance(value, dict):
        return {key: without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [without_nulls(item) for item in value]
    return value


FAKESNOW_TIME_TEXT = re.compile(r'^(\d{4}-\d{2}-\d{2})[ T]"?T?"?(\d{2}:\d{2}:\d{2}\.\d{3})"Z"$')


def snowflake_text(value: t.Any) -> t.Any:
    """Times written with to_varchar(..., 'YYYY-MM-DD"T"HH24:MI:SS.FF3"Z"'): Snowflake
    prints the double-quoted literals without their quotes (its documentation), fakesnow
    keeps them ('2026-08-03T08:35:39.313"Z"'). Read the way Snowflake writes them."""
    if isinstance(value, dict):
        return {key: snowflake_text(item) for key, item in value.items()}
    if isinstance(value, list):
        return [snowflake_text(item) for item in value]
    if isinstance(value, str) and (match := FAKESNOW_TIME_TEXT.match(value)):
        return f"{match[1]}T{match[2]}Z"
    return value


class SnowflakeBuild(t.NamedTuple):
    server: FakeSnowServer
    conn: t.Any
    output: str
    seconds: float
    loaded: dict[str, int]
    increments: dict[str, int]

    def query(self, statement: str) -> list[dict[str, t.Any]]:
        cursor = self.conn.cursor()
        cursor.execute(statement)
        names = [column[0].lower() for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def select(self, table: str, *columns: str) -> list[dict[str, t.Any]]:
        """Columns of a model of the analytics schema (names are the project's own)."""
        statement = f"SELECT {', '.join(columns)} FROM {ANALYTICS.upper()}.{table.upper()}"  # noqa: S608
        return self.query(statement)

    def count(self, schema: str, table: str) -> int:
        return int(self.query(f"SELECT count(*) AS n FROM {schema}.{table}")[0]["n"])  # noqa: S608


@pytest.fixture(scope="module")
def snowflake(
    ocsf_build: DbtBuild, tmp_path_factory: pytest.TempPathFactory
) -> t.Iterator[SnowflakeBuild]:
    home = tmp_path_factory.mktemp("snowflake")
    with FakeSnowServer(home / "fakesnow.log") as server:
        conn = server.connect()
        cursor = conn.cursor()
        cursor.execute(f"CREATE DATABASE {DATABASE}")
        cursor.execute(f"CREATE SCHEMA {DATABASE}.{SOURCE_SCHEMA.upper()}")
        cursor.execute(f"USE DATABASE {DATABASE}")
        loaded = {
            table: copy_table(ocsf_build.pg.uri, SOURCE_SCHEMA, table, conn, SOURCE_SCHEMA)
            for table in (*TABLES, "sync_manifests")
        }
        env = {
            **ocsf_build.env,
            **server.dbt_env(DATABASE),
            "DBT_SNOWFLAKE_SOURCE_SCHEMA": SOURCE_SCHEMA,
            "DBT_TARGET_PATH": str(home / "dbt-target"),
            "DBT_LOG_PATH": str(home / "dbt-logs"),
        }
        ensure_plugins(env, "dbt-snowflake")
        started = time.monotonic()
        build = meltano(env, "invoke", "dbt-snowflake:build")
        seconds = time.monotonic() - started
        print(f"dbt-snowflake build on fakesnow: {seconds:.1f} s")  # noqa: T201
        # The incremental models' increments: compiled now that their tables exist,
        # their queries have is_incremental() true (the load-time cutoffs, the
        # watermarks), and each runs on fakesnow (counted: the connector misreads
        # fakesnow's nanosecond timestamps in fetched rows). The delete+insert itself
        # cannot run on fakesnow 0.12.1: dbt-snowflake stages the batch in a temporary
        # table named <database>.<schema>.<model>__dbt_tmp, and DuckDB refuses a
        # qualified temporary table ("TEMPORARY table names can *only* use the "temp"
        # catalog"); tests/test_dbt_incremental.py runs the whole cycle on PostgreSQL.
        meltano(env, "invoke", "dbt-snowflake", "compile", "--select", INCREMENTAL_SELECTOR)
        compiled = home / "dbt-target" / "compiled" / "hubspot_activity" / "models"
        increments = {}
        for path in sorted(compiled.glob("*/*.sql")):
            statement = path.read_text()
            if INCREMENT_MARK in statement.lower():
                try:
                    cursor.execute(f"SELECT count(*) FROM ({statement}) AS increment")  # noqa: S608
                except Exception as error:  # noqa: BLE001 - named, then failed
                    pytest.fail(f"the increment of {path.stem} failed on fakesnow: {error}")
                increments[path.stem] = int(cursor.fetchone()[0])
        yield SnowflakeBuild(server, conn, build.stdout + build.stderr, seconds, loaded, increments)
        conn.close()


def test_the_whole_project_builds_on_snowflake(snowflake, ocsf_build):
    assert "Completed successfully" in snowflake.output
    assert "ERROR=0" in snowflake.output
    assert "WARN=0" in snowflake.output
    assert TOKEN not in snowflake.output
    assert "PASS=" in snowflake.output
    # Every incremental model's increment query ran on Snowflake's dialect. The raw rows
    # were loaded within the lookback: staging reads them again and finds every copy
    # held (the anti-join), and below staging nothing is newer than the cutoffs; the
    # OCSF findings are replaced whole on every build.
    assert len(snowflake.increments) >= 14, snowflake.increments
    for model in ("stg_login_activity", "stg_audit_logs", "stg_security_activity"):
        assert snowflake.increments[model] == 0, (model, snowflake.increments)
    assert snowflake.increments["activity_events"] == 0
    assert snowflake.increments["ocsf_events"] > 0

    # The same nodes as on PostgreSQL: every model, seed and data test ran.
    def total(output: str) -> str:
        return output.rsplit("TOTAL=", maxsplit=1)[-1].split(maxsplit=1)[0]

    assert total(snowflake.output) == total(ocsf_build.build_output)
    assert snowflake.loaded == {
        table: ocsf_build.count(SOURCE_SCHEMA, table) for table in (*TABLES, "sync_manifests")
    }


def test_completeness_on_snowflake_lists_the_same_events_and_misses_none(snowflake, ocsf_build):
    [checked] = snowflake.select("completeness", "count(*) AS n", "sum(events_missing) AS missing")
    assert checked == {"n": ocsf_build.count(SOURCE_SCHEMA, "sync_manifests"), "missing": 0}
    # One load: every event listed once.
    events = sum(ocsf_build.count(SOURCE_SCHEMA, table) for table in TABLES)
    assert snowflake.count(ANALYTICS.upper(), "MANIFEST_EVENTS") == events


def test_every_model_has_the_same_rows_as_on_postgresql(snowflake, ocsf_build):
    counts = {
        name: (snowflake.count(ANALYTICS.upper(), name.upper()), ocsf_build.count(ANALYTICS, name))
        for name in MODELS
    }
    assert {name: sf for name, (sf, _) in counts.items()} == {
        name: pg for name, (_, pg) in counts.items()
    }
    assert all(pg > 0 for _, pg in counts.values()), counts


def test_activity_events_and_detections_are_the_same_events(snowflake, ocsf_build):
    keys = {
        (r["source"], r["event_id"], r["action"])
        for r in snowflake.select("activity_events", "source", "event_id", "action")
    }
    assert keys == {
        (r["source"], r["event_id"], r["action"]) for r in ocsf_build.model("activity_events")
    }
    privileged = {
        (r["source"], r["event_id"], r["change_type"], r["affects_other_user"])
        for r in snowflake.select(
            "privileged_changes", "source", "event_id", "change_type", "affects_other_user"
        )
    }
    assert privileged == {
        (r["source"], r["event_id"], r["change_type"], r["affects_other_user"])
        for r in ocsf_build.model("privileged_changes")
    }


def test_detections_on_snowflake_are_the_planted_incidents(snowflake, ocsf_build):
    found = ocsf_build.emu.incidents()
    planted = [found, *found["earlier"]]
    bursts = snowflake.select("failed_login_bursts", "user_id", "failed_logins", "event_ids")
    assert {(int(r["user_id"]), int(r["failed_logins"]), r["event_ids"]) for r in bursts} == {
        (
            incident["brute_force"]["user_id"],
            incident["brute_force"]["count"],
            ",".join(incident["brute_force"]["event_ids"]),
        )
        for incident in planted
    }
    new_countries = snowflake.select("new_country_logins", "event_id", "country_code")
    assert {(r["event_id"], r["country_code"]) for r in new_countries} == {
        (incident["new_country"]["event_id"], incident["new_country"]["country_code"])
        for incident in planted
    }


def test_ocsf_events_on_snowflake_validate_and_match_postgresql(snowflake, ocsf_build):
    rows = snowflake.select("ocsf_events", "hubspot_source", "metadata_uid", "class_uid", "event")
    postgres = {
        (r["hubspot_source"], r["metadata_uid"], r["class_uid"]): r["event"]
        for r in ocsf_build.model("ocsf_events")
    }
    assert len(rows) == len(postgres)
    for row in rows:
        event = snowflake_text(without_nulls(json.loads(row["event"])))
        assert ocsf_errors(event) == []
        expected = postgres[(row["hubspot_source"], row["metadata_uid"], int(row["class_uid"]))]
        assert snowflake_text(event) == expected
