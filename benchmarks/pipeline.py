"""Meltano and dbt runs for the warehouse benchmark: isolated environment, timed, CPU split."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import signal
import subprocess
import threading
import time
import typing as t
from pathlib import Path

import psycopg
from psycopg import sql

from benchmarks.cli_runs import REPO, TOKEN, child_env
from benchmarks.proctree import PipelineSampler, tree_cpu

MELTANO = REPO / ".venv" / "bin" / "meltano"
# The tap Meltano runs (its plugin virtualenv), also run alone for the baseline.
PLUGIN_TAP = REPO / ".meltano/extractors/tap-hubspot-activity/venv/bin/tap-hubspot-activity"
SCHEMA = "hubspot_activity"
MANIFESTS = "sync_manifests"
# Which process is which, by strings in its command line (the first role that matches).
# Meltano runs the tap once with --discover before the sync: its own role.
LOAD_ROLES: dict[str, tuple[str, ...]] = {
    "discovery": ("tap-hubspot-activity", "--discover"),
    "tap": ("tap-hubspot-activity",),
    "target": ("target-postgres",),
}
DBT_ROLES: dict[str, tuple[str, ...]] = {"dbt": ("/bin/dbt",)}
LOAD_TIMEOUT_S = 3600.0


def meltano_env(home: Path, wh: t.Any, settings: dict[str, str]) -> dict[str, str]:
    """Meltano's environment: the system db (state) in `home`, nothing from the shell.

    As tests/conftest.py's meltano_env: the project's variables are dropped from the
    inherited environment and an empty env file stands in for the project's .env, which
    may hold real credentials. dbt writes its target/ (run_results.json) and logs in
    `home` too, not in transform/.
    """
    prefixes = ("TAP_HUBSPOT_ACTIVITY_", "TARGET_", "MELTANO_", "DBT_")
    env = {key: value for key, value in child_env().items() if not key.startswith(prefixes)}
    # Without bytecode caches every plugin start compiles its imports again (seconds of
    # CPU per process): a deployed pipeline writes them on its first run.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    empty = home / "empty.env"
    empty.write_text("")
    env.update(wh.target_env())
    env.update(
        {
            "MELTANO_DATABASE_URI": f"sqlite:///{home / 'meltano.db'}",
            "MELTANO_ENVIRONMENT": "dev",
            "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
            "MELTANO_CLI_DISABLE_VERSION_CHECK": "true",
            "NO_COLOR": "1",
            "PIPELINE_ENV_FILE": str(empty),
            "TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA": SCHEMA,
            "TAP_HUBSPOT_ACTIVITY_ACCESS_TOKEN": TOKEN,
            "DBT_TARGET_PATH": str(home / "dbt-target"),
            "DBT_LOG_PATH": str(home / "dbt-logs"),
        }
    )
    env.update(settings)
    return env


def meltano_argv(env: dict[str, str], *args: str) -> list[str]:
    """A meltano command line reading the empty env file, not the project's .env."""
    return [str(MELTANO), "--env-file", env["PIPELINE_ENV_FILE"], *args]


def dump(env: dict[str, str], home: Path, what: str) -> Path:
    """The tap's config or catalog exactly as Meltano would hand it over."""
    out = subprocess.run(
        meltano_argv(env, "invoke", f"--dump={what}", "tap-hubspot-activity"),
        cwd=REPO,
        env=env,
        capture_output=True,
        check=True,
        timeout=300,
    )
    path = home / f"tap-{what}.json"
    path.write_bytes(out.stdout)
    json.loads(out.stdout)  # fail here, not in the tap, if Meltano printed anything else
    return path


@dataclasses.dataclass
class Timed:
    """One timed command: wall time, exit status, CPU seconds per role and of PostgreSQL."""

    name: str
    wall_s: float
    returncode: int
    cpu: dict[str, float]
    stopped: bool
    log: Path

    @property
    def ok(self) -> bool:
        """Exited 0 within its time limit."""
        return self.returncode == 0 and not self.stopped


def run_timed(  # noqa: PLR0913
    name: str,
    argv: list[str],
    env: dict[str, str],
    home: Path,
    *,
    roles: dict[str, tuple[str, ...]],
    postmaster: int,
    timeout: float,
) -> Timed:
    """Run a command, sample its process tree, and measure PostgreSQL's CPU meanwhile."""
    log = home / f"{name}.log"
    pg_before = tree_cpu(postmaster)
    with log.open("wb") as out:
        started = time.perf_counter()
        # Its own session: on a timeout the whole tree (meltano, tap, target, dbt) stops.
        proc = subprocess.Popen(
            argv, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        sampler = PipelineSampler(proc.pid, roles)
        sampler.start()
        stopped = threading.Event()

        def stop() -> None:
            stopped.set()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
                time.sleep(10)
                os.killpg(proc.pid, signal.SIGKILL)  # what did not stop on SIGTERM

        timer = threading.Timer(timeout, stop)
        timer.start()
        try:
            # Wait without reaping: the exited process's stat still holds its reaped
            # children's CPU time, which the sampler's last pass reads.
            os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
            wall = time.perf_counter() - started
            sampler.stop()
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
        finally:
            timer.cancel()
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    cpu = sampler.split(usage.ru_utime + usage.ru_stime)
    cpu["postgres"] = tree_cpu(postmaster) - pg_before
    return Timed(name, wall, proc.returncode, cpu, stopped.is_set(), log)


def meltano_run(name: str, env: dict[str, str], home: Path, postmaster: int) -> Timed:
    """`meltano run tap-hubspot-activity target-postgres`, as the demo and jobs run it."""
    argv = meltano_argv(env, "run", "tap-hubspot-activity", "target-postgres")
    run = run_timed(
        name, argv, env, home, roles=LOAD_ROLES, postmaster=postmaster, timeout=LOAD_TIMEOUT_S
    )
    if not run.ok:
        tail = "\n".join(run.log.read_text(errors="replace").splitlines()[-30:])
        msg = f"{name} failed (exit {run.returncode}); see {run.log}:\n{tail}"
        raise RuntimeError(msg)
    return run


@dataclasses.dataclass
class Build:
    """One `dbt build`: its run, and every node's execution time (slowest first)."""

    run: Timed
    nodes: list[tuple[str, float]]
    results: Path | None


def dbt_build(name: str, env: dict[str, str], home: Path, postmaster: int, timeout: float) -> Build:
    """`meltano invoke dbt-postgres:build`; a failed or stopped build is reported, not raised."""
    argv = meltano_argv(env, "invoke", "dbt-postgres:build")
    run = run_timed(name, argv, env, home, roles=DBT_ROLES, postmaster=postmaster, timeout=timeout)
    source = Path(env["DBT_TARGET_PATH"]) / "run_results.json"
    if not source.exists() or run.stopped:
        return Build(run, [], None)
    # The next build overwrites it: keep this one's.
    kept = home / f"run_results-{name}.json"
    shutil.move(source, kept)
    results = json.loads(kept.read_text())["results"]
    nodes = sorted(
        ((_node_name(r["unique_id"]), float(r.get("execution_time") or 0)) for r in results),
        key=lambda node: -node[1],
    )
    return Build(run, nodes, kept)


def _node_name(unique_id: str) -> str:
    """`model.project.name` -> `model name`; a test's id ends in a hash, after its name."""
    parts = unique_id.split(".")
    return f"{parts[0]} {parts[2]}" if len(parts) >= 3 else unique_id


def row_counts(uri: str) -> dict[str, int]:
    """Rows per table in the loader's schema."""
    with psycopg.connect(uri, autocommit=True) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "select table_name from information_schema.tables where table_schema = %s",
                (SCHEMA,),
            )
        ]
        counts = {}
        for table in sorted(tables):
            query = sql.SQL("select count(*) from {}.{}").format(
                sql.Identifier(SCHEMA), sql.Identifier(table)
            )
            row = conn.execute(query).fetchone()
            counts[table] = int(row[0]) if row else 0
    return counts


def events_in(counts: dict[str, int]) -> int:
    """Activity rows: every table but the tap's manifests."""
    return sum(n for table, n in counts.items() if table != MANIFESTS)
