"""OCSF 1.8.0: the dbt models of the shared build against the schema itself.

The shared build (tests/dbt_build.py: emulator -> Meltano -> PostgreSQL -> dbt) is
checked row by row against OCSF 1.8.0 as the ocsf-json-schema package ships it, turned
into JSON Schema 2020-12 and validated with jsonschema: required attributes, types,
enum values, OCSF's at-least-one constraints and no attribute a class does not have.
Expected rows per class come from the emulator's truth and the mapping seeds, read
here in Python, and the findings from the incidents the emulator plants. Values HubSpot
does not publish, and the export job's files: tests/test_ocsf_jobs.py.
"""

from __future__ import annotations

import csv
import datetime as dt
import typing as t
from collections import Counter
from functools import cache

import pytest
from jsonschema import Draft202012Validator
from ocsf_json_schema import OcsfJsonSchemaEmbedded, get_ocsf_schema

from tests.conftest import ROOT
from tests.dbt_build import ANALYTICS, OCSF_CLASSES, TOKEN, DbtBuild

pytestmark = pytest.mark.pipeline

VERSION = "1.8.0"
SEEDS = ROOT / "transform" / "seeds"


@cache
def ocsf_schema() -> OcsfJsonSchemaEmbedded:
    return OcsfJsonSchemaEmbedded(get_ocsf_schema(version=VERSION))


@cache
def raw_schema() -> dict[str, t.Any]:
    return t.cast("dict[str, t.Any]", get_ocsf_schema(version=VERSION))


@cache
def validator(class_uid: int, profiles: tuple[str, ...]) -> Draft202012Validator:
    schema = ocsf_schema()
    name = schema.lookup_class_name_from_uid(class_uid=class_uid)
    return Draft202012Validator(schema.get_class_schema(class_name=name, profiles=list(profiles)))


def ocsf_errors(event: dict[str, t.Any]) -> list[str]:
    """What OCSF 1.8.0 finds wrong with an event, validated with the profiles it declares."""
    profiles = tuple(event.get("metadata", {}).get("profiles", []))
    check = validator(int(event["class_uid"]), profiles)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in check.iter_errors(event)]


def seed(name: str) -> list[dict[str, str]]:
    with (SEEDS / f"{name}.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def security_map() -> dict[str, dict[str, str]]:
    return {row["activity_type"]: row for row in seed("ocsf_security_activity_map")}


def web_actions() -> dict[tuple[str, str], int]:
    return {
        (r["source"], r["action"]): int(r["activity_id"]) for r in seed("ocsf_web_resource_actions")
    }


def epoch_ms(value: str) -> int:
    return int(dt.datetime.fromisoformat(value).timestamp() * 1000 + 0.5)


def iso_ms(value: str) -> str:
    moment = dt.datetime.fromisoformat(value).astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@pytest.fixture(scope="module")
def events(ocsf_build: DbtBuild) -> list[dict[str, t.Any]]:
    return ocsf_build.model("ocsf_events")


def by_uid(rows: list[dict[str, t.Any]], source: str) -> dict[str, dict[str, t.Any]]:
    return {row["metadata_uid"]: row for row in rows if row["hubspot_source"] == source}


def test_the_build_with_the_ocsf_models_passes_without_warnings(ocsf_build):
    output = ocsf_build.build_output
    assert "Completed successfully" in output
    assert "ERROR=0" in output
    # No unmapped value in the emulator's data: the unmapped-values test does not warn.
    assert "WARN=0" in output
    assert TOKEN not in output


def test_every_ocsf_row_validates_against_ocsf_1_8_0(ocsf_build, events):
    failures = {}
    for row in events:
        event = row["event"]
        if errors := ocsf_errors(event):
            failures[(row["class_uid"], row["metadata_uid"])] = errors[:3]
        assert event["metadata"]["version"] == VERSION
        assert event["type_uid"] == event["class_uid"] * 100 + event["activity_id"]
        assert (event["class_uid"], event["activity_id"], event["severity_id"]) == (
            row["class_uid"],
            row["activity_id"],
            row["severity_id"],
        )
    assert not failures, list(failures.items())[:5]
    # Each class model holds exactly its rows of ocsf_events.
    per_class = Counter(row["class_uid"] for row in events)
    for class_uid, model in OCSF_CLASSES.items():
        assert ocsf_build.count(ANALYTICS, model) == per_class[class_uid] > 0, model


def test_the_validator_rejects_what_ocsf_forbids(events):
    """The checks bite: a wrong enum value, a missing required attribute, a stray key."""
    login = next(row["event"] for row in events if row["hubspot_source"] == "login")
    assert ocsf_errors(login) == []
    assert ocsf_errors({**login, "activity_id": 42})
    assert ocsf_errors({key: value for key, value in login.items() if key != "user"})
    assert ocsf_errors({**login, "user": {}})  # user needs an account, name or uid
    assert ocsf_errors({**login, "src_endpoint": None})  # no null members
    assert ocsf_errors({**login, "hubspot_field": 1})
    finding = next(row["event"] for row in events if row["class_uid"] == 2004)
    # actor in a finding needs the host profile, which the event declares.
    assert finding["metadata"]["profiles"] == ["host"]
    undeclared = {**finding, "metadata": {**finding["metadata"], "profiles": []}}
    assert "actor" not in finding or ocsf_errors(undeclared)


def expected_rows_per_class(emu: t.Any) -> Counter[int]:
    mapping = security_map()
    expected: Counter[int] = Counter()
    expected[3002] += len(emu.truth("login"))
    for event in emu.truth("security"):
        expected[int(mapping[event["type"]]["class_uid"])] += 1
    expected[6001] += len(emu.truth("audit-logs")) + len(emu.truth("cms"))
    return expected


def test_rows_per_class_are_the_emulators_events_mapped_by_the_seeds(ocsf_build, events):
    emu = ocsf_build.emu
    per_class = Counter(row["class_uid"] for row in events)
    expected = expected_rows_per_class(emu)
    findings = sum(
        ocsf_build.count(ANALYTICS, name)
        for name in ("failed_login_bursts", "new_country_logins", "privileged_changes")
    )
    expected[2004] = findings
    assert per_class == expected
    # Nothing unmapped: every type and action of the data is in a seed.
    assert not [row for row in events if row["is_unmapped"]]
    print("OCSF rows per class:", dict(sorted(per_class.items())))  # noqa: T201


def test_findings_are_the_planted_incidents(ocsf_build, events):
    found = ocsf_build.emu.incidents()
    planted = [found, *found["earlier"]]
    findings = [row for row in events if row["class_uid"] == 2004]
    analytics = Counter(row["event"]["finding_info"]["analytic"]["name"] for row in findings)
    assert analytics["failed_login_bursts"] == len(planted)
    assert analytics["new_country_logins"] == len(planted)
    bursts = {
        row["event"]["finding_info"]["related_events"][0]["uid"]: row
        for row in findings
        if row["hubspot_action"] == "detection.failed_login_bursts"
    }
    for incident in planted:
        brute = incident["brute_force"]
        row = bursts[brute["event_ids"][0]]
        event = row["event"]
        assert event["finding_info"]["related_events_count"] == brute["count"]
        assert event["unmapped"]["eventIds"] == ",".join(brute["event_ids"])
        assert event["resources"][0]["uid"] == str(brute["user_id"])
        assert event["time"] == epoch_ms(brute["last_at"])
        assert event["severity_id"] in {4, 5}
    new_countries = {
        row["event"]["finding_info"]["related_events"][0]["uid"]
        for row in findings
        if row["hubspot_action"] == "detection.new_country_logins"
    }
    assert new_countries == {incident["new_country"]["event_id"] for incident in planted}
    privileged = ocsf_build.model("privileged_changes")
    assert analytics["privileged_changes"] == len(privileged)
    on_others = [row for row in findings if row["metadata_uid"].startswith("privileged_changes:")]
    assert sum(row["severity_id"] == 4 for row in on_others) == sum(
        row["affects_other_user"] for row in privileged
    )


def test_logins_are_authentication_events(ocsf_build, events):
    rows = by_uid(events, "login")
    truth = ocsf_build.emu.truth("login")
    assert len(rows) == len(truth)
    for login in truth:
        row = rows[login["id"]]
        event = row["event"]
        assert (event["class_uid"], event["activity_id"], event["type_uid"]) == (3002, 1, 300201)
        assert event["status_id"] == (1 if login["loginSucceeded"] else 2)
        assert event["time"] == epoch_ms(login["loginAt"])
        assert event["metadata"]["uid"] == login["id"]
        assert event["metadata"]["tenant_uid"] == str(ocsf_build.emu.config.portal_id)
        assert event["metadata"]["product"]["name"] == "HubSpot"
        assert event["metadata"]["original_time"] == iso_ms(login["loginAt"])
        assert "is_mfa" not in event
        if login.get("userId") is not None:
            assert event["user"]["uid"] == str(login["userId"])
        if (login.get("ipAddress") or "").strip():
            assert event["src_endpoint"]["ip"] == login["ipAddress"].strip()
        if (login.get("userAgent") or "").strip():
            assert event["http_request"]["user_agent"] == login["userAgent"].strip()


def test_security_events_follow_the_seed_with_actor_and_affected_user(ocsf_build, events):
    mapping = security_map()
    rows = by_uid(events, "security")
    truth = ocsf_build.emu.truth("security")
    assert len(rows) == len(truth)
    for record in truth:
        row = rows[record["id"]]
        entry = mapping[record["type"]]
        event = row["event"]
        assert (event["class_uid"], event["activity_id"]) == (
            int(entry["class_uid"]),
            int(entry["activity_id"]),
        ), record["type"]
        assert event["actor"]["user"]["uid"] == str(record["userId"])
        assert event["unmapped"]["type"] == record["type"]
        if event["activity_id"] == 99:
            assert event["activity_name"] == record["type"]
        if "user" in event and entry["target_is_user"] == "true" and record.get("objectId"):
            assert event["user"]["uid"] == record["objectId"]
    # The planted 2FA removals: an admin (actor) removing another user's 2FA (user).
    found = ocsf_build.emu.incidents()
    for incident in [found, *found["earlier"]]:
        removal = incident["admin_2fa_removal"]
        event = rows[removal["event_id"]]["event"]
        assert (event["class_uid"], event["activity_id"]) == (3001, 11)  # MFA Factor Disable
        assert event["actor"]["user"]["uid"] == str(removal["admin_user_id"])
        assert event["actor"]["user"]["email_addr"] == removal["admin_email"]
        assert event["user"]["uid"] == str(removal["target_user_id"])


def test_audit_and_cms_entries_are_web_resources_activity(ocsf_build, events):
    actions = web_actions()
    rows = by_uid(events, "audit")
    truth = ocsf_build.emu.truth("audit-logs")
    assert len(rows) == len(truth)
    for record in truth:
        event = rows[record["id"]]["event"]
        assert event["class_uid"] == 6001
        assert event["activity_id"] == actions[("audit", record["action"])]
        assert event["unmapped"]["category"] == record["category"]
        assert event["unmapped"]["action"] == record["action"]
        assert event["actor"]["user"]["uid"] == str(record["actingUser"]["userId"])
        if record.get("targetObjectId"):
            assert event["web_resources"][0]["uid"] == record["targetObjectId"]
    cms = [row for row in events if row["hubspot_source"] == "cms"]
    assert len(cms) == len(ocsf_build.emu.truth("cms"))
    assert Counter(row["event"]["unmapped"]["event"] for row in cms) == Counter(
        record["event"] for record in ocsf_build.emu.truth("cms")
    )


def test_the_caption_seed_is_the_schemas(events):
    schema = raw_schema()
    classes = {c["uid"]: c for c in schema["classes"].values()}
    seeded = {
        (int(r["class_uid"]), r["attribute"], int(r["enum_value"])): r["caption"]
        for r in seed("ocsf_enum_captions")
    }
    expected = {
        (uid, attribute, int(value)): item["caption"]
        for uid in OCSF_CLASSES
        for attribute in ("activity_id", "severity_id", "status_id")
        for value, item in classes[uid]["attributes"][attribute]["enum"].items()
    }
    assert seeded == expected
    categories = {c["uid"]: c["caption"] for c in schema["categories"]["attributes"].values()}
    # The class seed (ocsf_select's names) is the schema's too.
    assert {int(r["class_uid"]): r for r in seed("ocsf_classes")} == {
        uid: {
            "class_uid": str(uid),
            "class_name": classes[uid]["caption"],
            "category_uid": str(classes[uid]["category_uid"]),
            "category_name": categories[classes[uid]["category_uid"]],
        }
        for uid in OCSF_CLASSES
    }
    for row in events:
        ocsf_class = classes[row["class_uid"]]
        assert row["class_name"] == ocsf_class["caption"]
        assert row["category_uid"] == ocsf_class["category_uid"]
        assert row["category_name"] == categories[row["category_uid"]]
