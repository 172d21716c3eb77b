"""OCSF beyond the shared build: values HubSpot does not publish, and the export job's files.

Both start from the shared build (tests/dbt_build.py), checked against OCSF 1.8.0 with
tests/test_ocsf.py's validator: a build on a copy of the loaded tables with a new
security type and a new audit action planted, and `meltano run
hubspot-activity-ocsf-export` (tap-postgres -> target-jsonl), whole, then incremental.
"""

from __future__ import annotations

import json
import typing as t

import psycopg
import pytest
from psycopg import sql

from tests.conftest import ensure_plugins, meltano
from tests.dbt_build import ANALYTICS, OCSF_CLASSES, SOURCE_SCHEMA, TABLES, TOKEN, DbtBuild
from tests.test_ocsf import ocsf_errors

if t.TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.pipeline

# Values HubSpot does not publish (yet): a new security type and a new audit action.
NEW_SECURITY_TYPE = "SESSION_COOKIE_REVOKED"
NEW_AUDIT_ACTION = "BULK_REASSIGN"
UNKNOWN_SCHEMA = f"{SOURCE_SCHEMA}_unknown"
UNKNOWN_ANALYTICS = f"{UNKNOWN_SCHEMA}_analytics"


@pytest.fixture(scope="module")
def events(ocsf_build: DbtBuild) -> list[dict[str, t.Any]]:
    return ocsf_build.model("ocsf_events")


def copy_sources(ocsf_build: DbtBuild, schema: str) -> None:
    statements = [sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema))] + [
        sql.SQL("CREATE TABLE {} AS TABLE {}").format(
            sql.Identifier(schema, table), sql.Identifier(SOURCE_SCHEMA, table)
        )
        for table in TABLES
    ]
    with psycopg.connect(ocsf_build.pg.uri, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def plant_unknown_values(ocsf_build: DbtBuild, schema: str) -> tuple[str, str]:
    """One security event of a new type and one audit entry with a new action."""
    with psycopg.connect(ocsf_build.pg.uri, autocommit=True) as conn:
        for table, column, value in (
            ("security_activity", "type", NEW_SECURITY_TYPE),
            ("audit_logs", "action", NEW_AUDIT_ACTION),
        ):
            row_id = f"unknown-{table}"
            conn.execute(
                sql.SQL(
                    "INSERT INTO {table} SELECT * FROM {table} ORDER BY {occurred} DESC LIMIT 1"
                ).format(table=sql.Identifier(schema, table), occurred=sql.Identifier("occurredAt"))
            )
            conn.execute(
                sql.SQL(
                    "UPDATE {table} SET id = %s, {column} = %s WHERE ctid = "
                    "(SELECT max(ctid) FROM {table})"
                ).format(table=sql.Identifier(schema, table), column=sql.Identifier(column)),
                (row_id, value),
            )
    return "unknown-security_activity", "unknown-audit_logs"


def test_unknown_security_types_and_audit_actions_are_kept_and_listed(ocsf_build):
    copy_sources(ocsf_build, UNKNOWN_SCHEMA)
    security_id, audit_id = plant_unknown_values(ocsf_build, UNKNOWN_SCHEMA)
    env = {
        **ocsf_build.env,
        "DBT_POSTGRES_SOURCE_SCHEMA": UNKNOWN_SCHEMA,
        "DBT_POSTGRES_SCHEMA": UNKNOWN_ANALYTICS,
        "DBT_TARGET_PATH": str(ocsf_build.home / "dbt-target-unknown"),
        "DBT_LOG_PATH": str(ocsf_build.home / "dbt-logs-unknown"),
    }
    # --store-failures: the warn test's list is kept in <schema>_dbt_test__audit.
    build = meltano(env, "invoke", "dbt-postgres", "build", "--store-failures")
    output = build.stdout + build.stderr
    assert "ERROR=0" in output
    # Two warnings: the staging test of published security types, and the OCSF list.
    assert "WARN=2" in output
    assert "ocsf_unmapped_hubspot_values" in output

    rows = ocsf_build.model("ocsf_events", UNKNOWN_ANALYTICS)
    assert len(rows) == len(ocsf_build.model("ocsf_events")) + 2
    [security] = [
        r for r in rows if r["hubspot_source"] == "security" and r["metadata_uid"] == security_id
    ]
    [audit] = [r for r in rows if r["hubspot_source"] == "audit" and r["metadata_uid"] == audit_id]
    for row, class_uid, value in (
        (security, 3004, NEW_SECURITY_TYPE),
        (audit, 6001, NEW_AUDIT_ACTION),
    ):
        event = row["event"]
        assert row["is_unmapped"] is True
        assert (event["class_uid"], event["activity_id"], event["type_uid"]) == (
            class_uid,
            99,
            class_uid * 100 + 99,
        )
        assert event["activity_name"] == value
        assert ocsf_errors(event) == []
    assert security["event"]["unmapped"]["type"] == NEW_SECURITY_TYPE
    assert audit["event"]["unmapped"]["action"] == NEW_AUDIT_ACTION
    # The warn test lists each unmapped value once, with its number of events.
    listed = ocsf_build.query(
        sql.SQL("SELECT hubspot_source, hubspot_value, events FROM {}").format(
            sql.Identifier(f"{UNKNOWN_ANALYTICS}_dbt_test__audit", "ocsf_unmapped_hubspot_values")
        )
    )
    assert sorted((r["hubspot_source"], r["hubspot_value"], r["events"]) for r in listed) == [
        ("audit", NEW_AUDIT_ACTION, 1),
        ("security", NEW_SECURITY_TYPE, 1),
    ]


def export(ocsf_build: DbtBuild, destination: Path, *args: str) -> None:
    env = {
        **ocsf_build.env,
        "TAP_POSTGRES__OCSF_FILTER_SCHEMAS": json.dumps([ANALYTICS]),
        "TARGET_JSONL__OCSF_DESTINATION_PATH": str(destination),
    }
    ensure_plugins(env, "tap-postgres--ocsf", "target-jsonl--ocsf")
    result = meltano(env, "run", *args, "hubspot-activity-ocsf-export")
    assert TOKEN not in result.stdout + result.stderr


def read_lines(directory: Path) -> dict[str, list[dict[str, t.Any]]]:
    files: dict[str, list[dict[str, t.Any]]] = {}
    for path in sorted(directory.glob("*.jsonl")):
        stream = path.name.rsplit("-", 1)[0]
        files[stream] = [json.loads(line) for line in path.read_text().split("\n") if line]
    return files


def test_the_export_writes_one_valid_ocsf_event_per_line_per_class(ocsf_build, events, tmp_path):
    first = tmp_path / "first"
    export(ocsf_build, first)
    files = read_lines(first)
    names = {
        uid: f"ocsf_{uid}_{model.removeprefix('ocsf_')}" for uid, model in OCSF_CLASSES.items()
    }
    assert set(files) == set(names.values())
    stored = {
        (row["event"]["metadata"]["log_name"], row["metadata_uid"], row["class_uid"]): row["event"]
        for row in events
    }
    seen = set()
    for class_uid, name in names.items():
        for line in files[name]:
            # Singer records carry every attribute of the class's stream: one the event
            # lacks is null, which OCSF reads as absent (and JSON Schema does not).
            event = {key: value for key, value in line.items() if value is not None}
            assert event["class_uid"] == class_uid
            assert ocsf_errors(event) == []
            key = (event["metadata"]["log_name"], event["metadata"]["uid"], class_uid)
            assert event == stored[key]
            seen.add(key)
    assert seen == set(stored)
    assert sum(len(lines) for lines in files.values()) == len(events)

    # Incremental on load time, under its own state id: nothing new, so only the events
    # of the newest load come again (the bookmark is inclusive).
    second = tmp_path / "second"
    export(ocsf_build, second)
    newest = max(row["loaded_at"] for row in events)
    again = read_lines(second)
    assert sum(len(lines) for lines in again.values()) == sum(
        row["loaded_at"] == newest for row in events
    )
    state = meltano(ocsf_build.env, "state", "list").stdout
    assert "dev:tap-postgres--ocsf-to-target-jsonl--ocsf" in state
    assert "dev:tap-hubspot-activity-to-target-postgres" in state
