"""Apache Airflow loads orchestrate/airflow/dags and runs the DAGs' tasks for real.

Airflow lives in its own virtualenv (.venv-airflow, `make airflow-install`) and this
test process never imports it: every step is a subprocess of that virtualenv (its
python for the DagBag, its `airflow` CLI for the rest), with AIRFLOW_HOME in a temporary
directory and the metadata database a copy of the run's migrated one on the embedded
PostgreSQL (tests/airflow_db.py). `airflow dags test` (a whole DAG run) and `airflow
tasks test` (one task) run the DAGs' own BashOperators, i.e. the project's real `meltano
run`, against the HubSpot emulator and an embedded PostgreSQL, with a private Meltano
system database and system directory (MELTANO_SYS_DIR_ROOT, the installed plugins linked
in) and an empty env file, so nothing touches the demo's state, the project's .env or a
real warehouse.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import re
import secrets
import sqlite3
import subprocess
import textwrap
import threading
import time
import typing as t
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from hubspot_emulator import EmulatorConfig, HubSpotEmulator
from tests.airflow_db import connection_env, metadata_database
from tests.conftest import MELTANO, PLUGIN_EXECUTABLES, ROOT, ensure_plugins, meltano_env
from tests.meltano_state import stored_states

AIRFLOW_VENV = ROOT / ".venv-airflow"
AIRFLOW = AIRFLOW_VENV / "bin" / "airflow"
AIRFLOW_PYTHON = AIRFLOW_VENV / "bin" / "python"
# `make test-airflow` sets it: there a missing Airflow is a failure, not a skip.
REQUIRED = bool(os.environ.get("AIRFLOW_TEST_REQUIRED"))
DAGS = ROOT / "orchestrate" / "airflow" / "dags"

HOURLY = "meltano_hubspot-activity-elt-hourly"
EVIDENCE = "meltano_hubspot-activity-evidence-monthly"
VERIFY = "meltano_hubspot-activity-verify-daily"
EL_TASK = "tap-hubspot-activity_target-postgres"
DBT_TASK = "dbt-postgres_build"
EVIDENCE_TASK = "tap-hubspot-activity_target-jsonl"
HOURLY_STATE_ID = "dev:tap-hubspot-activity-to-target-postgres"
SCHEMA = "hubspot_activity"
# table -> emulator stream
TABLES = {"login_activity": "login", "audit_logs": "audit-logs", "security_activity": "security"}
TOKEN = f"pat-na1-airflow-{secrets.token_hex(12)}"
CLI_TIMEOUT_S = 300

pytestmark = [
    pytest.mark.pipeline,
    pytest.mark.airflow,
    pytest.mark.skipif(
        not AIRFLOW.exists() and not REQUIRED,
        reason="Apache Airflow is not installed: run `make airflow-install` (.venv-airflow)",
    ),
]

# Runs in the Airflow virtualenv: loads the DAG folder once per scenario (a JSON list of
# environment overrides in argv[2]) and prints what Airflow made of it, as JSON.
DAGBAG_SCRIPT = textwrap.dedent(
    """
    import json, os, sys

    try:
        from airflow.dag_processing.dagbag import DagBag  # Airflow 3
    except ImportError:
        from airflow.models.dagbag import DagBag  # Airflow 2

    def seconds(value):
        return None if value is None else value.total_seconds()

    def describe(dag):
        timetable = dag.timetable
        return {
            "timetable": type(timetable).__name__,
            "expression": getattr(timetable, "expression", None)
            or getattr(timetable, "_expression", None),
            "timezone": str(getattr(timetable, "timezone", None)
                            or getattr(timetable, "_timezone", None)),
            "catchup": dag.catchup,
            "max_active_runs": dag.max_active_runs,
            "tags": sorted(dag.tags),
            "tasks": {
                task.task_id: {
                    "operator": type(task).__name__,
                    "retries": task.retries,
                    "retry_delay": seconds(task.retry_delay),
                    "execution_timeout": seconds(task.execution_timeout),
                    "upstream": sorted(task.upstream_task_ids),
                    "bash_command": task.bash_command,
                    "env": task.env,
                    "append_env": task.append_env,
                    "cwd": task.cwd,
                    "skip_on_exit_code": list(task.skip_on_exit_code),
                    "do_xcom_push": task.do_xcom_push,
                }
                for task in dag.tasks
            },
        }

    results = []
    for overrides in json.loads(sys.argv[2]):
        os.environ.update(overrides)
        bag = DagBag(dag_folder=sys.argv[1])
        results.append({
            "import_errors": {str(k): str(v) for k, v in bag.import_errors.items()},
            # The fleet DAG (fleet.py, tests/test_fleet.py) is in the same folder.
            "dags": {dag_id: describe(dag) for dag_id, dag in bag.dags.items()
                     if "fleet" not in dag.tags},
            "fleet": sorted(dag_id for dag_id, dag in bag.dags.items() if "fleet" in dag.tags),
        })
    print("DAGBAG-JSON " + json.dumps(results))
    """
)


@pytest.fixture(scope="module")
def emu() -> t.Iterator[HubSpotEmulator]:
    # 75 days of history: the whole previous calendar month, whatever today is.
    config = EmulatorConfig(
        seed=43,
        users=40,
        logins_per_day=12.0,
        audits_per_day=15.0,
        security_per_day=4.0,
        history_days=75,
        ten_second_max=100_000,
    )
    with HubSpotEmulator(config) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not AIRFLOW.exists():
        pytest.fail("AIRFLOW_TEST_REQUIRED is set but .venv-airflow has no airflow")
    return tmp_path_factory.mktemp("airflow-test")


@pytest.fixture(scope="module")
def airflow_env(home: Path, emu: HubSpotEmulator, pg: t.Any) -> dict[str, str]:
    """The environment of every Airflow call: only what this test sets."""
    # MELTANO_BIN is a wrapper that logs each call, then runs the project's Meltano.
    calls = home / "meltano-calls.log"
    wrapper = home / "bin" / "meltano"
    wrapper.parent.mkdir()
    wrapper.write_text(f'#!/bin/sh\necho "$*" >> "{calls}"\nexec "{MELTANO}" "$@"\n')
    wrapper.chmod(0o755)
    env = meltano_env(
        home,
        pg,
        {
            "AIRFLOW_HOME": str(home / "airflow"),
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            # A copy of the run's migrated metadata database (tests/airflow_db.py).
            **connection_env(metadata_database(pg, "airflow_test_airflow")),
            "AIRFLOW_VAR_HUBSPOT_ACTIVITY_EVIDENCE_DIR": str(home / "evidence"),
            "MELTANO_PROJECT_ROOT": str(ROOT),
            "MELTANO_BIN": str(wrapper),
            "MELTANO_DAG_CACHE_DIR": str(home / "dag-cache"),
            "MELTANO_DAG_LOCK_FILE": str(home / "lock" / "meltano.lock"),
            "TAP_HUBSPOT_ACTIVITY_API_URL": emu.url,
            "TAP_HUBSPOT_ACTIVITY_ACCESS_TOKEN": TOKEN,
            "TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA": SCHEMA,
            # dbt's artifacts and logs, not transform/target of the checkout.
            "DBT_TARGET_PATH": str(home / "dbt" / "target"),
            "DBT_LOG_PATH": str(home / "dbt" / "logs"),
        },
        also_drop=("AIRFLOW",),
    )
    env["MELTANO_DAG_ENV_FILE"] = env["PIPELINE_ENV_FILE"]
    # target-jsonl is not in `make install`: installed here on demand.
    ensure_plugins(env, *PLUGIN_EXECUTABLES)
    # meltano_env gave it a private Meltano system directory (MELTANO_SYS_DIR_ROOT), with
    # the installed plugins linked in: its own run/ (catalog, state.json). The metadata
    # database is migrated already: no `airflow db migrate` (one Airflow start-up less).
    return env


def run(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a command; fail the test with the output's tail on an error."""
    result = subprocess.run(
        args,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_S,
        check=False,
    )
    logs = Path(env["MELTANO_BIN"]).parent.parent / "logs"
    logs.mkdir(exist_ok=True)
    words = [Path(args[0]).name, *(arg for arg in args[1:4] if arg.isidentifier())]
    log = logs / f"{len(list(logs.iterdir())):02d}-{'-'.join(words)}.log"
    log.write_text(f"$ {' '.join(args)[:300]}\n{result.stdout}\n--- stderr\n{result.stderr}")
    if check and result.returncode != 0:
        lines = (result.stdout + result.stderr).splitlines()
        tail = "\n".join(line for line in lines if "METRIC" not in line)[-6000:]
        pytest.fail(f"{' '.join(args[:4])} ... exited {result.returncode}:\n{tail}")
    return result


def load_dagbags(env: dict[str, str], *scenarios: dict[str, str]) -> list[dict[str, t.Any]]:
    """What Airflow's DagBag makes of the DAG folder, once per environment override."""
    result = run(env, str(AIRFLOW_PYTHON), "-c", DAGBAG_SCRIPT, str(DAGS), json.dumps(scenarios))
    [line] = [line for line in result.stdout.splitlines() if line.startswith("DAGBAG-JSON ")]
    return json.loads(line.removeprefix("DAGBAG-JSON "))


def check_task_succeeded(result: subprocess.CompletedProcess[str], tasks: int = 1) -> None:
    """`airflow tasks test` (and `dags test`) exit 0 even when a task fails: read the
    states they log, one per task."""
    output = result.stdout + result.stderr
    states = re.findall(r"new_state=(\w+)", output)
    if states != ["success"] * tasks:
        lines = [line for line in output.splitlines() if "METRIC" not in line]
        pytest.fail(f"task states {states}, not {tasks} x success:\n" + "\n".join(lines[-60:]))


def tasks_test(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`airflow tasks test <dag> <task> [date]`: the task's real BashOperator."""
    result = run(env, str(AIRFLOW), "tasks", "test", *args)
    check_task_succeeded(result)
    return result


def dags_test(env: dict[str, str], dag_id: str, tasks: int) -> subprocess.CompletedProcess[str]:
    """`airflow dags test <dag>`: a whole DAG run, its tasks in dependency order, in one
    Airflow process (each `tasks test` starts Airflow and its execution API again, about
    13 CPU-s)."""
    result = run(env, str(AIRFLOW), "dags", "test", dag_id)
    check_task_succeeded(result, tasks)
    return result


def meltano_calls(env: dict[str, str]) -> list[str]:
    calls = Path(env["MELTANO_BIN"]).parent.parent / "meltano-calls.log"
    return calls.read_text().splitlines() if calls.exists() else []


def meltano_states(env: dict[str, str]) -> dict[str, dict[str, t.Any]]:
    """The states in the SQLite system database the tasks wrote (tests/meltano_state.py)."""
    path = env["MELTANO_DATABASE_URI"].removeprefix("sqlite:///")
    with contextlib.closing(sqlite3.connect(path)) as db:
        return stored_states(db)


def hourly_bookmarks(env: dict[str, str]) -> dict[str, t.Any]:
    state = meltano_states(env).get(HOURLY_STATE_ID)
    return state["singer_state"]["bookmarks"] if state else {}


def table_ids(pg: t.Any, table: str) -> list[str]:
    with psycopg.connect(pg.uri, autocommit=True) as conn:
        query = sql.SQL("SELECT id FROM {}").format(sql.Identifier(SCHEMA, table))
        return [str(row[0]) for row in conn.execute(query)]


def written_by_last_run(pg: t.Any, table: str) -> int:
    query = sql.SQL(
        "SELECT count(*) FROM {0} WHERE _sdc_sync_started_at = "
        "(SELECT max(_sdc_sync_started_at) FROM {0})"
    ).format(sql.Identifier(SCHEMA, table))
    with psycopg.connect(pg.uri, autocommit=True) as conn:
        row = conn.execute(query).fetchone()
    assert row is not None
    return int(row[0])


def run_while_locked(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run an Airflow command while holding the DAGs' Meltano lock, as a running task would.

    Meltano must not start until the lock is released: checked a few seconds after the
    BashOperator has started its command.
    """
    lock = Path(env["MELTANO_DAG_LOCK_FILE"])
    lock.parent.mkdir(parents=True, exist_ok=True)
    calls = len(meltano_calls(env))
    lines: list[str] = []
    started = threading.Event()

    def pump(stream: t.IO[str]) -> None:
        for line in stream:
            lines.append(line)
            if "Running command:" in line:
                started.set()

    with lock.open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with subprocess.Popen(
            [str(AIRFLOW), *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        ) as process:
            assert process.stdout is not None
            reader = threading.Thread(target=pump, args=(process.stdout,), daemon=True)
            reader.start()
            try:
                assert started.wait(CLI_TIMEOUT_S), "".join(lines[-40:])
                time.sleep(3)
                assert len(meltano_calls(env)) == calls, "meltano started despite the lock"
            except BaseException:
                process.kill()
                raise
            finally:
                fcntl.flock(held, fcntl.LOCK_UN)
            returncode = process.wait(CLI_TIMEOUT_S)
            reader.join(10)
    assert len(meltano_calls(env)) == calls + 1
    return subprocess.CompletedProcess(args, returncode, "".join(lines), "")


def test_airflow_builds_one_dag_per_meltano_schedule(airflow_env, home):
    bad_project = home / "bad-project"
    bad_project.mkdir()
    (bad_project / "meltano.yml").write_text(
        "project_id: bad\ndefault_environment: dev\nenvironments:\n  - name: dev\n"
        "schedules:\n  - name: orphan\n    interval: '@hourly'\n    job: no-such-job\n"
    )
    slow = home / "bin" / "slow-meltano"
    slow.write_text("#!/bin/sh\nsleep 30\n")
    slow.chmod(0o755)
    first, cached, broken, hanging = load_dagbags(
        airflow_env,
        {},
        {},  # a second parse: the schedule list comes from the cache
        {
            "MELTANO_PROJECT_ROOT": str(bad_project),
            "MELTANO_BIN": str(MELTANO),
            "MELTANO_DAG_CACHE_DIR": str(home / "c2"),
        },
        {
            "MELTANO_PROJECT_ROOT": str(ROOT),
            "MELTANO_BIN": str(slow),
            "MELTANO_DAG_LIST_TIMEOUT": "1",
            "MELTANO_DAG_CACHE_DIR": str(home / "c3"),
        },
    )

    assert first["import_errors"] == {}
    assert set(first["dags"]) == {HOURLY, EVIDENCE, VERIFY}
    # The verification job: its own extractor (its own state id), then dbt.
    assert set(first["dags"][VERIFY]["tasks"]) == set(first["dags"][HOURLY]["tasks"]) - {
        EL_TASK
    } | {"tap-hubspot-activity--verify_target-postgres"}
    assert first["fleet"] == ["hubspot_activity_fleet"]
    assert cached == first
    listings = [call for call in meltano_calls(airflow_env) if "schedule list" in call]
    assert len(listings) == 1, listings

    for dag in first["dags"].values():
        assert dag["catchup"] is False
        assert dag["max_active_runs"] == 1
        assert dag["timetable"] == "CronDataIntervalTimetable"
        assert dag["timezone"] == "UTC"
        for task in dag["tasks"].values():
            assert task["operator"] == "BashOperator"
            assert task["retries"] == 2
            assert task["retry_delay"] == 360
            assert task["execution_timeout"] == 3 * 3600
            assert task["cwd"] == str(ROOT)
            assert task["append_env"] is True
            assert task["skip_on_exit_code"] == []
            assert task["do_xcom_push"] is False

    lock = Path(airflow_env["MELTANO_DAG_LOCK_FILE"])
    meltano_run = (
        f"mkdir -p {lock.parent} && exec flock {lock} "
        f"{airflow_env['MELTANO_BIN']} --env-file {airflow_env['MELTANO_DAG_ENV_FILE']} run"
    )
    hourly = first["dags"][HOURLY]
    assert hourly["expression"] == "0 * * * *"
    assert hourly["tags"] == ["job:hubspot-activity-elt", "meltano"]
    assert {task_id: task["upstream"] for task_id, task in hourly["tasks"].items()} == {
        EL_TASK: [],
        DBT_TASK: [EL_TASK],
    }
    assert hourly["tasks"][EL_TASK]["bash_command"] == (
        f"{meltano_run} tap-hubspot-activity target-postgres"
    )
    assert hourly["tasks"][DBT_TASK]["bash_command"] == f"{meltano_run} dbt-postgres:build"
    # Incremental: no dates from Airflow, and nothing of the worker's environment is
    # rendered into Airflow's records.
    assert all(task["env"] is None for task in hourly["tasks"].values())

    evidence = first["dags"][EVIDENCE]
    assert evidence["expression"] == "0 0 1 * *"
    assert list(evidence["tasks"]) == [EVIDENCE_TASK]
    task = evidence["tasks"][EVIDENCE_TASK]
    assert task["bash_command"] == f"{meltano_run} tap-hubspot-activity target-jsonl"
    assert set(task["env"]) == {
        "TAP_HUBSPOT_ACTIVITY_START_DATE",
        "TAP_HUBSPOT_ACTIVITY_END_DATE",
        "MELTANO_RUN_FULL_REFRESH",
        "MELTANO_RUN_STATE_ID_SUFFIX",
        "TARGET_JSONL_DESTINATION_PATH",
    }
    assert task["env"]["TAP_HUBSPOT_ACTIVITY_START_DATE"] == "{{ data_interval_start | ts }}"

    # A schedule list that fails is the DAG file's import error, with Meltano's reason.
    assert broken["dags"] == {}
    [message] = broken["import_errors"].values()
    assert "MeltanoScheduleError" in message
    assert "schedule list --format=json` exited 1" in message
    assert "Job 'no-such-job' was not found" in message
    [message] = hanging["import_errors"].values()
    assert "took more than 1 s" in message


def test_hourly_dag_task_loads_incrementally_from_meltano_state(airflow_env, emu, pg):
    # A whole DAG run: extract and load, then dbt builds transform/ on what was loaded.
    before = len(meltano_calls(airflow_env))
    first = dags_test(airflow_env, HOURLY, tasks=2)
    calls = meltano_calls(airflow_env)[before:]
    assert len(calls) == 2, calls
    assert calls[0].endswith("run tap-hubspot-activity target-postgres"), calls
    assert calls[1].endswith("run dbt-postgres:build"), calls
    counts = {}
    for table, stream in TABLES.items():
        ids = table_ids(pg, table)
        assert len(ids) == len(set(ids)), table
        assert set(ids) == {str(event["id"]) for event in emu.truth(stream)}, table
        counts[table] = len(ids)
    assert all(count > 0 for count in counts.values()), counts
    state = hourly_bookmarks(airflow_env)
    assert set(TABLES) <= set(state)  # the tap may have more streams than these three

    # dbt built the models on what was loaded, and its tests passed.
    with psycopg.connect(pg.uri, autocommit=True) as conn:
        query = sql.SQL("SELECT count(*) FROM {}").format(
            sql.Identifier(f"{SCHEMA}_analytics", "activity_events")
        )
        row = conn.execute(query).fetchone()
    assert row is not None
    assert row[0] >= sum(counts.values())

    # The next hourly run starts from Meltano's bookmarks: only the new events (and the
    # lookback) are read again.
    for stream in TABLES.values():
        emu.add_events(stream, 5)
    second = tasks_test(airflow_env, HOURLY, EL_TASK)
    for table in TABLES:
        assert len(table_ids(pg, table)) == counts[table] + 5, table
        assert 5 <= written_by_last_run(pg, table) < counts[table] // 2, table
    later = hourly_bookmarks(airflow_env)
    for table in TABLES:
        assert later[table]["replication_key_value"] > state[table]["replication_key_value"]

    for result in (first, second):
        assert TOKEN not in result.stdout + result.stderr


def test_monthly_evidence_dag_exports_the_previous_calendar_month(airflow_env, emu, home):
    now = dt.datetime.now(dt.UTC)
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    previous_start = (month_start - dt.timedelta(days=1)).replace(day=1)
    month = previous_start.strftime("%Y-%m")
    hourly_before = hourly_bookmarks(airflow_env)

    # The run of the 1st of this month: its data interval is the previous month. It
    # starts while another task of the project holds the Meltano lock, and waits.
    result = run_while_locked(
        airflow_env, "tasks", "test", EVIDENCE, EVIDENCE_TASK, month_start.isoformat()
    )
    check_task_succeeded(result)
    assert TOKEN not in result.stdout + result.stderr

    out = home / "evidence" / month
    for stream_name, stream in TABLES.items():
        paths = sorted(out.glob(f"{stream_name}-*.jsonl"))
        assert len(paths) == 1, (
            f"{stream_name}: {paths} in {sorted(p.name for p in out.glob('*'))}; log tail:\n"
            + "\n".join(result.stdout.splitlines()[-40:])
        )
        path = paths[0]
        records = [json.loads(line) for line in path.read_text().splitlines()]
        expected = emu.truth(stream, since=previous_start, until=month_start)
        assert expected, stream
        ids = [str(record["id"]) for record in records]
        assert sorted(ids) == sorted(str(event["id"]) for event in expected), stream
        for record in records:
            occurred = dt.datetime.fromisoformat(record["occurredAt"])
            assert previous_start <= occurred < month_start, record

    # Its own state id, per month; the hourly bookmarks did not move.
    assert f"dev:tap-hubspot-activity-to-target-jsonl:evidence-{month}" in meltano_states(
        airflow_env
    )
    assert hourly_bookmarks(airflow_env) == hourly_before
