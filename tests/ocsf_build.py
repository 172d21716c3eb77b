"""The build the OCSF and Snowflake tests share: the emulator -> Meltano -> PostgreSQL -> dbt.

One session fixture (registered in conftest.py), so tests/test_ocsf.py and
tests/test_snowflake.py pay for one load and one PostgreSQL build: a fixed-clock
emulator (the same data on every run), its own embedded PostgreSQL, `meltano run
tap-hubspot-activity target-postgres` with the CMS stream on, then
`meltano invoke dbt-postgres:build`. Tests that change data do it in other schemas.
"""

from __future__ import annotations

import datetime as dt
import secrets
import shutil
import tempfile
import typing as t
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from scripts import warehouse
from tests.emulator import EmulatorConfig, HubSpotEmulator

SOURCE_SCHEMA = "hubspot_activity_ocsf_test"
ANALYTICS = f"{SOURCE_SCHEMA}_analytics"
NOW = dt.datetime(2026, 10, 1, 12, 0, tzinfo=dt.UTC)
TOKEN = f"pat-na1-ocsf-{secrets.token_hex(12)}"
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
class OcsfBuild:
    """What the shared build left: the warehouse, the Meltano environment, the emulator."""

    emu: HubSpotEmulator
    pg: t.Any
    env: dict[str, str]
    home: Path
    build_output: str
    build_seconds: float
    rows: dict[str, list[dict[str, t.Any]]] = field(default_factory=dict)

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


@pytest.fixture(scope="session")
def ocsf_build(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[OcsfBuild]:
    # Imported here: conftest.py imports this module to register the fixture.
    from tests.conftest import ensure_plugins, meltano, meltano_env  # noqa: PLC0415

    root = Path(tempfile.mkdtemp(prefix="hubspot-activity-ocsf-pg-"))
    home = tmp_path_factory.mktemp("meltano-ocsf")
    try:
        pg = warehouse.start(root / "pgdata")
        with HubSpotEmulator(emulator_config()) as emu:
            env = meltano_env(
                home,
                pg,
                {
                    "TAP_HUBSPOT_ACTIVITY_API_URL": emu.url,
                    "TAP_HUBSPOT_ACTIVITY_ACCESS_TOKEN": TOKEN,
                    "TAP_HUBSPOT_ACTIVITY_START_DATE": "2000-01-01T00:00:00Z",
                    "TAP_HUBSPOT_ACTIVITY_CMS_CONTENT_AUDIT": "true",
                    "TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA": SOURCE_SCHEMA,
                    "DBT_POSTGRES_SOURCE_SCHEMA": SOURCE_SCHEMA,
                    "DBT_TARGET_PATH": str(home / "dbt-target"),
                    "DBT_LOG_PATH": str(home / "dbt-logs"),
                },
            )
            ensure_plugins(env, "tap-hubspot-activity", "target-postgres", "dbt-postgres")
            meltano(env, "run", "tap-hubspot-activity", "target-postgres")
            started = dt.datetime.now(dt.UTC)
            build = meltano(env, "invoke", "dbt-postgres:build")
            seconds = (dt.datetime.now(dt.UTC) - started).total_seconds()
            yield OcsfBuild(
                emu=emu,
                pg=pg,
                env=env,
                home=home,
                build_output=build.stdout + build.stderr,
                build_seconds=seconds,
            )
    finally:
        warehouse.stop(root / "pgdata")
        shutil.rmtree(root, ignore_errors=True)
