"""One dbt-built data set for the whole run: the emulator -> Meltano -> PostgreSQL -> dbt.

A fixed-clock emulator (the same data in every process and on every run), `meltano run
tap-hubspot-activity target-postgres` with the CMS stream on, then `meltano invoke
dbt-postgres:build`, into database `shared_build` of the run's PostgreSQL
(tests/shared.py). The first process that asks builds it, under a lock, once per run;
then the database is copied to `shared_build_template`, which nobody connects to, and the
Meltano system database (its state) is kept beside it.

Fixtures (registered in conftest.py):
- `dbt_build` (session; `ocsf_build` is the same): the shared build, read only. Tests
  that change data do it in schemas of their own. Each process has its own emulator of
  the same data and its own copy of the Meltano system database.
- `dbt_build_copy` (module): a private copy for a module that changes the data (adds
  events and loads again, rebuilds): its own database copied from the template, its own
  Meltano state and emulator (add events to it), the same token and schemas.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import secrets
import shutil
import time
import typing as t
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from hubspot_emulator import EmulatorConfig, HubSpotEmulator
from tests import shared

SOURCE_SCHEMA = "hubspot_activity_built"
ANALYTICS = f"{SOURCE_SCHEMA}_analytics"
NOW = dt.datetime(2026, 10, 1, 12, 0, tzinfo=dt.UTC)
DATABASE = "shared_build"
TEMPLATE = f"{DATABASE}_template"
# One token per run, the same in every worker (they inherit the variable): finding it
# in any output can only be a leak.
TOKEN = "pat-na1-built-" + os.environ.setdefault(
    "HUBSPOT_ACTIVITY_TEST_TOKEN", secrets.token_hex(12)
)
# table -> emulator stream
TABLES = {
    "login_activity": "login",
    "audit_logs": "audit-logs",
    "security_activity": "security",
    "cms_content_audit": "cms",
}
OCSF_CLASSES = {
    2004: "ocsf_detection_finding",
    3001: "ocsf_account_change",
    3002: "ocsf_authentication",
    3004: "ocsf_entity_management",
    3005: "ocsf_user_access_management",
    3006: "ocsf_group_management",
    6001: "ocsf_web_resources_activity",
}
# Every model of the project, in no particular order.
MODELS = (
    "stg_login_activity",
    "stg_audit_logs",
    "stg_security_activity",
    "stg_cms_content_audit",
    "activity_events",
    "failed_login_bursts",
    "new_country_logins",
    "privileged_changes",
    "monthly_evidence_summary",
    "int_ocsf_security_activity",
    *OCSF_CLASSES.values(),
    "ocsf_events",
    "ocsf_export",
    # Completeness (no verification run here, so evidence_drift is empty and left out).
    "stg_sync_manifests",
    "manifest_events",
    "warehouse_events",
    "completeness",
    "pipeline_health",
)


@dataclass
class DbtBuild:
    """A built data set: its warehouse, Meltano environment, emulator and build output."""

    emu: HubSpotEmulator
    pg: t.Any
    env: dict[str, str]
    home: Path
    build_output: str
    build_seconds: float

    def query(self, statement: sql.Composable) -> list[dict[str, t.Any]]:
        with psycopg.connect(self.pg.uri, autocommit=True) as conn, conn.cursor() as cur:
            cur.execute(statement)
            assert cur.description is not None
            names = [column.name for column in cur.description]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def model(self, name: str, schema: str = ANALYTICS) -> list[dict[str, t.Any]]:
        return self.query(sql.SQL("SELECT * FROM {}").format(sql.Identifier(schema, name)))

    def count(self, schema: str, table: str) -> int:
        statement = sql.SQL("SELECT count(*) AS n FROM {}").format(sql.Identifier(schema, table))
        return int(self.query(statement)[0]["n"])


def emulator_config() -> EmulatorConfig:
    """The data set: the same organic events and planted incidents on every run."""
    return EmulatorConfig(
        seed=31,
        users=40,
        logins_per_day=12.0,
        audits_per_day=15.0,
        security_per_day=4.0,
        history_days=60,
        now=NOW,
        ten_second_max=100_000,
    )


def build_env(home: Path, pg: t.Any, emu: HubSpotEmulator) -> dict[str, str]:
    """The Meltano environment of the build and of its copies."""
    from tests.conftest import meltano_env  # noqa: PLC0415 - conftest imports this module

    return meltano_env(
        home,
        pg,
        {
            "TAP_HUBSPOT_ACTIVITY_API_URL": emu.url,
            "TAP_HUBSPOT_ACTIVITY_ACCESS_TOKEN": TOKEN,
            "TAP_HUBSPOT_ACTIVITY_START_DATE": "2000-01-01T00:00:00Z",
            # The optional fourth stream (off by default), so dbt sees its table.
            "TAP_HUBSPOT_ACTIVITY_CMS_CONTENT_AUDIT": "true",
            "TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA": SOURCE_SCHEMA,
            "DBT_POSTGRES_SOURCE_SCHEMA": SOURCE_SCHEMA,
            # dbt's artifacts and log in the test's own directory, not transform/target.
            "DBT_TARGET_PATH": str(home / "dbt-target"),
            "DBT_LOG_PATH": str(home / "dbt-logs"),
        },
    )


def built_once(admin: t.Any, emu: HubSpotEmulator) -> dict[str, t.Any]:
    """Load and build once per run (the first caller does it); what the build printed."""
    from tests.conftest import ensure_plugins, meltano  # noqa: PLC0415

    with shared.locked("dbt-build") as folder:
        record = folder / "dbt-build" / "build.json"
        if record.exists():
            return t.cast("dict[str, t.Any]", json.loads(record.read_text()))
        home = record.parent / "home"
        home.mkdir(parents=True)
        pg = shared.database(admin, DATABASE)
        env = build_env(home, pg, emu)
        ensure_plugins(env, "tap-hubspot-activity", "target-postgres", "dbt-postgres")
        load = meltano(env, "run", "tap-hubspot-activity", "target-postgres")
        started = time.monotonic()
        build = meltano(env, "invoke", "dbt-postgres:build")
        seconds = time.monotonic() - started
        check_complete(pg, load.stdout + load.stderr, build.stdout + build.stderr)
        # The pristine copy that dbt_build_copy hands out (nobody connects to it).
        shared.database(admin, TEMPLATE, template=DATABASE)
        done = {"output": build.stdout + build.stderr, "seconds": seconds, "home": str(home)}
        record.write_text(json.dumps(done))
        return done


def check_complete(pg: t.Any, load_output: str, build_output: str) -> None:
    """Every loaded event in staging and in activity_events, or the build fails here.

    Each module asserts on this build; a build short of a stream would fail them all far
    from the cause, so the cause (what the load and dbt said of the stream) is told here.
    """
    counts = "SELECT (SELECT count(DISTINCT ({portal}, id)) FROM {raw}), count(*) FROM {staged}"
    found = {}
    with psycopg.connect(pg.uri, autocommit=True) as conn:
        for table in TABLES:
            statement = sql.SQL(counts).format(
                portal=sql.Identifier("portalId"),
                raw=sql.Identifier(SOURCE_SCHEMA, table),
                staged=sql.Identifier(ANALYTICS, f"stg_{table}"),
            )
            found[table] = conn.execute(statement).fetchone()
        unified = conn.execute(
            sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(ANALYTICS, "activity_events"))
        ).fetchone()
    short = {table: row for table, row in found.items() if row[0] != row[1]}
    if short or unified != (sum(row[0] for row in found.values()),):
        said = [
            line
            for line in (load_output + build_output).splitlines()
            if any(table in line for table in short) or "does not exist" in line
        ]
        pytest.fail(
            f"the shared build is short: (loaded, staged) {found}, activity_events {unified}\n"
            + "\n".join(said[-80:])
        )


def _copy_home(built: dict[str, t.Any], home: Path) -> None:
    """A private Meltano system database with the build's state."""
    shutil.copy2(Path(built["home"]) / "meltano.db", home / "meltano.db")


@pytest.fixture(scope="session")
def dbt_build(pg_server: t.Any, tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[DbtBuild]:
    with HubSpotEmulator(emulator_config()) as emu:
        built = built_once(pg_server, emu)
        home = tmp_path_factory.mktemp("dbt-build")
        _copy_home(built, home)
        pg = dataclasses.replace(pg_server, database=DATABASE)
        yield DbtBuild(emu, pg, build_env(home, pg, emu), home, built["output"], built["seconds"])


@pytest.fixture(scope="session")
def ocsf_build(dbt_build: DbtBuild) -> DbtBuild:
    """The shared build, by the name tests/test_ocsf.py and tests/test_snowflake.py use."""
    return dbt_build


@pytest.fixture(scope="module")
def dbt_build_copy(
    request: pytest.FixtureRequest, pg_server: t.Any, tmp_path_factory: pytest.TempPathFactory
) -> t.Iterator[DbtBuild]:
    with HubSpotEmulator(emulator_config()) as emu:
        built = built_once(pg_server, emu)
        name = shared.database_name(request.module.__name__.rsplit(".", 1)[-1], "build")
        name = shared.database_name(name, os.environ.get("PYTEST_XDIST_WORKER", ""))
        pg = shared.database(pg_server, name, template=TEMPLATE)
        home = tmp_path_factory.mktemp("dbt-build-copy")
        _copy_home(built, home)
        yield DbtBuild(emu, pg, build_env(home, pg, emu), home, built["output"], built["seconds"])
