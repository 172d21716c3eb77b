"""What one test run shares across its pytest-xdist workers: a folder, locks, one PostgreSQL.

The controller (or the only process, without xdist) makes a folder for the run in
`pytest_configure` and names it in HUBSPOT_ACTIVITY_TEST_SHARED, which the workers it
starts inherit. Whatever is expensive and read-only is made there once, by the first
process that needs it, under a file lock (`locked`); the others wait for it, then use it.

- `server()`: one embedded PostgreSQL 18 for the whole run, started on first use.
  Each test module gets its own database on it (`database()`, conftest's `pg`), so the
  modules' schemas never meet; a database can also be copied whole from another
  (`CREATE DATABASE ... TEMPLATE`), which is how a built data set is handed out.
- `finish()`: the controller stops the server and removes the folder when the run ends.
- `server_cpu_seconds()`: the CPU time the server and its backends have used so far.

Not under pytest's basetemp: as root the server runs as its own system user, and pytest
makes /tmp/pytest-of-<user> 0700 again whenever a session starts.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import os
import re
import shutil
import tempfile
import typing as t
from pathlib import Path

import psycopg
from psycopg import sql

from scripts import warehouse

if t.TYPE_CHECKING:
    from collections.abc import Iterator

SHARED_ENV = "HUBSPOT_ACTIVITY_TEST_SHARED"
# Tuned for tests: more connections (an Airflow deployment, dbt's threads and several
# workers at once) and no waiting on the disk. Durability is no concern of a run that
# is thrown away at its end.
SERVER_SETTINGS = {
    "max_connections": "400",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
}


def start_run() -> Path:
    """The run's shared folder, made by the controller (or the only process)."""
    if SHARED_ENV not in os.environ:
        os.environ[SHARED_ENV] = tempfile.mkdtemp(prefix="hubspot-activity-tests-")
    return Path(os.environ[SHARED_ENV])


def shared_dir() -> Path:
    """The run's shared folder (start_run() made it)."""
    return Path(os.environ.get(SHARED_ENV) or start_run())


@contextlib.contextmanager
def locked(name: str) -> Iterator[Path]:
    """Hold the run-wide lock `name` (a file lock, so across processes)."""
    folder = shared_dir()
    with (folder / f"{name}.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield folder
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _data_dir() -> Path:
    return shared_dir() / "pg" / "pgdata"


def server() -> warehouse.Warehouse:
    """The run's PostgreSQL server (database `postgres`), started by whoever asks first."""
    with locked("pg"):
        data_dir = _data_dir()
        fresh = not (data_dir / "PG_VERSION").exists()
        wh = warehouse.start(data_dir)
        if fresh:
            with psycopg.connect(wh.uri, autocommit=True) as conn:
                for name, value in SERVER_SETTINGS.items():
                    conn.execute(
                        sql.SQL("ALTER SYSTEM SET {} = {}").format(
                            sql.Identifier(name), sql.Literal(value)
                        )
                    )
            warehouse.stop(data_dir)  # max_connections needs a restart
            wh = warehouse.start(data_dir)
        return wh


def database_name(*parts: str) -> str:
    """A database name from parts (a module name, a worker id): lower case, [a-z0-9_]."""
    name = "_".join(re.sub(r"[^a-z0-9_]+", "_", part.lower()) for part in parts if part)
    return name[:63]


def database(
    admin: warehouse.Warehouse, name: str, *, template: str | None = None
) -> warehouse.Warehouse:
    """A new database on the server (replacing one of that name), as a Warehouse.

    With `template`, a copy of that database; nobody may be connected to it meanwhile.
    """
    create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template:
        create += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
    with psycopg.connect(admin.uri, autocommit=True) as conn:
        drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
        conn.execute(drop.format(sql.Identifier(name)))
        conn.execute(create)
    return dataclasses.replace(admin, database=name)


def server_cpu_seconds() -> float | None:
    """CPU seconds of the run's server: the postmaster and the backends it has reaped
    (no pytest process waits for them, so they are not in its children's usage)."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        pid = int((_data_dir() / "postmaster.pid").read_text().split()[0])
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        # utime, stime, cutime, cstime: fields 14-17 of proc(5), 12-15 after the name.
        return sum(int(value) for value in fields[11:15]) / os.sysconf("SC_CLK_TCK")
    return None


def finish() -> None:
    """Stop the server and remove the shared folder (the controller, at the end)."""
    folder = os.environ.get(SHARED_ENV)
    if not folder:
        return
    with contextlib.suppress(Exception):
        warehouse.stop(Path(folder) / "pg" / "pgdata")
    shutil.rmtree(folder, ignore_errors=True)
