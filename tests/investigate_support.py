"""What the investigation tests share: the CLI, the environment, the six questions and their SQL.

The questions run against the suite's shared build (tests/dbt_build.py, read only).
Every expected answer is a query of this module's own, mostly over the loaded tables
themselves (hubspot_activity_built), not over the models the questions read.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import typing as t
from dataclasses import dataclass
from pathlib import Path

from tests.dbt_build import ANALYTICS, MODELS, NOW, SOURCE_SCHEMA

if t.TYPE_CHECKING:
    from tests.dbt_build import DbtBuild

CLI = Path(sys.executable).parent / "hubspot-activity"
AS_OF = NOW.strftime("%Y-%m-%dT%H:%M:%SZ")  # the build's clock: "now" for relative times
MONDAY = "2026-09-28 00:00:00"  # NOW is Thursday 2026-10-01
# trust authentication on loopback accepts any password: one no output may ever show.
PASSWORD = "inv-" + secrets.token_hex(12)
CLI_TIMEOUT_S = 60
SOURCE_TABLES = ("login_activity", "audit_logs", "security_activity", "cms_content_audit")
PASSWORD_AND_2FA = "CHANGE_PASSWORD,ADD_TWO_FACTOR_AUTHENTICATION,REMOVE_TWO_FACTOR_AUTHENTICATION"
INJECTIONS = (
    "x'; drop table activity_events; --",
    "1 or 1=1",
    "' OR '1'='1",
    "12345; delete from activity_events",
    "robert'); drop table activity_events;--@example.com",
    '"; select pg_sleep(20); --',
)


def warehouse_env(build: DbtBuild, **overrides: str) -> dict[str, str]:
    """The CLI's environment: the build through the dbt profile's variables, a password.

    No DBT_POSTGRES_SCHEMA: the schema comes from DBT_SOURCE_SCHEMA + _analytics.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DBT_", "TARGET_"))}
    env.update(
        {
            "DBT_POSTGRES_HOST": build.pg.host,
            "DBT_POSTGRES_PORT": str(build.pg.port),
            "DBT_POSTGRES_USER": build.pg.user,
            "DBT_POSTGRES_PASSWORD": PASSWORD,
            "DBT_POSTGRES_DBNAME": build.pg.database,
            "DBT_SOURCE_SCHEMA": SOURCE_SCHEMA,
        }
    )
    env.update(overrides)
    return env


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`hubspot-activity ARGS` as a person runs it."""
    return subprocess.run(
        [str(CLI), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_S,
        check=False,
    )


def rows(build: DbtBuild, text: str, *values: t.Any) -> list[tuple[t.Any, ...]]:
    """A query of the test's own (its text is a constant, its values bound)."""
    import psycopg  # noqa: PLC0415

    with psycopg.connect(build.pg.uri, autocommit=True) as conn:
        return conn.execute(text, values).fetchall()  # type: ignore[arg-type]


def raw(table: str) -> str:
    """A loaded table, qualified."""
    return f"{SOURCE_SCHEMA}.{table}"


def model_counts(build: DbtBuild) -> dict[str, int]:
    """Rows of every model and loaded table: what no question may change."""
    counts = {model: build.count(ANALYTICS, model) for model in MODELS}
    counts |= {f"raw.{table}": build.count(SOURCE_SCHEMA, table) for table in SOURCE_TABLES}
    return counts


@dataclass(frozen=True)
class Case:
    """One of the issue's six questions: how it is asked, and its answer in SQL."""

    title: str
    question: str
    params: t.Callable[[DbtBuild], dict[str, str]]
    key: t.Callable[[dict[str, t.Any]], t.Hashable]
    expected: t.Callable[[DbtBuild, dict[str, str]], set[t.Hashable]]


def _busiest(build: DbtBuild, table: str) -> str:
    query = f'select "userId" from {raw(table)} group by 1 order by count(*) desc, 1 limit 1'  # noqa: S608
    return str(rows(build, query)[0][0])


def _window(table: str, where: str = "true") -> str:
    return f'select id from {raw(table)} where "occurredAt" >= %s and "occurredAt" < %s and {where}'  # noqa: S608


SIX = (
    Case(
        "the audit-log entries of the last 24 hours",
        "timeline",
        lambda b: {"source": "audit", "since": "24h", "as_of": AS_OF},
        lambda row: row["eventId"],
        lambda b, p: {
            r[0] for r in rows(b, _window("audit_logs"), "2026-09-30 12:00", "2026-10-01 12:00")
        },
    ),
    Case(
        "every login of one user, and from where",
        "timeline",
        lambda b: {
            "user": _busiest(b, "login_activity"),
            "source": "login",
            "since": "2026-01-01",
            "until": "2026-10-02",
        },
        lambda row: (row["eventId"], row["ipAddress"], row["countryCode"]),
        lambda b, p: set(
            rows(
                b,
                f'select id, "ipAddress", "countryCode" from {raw("login_activity")} '  # noqa: S608
                'where "userId" = %s',
                int(p["user"]),
            )
        ),
    ),
    Case(
        "all security-history events of one user",
        "security-events",
        lambda b: {
            "user": _busiest(b, "security_activity"),
            "since": "2026-01-01",
            "until": "2026-10-02",
        },
        lambda row: row["eventId"],
        lambda b, p: {
            r[0]
            for r in rows(
                b,
                f'select id from {raw("security_activity")} where "userId" = %s',  # noqa: S608
                int(p["user"]),
            )
        },
    ),
    Case(
        "the users who changed their password or 2FA this week",
        "security-events",
        lambda b: {"types": PASSWORD_AND_2FA, "since": "monday", "as_of": AS_OF},
        lambda row: row["userId"],
        lambda b, p: {
            r[0]
            for r in rows(
                b,
                f'select distinct "userId" from {raw("security_activity")} '  # noqa: S608
                'where "occurredAt" >= %s and "occurredAt" < %s and type = any(%s)',
                MONDAY,
                "2026-10-01 12:00",
                PASSWORD_AND_2FA.split(","),
            )
        },
    ),
    Case(
        "what the detections found since Monday",
        "detections",
        lambda b: {"since": "monday", "as_of": AS_OF},
        lambda row: (row["detection"], row["eventId"]),
        lambda b, p: set(
            rows(
                b,
                f"select 'failed_login_burst', first_event_id from {ANALYTICS}.failed_login_bursts"  # noqa: S608
                " where first_failed_at >= %s and first_failed_at < %s union all"
                f" select 'new_country_login', event_id from {ANALYTICS}.new_country_logins"
                " where occurred_at >= %s and occurred_at < %s union all"
                f" select 'privileged_change', event_id from {ANALYTICS}.privileged_changes"
                " where occurred_at >= %s and occurred_at < %s",
                *((f"{MONDAY}+00", AS_OF) * 3),
            )
        ),
    ),
    Case(
        "the monthly evidence summary for October",
        "evidence-summary",
        lambda b: {"month": "october", "as_of": AS_OF},
        lambda row: (row["month"], row["events"]),
        lambda b, p: {
            (
                "2026-10-01",
                sum(
                    len(rows(b, _window(table), "2026-10-01", "2026-11-01"))
                    for table in SOURCE_TABLES
                ),
            )
        },
    ),
    Case(
        "whether the warehouse is complete for September",
        "completeness",
        lambda b: {"since": "2026-09-01", "until": "2026-10-01"},
        lambda row: (row["stream"], row["status"], row["eventsMissing"]),
        lambda b, p: set(
            rows(
                b,
                "select stream, case when sum(events_missing) > 0 then 'incomplete' "  # noqa: S608
                "else 'complete' end, sum(events_missing)::int "
                f"from {ANALYTICS}.completeness where range_start < %s and range_end > %s "
                "group by stream",
                "2026-10-01",
                "2026-09-01",
            )
        ),
    ),
)


def answered(answer: dict[str, t.Any], case: Case) -> set[t.Hashable]:
    """The keys of an answer's rows; every row about an event names when, where and which."""
    for row in answer["rows"]:
        if "eventId" in row:
            assert row["occurredAt"].endswith("Z")
            assert {"portalId", "userId", "eventId"} <= set(row)
    return {case.key(row) for row in answer["rows"]}
