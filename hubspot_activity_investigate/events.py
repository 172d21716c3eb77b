"""The questions about events: timeline, failed logins, security, privileged changes, detections.

Each selects from the analytics schema (composed as an identifier) with placeholders for
every value the asker gives: nothing they type becomes SQL. The SQL keeps to what
PostgreSQL and Snowflake share (||, left, length, substr, coalesce, case, cast, limit).
"""

from __future__ import annotations

import typing as t

from psycopg import sql

from hubspot_activity_investigate.query import EVENT_COLUMNS, Query, Where, select

if t.TYPE_CHECKING:
    from hubspot_activity_investigate.params import Params

NEWEST_FIRST = "occurred_at desc, source, event_id"
WHERE_FROM = (
    ("ip_address", "ipAddress"),
    ("country_code", "countryCode"),
    ("location", "location"),
)


def _add_actor(where: Where, p: Params, schema: str) -> None:
    """The user as actor: by id, or by e-mail through int_user_emails (ids stay indexed)."""
    if p.user is not None and p.user.user_id is not None:
        where.add("actor_user_id = %(user_id)s", user_id=p.user.user_id)
    elif p.user is not None:
        clause = sql.SQL(
            "actor_user_id in (select user_id from {} where lower(email) = %(email)s)"
        ).format(sql.Identifier(schema, "int_user_emails"))
        where.add(clause, email=p.user.email)


def _events(p: Params, schema: str, extra: t.Iterable[tuple[str, str]], where: Where) -> Query:
    """activity_events in the range, of the portal and user if given, newest first."""
    where.add_range(p)
    where.add_portal(p)
    _add_actor(where, p, schema)
    source = sql.Identifier(schema, "activity_events")
    return select([*EVENT_COLUMNS, *extra], source, where, NEWEST_FIRST)


def timeline(p: Params, schema: str) -> Query:
    """Every event, optionally of one stream and of one action or action prefix."""
    where = Where()
    if p.source:
        where.add("source = %(source)s", source=p.source)
    if p.action:
        where.add(
            "(action = %(action)s or left(action, length(%(action)s) + 1) = %(action)s || '.')",
            action=p.action.rstrip("."),
        )
    extra = [("action", "action"), ("target_object_id", "targetObjectId"), *WHERE_FROM]
    return _events(p, schema, extra, where)


def failed_logins(p: Params, schema: str) -> Query:
    """Failed login attempts, with where they came from."""
    where = Where()
    where.add("source = 'login' and action = 'auth.login_failed'")
    return _events(p, schema, [*WHERE_FROM, ("user_agent", "userAgent")], where)


def _listed(prefix: str, items: t.Iterable[str]) -> tuple[str, dict[str, str]]:
    """`(%(prefix0)s, ...)` and its values."""
    values = {f"{prefix}{n}": item for n, item in enumerate(items)}
    return "(" + ", ".join(f"%({name})s" for name in values) + ")", values


def security_events(p: Params, schema: str) -> Query:
    """Security history, optionally of some types only."""
    where = Where()
    where.add("source = 'security'")
    if p.types:
        listed, values = _listed("type", (f"security.{kind}" for kind in p.types))
        where.add(f"action in {listed}", **values)
    extra = [
        ("upper(substr(action, 10))", "type"),
        ("target_object_id", "targetObjectId"),
        *WHERE_FROM,
    ]
    return _events(p, schema, extra, where)


def privileged_changes(p: Params, schema: str) -> Query:
    """Admin grants, users added or removed, 2FA/SSO removed, credentials touched."""
    where = Where()
    where.add_range(p)
    where.add_portal(p)
    if p.change_type:
        where.add("change_type = %(change_type)s", change_type=p.change_type)
    if p.user is not None and p.user.user_id is not None:
        where.add(
            "(actor_user_id = %(user_id)s or target_user_id = %(user_text)s)",
            user_id=p.user.user_id,
            user_text=str(p.user.user_id),
        )
    elif p.user is not None:
        where.add(
            "(lower(actor_email) = %(email)s or lower(target_user_email) = %(email)s)",
            email=p.user.email,
        )
    pairs = [
        *EVENT_COLUMNS,
        ("change_type", "changeType"),
        ("credential_kind", "credentialKind"),
        ("target_user_id", "targetUserId"),
        ("target_user_email", "targetUserEmail"),
        ("affects_other_user", "affectsOtherUser"),
        ("action", "action"),
        ("ip_address", "ipAddress"),
        ("country_code", "countryCode"),
    ]
    return select(pairs, sql.Identifier(schema, "privileged_changes"), where, NEWEST_FIRST)


def _found(schema: str) -> sql.Composable:
    """The three detections as one list: when, who, which event, what was found."""
    text = """(
        select first_failed_at as occurred_at, portal_id, 'failed_login_burst' as detection,
            user_id as actor_user_id, email as actor_email, 'login' as source,
            first_event_id as event_id,
            cast(failed_logins as varchar(20)) || ' failed logins from '
            || cast(distinct_ip_addresses as varchar(20)) || ' IP address(es)'
            || case when succeeded_at is not null
                then ', then a successful login' else '' end as detail
        from {bursts}
        union all
        select occurred_at, portal_id, 'new_country_login', user_id, email, 'login', event_id,
            'login from ' || country_code || ' (known: ' || known_country_codes || ')'
        from {countries}
        union all
        select occurred_at, portal_id, 'privileged_change', actor_user_id, actor_email, source,
            event_id, change_type || coalesce(' of user ' || target_user_id, '')
        from {changes}
    ) as found"""
    return sql.SQL(text).format(
        bursts=sql.Identifier(schema, "failed_login_bursts"),
        countries=sql.Identifier(schema, "new_country_logins"),
        changes=sql.Identifier(schema, "privileged_changes"),
    )


def detections(p: Params, schema: str) -> Query:
    """What the detections found: failed-login bursts, new countries, privileged changes."""
    where = Where()
    listed, values = _listed("detection", p.detections)
    where.add(f"detection in {listed}", **values)
    where.add_range(p)
    where.add_portal(p)
    if p.user is not None and p.user.user_id is not None:
        where.add("actor_user_id = %(user_id)s", user_id=p.user.user_id)
    elif p.user is not None:
        where.add("lower(actor_email) = %(email)s", email=p.user.email)
    pairs = [("detection", "detection"), *EVENT_COLUMNS, ("detail", "detail")]
    return select(pairs, _found(schema), where, "occurred_at desc, detection, event_id")
