"""Fleet benchmark: 12 portals of the demo's volume through the fleet DAG, pool 1 vs pool 4.

    python -m benchmarks.fleet                      # 12 portals, pools 1 and 4 (make bench-fleet)
    python -m benchmarks.fleet --latency-ms 0       # the demo's emulator as is (no latency)
    python -m benchmarks.fleet --portals 4 --pools 1,2 --keep

A real Airflow 3 deployment on loopback (tests/fleet_support.py): api-server, dag-processor
and a LocalExecutor scheduler (parallelism 4), the metadata database and Meltano's state
(the system database) on an embedded PostgreSQL, and one HubSpot emulator process per
portal (`python -m hubspot_emulator`) with the demo's data set (the emulator's defaults:
300 users, 120 days; seeds 7, 8, ...), HubSpot's rate limit (190 requests per 10 s per
portal) and, by default, 250 ms per answer as in benchmarks/run.py's latency section.
For each pool size the warehouse schemas and Meltano's state start empty, one DAG run is
triggered, and its wall time is read from the metadata database (DAG run start to end,
and the extract-and-load phase: first portal task start to last portal task end). Every
portal must succeed and load exactly what its emulator serves. A measuring tool, not a
test: it prints the table and exits 0 unless a run fails.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import secrets
import shutil
import sys
import tempfile
import time
import typing as t
import urllib.request
from pathlib import Path

import psycopg
from psycopg import sql

from benchmarks.emulators import emulator
from scripts import warehouse
from tests.fleet_support import (
    FLEET_DAG,
    AirflowCluster,
    airflow_env,
    create_database,
)

if t.TYPE_CHECKING:
    from hubspot_emulator.process import EmulatorProcess

REPO = Path(__file__).resolve().parent.parent
MELTANO = REPO / ".venv" / "bin" / "meltano"
SCHEMA = "hubspot_activity_fleet_bench"
TABLES = {"login_activity": "login", "audit_logs": "audit-logs", "security_activity": "security"}
RUN_TIMEOUT_S = 3600.0
TARGET_SPEEDUP = 3.0


def truth_count(url: str, stream: str) -> int:
    with urllib.request.urlopen(f"{url}/_emulator/truth?stream={stream}", timeout=60) as r:
        body = json.loads(r.read())
    return len(body["events"] if isinstance(body, dict) else body)


def reset(pg: t.Any, state_db: str) -> str:
    """Empty warehouse schemas and a new Meltano system database."""
    with psycopg.connect(pg.uri, autocommit=True) as conn:
        schemas = [
            row[0]
            for row in conn.execute(
                "SELECT nspname FROM pg_namespace WHERE nspname LIKE %s", (f"{SCHEMA}%",)
            )
        ]
        for schema in schemas:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
    return create_database(pg.uri, state_db)


def loaded_counts(pg: t.Any) -> dict[tuple[str, int], int]:
    counts = {}
    with psycopg.connect(pg.uri, autocommit=True) as conn:
        for table in TABLES:
            query = sql.SQL('SELECT "portalId", count(*) FROM {} GROUP BY 1').format(
                sql.Identifier(SCHEMA, table)
            )
            for portal_id, count in conn.execute(query):
                counts[table, int(portal_id)] = int(count)
    return counts


def measure(cluster: AirflowCluster, run_id: str) -> dict[str, float]:
    state = cluster.wait_for_run(FLEET_DAG, run_id, RUN_TIMEOUT_S)
    tis = cluster.task_states(FLEET_DAG, run_id)
    bad = {key: ti["state"] for key, ti in tis.items() if ti["state"] != "success"}
    if state != "success" or bad:
        msg = f"DAG run {run_id} {state}: {bad}"
        raise RuntimeError(msg)
    [(start, end)] = cluster.query(
        "SELECT start_date, end_date FROM dag_run WHERE dag_id = %s AND run_id = %s",
        FLEET_DAG,
        run_id,
    )
    portals = [ti for (task, _), ti in tis.items() if task == "extract_load"]
    dbt = tis[("dbt_build", -1)]
    return {
        "dag_run_s": (end - start).total_seconds(),
        "extract_load_s": (
            max(ti["end"] for ti in portals) - min(ti["start"] for ti in portals)
        ).total_seconds(),
        "portal_task_mean_s": sum((ti["end"] - ti["start"]).total_seconds() for ti in portals)
        / len(portals),
        "dbt_build_s": (dbt["end"] - dbt["start"]).total_seconds(),
    }


def main(argv: list[str]) -> int:  # noqa: C901, PLR0915
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--portals", type=int, default=12)
    parser.add_argument("--pools", default="1,4", help="pool sizes, in the order they run")
    parser.add_argument("--latency-ms", type=float, default=250.0)
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)
    pools = [int(n) for n in args.pools.split(",")]
    work = Path(tempfile.mkdtemp(prefix="fleet-bench-"))
    print(f"work directory: {work}", flush=True)
    emulators: list[EmulatorProcess] = []
    emulator_stack = contextlib.ExitStack()
    pg = None
    cluster = None
    results: dict[int, dict[str, float]] = {}
    try:
        pg = warehouse.start(work / "pgdata")
        for n in range(args.portals):
            flags = ["--seed", str(7 + n), "--portal-id", str(8000 + n)]
            if args.latency_ms:
                flags += ["--latency-ms", str(args.latency_ms)]
            emulators.append(emulator_stack.enter_context(emulator(work, f"p{n:02d}", *flags)))
        labels = [f"p{n:02d}" for n in range(args.portals)]
        tokens = {label: f"bench-{label}-{secrets.token_hex(8)}" for label in labels}
        portal_list = [
            {"label": label, "api_url": emu.url, "access_token_conn_id": f"hubspot_{label}"}
            for label, emu in zip(labels, emulators, strict=True)
        ]
        (work / "portals.yml").write_text(json.dumps({"portals": portal_list}))
        truth = {
            (table, 8000 + n): truth_count(emu.url, stream)
            for n, emu in enumerate(emulators)
            for table, stream in TABLES.items()
        }
        events = sum(truth.values())
        print(f"{args.portals} portals, {events} events in all", flush=True)

        metadata = create_database(pg.uri, "airflow_bench")
        state_db = "meltano_bench_state"
        state_uri = reset(pg, state_db)
        (work / "empty.env").write_text("")
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("TAP_HUBSPOT_ACTIVITY_", "TARGET_", "MELTANO_", "DBT_"))
            and not key.startswith(("AIRFLOW", "HUBSPOT_"))
        }
        env |= pg.target_env() | {
            "TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA": SCHEMA,
            "MELTANO_DATABASE_URI": state_uri.replace("postgresql://", "postgresql+psycopg://"),
            "MELTANO_ENVIRONMENT": "dev",
            "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
            "MELTANO_CLI_DISABLE_VERSION_CHECK": "true",
            "MELTANO_PROJECT_ROOT": str(REPO),
            "MELTANO_BIN": str(MELTANO),
            "MELTANO_DAG_ENV_FILE": str(work / "empty.env"),
            "MELTANO_DAG_CACHE_DIR": str(work / "dag-cache"),
            "HUBSPOT_FLEET_PORTALS_FILE": str(work / "portals.yml"),
            "HUBSPOT_FLEET_SCHEDULE": "none",
            "HUBSPOT_FLEET_RETRIES": "0",
            "HUBSPOT_FLEET_WORK_DIR": str(work / "tasks"),
        }
        env |= airflow_env(work / "airflow", metadata, parallelism=4)
        for label in labels:
            conn = {"conn_type": "generic", "password": tokens[label]}
            env[f"AIRFLOW_CONN_HUBSPOT_{label.upper()}"] = json.dumps(conn)
        cluster = AirflowCluster(env, work / "airflow" / "components")
        cluster.cli("db", "migrate")
        cluster.start()
        cluster.wait_for_dag(FLEET_DAG)
        cluster.unpause(FLEET_DAG)
        for n, pool in enumerate(pools):
            if n:
                reset(pg, state_db)
            cluster.set_pool("hubspot_activity_fleet", pool, "benchmark")
            run_id = f"bench-pool-{pool}-{n}"
            print(f"pool {pool}: DAG run {run_id} ...", flush=True)
            started = time.monotonic()
            cluster.trigger(FLEET_DAG, run_id)
            results[pool] = measure(cluster, run_id)
            loaded = loaded_counts(pg)
            if loaded != truth:
                diff = {k: (loaded.get(k), v) for k, v in truth.items() if loaded.get(k) != v}
                msg = f"pool {pool}: loaded counts differ from the emulators': {diff}"
                raise RuntimeError(msg)
            print(
                f"pool {pool}: {results[pool]} ({time.monotonic() - started:.0f} s incl. polling)",
                flush=True,
            )
    finally:
        if cluster is not None:
            cluster.stop()
        emulator_stack.close()
        if pg is not None:
            warehouse.stop(work / "pgdata")
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    airflow_version = (REPO / ".venv-airflow").glob("lib/python*/site-packages/apache_airflow-*")
    version = next((p.name.split("-")[1].removesuffix(".dist") for p in airflow_version), "?")
    print(f"\nFleet benchmark ({dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC)")
    print(
        f"{args.portals} portals x the demo's volume ({events} events), "
        f"{args.latency_ms:g} ms per answer, 190 requests/10 s per portal; Airflow {version} "
        "LocalExecutor (parallelism 4); Meltano state: system database on PostgreSQL"
    )
    print(
        f"{'pool':>4}  {'DAG run s':>9}  {'extract+load s':>14}  {'mean task s':>11}  {'dbt s':>6}"
    )
    for pool, figures in results.items():
        print(
            f"{pool:>4}  {figures['dag_run_s']:>9.1f}  {figures['extract_load_s']:>14.1f}  "
            f"{figures['portal_task_mean_s']:>11.1f}  {figures['dbt_build_s']:>6.1f}"
        )
    if len(results) >= 2:
        low, high = min(results), max(results)
        ratio = results[low]["dag_run_s"] / results[high]["dag_run_s"]
        el_ratio = results[low]["extract_load_s"] / results[high]["extract_load_s"]
        verdict = "meets" if ratio >= TARGET_SPEEDUP else "misses"
        print(
            f"pool {high} vs {low}: {ratio:.2f}x faster DAG run ({el_ratio:.2f}x extract+load); "
            f"{verdict} the {TARGET_SPEEDUP:g}x target"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
