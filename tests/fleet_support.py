"""A real Airflow 3 deployment on loopback for the fleet test and the fleet benchmark.

`AirflowCluster` runs `airflow api-server` (the execution API the task runners talk to),
`airflow dag-processor` and `airflow scheduler` (LocalExecutor) as separate processes,
each in its own process group, with the metadata database on PostgreSQL. Everything it
starts is stopped by `stop()` (SIGTERM to the group, then SIGKILL), and every wait is
bounded. Pools, Connections, pausing and triggering go through the running api-server's
REST API (the simple auth manager, every caller an admin, on 127.0.0.1 only): an
`airflow` CLI call for each would start Airflow again, 4 CPU-s apiece.

`RecordingEmulator` is the HubSpot emulator unchanged, plus the time of each API request
it serves: one emulator per portal, so the request times of a portal are its own.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import threading
import time
import typing as t
import urllib.error
import urllib.request
from pathlib import Path

import psycopg
from psycopg import sql

from hubspot_emulator import HubSpotEmulator

ROOT = Path(__file__).resolve().parent.parent
AIRFLOW_VENV = ROOT / ".venv-airflow"
AIRFLOW = AIRFLOW_VENV / "bin" / "airflow"
DAGS = ROOT / "orchestrate" / "airflow" / "dags"
FLEET_DAG = "hubspot_activity_fleet"
CLI_TIMEOUT_S = 180
START_TIMEOUT_S = 120
STOP_TIMEOUT_S = 30
# Every wait polls its condition this often (a query or an HTTP request on loopback).
POLL_S = 0.25


class RecordingEmulator(HubSpotEmulator):
    """The emulator, recording (start, end, path, status) of every API request."""

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self._log_lock = threading.Lock()
        self._open: dict[int, list[float]] = {}
        self.requests: list[tuple[float, float, str, str]] = []

    def begin_request(self, path: str) -> None:
        with self._log_lock:
            self._open.setdefault(threading.get_ident(), []).append(time.time())
        super().begin_request(path)

    def end_request(self, path: str, status: int | str) -> None:
        super().end_request(path, status)
        with self._log_lock:
            began = self._open[threading.get_ident()].pop()
            self.requests.append(
                (
                    began,
                    time.time(),
                    path,
                    str(int(status)) if str(status).isdigit() else str(status),
                )
            )

    def clear_requests(self) -> None:
        with self._log_lock:
            self.requests.clear()

    def interval(self) -> tuple[float, float] | None:
        """[first request start, last request end] since the last clear, if any."""
        with self._log_lock:
            if not self.requests:
                return None
            return min(r[0] for r in self.requests), max(r[1] for r in self.requests)


def peak_overlap(intervals: t.Iterable[tuple[float, float] | None]) -> int:
    """The largest number of [start, end] intervals that contain one instant."""
    events: list[tuple[float, int]] = []
    for interval in intervals:
        if interval is not None:
            events += [(interval[0], 1), (interval[1], -1)]
    peak = current = 0
    # At equal times the end comes first: touching intervals do not overlap.
    for _, step in sorted(events, key=lambda event: (event[0], event[1])):
        current += step
        peak = max(peak, current)
    return peak


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def create_database(admin_uri: str, name: str) -> str:
    """A new database on the embedded server; its libpq URI."""
    with psycopg.connect(admin_uri, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return admin_uri.rsplit("/", 1)[0] + f"/{name}"


def airflow_env(home: Path, metadata_uri: str, *, parallelism: int = 4) -> dict[str, str]:
    """Airflow's configuration as environment variables: LocalExecutor, PostgreSQL."""
    port = free_port()
    sqlalchemy = metadata_uri.replace("postgresql://", "postgresql+psycopg://", 1)
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": str(parallelism),
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__CORE__FERNET_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": sqlalchemy,
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": sqlalchemy.replace(
            "postgresql+psycopg://", "postgresql+psycopg_async://", 1
        ),
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
        "AIRFLOW__API__SECRET_KEY": secrets.token_hex(16),
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
        # The REST API without a login (AirflowCluster.api): the server listens on
        # 127.0.0.1 only, for this run.
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        # Parsed once at start: re-parsing every 30 s only takes CPU from the tasks.
        "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "600",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        "NO_COLOR": "1",
    }


class AirflowCluster:
    """api-server + dag-processor + scheduler, as separate processes on loopback."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env = env
        self.log_dir = log_dir
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.metadata_uri = env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].replace(
            "postgresql+psycopg://", "postgresql://", 1
        )

    # -- the CLI ----------------------------------------------------------------------

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(AIRFLOW), *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT_S,
            check=False,
        )
        if check and result.returncode != 0:
            tail = "\n".join((result.stdout + result.stderr).splitlines()[-40:])
            msg = f"airflow {' '.join(args[:2])} exited {result.returncode}:\n{tail}"
            raise RuntimeError(msg)
        return result

    # -- the REST API (the api-server must be running) -----------------------------------

    def api(self, method: str, path: str, body: dict[str, t.Any] | None = None) -> t.Any:
        """One request to /api/v2; its JSON answer (None when empty)."""
        request = urllib.request.Request(  # noqa: S310 - the cluster's own loopback URL
            f"{self.env['AIRFLOW__API__BASE_URL']}/api/v2/{path}",
            data=None if body is None else json.dumps(body).encode(),
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=CLI_TIMEOUT_S) as response:  # noqa: S310
                payload = response.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")[:2000]
            msg = f"Airflow API {method} {path}: HTTP {exc.code}: {detail}"
            raise RuntimeError(msg) from None
        return json.loads(payload) if payload else None

    def set_pool(self, name: str, slots: int, description: str) -> None:
        """Create the pool, or change its slots."""
        fields = {"slots": slots, "description": description}
        if any(pool["name"] == name for pool in self.api("GET", "pools")["pools"]):
            # The PATCH body names the pool "pool" and wants every field.
            self.api("PATCH", f"pools/{name}", {"pool": name, **fields, "include_deferred": False})
        else:
            self.api("POST", "pools", {"name": name, **fields})

    def add_connection(self, conn_id: str, conn_type: str, password: str) -> None:
        body = {"connection_id": conn_id, "conn_type": conn_type, "password": password}
        self.api("POST", "connections", body)

    def delete_connection(self, conn_id: str) -> None:
        self.api("DELETE", f"connections/{conn_id}")

    def unpause(self, dag_id: str) -> None:
        self.api("PATCH", f"dags/{dag_id}", {"is_paused": False})

    def trigger(self, dag_id: str, run_id: str) -> None:
        self.api("POST", f"dags/{dag_id}/dagRuns", {"dag_run_id": run_id, "logical_date": None})

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> t.Self:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for name in ("api-server", "dag-processor", "scheduler"):
            log = (self.log_dir / f"{name}.log").open("wb")
            self.processes[name] = subprocess.Popen(
                [str(AIRFLOW), name],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            log.close()
        self._wait_for_api()
        return self

    def _wait_for_api(self) -> None:
        url = f"{self.env['AIRFLOW__API__BASE_URL']}/api/v2/monitor/health"
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            self.check_alive()
            with (
                contextlib.suppress(OSError, urllib.error.URLError),
                urllib.request.urlopen(url, timeout=5) as response,  # noqa: S310 - loopback
            ):
                if response.status == 200:
                    return
            time.sleep(POLL_S)
        msg = f"the api-server did not answer {url} within {START_TIMEOUT_S} s"
        raise RuntimeError(msg)

    def check_alive(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                tail = (self.log_dir / f"{name}.log").read_text(errors="replace")[-4000:]
                msg = f"airflow {name} exited {process.returncode}:\n{tail}"
                raise RuntimeError(msg)

    def stop(self) -> None:
        """SIGTERM each component's process group (its task processes too), then SIGKILL."""
        for process in self.processes.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for process in self.processes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(max(0.1, deadline - time.monotonic()))
        for process in self.processes.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(10)
        self.processes.clear()

    def __enter__(self) -> t.Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the metadata database -----------------------------------------------------------

    def query(self, query: str, *params: t.Any) -> list[tuple[t.Any, ...]]:
        with psycopg.connect(self.metadata_uri, autocommit=True) as conn:
            return list(conn.execute(query, params))  # type: ignore[arg-type]

    def wait_for_dag(self, dag_id: str, timeout_s: float = START_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.check_alive()
            if self.query("SELECT 1 FROM dag WHERE dag_id = %s", dag_id):
                return
            time.sleep(POLL_S)
        errors = self.cli("dags", "list-import-errors", check=False).stdout
        msg = f"DAG {dag_id} was not parsed within {timeout_s} s; import errors:\n{errors}"
        raise RuntimeError(msg)

    def wait_for_run(self, dag_id: str, run_id: str, timeout_s: float) -> str:
        """The final state of a DAG run (success or failed)."""
        deadline = time.monotonic() + timeout_s
        state = None
        while time.monotonic() < deadline:
            self.check_alive()
            rows = self.query(
                "SELECT state FROM dag_run WHERE dag_id = %s AND run_id = %s", dag_id, run_id
            )
            state = rows[0][0] if rows else None
            if state in {"success", "failed"}:
                return str(state)
            time.sleep(POLL_S)
        states = self.task_states(dag_id, run_id)
        msg = f"DAG run {run_id} still {state} after {timeout_s} s: {states}"
        raise TimeoutError(msg)

    def task_states(self, dag_id: str, run_id: str) -> dict[tuple[str, int], dict[str, t.Any]]:
        """(task_id, map_index) -> state, try_number, rendered_map_index, start, end."""
        rows = self.query(
            "SELECT task_id, map_index, state, try_number, rendered_map_index, start_date, "
            "end_date FROM task_instance WHERE dag_id = %s AND run_id = %s",
            dag_id,
            run_id,
        )
        return {
            (task_id, map_index): {
                "state": state,
                "try_number": try_number,
                "label": label,
                "start": start,
                "end": end,
            }
            for task_id, map_index, state, try_number, label, start, end in rows
        }
