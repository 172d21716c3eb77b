"""Incremental dbt builds equal a full refresh, model by model, row for row.

One warehouse is built the way the hourly job builds it: a first load and build (the
run's shared one, tests/dbt_build.py, copied into this module's own database), then
rounds of new events (some recorded late), the verification job re-loading a week of
events, and a round with nothing new, each followed by an incremental `dbt build`.
The same loaded tables are then built again from scratch (`--full-refresh`) into a
second models schema. Every model must hold the same rows in both, compared with
EXCEPT both ways. The lookback is set to 0 here, so each incremental build reads only
what was loaded after its cutoff: what a lookback would re-read cannot hide a miss (a
first build reads everything, whatever the lookback). The build with nothing new, and
a build after copies committed late, run with the project's lookback.
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


def build(env: dict[str, str], *args: str, lookback: bool = False) -> str:
    """dbt build; without the project's lookback unless `lookback`."""
    options = () if lookback else ("--vars", NO_LOOKBACK)
    result = meltano(env, "invoke", "dbt-postgres", "build", *options, *args)
    output = result.stdout + result.stderr
    assert "ERROR=0" in output, output[-3000:]
    return output


def load(env: dict[str, str], extractor: str = "tap-hubspot-activity") -> None:
    meltano(env, "run", extractor, "target-postgres")


def query(pg: t.Any, statement: sql.Composable) -> list[tuple[t.Any, ...]]:
    with psycopg.connect(pg.uri, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute(statement)
        return cur.fetchall()


def execute(pg: t.Any, statement: sql.Composable) -> None:
    with psycopg.connect(pg.uri, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute(statement)


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


def difference(pg: t.Any, table: str, left: str, right: str, ignored: tuple[str, ...] = ()) -> int:
    """Rows of left.table that right.table lacks (EXCEPT ALL), clock and `ignored` aside.

    `ignored` columns are left out, and so is OCSF's metadata.logged_time (the same
    load time) inside JSON columns (the event, or ocsf_export's metadata column).
    """
    columns = query(
        pg,
        sql.SQL(
            "SELECT column_name, data_type FROM information_schema.columns"
            " WHERE table_schema = {} AND table_name = {} ORDER BY ordinal_position"
        ).format(sql.Literal(left), sql.Literal(table)),
    )
    compared = []
    for name, data_type in columns:
        if name in CLOCK_COLUMNS.get(table, ()) or name in ignored:
            continue
        if ignored and data_type in ("json", "jsonb"):
            logged = sql.SQL(
                "CASE WHEN jsonb_typeof({c}::jsonb) = 'object'"
                " THEN {c}::jsonb #- '{{metadata,logged_time}}' #- '{{logged_time}}'"
                " ELSE {c}::jsonb END"
            )
            compared.append(logged.format(c=sql.Identifier(name)))
        else:
            compared.append(sql.Identifier(name))
    listed = sql.SQL(", ").join(compared)
    statement = sql.SQL(
        "SELECT count(*) FROM (SELECT {cols} FROM {l} EXCEPT ALL SELECT {cols} FROM {r}) d"
    ).format(cols=listed, l=sql.Identifier(left, table), r=sql.Identifier(right, table))
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
    # Nothing new at all, everything loaded within the project's lookback (60 minutes):
    # staging re-reads it all, holds every copy already, and writes nothing.
    idle = build(env, lookback=True)
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


# The loaded tables of the copies committed late, each with its staging model.
LATE = {
    "login_activity": "stg_login_activity",
    "audit_logs": "stg_audit_logs",
    "security_activity": "stg_security_activity",
}


def commit_late_copies(pg: t.Any) -> None:
    """A loader batch stamped before the last build and committed after it: a new event
    per table (a copy of a loaded row under a new id), its _sdc_batched_at five minutes
    before the newest load staging holds."""
    for table, staging in LATE.items():
        names = [
            name
            for (name,) in query(
                pg,
                sql.SQL(
                    "SELECT column_name FROM information_schema.columns"
                    " WHERE table_schema = {} AND table_name = {} ORDER BY ordinal_position"
                ).format(sql.Literal(SOURCE_SCHEMA), sql.Literal(table)),
            )
        ]
        values = {
            "id": sql.SQL("'late-' || id"),
            "_sdc_batched_at": sql.SQL(
                "(SELECT max(loaded_at) - interval '5 minutes' FROM {})"
            ).format(sql.Identifier(INCREMENTAL, staging)),
        }
        statement = sql.SQL("INSERT INTO {t} ({cols}) SELECT {vals} FROM {t} LIMIT 1").format(
            t=sql.Identifier(SOURCE_SCHEMA, table),
            cols=sql.SQL(", ").join(map(sql.Identifier, names)),
            vals=sql.SQL(", ").join(values.get(name, sql.Identifier(name)) for name in names),
        )
        execute(pg, statement)


def test_copies_committed_late_reach_every_model(increments, env, pg):
    # Below staging no model reads a lookback: a late copy reaches them only because
    # staging gives it a loaded_at past their cutoffs. A full refresh reads the loaded
    # tables whole, so each model must hold the same rows, loaded_at aside (the late
    # copies' is the time staging took them in, not the loader's stamp).
    commit_late_copies(pg)
    build(env, lookback=True)
    late = query(
        pg,
        sql.SQL("SELECT source, event_id FROM {} WHERE event_id LIKE 'late-%'").format(
            sql.Identifier(INCREMENTAL, "activity_events")
        ),
    )
    assert sorted(source for source, _ in late) == ["audit", "login", "security"]
    full_env = {**env, "DBT_POSTGRES_SCHEMA": FULL_REFRESH}
    build(full_env, "--full-refresh")
    ignored = ("loaded_at", "export_loaded_at")
    differing = {
        table: (
            difference(pg, table, INCREMENTAL, FULL_REFRESH, ignored),
            difference(pg, table, FULL_REFRESH, INCREMENTAL, ignored),
        )
        for table in sorted(relations(pg, INCREMENTAL))
    }
    assert {table: d for table, d in differing.items() if d != (0, 0)} == {}
