"""One Airflow DAG per Meltano schedule of this project.

The schedules come from `meltano schedule list --format=json` (meltano.yml and the
files it includes, here orchestrate/meltano-jobs.yml). Each top-level task of a
schedule's job becomes one BashOperator running `meltano run <task>` in the project
root, in order: a failed dbt step is retried on its own, without extracting again.

Bookmarks live only in Meltano's state backend (the system database, or
`state_backend.uri`): Airflow passes no dates to incremental jobs, and keeps no state
of its own. The values of a schedule's `env` are Airflow templates, rendered for each
run: a @monthly schedule gets the previous calendar month from
`{{ data_interval_start }}` / `{{ data_interval_end }}` (every DAG uses a cron *data
interval* timetable in UTC, whatever `[scheduler] create_cron_data_intervals` says).
The worker's own environment (credentials, MELTANO_ENVIRONMENT, ...) is inherited,
never rendered, so secrets do not end up in Airflow's rendered-template records.

Environment of the DAG processor and the workers (besides the MELTANO_PROJECT_ROOT,
MELTANO_BIN, MELTANO_DAG_ENV_FILE and MELTANO_SYS_DIR_ROOT of meltano_project.py):
    MELTANO_DAG_LOCK_FILE   the lock that lets one task of this project run Meltano at a
                            time on a host (default <sys dir>/airflow.lock; "none": no
                            lock). <sys dir> is Meltano's MELTANO_SYS_DIR_ROOT, by
                            default <project>/.meltano
    MELTANO_DAG_CACHE_DIR   where the schedule list is cached, keyed by the content of
                            meltano.yml and its included files (default:
                            <sys dir>/run/airflow; unwritable: no cache)
    MELTANO_DAG_LIST_TIMEOUT  seconds `meltano schedule list` may take (default 20,
                            under Airflow's default dagbag_import_timeout of 30)
    MELTANO_DAG_TASK_TIMEOUT_MINUTES  execution_timeout of every task (default 180)
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

import pendulum

# The module beside this file: Airflow 3 puts the DAG bundle's folder on sys.path, a bare
# DagBag (or a copy of these files elsewhere) may not.
sys.path.append(str(Path(__file__).resolve().parent))
from meltano_project import (  # noqa: E402
    MeltanoNotFoundError,
    env_file,
    error_lines,
    meltano_bin,
    meltano_command,
    project_root,
    sys_dir,
)

try:  # Airflow 3
    from airflow.providers.standard.operators.bash import BashOperator
    from airflow.sdk import DAG, CronDataIntervalTimetable
except ImportError:  # Airflow 2.x (2.11.2 parses and renders these DAGs; CI tests 3.x)
    from airflow import DAG
    from airflow.operators.bash import BashOperator
    from airflow.timetables.interval import CronDataIntervalTimetable

PROJECT_ROOT = project_root()
SYS_DIR = sys_dir()
ENV_FILE = env_file()
LIST_TIMEOUT_S = float(os.environ.get("MELTANO_DAG_LIST_TIMEOUT") or 20)
TASK_TIMEOUT = timedelta(minutes=int(os.environ.get("MELTANO_DAG_TASK_TIMEOUT_MINUTES") or 180))
# The lock stays here because these DAGs are two DAGs of ONE portal (the worker's
# TAP_HUBSPOT_ACTIVITY_* credentials): on the 1st at 00:00 the hourly and the monthly
# DAG start together. Two `meltano run`s of one tap in one project share
# <sys dir>/run/<plugin>/ (catalog and state.json) and dbt shares transform/target, so
# they could hand each other's bookmark to the tap; and both would spend the same
# portal's rate limit (19 requests/s per portal and app) at once. Every task therefore
# runs Meltano under flock(1) on this file: across these DAGs, one at a time per project
# and host. The fleet DAG (fleet.py) needs no lock: each of its tasks reads another
# portal, in a private Meltano system directory, and an Airflow pool bounds them.
LOCK_FILE = os.environ.get("MELTANO_DAG_LOCK_FILE") or str(SYS_DIR / "airflow.lock")
TIMEZONE = "UTC"
# Only a lower bound for the scheduler: with catchup=False it never creates the runs
# between this date and now.
START_DATE = pendulum.datetime(2024, 1, 1, tz=TIMEZONE)

DEFAULT_ARGS = {
    "owner": "meltano",
    "depends_on_past": False,
    "retries": 2,
    # More than Meltano's 5-minute heartbeat window: a retry after a killed attempt
    # finds that attempt's run marked stale instead of "already running".
    "retry_delay": timedelta(minutes=6),
    "execution_timeout": TASK_TIMEOUT,
}
TAGS = ["meltano"]


class MeltanoScheduleError(RuntimeError):
    """The schedules could not be listed: the DAG file fails to import, with this message."""


def project_files() -> list[Path]:
    """meltano.yml and the files its include_paths match."""
    meltano_yml = PROJECT_ROOT / "meltano.yml"
    if not meltano_yml.is_file():
        msg = f"no meltano.yml in {PROJECT_ROOT}; set MELTANO_PROJECT_ROOT"
        raise MeltanoScheduleError(msg)
    files = [meltano_yml]
    try:
        import yaml  # noqa: PLC0415 - an Airflow dependency

        patterns = (yaml.safe_load(meltano_yml.read_text()) or {}).get("include_paths") or []
    except Exception:  # noqa: BLE001 - meltano itself reports a broken file
        return files
    for pattern in patterns:
        files.extend(sorted(p for p in PROJECT_ROOT.glob(pattern) if p.is_file()))
    return files


def bash_command(executable: str, *args: str) -> str:
    """The BashOperator's command: meltano under the project lock."""
    command = shlex.join(meltano_command(executable, *args))
    if LOCK_FILE.lower() == "none":
        return f"exec {command}"
    lock = Path(LOCK_FILE)
    return (
        f"mkdir -p {shlex.quote(str(lock.parent))} && exec flock {shlex.quote(str(lock))} {command}"
    )


def fingerprint(executable: str) -> str:
    """Changes whenever the schedule list may change: the project files, the executable."""
    digest = hashlib.sha256(f"{PROJECT_ROOT}\0{executable}\0{ENV_FILE}\0".encode())
    for path in project_files():
        digest.update(f"{path}\0".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:24]


def cache_dir() -> Path:
    """Where the schedule list is cached."""
    configured = os.environ.get("MELTANO_DAG_CACHE_DIR")
    return Path(configured) if configured else SYS_DIR / "run" / "airflow"


def list_schedules() -> dict:
    """`meltano schedule list --format=json`, from the cache while the project is unchanged.

    A DAG file is parsed every 30 s or so; listing runs only when meltano.yml or an
    included file changed. Failures raise MeltanoScheduleError, which Airflow shows as
    this file's import error.
    """
    try:
        executable = meltano_bin()
    except MeltanoNotFoundError as exc:
        raise MeltanoScheduleError(str(exc)) from exc
    cached = cache_dir() / f"schedules-{fingerprint(executable)}.json"
    try:
        return json.loads(cached.read_text())
    except (OSError, ValueError):
        pass
    command = meltano_command(executable, "schedule", "list", "--format=json")
    try:
        result = subprocess.run(  # noqa: S603
            command,
            cwd=PROJECT_ROOT,
            env={**os.environ, "NO_COLOR": "1"},
            capture_output=True,
            text=True,
            timeout=LIST_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        msg = (
            f"`{shlex.join(command)}` took more than {LIST_TIMEOUT_S:g} s in {PROJECT_ROOT} "
            "(is the Meltano system database reachable? MELTANO_DAG_LIST_TIMEOUT raises it)"
        )
        raise MeltanoScheduleError(msg) from exc
    except OSError as exc:
        msg = f"cannot run `{shlex.join(command)}`: {exc}; set MELTANO_BIN"
        raise MeltanoScheduleError(msg) from exc
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines()
        detail = "\n".join(error_lines(lines, 10) or lines[-15:])
        msg = f"`{shlex.join(command)}` exited {result.returncode} in {PROJECT_ROOT}:\n{detail}"
        raise MeltanoScheduleError(msg)
    try:
        listed = json.loads(result.stdout)
        listed["schedules"]["job"]  # the shape this file relies on
    except (ValueError, KeyError, TypeError) as exc:
        msg = f"`{shlex.join(command)}` printed no schedule list: {result.stdout[:500]!r}"
        raise MeltanoScheduleError(msg) from exc
    _write_cache(cached, result.stdout)
    return listed


def _write_cache(path: Path, text: str) -> None:
    """Atomically, so that parallel parsers never read half a file; old entries go."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False) as tmp:
            tmp.write(text)
        Path(tmp.name).replace(path)
        for old in path.parent.glob("schedules-*.json"):
            if old != path:
                old.unlink(missing_ok=True)
    except OSError:
        pass  # no cache: every parse lists again


def task_id(task: str, taken: set[str]) -> str:
    """An Airflow task id for a Meltano task, e.g. `dbt-postgres:run` -> `dbt-postgres_run`."""
    base = re.sub(r"[^A-Za-z0-9_.-]+", "_", task).strip("_")[:200] or "task"
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}_{n}", n + 1
    taken.add(candidate)
    return candidate


def timetable(schedule: dict) -> object | str | None:
    """A cron data-interval timetable in UTC; None (trigger only) without a cron."""
    if schedule.get("interval") == "@once":
        return "@once"
    cron = schedule.get("cron_interval")
    if not cron:
        return None  # @manual / @none: the DAG runs when triggered
    return CronDataIntervalTimetable(cron, timezone=TIMEZONE)


def build_dag(schedule: dict, executable: str, *, job: bool) -> DAG:
    """The DAG of one schedule: its job's top-level tasks in a chain."""
    name = schedule["name"]
    if job:
        tasks = schedule["job"]["tasks"]
        tasks = [tasks] if isinstance(tasks, str) else tasks
        # A task is "tap target" or ["tap target", "dbt:run"]: one `meltano run` each.
        commands = [
            ["run", *(task if isinstance(task, str) else " ".join(task)).split()] for task in tasks
        ]
        what = f"job `{schedule['job']['name']}`"
        tags = [*TAGS, f"job:{schedule['job']['name']}"]
    else:  # a legacy extractor/loader schedule: its own state id, `meltano elt`
        commands = [["schedule", "run", name]]
        what = f"`{schedule['extractor']}` -> `{schedule['loader']}`"
        tags = [*TAGS, "elt"]
    dag = DAG(
        dag_id=f"meltano_{name}",
        description=f"Meltano schedule {name}: {what}",
        schedule=timetable(schedule),
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        default_args=DEFAULT_ARGS,
        tags=tags,
        doc_md=(
            f"Meltano schedule `{name}` ({schedule.get('interval')}): {what}, "
            f"project `{PROJECT_ROOT}`. Bookmarks: Meltano's state backend."
        ),
    )
    env = {str(key): str(value) for key, value in (schedule.get("env") or {}).items()}
    previous = None
    taken: set[str] = set()
    for args in commands:
        label = " ".join(args[1:]) if args[0] == "run" else "elt"
        operator = BashOperator(
            task_id=task_id(label, taken),
            bash_command=bash_command(executable, *args),
            cwd=str(PROJECT_ROOT),
            env=env or None,
            append_env=True,
            skip_on_exit_code=None,
            # The last log line is no result worth keeping in the metadata database.
            do_xcom_push=False,
            dag=dag,
        )
        if previous is not None:
            previous >> operator
        previous = operator
    return dag


def build_dags() -> dict[str, DAG]:
    """Every schedule's DAG by dag id."""
    listed = list_schedules()
    executable = meltano_bin()  # found by list_schedules
    dags = {}
    for schedule in listed["schedules"].get("job", []):
        dag = build_dag(schedule, executable, job=True)
        dags[dag.dag_id] = dag
    for schedule in listed["schedules"].get("elt", []):
        dag = build_dag(schedule, executable, job=False)
        dags[dag.dag_id] = dag
    return dags


# Airflow finds DAGs among the module's globals.
globals().update(build_dags())
