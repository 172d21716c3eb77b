"""Incremental dbt builds equal a full refresh, model by model, row for row.

One warehouse is built the way the hourly job builds it: a first load and build (the
run's shared one, tests/dbt_build.py, copied into this module's own database), then
rounds of new events (some recorded late), the verification job re-loading a week of
events, and a round with nothing new, each followed by an incremental `dbt build`.
The same loaded tables are then built again from scratch (`--full-refresh`) into a
second models schema. Every model must hold the same rows in both, compared with
EXCEPT both ways. The lookback is set to 0 here, so each incremental build reads only
what was loaded after its cutoff: what a lookback would re-read cannot hide a miss (a
first build reads everything, whatever the lookback).
"""

from __future__ import annotations

import json
import re
import typing as t

import psycopg
import pytest
from psycopg import sql

from tests.conftest import meltano
from tests.dbt_build import ANALYTICS, SOURCE_SCHEMA, DbtBuild

if t.TYPE_CHECKING:
    from hubspot_emulator import HubSpotEmulator

pytestmark = pytest.mark.pipeline

INCREMENTAL = ANALYTICS
FULL_REFRESH = f"{SOURCE_SCHEMA}_full_refresh"
NO_LOOKBACK = json.dumps({"incremental_lookback_minutes": 0})
STREAMS = ("login", "audit-logs", "security", "cms")


@pytest.fixture(scope="module")
def emu(dbt_build_copy: DbtBuild) -> HubSpotEmulator:
    """The emulator of the copy: the loaded data set, ready for new events."""
    return dbt_build_copy.emu


@pytest.fixture(scope="module")
def env(dbt_build_copy: DbtBuild) -> dict[str, str]:
    """The copy's Meltano environment (its own state, database and dbt target)."""
    return dbt_build_copy.env


@pytest.fixture(scope="module")
def pg(dbt_build_copy: DbtBuild) -> t.Any:
    """The copy's own database."""
    return dbt_build_copy.pg


def build(env: dict[str, str], *args: str) -> str:
    result = meltano(env, "invoke", "dbt-postgres", "build", "--vars", NO_LOOKBACK, *args)
    output = result.stdout + result.stderr
    assert "ERROR=0" in output, output[-3000:]
    return output


def load(env: dict[str, str], extractor: str = "tap-hubspot-activity") -> None:
    meltano(env, "run", extractor, "target-postgres")


def query(pg: t.Any, statement: sql.Composable) -> list[tuple[t.Any, ...]]:
    with psycopg.connect(pg.uri, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute(statement)
        return cur.fetchall()


def relations(pg: t.Any, schema: str) -> dict[str, str]:
    """Tables and views of a models schema (the watermarks are bookkeeping, not a model)."""
    rows = query(
        pg,
        sql.SQL(
            "SELECT table_name, table_type FROM information_schema.tables "
            "WHERE table_schema = {} AND table_name <> 'hubspot_activity_watermarks'"
        ).format(sql.Literal(schema)),
    )
    return dict(rows)


# Columns measured against the clock when the model is built: the incremental chain and
# the full refresh are built a minute apart, and dbt's datediff counts calendar hours, so
# they differ whenever an hour turns in between (seen at 14:00).
CLOCK_COLUMNS = {"pipeline_health": ("hours_since_last_load", "retention_days_left")}


def difference(pg: t.Any, table: str, left: str, right: str) -> int:
    """Rows of left.table that right.table lacks (EXCEPT ALL), clock columns aside."""
    names = [
        name
        for (name,) in query(
            pg,
            sql.SQL(
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_schema = {} AND table_name = {} ORDER BY ordinal_position"
            ).format(sql.Literal(left), sql.Literal(table)),
        )
        if name not in CLOCK_COLUMNS.get(table, ())
    ]
    columns = sql.SQL(", ").join(map(sql.Identifier, names))
    statement = sql.SQL(
        "SELECT count(*) FROM (SELECT {cols} FROM {l} EXCEPT ALL SELECT {cols} FROM {r}) d"
    ).format(cols=columns, l=sql.Identifier(left, table), r=sql.Identifier(right, table))
    return int(query(pg, statement)[0][0])


def count(pg: t.Any, schema: str, table: str) -> int:
    statement = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(schema, table))
    return int(query(pg, statement)[0][0])


@pytest.fixture(scope="module")
def increments(emu: HubSpotEmulator, env: dict[str, str], pg: t.Any) -> dict[str, t.Any]:
    """The hourly job's history: what each incremental build saw (the first load and
    build are the copy's)."""
    first = count(pg, INCREMENTAL, "activity_events")
    added = 0
    # New events, and events recorded late (inside the tap's 15-minute lookback), in
    # every stream; then a burst of failed logins for a user with history.
    for late in (0, 10):
        for stream in STREAMS:
            added += len(emu.add_events(stream, 5, late_minutes=late))
        load(env)
        build(env)
    # The verification job re-reads a week: old events loaded again, with a new load time.
    load(env, "tap-hubspot-activity--verify")
    build(env)
    # Nothing new at all.
    idle = build(env)
    return {"first": first, "added": added, "idle": idle}


def test_increments_and_a_full_refresh_hold_the_same_rows(increments, env, pg):
    full_env = {**env, "DBT_POSTGRES_SCHEMA": FULL_REFRESH}
    build(full_env, "--full-refresh")
    incremental = relations(pg, INCREMENTAL)
    full = relations(pg, FULL_REFRESH)
    assert incremental == full
    # The incremental models are tables, the rest of the chain too: every model counts.
    assert incremental["activity_events"] == "BASE TABLE"
    assert incremental["ocsf_events"] == "BASE TABLE"
    assert incremental["stg_login_activity"] == "BASE TABLE"
    differing = {
        table: (
            difference(pg, table, INCREMENTAL, FULL_REFRESH),
            difference(pg, table, FULL_REFRESH, INCREMENTAL),
        )
        for table in sorted(incremental)
    }
    assert {table: d for table, d in differing.items() if d != (0, 0)} == {}
    # Not equal by being empty: the increments reached every model that has rows.
    events = count(pg, INCREMENTAL, "activity_events")
    assert events == increments["first"] + increments["added"]
    loaded = sum(
        count(pg, SOURCE_SCHEMA, table)
        for table in ("login_activity", "audit_logs", "security_activity", "cms_content_audit")
    )
    assert events == loaded
    for table in (
        "ocsf_events",
        "failed_login_bursts",
        "privileged_changes",
        "monthly_evidence_summary",
        "completeness",
        "manifest_events",
    ):
        assert count(pg, INCREMENTAL, table) > 0, table


def test_a_build_with_nothing_new_reads_nothing_new(increments, pg):
    output = increments["idle"]
    assert "ERROR=0" in output
    # Every incremental model inserted no row ("INSERT 0 0": dbt's summary of the
    # delete+insert of an empty batch on PostgreSQL), but ocsf_events, whose findings
    # are replaced whole on every build.
    plain = re.sub(r"\x1b\[[0-9;]*m", "", output)
    lines = [
        line for line in plain.splitlines() if "incremental model" in line and "[INSERT" in line
    ]
    assert len(lines) >= 16, plain[-2000:]
    findings = count(pg, INCREMENTAL, "ocsf_detection_finding")
    for line in lines:
        expected = findings if ".ocsf_events " in line else 0
        assert f"[INSERT 0 {expected} in" in line, line
    watermarks = query(
        pg,
        sql.SQL("SELECT model_name FROM {}").format(
            sql.Identifier(INCREMENTAL, "hubspot_activity_watermarks")
        ),
    )
    assert {name for (name,) in watermarks} >= {
        "failed_login_bursts",
        "new_country_logins",
        "privileged_changes",
        "int_user_emails",
        "int_daily_activity",
        "int_monthly_users",
        "completeness",
        "ocsf_events",
    }
