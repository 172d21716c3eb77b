"""Three portals through Meltano into PostgreSQL: per-portal state, isolation, reconciliation."""

from __future__ import annotations

import json
import typing as t

import psycopg
import pytest
from psycopg import sql

from hubspot_emulator import EmulatorConfig, HubSpotEmulator
from tests.conftest import ensure_plugins, meltano, meltano_env
from tests.test_pipeline import TABLES, TOKEN

pytestmark = pytest.mark.pipeline

SCHEMA = "hubspot_activity_portals"
PIPELINE = ("tap-hubspot-activity", "target-postgres")
STATE_ID = "dev:tap-hubspot-activity-to-target-postgres"
PORTAL_IDS = {"us": 1001, "eu": 2002, "apac": 3003}
SMALL = {
    "users": 30,
    "logins_per_day": 10.0,
    "audits_per_day": 12.0,
    "security_per_day": 4.0,
    "history_days": 40,
}


@pytest.fixture(scope="module")
def portals() -> t.Iterator[dict[str, HubSpotEmulator]]:
    emulators = {
        label: HubSpotEmulator(EmulatorConfig(seed=80 + i, portal_id=portal_id, **SMALL))
        for i, (label, portal_id) in enumerate(PORTAL_IDS.items())
    }
    for emulator in emulators.values():
        emulator.start()
    yield emulators
    for emulator in emulators.values():
        emulator.stop()


@pytest.fixture(scope="module")
def env(portals, pg, tmp_path_factory) -> dict[str, str]:
    config = [
        {"label": label, "access_token_env": f"TOKEN_{label.upper()}", "api_url": emu.url}
        for label, emu in portals.items()
    ]
    environment = meltano_env(
        tmp_path_factory.mktemp("meltano-portals"),
        pg,
        {
            "TAP_HUBSPOT_ACTIVITY_PORTALS": json.dumps(config),
            "TAP_HUBSPOT_ACTIVITY_START_DATE": "2000-01-01T00:00:00Z",
            "TOKEN_US": f"{TOKEN}-us",
            "TOKEN_EU": f"{TOKEN}-eu",
            "TOKEN_APAC": f"{TOKEN}-apac",
            "TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA": SCHEMA,
        },
    )
    ensure_plugins(environment, *PIPELINE)
    return environment


def _ids_by_portal(pg: t.Any, table: str) -> dict[int, list[str]]:
    query = sql.SQL('SELECT "portalId", id FROM {}').format(sql.Identifier(SCHEMA, table))
    found: dict[int, list[str]] = {}
    with psycopg.connect(pg.uri, autocommit=True) as conn:
        for portal_id, event_id in conn.execute(query):
            found.setdefault(portal_id, []).append(event_id)
    return found


def _assert_portal_equals_truth(pg, table, label, emulator):
    ids = _ids_by_portal(pg, table).get(PORTAL_IDS[label], [])
    assert len(ids) == len(set(ids)), (table, label, "duplicates")
    truth = {str(event["id"]) for event in emulator.truth(TABLES[table][0])}
    assert set(ids) == truth, (table, label, len(set(ids) ^ truth))


def test_three_portals_one_failing_then_recovered(portals, pg, env):
    portals["apac"].configure(access_token="a-rotated-token")
    failed = meltano(env, "run", *PIPELINE, check=False)
    output = failed.stdout + failed.stderr
    assert failed.returncode != 0
    assert "portal 'apac'" in output
    assert "INVALID_AUTHENTICATION" in output
    assert TOKEN not in output
    for table in TABLES:
        for label in ("us", "eu"):
            _assert_portal_equals_truth(pg, table, label, portals[label])
        assert PORTAL_IDS["apac"] not in _ids_by_portal(pg, table)

    # Meltano kept the healthy portals' bookmarks from the failed run.
    state = json.loads(meltano(env, "state", "get", STATE_ID).stdout)["singer_state"]
    for table in TABLES:
        partitions = state["bookmarks"][table]["partitions"]
        kept = {p["context"]["portal"] for p in partitions if p.get("replication_key_value")}
        assert kept == {"us", "eu"}, (table, kept)

    # The token is fixed: the next run completes apac from the start and reads the others
    # only from their bookmarks.
    portals["apac"].configure(access_token=None)
    for emulator in portals.values():
        emulator.reset_stats()
    meltano(env, "run", "tap-hubspot-activity", "target-postgres")
    for table in TABLES:
        for label, emulator in portals.items():
            _assert_portal_equals_truth(pg, table, label, emulator)
    full = portals["apac"].stats()["total_requests"]
    for label in ("us", "eu"):
        assert portals[label].stats()["total_requests"] < full / 2, label
