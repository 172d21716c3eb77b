"""The warehouse benchmark's investigation step: each question ~20 times through the query layer.

After a volume's hours are built, every question of hubspot_activity_investigate runs
REPEATS times with varied, realistic parameters (the busiest users by id and e-mail,
the last 24 hours, this week, 30 and 90 days, months, types, change kinds) against the
benchmark's warehouse, timed end to end as the CLI asks (connect, the portal and user
checks, the capped query, the count when capped). Each statement is also EXPLAINed:
`seq scans` counts the asks whose plan reads activity_events sequentially, which grows
with the history. benchmarks/report.py prints p50/p95/max per question.
"""

from __future__ import annotations

import itertools
import time
import typing as t
from dataclasses import dataclass, field

from psycopg import sql

from hubspot_activity_investigate import layer
from hubspot_activity_investigate.catalog import QUESTIONS
from hubspot_activity_investigate.params import parse
from hubspot_activity_investigate.settings import Settings, connect

if t.TYPE_CHECKING:
    import datetime as dt

REPEATS = 20
PASSWORD_AND_2FA = "CHANGE_PASSWORD,ADD_TWO_FACTOR_AUTHENTICATION,REMOVE_TWO_FACTOR_AUTHENTICATION"


@dataclass
class Timing:
    """One question's asks: seconds each, and how many plans scanned activity_events."""

    question: str
    seconds: list[float] = field(default_factory=list)
    seq_scans: int = 0
    rows: int = 0


def variants(users: list[tuple[int, str]], months: list[str]) -> dict[str, list[dict[str, str]]]:
    """Realistic parameters per question; users and months are cycled through."""
    ids = itertools.cycle(str(user_id) for user_id, _ in users)
    emails = itertools.cycle(email for _, email in users)
    month = itertools.cycle(months)
    return {
        "timeline": [
            {"source": "audit", "since": "24h"},
            {"user": next(ids), "since": "7d"},
            {"user": next(emails), "source": "login", "since": "30d"},
            {"action": "auth.login_failed", "since": "7d"},
            {"since": "24h"},
        ],
        "failed-logins": [{"since": "24h"}, {"user": next(ids), "since": "30d"}, {"since": "7d"}],
        "security-events": [
            {"user": next(ids), "since": "90d"},
            {"types": PASSWORD_AND_2FA, "since": "monday"},
            {"types": "CHANGE_PASSWORD", "since": "30d"},
        ],
        "privileged-changes": [
            {"since": "7d"},
            {"user": next(ids), "since": "90d"},
            {"change_type": "admin_granted", "since": "30d"},
        ],
        "detections": [
            {"since": "monday"},
            {"since": "30d"},
            {"user": next(emails), "since": "90d"},
        ],
        "evidence-summary": [{"month": next(month)}, {"since": "90d"}],
        "completeness": [{"since": "7d"}, {"since": "24h"}, {"since": "90d"}],
        "pipeline-health": [{}],
    }


def _sample(settings: Settings) -> tuple[list[tuple[int, str]], list[str]]:
    """The busiest users (id, e-mail) and the months with activity."""
    schema = settings.schema
    with connect(settings) as conn:
        users = conn.execute(
            f"select user_id, email from {schema}.int_user_emails order by user_id limit 20"
        ).fetchall()
        months = conn.execute(
            f"select distinct to_char(month_start, 'YYYY-MM') from {schema}.monthly_evidence_summary"  # noqa: E501
        ).fetchall()
    return [(int(u), str(e)) for u, e in users], sorted(str(m) for (m,) in months)


def _seq_scan(settings: Settings, name: str, params: dict[str, str]) -> bool:
    """Whether the question's main statement reads activity_events sequentially."""
    query = QUESTIONS[name].build(parse(params), settings.schema)
    statement, values = layer.capped(query, parse(params).limit)
    with connect(settings) as conn, conn.cursor() as cur:
        cur.execute(sql.SQL("explain {}").format(statement), values)
        return any("Seq Scan on activity_events" in line for (line,) in cur.fetchall())


def bench(wh: t.Any, schema: str, now: dt.datetime) -> list[Timing]:
    """Each question REPEATS times against the running warehouse `wh`, as of `now`."""
    settings = Settings(
        host=wh.host, port=wh.port, user=wh.user, password=wh.password, dbname=wh.database,
        schema=schema,
    )  # fmt: skip
    users, months = _sample(settings)
    as_of = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    timings = []
    for name, asks in variants(users, months or ["2026-11"]).items():
        timing = Timing(name)
        for params in itertools.islice(itertools.cycle(asks), REPEATS):
            given = {**params, "as_of": as_of} if name != "pipeline-health" else params
            started = time.perf_counter()
            answer = layer.ask(name, given, settings)
            timing.seconds.append(time.perf_counter() - started)
            timing.rows += len(answer.rows)
            timing.seq_scans += _seq_scan(settings, name, given)
        timings.append(timing)
    return timings
