"""The demo's detections: the dbt models' rows, what each detection found, the monthly evidence."""

from __future__ import annotations

import typing as t

import yaml

from scripts.demo_report import ROOT, connect, table, user, when
from scripts.steps import say

DBT_PROJECT = ROOT / "transform" / "dbt_project.yml"
MODELS = (
    "stg_login_activity",
    "stg_audit_logs",
    "stg_security_activity",
    "activity_events",
    "failed_login_bursts",
    "new_country_logins",
    "privileged_changes",
    "monthly_evidence_summary",
)
# HubSpot keeps login history this long: a month older than the first load's reach has
# no login history at all, so its failed-login count is unknown, not zero.
LOGIN_HISTORY_DAYS = 90


def thresholds() -> dict[str, t.Any]:
    """The detections' thresholds: the vars of transform/dbt_project.yml."""
    return dict(yaml.safe_load(DBT_PROJECT.read_text()).get("vars") or {})


def report_detections(env: dict[str, str], analytics: str, schema: str) -> None:
    """Row counts of the dbt models, what each detection found, and by which threshold."""
    from psycopg import sql  # noqa: PLC0415

    with connect(env) as conn:

        def query(template: str, *names: str) -> list[tuple[t.Any, ...]]:
            tables = {f"t{i}": sql.Identifier(analytics, name) for i, name in enumerate(names)}
            return conn.execute(sql.SQL(template).format(**tables)).fetchall()

        counts = [
            (f"{analytics}.{name}", query("SELECT count(*) FROM {t0}", name)[0][0])
            for name in MODELS
        ]
        bursts = query(
            "SELECT email, user_id, first_failed_at, failed_logins, ip_addresses, "
            "country_codes, succeeded_at FROM {t0} ORDER BY first_failed_at DESC LIMIT 5",
            "failed_login_bursts",
        )
        countries = query(
            "SELECT email, user_id, occurred_at, country_code, known_country_codes, "
            "minutes_since_previous_login FROM {t0} ORDER BY occurred_at DESC LIMIT 5",
            "new_country_logins",
        )
        kinds = query(
            "SELECT change_type, count(*), count(*) FILTER (WHERE affects_other_user) "
            "FROM {t0} GROUP BY 1 ORDER BY 2 DESC, 1",
            "privileged_changes",
        )
        others = query(
            "SELECT occurred_at, action, actor_email, actor_user_id, target_user_email, "
            "target_user_id FROM {t0} WHERE affects_other_user "
            "ORDER BY occurred_at DESC LIMIT 5",
            "privileged_changes",
        )
        # Login history reaches LOGIN_HISTORY_DAYS back from the first load: a month
        # starting before that has a partial or no login history, never "0 failed".
        login_table = sql.Identifier(schema, "login_activity")
        months = conn.execute(
            sql.SQL(
                "WITH coverage AS (SELECT min(_sdc_batched_at) - make_interval(days => %s) "
                "AS since FROM {login}) "
                "SELECT to_char(month_start, 'YYYY-MM'), events, logins_failed, "
                "failed_login_bursts, new_country_logins, privileged_changes, "
                "privileged_changes_on_other_users, "
                "CASE WHEN coverage.since IS NULL OR month_start + interval '1 month' "
                "<= coverage.since THEN 'none' WHEN month_start < coverage.since "
                "THEN 'partial' ELSE 'full' END, coverage.since "
                "FROM {months} CROSS JOIN coverage ORDER BY month_start"
            ).format(
                login=login_table, months=sql.Identifier(analytics, "monthly_evidence_summary")
            ),
            (LOGIN_HISTORY_DAYS,),
        ).fetchall()
    limits = thresholds()
    rows = dict(counts)
    say("\ndbt models:")
    say(table(counts, ("model", "rows")))
    say(
        f"\nFailed-login bursts: {rows[f'{analytics}.failed_login_bursts']} (newest 5): at least "
        f"{limits.get('failed_login_burst_threshold')} failed logins of one user within "
        f"{limits.get('failed_login_burst_window_minutes')} minutes"
    )
    say(
        table(
            [
                (user(email, uid), when(first), n, ips, cc, when(ok) if ok else "no")
                for email, uid, first, n, ips, cc, ok in bursts
            ],
            ("user", "first failure (UTC)", "failures", "ip", "country", "then logged in (UTC)"),
        )
    )
    say(
        f"\nFirst logins from a new country: {rows[f'{analytics}.new_country_logins']} "
        f"(newest 5): a user's first successful login from a country, after at least "
        f"{limits.get('new_country_min_prior_logins')} earlier successful login(s)"
    )
    say(
        table(
            [(user(email, uid), when(at), *rest) for email, uid, at, *rest in countries],
            ("user", "login (UTC)", "country", "known before", "minutes since previous"),
        )
    )
    say(
        f"\nPrivileged changes: {rows[f'{analytics}.privileged_changes']} (the actions listed "
        "in transform/seeds/privileged_actions.csv)"
    )
    say(table(kinds, ("change", "events", "on another user")))
    if others:
        say("  made to another user's account (newest 5):")
        say(
            table(
                [
                    (when(at), action, user(by, by_id), user(to, to_id))
                    for at, action, by, by_id, to, to_id in others
                ],
                ("occurred (UTC)", "action", "by", "to user"),
            )
        )
    report_months(months)


def report_months(months: list[tuple[t.Any, ...]]) -> None:
    """The monthly evidence rows, with months login history does not cover marked."""
    shown = []
    for month, events, failed, bursts, new_country, privileged, other, cover, _ in months:
        logins = {"full": failed, "partial": f"{failed} (partial)", "none": "not covered"}[cover]
        shown.append((month, events, logins, bursts, new_country, privileged, other))
    say("\nMonthly evidence summary:")
    say(
        table(
            shown,
            ("month", "events", "failed logins", "bursts", "new country", "privileged", "on other"),
        )
    )
    since = next((row[-1] for row in months if row[-1] is not None), None)
    if any(row[7] != "full" for row in months) and since is not None:
        say(
            f"    Login history covers only {LOGIN_HISTORY_DAYS} days back from the first "
            f"load: from {when(since)} UTC. Failed logins of earlier months are unknown, not 0."
        )
