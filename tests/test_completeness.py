"""Completeness, end to end: manifests, the completeness test, the verification job, health.

The emulator (a live clock), real Meltano runs into an embedded PostgreSQL, and the dbt
project built through Meltano. The tests run in file order on one warehouse, as a
deployment lives: (a) a normal load proves complete; (b) rows deleted by hand fail the
completeness test by name, and the verification job restores them; (d) events recorded
later than the lookback, and an event HubSpot dropped, show up in evidence_drift; (c) a
loader that drops the first record of every batch is caught; (e) pipeline_health counts
the days left before login history is lost.
"""

# The SQL below names this module's own fixed schemas, never outside input.
# ruff: noqa: S608

from __future__ import annotations

import json
import re
import subprocess
import sys
import typing as t
from pathlib import Path

import psycopg
import pytest

from hubspot_emulator import EmulatorConfig, HubSpotEmulator
from tests.conftest import MELTANO_TIMEOUT_S, ROOT, TOKEN, ensure_plugins, meltano, meltano_env

pytestmark = pytest.mark.pipeline

SCHEMA = "hubspot_activity_completeness"
ANALYTICS = f"{SCHEMA}_analytics"
DROPPED = "hubspot_activity_dropping_loader"
TABLES = {"login_activity": "login", "audit_logs": "audit-logs", "security_activity": "security"}
TAP = ROOT / ".meltano" / "extractors/tap-hubspot-activity/venv/bin/tap-hubspot-activity"
TARGET = ROOT / ".meltano" / "loaders/target-postgres/venv/bin/target-postgres"
# Drops the first RECORD of each activity stream at the start and after every STATE: a
# loader losing the first record of each batch, as target-duckdb 0.8.0 did.
DROPPER = """
import sys
streams = {"login_activity", "audit_logs", "security_activity"}
dropped, armed = 0, set(streams)
for line in sys.stdin:
    if line.startswith('{"type":"STATE"'):
        armed = set(streams)
    elif line.startswith('{"type":"RECORD"'):
        stream = line.split('"stream":"', 1)[1].split('"', 1)[0]
        if stream in armed:
            armed.discard(stream)
            dropped += 1
            continue
    sys.stdout.write(line)
sys.stderr.write(f"dropped {dropped}\\n")
"""


@pytest.fixture(scope="module")
def emu() -> t.Iterator[HubSpotEmulator]:
    config = EmulatorConfig(
        seed=47,
        users=25,
        logins_per_day=20.0,
        audits_per_day=30.0,
        security_per_day=6.0,
        history_days=20,
        ten_second_max=100_000,
    )
    with HubSpotEmulator(config) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def env(
    emu: HubSpotEmulator, pg: t.Any, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    home = tmp_path_factory.mktemp("meltano-completeness")
    environment = meltano_env(
        home,
        pg,
        {
            "TAP_HUBSPOT_ACTIVITY_API_URL": emu.url,
            "TAP_HUBSPOT_ACTIVITY_ACCESS_TOKEN": TOKEN,
            "TAP_HUBSPOT_ACTIVITY_START_DATE": "2000-01-01T00:00:00Z",
            "TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA": SCHEMA,
            "DBT_POSTGRES_SOURCE_SCHEMA": SCHEMA,
            "DBT_TARGET_PATH": str(home / "dbt-target"),
            "DBT_LOG_PATH": str(home / "dbt-logs"),
        },
    )
    ensure_plugins(environment, "tap-hubspot-activity", "target-postgres", "dbt-postgres")
    return environment


def rows(pg: t.Any, statement: str, *params: t.Any) -> list[dict[str, t.Any]]:
    with psycopg.connect(pg.uri, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute(t.cast("t.Any", statement), params)
        if cur.description is None:
            return []
        names = [column.name for column in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def build(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return meltano(env, "invoke", "dbt-postgres", "build", *args, check=False)


def output(result: subprocess.CompletedProcess[str]) -> str:
    return result.stdout + result.stderr


def manifest_ids(pg: t.Any, schema: str, stream: str, purpose: str) -> set[str]:
    found = rows(
        pg,
        f'SELECT unnest(ids) AS id FROM "{schema}".sync_manifests '
        "WHERE stream = %s AND purpose = %s",
        stream,
        purpose,
    )
    return {row["id"] for row in found}


def test_a_normal_load_is_proven_complete(env, emu, pg):
    run = meltano(env, "run", "tap-hubspot-activity", "target-postgres")
    manifests = rows(
        pg,
        f'SELECT stream, count(*) AS n, sum(record_count) AS events FROM "{SCHEMA}".sync_manifests '
        "GROUP BY stream",
    )
    by_stream = {row["stream"]: row for row in manifests}
    for table, stream in TABLES.items():
        truth = {str(event["id"]) for event in emu.truth(stream)}
        # Every served event is listed once by this run's manifests, none more.
        assert manifest_ids(pg, SCHEMA, table, "extraction") == truth
        assert by_stream[table]["events"] == len(truth)
    # One manifest per closed window (audit, security) or chain piece (login): a few.
    assert by_stream["login_activity"]["n"] == 1
    assert "sync_manifests" in output(run)
    result = build(env)
    assert result.returncode == 0, output(result)[-3000:]
    assert re.search(r"PASS warehouse_holds_every_manifested_event", output(result))
    status = rows(pg, f'SELECT DISTINCT status FROM "{ANALYTICS}".completeness')
    assert status == [{"status": "complete"}]


def test_deleted_rows_fail_the_test_by_name_and_the_verification_job_restores_them(env, pg):
    recent = rows(
        pg,
        f'SELECT id FROM "{SCHEMA}".audit_logs '
        'WHERE "occurredAt" > now() - interval \'5 days\' ORDER BY "occurredAt" DESC LIMIT 3',
    )
    deleted = sorted(row["id"] for row in recent)
    assert len(deleted) == 3
    rows(pg, f'DELETE FROM "{SCHEMA}".audit_logs WHERE id = ANY(%s)', deleted)
    failed = build(env)
    assert failed.returncode != 0
    said = [line for line in output(failed).splitlines() if "events missing from" in line]
    assert len(said) == 1, output(failed)[-3000:]
    assert "audit_logs [" in said[0]
    assert ": 3 events missing from the warehouse" in said[0]
    assert all(event_id in said[0] for event_id in deleted)

    verified = meltano(env, "run", "tap-hubspot-activity--verify", "target-postgres")
    # Its requests are in its log, bounded by the 7 days it re-reads.
    requests = re.findall(r"(\d+) requests sent", output(verified))
    assert requests, output(verified)[-2000:]
    assert 0 < int(requests[-1]) < 100
    restored = rows(pg, f'SELECT id FROM "{SCHEMA}".audit_logs WHERE id = ANY(%s)', deleted)
    assert sorted(row["id"] for row in restored) == deleted
    ranges = rows(
        pg,
        f'SELECT min(range_start) AS low FROM "{SCHEMA}".sync_manifests '
        "WHERE purpose = 'verification'",
    )
    assert ranges[0]["low"] is not None
    passed = build(env)
    assert passed.returncode == 0, output(passed)[-3000:]


def test_late_events_and_events_hubspot_dropped_are_drift(env, emu, pg):
    # Recorded now but dated a day or two back: past the 15-minute lookback.
    late = [e["id"] for e in emu.add_events("audit-logs", 2, late_minutes=24 * 60)]
    late += [e["id"] for e in emu.add_events("security", 1, late_minutes=2 * 24 * 60)]
    loaded = rows(
        pg,
        f'SELECT id FROM "{SCHEMA}".security_activity '
        "WHERE \"occurredAt\" BETWEEN now() - interval '4 days' "
        "AND now() - interval '3 days' LIMIT 1",
    )
    gone = loaded[0]["id"]
    assert emu.delete_events("security", [gone]) == 1

    meltano(env, "run", "tap-hubspot-activity", "target-postgres")
    held = rows(pg, f'SELECT id FROM "{SCHEMA}".audit_logs WHERE id = ANY(%s)', late)
    assert held == []  # the normal run's lookback does not reach them

    meltano(env, "run", "tap-hubspot-activity--verify", "target-postgres")
    result = build(env)
    assert result.returncode == 0, output(result)[-3000:]
    drift = rows(pg, f'SELECT stream, event_id, drift_type FROM "{ANALYTICS}".evidence_drift')
    found = {(row["drift_type"], row["event_id"]) for row in drift}
    assert found == {("late_arrival", str(event_id)) for event_id in late} | {
        ("missing_from_hubspot", gone)
    }
    present = rows(pg, f'SELECT id FROM "{SCHEMA}".audit_logs WHERE id = ANY(%s)', late)
    assert len(present) == 2


def test_a_loader_dropping_the_first_record_of_each_batch_is_caught(env, emu, pg, tmp_path):
    config = tmp_path / "tap.json"
    config.write_text(
        json.dumps(
            {"access_token": TOKEN, "api_url": emu.url, "start_date": "2000-01-01T00:00:00Z"}
        )
    )
    loader_env = {**env, "TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA": DROPPED}
    with (
        subprocess.Popen(
            [str(TAP), "--config", str(config)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        ) as tap,
        subprocess.Popen(
            [sys.executable, "-c", DROPPER],
            stdin=tap.stdout,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        ) as dropper,
    ):
        assert tap.stdout is not None
        tap.stdout.close()
        target = subprocess.run(
            [str(TARGET), "--config", "ENV"],
            stdin=dropper.stdout,
            env=loader_env,
            capture_output=True,
            timeout=MELTANO_TIMEOUT_S,
            check=False,
        )
        assert dropper.stderr is not None
        dropped = int(dropper.stderr.read().decode().split()[-1])
    assert target.returncode == 0, target.stderr[-2000:]
    assert dropped >= 3

    # Its own dbt target folder: another schema is another profile, for which dbt parses
    # the project again, and the next build in the module's folder would then parse again.
    home = Path(env["DBT_TARGET_PATH"]).parent
    dbt_env = {
        **env,
        "DBT_POSTGRES_SOURCE_SCHEMA": DROPPED,
        "DBT_TARGET_PATH": str(home / "dbt-target-dropped"),
        "DBT_LOG_PATH": str(home / "dbt-logs-dropped"),
    }
    result = build(dbt_env)
    assert result.returncode != 0
    assert re.search(r"FAIL \d+ warehouse_holds_every_manifested_event", output(result))
    missing = rows(
        pg,
        f'SELECT sum(events_missing) AS n FROM "{DROPPED}_analytics".completeness',
    )
    assert missing[0]["n"] == dropped


def test_pipeline_health_counts_the_days_left_of_login_history(env, pg):
    # The last load 80 days ago: HubSpot drops logins after 90 days, 10 days are left.
    for table in ("login_activity", "sync_manifests"):
        rows(
            pg,
            f'UPDATE "{SCHEMA}".{table} '
            "SET _sdc_batched_at = _sdc_batched_at - interval '80 days'",
        )
    # Load times moved back by hand: history rewritten, which incremental models never
    # re-read (they add what was loaded after their cutoff), so rebuild from scratch.
    result = build(env, "--select", "+pipeline_health", "--full-refresh")
    assert result.returncode == 0, output(result)[-3000:]
    health = rows(
        pg,
        "SELECT retention_days_left, hours_since_last_load, status "
        f'FROM "{ANALYTICS}".pipeline_health '
        "WHERE stream = 'login_activity'",
    )
    assert len(health) == 1
    assert health[0]["retention_days_left"] == 10
    assert health[0]["hours_since_last_load"] >= 80 * 24
    assert health[0]["status"] == "retention_at_risk"
    assert "WARN" in output(result)
    others = rows(
        pg,
        f'SELECT DISTINCT retention_days_left FROM "{ANALYTICS}".pipeline_health '
        "WHERE stream <> 'login_activity'",
    )
    assert others == [{"retention_days_left": None}]
