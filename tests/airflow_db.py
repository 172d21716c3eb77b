"""One migrated Airflow metadata database per run, copied for each test that runs Airflow.

`airflow db migrate` on an empty database is most of a minute of CPU. The first test
that needs a metadata database migrates `airflow_metadata_template` on the run's
PostgreSQL (tests/shared.py), under a lock; every test then gets a copy of it
(`CREATE DATABASE ... TEMPLATE`), ready to use: an `airflow db migrate` of its own would
find nothing left to do, so the tests run none. Nobody connects to the template itself.
"""

from __future__ import annotations

import os
import subprocess
import typing as t
from pathlib import Path

from tests import shared

ROOT = Path(__file__).resolve().parent.parent
AIRFLOW = ROOT / ".venv-airflow" / "bin" / "airflow"
TEMPLATE = "airflow_metadata_template"
MIGRATE_TIMEOUT_S = 600


def connection_env(uri: str) -> dict[str, str]:
    """Airflow's metadata database settings for a libpq URI (psycopg 3, sync and async)."""
    return {
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": uri.replace(
            "postgresql://", "postgresql+psycopg://", 1
        ),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": uri.replace(
            "postgresql://", "postgresql+psycopg_async://", 1
        ),
    }


def _migrate_template(admin: t.Any, folder: Path) -> None:
    template = shared.database(admin, TEMPLATE)
    home = folder / "airflow-template"
    home.mkdir(exist_ok=True)
    env = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW")}
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "orchestrate" / "airflow" / "dags"),
            **connection_env(template.uri),
            "NO_COLOR": "1",
        }
    )
    result = subprocess.run(
        [str(AIRFLOW), "db", "migrate"],
        cwd=home,
        env=env,
        capture_output=True,
        text=True,
        timeout=MIGRATE_TIMEOUT_S,
        check=False,
    )
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-40:])
        msg = f"airflow db migrate (the template) exited {result.returncode}:\n{tail}"
        raise RuntimeError(msg)


def metadata_database(admin: t.Any, name: str) -> str:
    """A new database `name` holding Airflow's migrated schema; its libpq URI.

    `admin`: connection values of any database on the run's server (a `pg` fixture).
    """
    with shared.locked("airflow-metadata") as folder:
        done = folder / "airflow-template.done"
        if not done.exists():
            _migrate_template(admin, folder)
            done.touch()
    return str(shared.database(admin, name, template=TEMPLATE).uri)
