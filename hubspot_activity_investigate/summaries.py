"""The questions about the warehouse itself: monthly evidence, completeness of a range, health.

As events.py: the analytics schema as an identifier, every given value bound.
"""

from __future__ import annotations

import typing as t

from psycopg import sql

from hubspot_activity_investigate.query import Query, Where, select

if t.TYPE_CHECKING:
    import datetime as dt

    from hubspot_activity_investigate.params import Params

EVIDENCE_COLUMNS = (
    ("month_start", "month"),
    ("portal_id", "portalId"),
    ("events", "events"),
    ("login_attempts", "loginAttempts"),
    ("logins_failed", "loginsFailed"),
    ("users_logged_in", "usersLoggedIn"),
    ("audit_events", "auditEvents"),
    ("security_events", "securityEvents"),
    ("cms_events", "cmsEvents"),
    ("active_users", "activeUsers"),
    ("failed_login_bursts", "failedLoginBursts"),
    ("new_country_logins", "newCountryLogins"),
    ("privileged_changes", "privilegedChanges"),
    ("privileged_changes_on_other_users", "privilegedChangesOnOtherUsers"),
    ("two_factor_removals", "twoFactorRemovals"),
    ("credentials_created", "credentialsCreated"),
    ("completeness_status", "completenessStatus"),
    ("drift_events", "driftEvents"),
    ("login_history_complete", "loginHistoryComplete"),
)


def _month_start(moment: dt.datetime) -> dt.date:
    return moment.date().replace(day=1)


def evidence_summary(p: Params, schema: str) -> Query:
    """monthly_evidence_summary: one month, or the months the range touches."""
    where = Where()
    if p.month is not None:
        where.add("month_start = %(month)s", month=p.month)
    else:
        where.add(
            "month_start >= %(first_month)s and month_start < %(until)s",
            first_month=_month_start(p.since),
            until=p.until,
        )
    where.add_portal(p)
    source = sql.Identifier(schema, "monthly_evidence_summary")
    return select(EVIDENCE_COLUMNS, source, where, "month_start, portal_id")


def completeness(p: Params, schema: str) -> Query:
    """Per portal and stream: the tap's reads overlapping the range, what they lack.

    The reads are the manifests (completeness); not_checked: none overlaps the range.
    """
    checked = Where()
    checked.add("range_start < %(until)s and range_end > %(since)s", since=p.since, until=p.until)
    if p.portal is not None:
        checked.add("portal_id = %(portal)s", portal=p.portal)
    source = sql.SQL(
        """{health} as health
        left join (
            select portal_id, stream, count(*) as ranges, sum(record_count) as listed,
                sum(events_missing) as missing, min(range_start) as covered_from,
                max(range_end) as covered_until
            from {completeness}{checked}
            group by portal_id, stream
        ) as checked
            on checked.portal_id = health.portal_id and checked.stream = health.stream"""
    ).format(
        health=sql.Identifier(schema, "pipeline_health"),
        completeness=sql.Identifier(schema, "completeness"),
        checked=checked.sql(),
    )
    where = Where()
    where.values.update(checked.values)
    if p.portal is not None:
        where.add("health.portal_id = %(portal)s")
    pairs = [
        ("health.portal_id", "portalId"),
        ("health.stream", "stream"),
        (
            (
                "case when checked.ranges is null then 'not_checked' "
                "when checked.missing > 0 then 'incomplete' else 'complete' end"
            ),
            "status",
        ),
        ("coalesce(checked.ranges, 0)", "rangesChecked"),
        ("coalesce(checked.listed, 0)", "eventsListed"),
        ("coalesce(checked.missing, 0)", "eventsMissing"),
        ("checked.covered_from", "coveredFrom"),
        ("checked.covered_until", "coveredUntil"),
        (
            (
                "coalesce(checked.covered_from <= %(since)s"
                " and checked.covered_until >= %(until)s, false)"
            ),
            "coversRange",
        ),
    ]
    return select(pairs, source, where, "health.portal_id, health.stream")


def pipeline_health(p: Params, schema: str) -> Query:
    """pipeline_health: per portal and stream, the last load, its age and the status."""
    where = Where()
    where.add_portal(p)
    pairs = [
        ("portal_id", "portalId"),
        ("stream", "stream"),
        ("status", "status"),
        ("last_event_at", "lastEventAt"),
        ("last_load_at", "lastLoadAt"),
        ("hours_since_last_load", "hoursSinceLastLoad"),
        ("extracted_until", "extractedUntil"),
        ("last_verified_at", "lastVerifiedAt"),
        ("events_held", "eventsHeld"),
        ("events_missing", "eventsMissing"),
        ("retention_days_left", "retentionDaysLeft"),
    ]
    return select(pairs, sql.Identifier(schema, "pipeline_health"), where, "portal_id, stream")
