"""The demo's evidence summary: is the warehouse complete, what drifted, is the pipeline healthy."""

from __future__ import annotations

import typing as t

from scripts.demo_report import connect, table, when
from scripts.steps import say

VERIFY_COMMAND = "meltano run tap-hubspot-activity--verify target-postgres dbt-postgres:build"


def report_evidence(env: dict[str, str], analytics: str) -> None:
    """Completeness per stream, evidence drift and pipeline health, from the dbt models."""
    from psycopg import sql  # noqa: PLC0415

    with connect(env) as conn:

        def query(template: str, name: str) -> list[tuple[t.Any, ...]]:
            relation = sql.Identifier(analytics, name)
            return conn.execute(sql.SQL(template).format(relation)).fetchall()

        checked = query(
            "SELECT stream, count(*), sum(record_count), sum(events_missing), "
            "min(range_start), max(range_end) FROM {} GROUP BY stream ORDER BY stream",
            "completeness",
        )
        missing = query(
            "SELECT stream, range_start, range_end, events_missing, missing_event_ids "
            "FROM {} WHERE events_missing > 0 ORDER BY range_start LIMIT 5",
            "completeness",
        )
        drift = query(
            "SELECT drift_type, stream, count(*) FROM {} GROUP BY 1, 2 ORDER BY 1, 2",
            "evidence_drift",
        )
        health = query(
            "SELECT portal_id, stream, last_load_at, hours_since_last_load, "
            "retention_days_left, status FROM {} ORDER BY portal_id, stream",
            "pipeline_health",
        )

    say("\nCompleteness: every event the tap says it emitted (its sync_manifests), checked")
    say("against the warehouse by the dbt test warehouse_holds_every_manifested_event:")
    say(
        table(
            [
                (stream, ranges, listed, lacking, when(low), when(high))
                for stream, ranges, listed, lacking, low, high in checked
            ],
            ("stream", "ranges read", "events listed", "missing", "from", "to"),
        )
    )
    if missing:
        say("  Missing from the warehouse (the next run or the verification job reloads them):")
        for stream, low, high, count, ids in missing:
            say(f"    {stream} [{when(low)}, {when(high)}): {count} events ({ids})")
    else:
        say("  Nothing missing: the warehouse holds every event of every range read.")

    say("\nEvidence drift (found by the verification job, which re-reads the last 7 days):")
    if drift:
        for kind, stream, count in drift:
            say(f"    {kind}: {count} {stream} events")
    else:
        say("    none found. Run it (daily by its schedule):")
        say(f"    {VERIFY_COMMAND}")

    say("\nPipeline health (load times are the loader's; login history is kept 90 days):")
    say(
        table(
            [
                (portal, stream, when(loaded), hours, "" if left is None else left, status)
                for portal, stream, loaded, hours, left, status in health
            ],
            ("portal", "stream", "last load", "hours since", "days left", "status"),
        )
    )
