"""The demo's summary of the load: what landed and what is new, and the helpers it shares."""

from __future__ import annotations

import json
import typing as t
from datetime import UTC, datetime
from pathlib import Path

from scripts.steps import say

ROOT = Path(__file__).resolve().parent.parent
DEMO_DIR = ROOT / ".demo"
COUNTS_FILE = DEMO_DIR / "last_counts.json"
DBT_LOG = DEMO_DIR / "dbt-build.log"
TABLES = ("login_activity", "audit_logs", "security_activity")
# One timestamp format everywhere in the summary.
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def when(value: t.Any) -> str:
    """A timestamp in the summary's one format (UTC), or the value as it is."""
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return f"{moment.astimezone(UTC):{TIME_FORMAT}}"
    if isinstance(value, str) and len(value) >= 19 and value[10] == "T":  # noqa: PLR2004 - ISO
        return when(datetime.fromisoformat(value))
    return "" if value is None else str(value)


def user(email: t.Any, user_id: t.Any) -> str:
    """The email, or the userId when HubSpot left the email blank."""
    return str(email) if email else ("" if user_id is None else f"userId {user_id}")


def connect(env: dict[str, str]) -> t.Any:
    """A psycopg connection from the TARGET_POSTGRES_* values."""
    import psycopg  # noqa: PLC0415

    return psycopg.connect(
        host=env.get("TARGET_POSTGRES_HOST"),
        port=int(env.get("TARGET_POSTGRES_PORT") or 5432),
        user=env.get("TARGET_POSTGRES_USER"),
        password=env.get("TARGET_POSTGRES_PASSWORD") or None,
        dbname=env.get("TARGET_POSTGRES_DATABASE"),
        connect_timeout=15,
        autocommit=True,
    )


def table(rows: list[tuple[t.Any, ...]], header: tuple[str, ...]) -> str:
    """A plain-text table."""
    cells = [tuple("" if v is None else str(v) for v in row) for row in [header, *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = [
        "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join("    " + line for line in lines)


def exists(conn: t.Any, schema: str, name: str) -> bool:
    """Whether schema.name is a table (audit_logs is absent without Enterprise)."""
    from psycopg import sql  # noqa: PLC0415

    qualified = sql.Identifier(schema, name).as_string(conn)
    return conn.execute("SELECT to_regclass(%s)", (qualified,)).fetchone()[0] is not None


def report(
    env: dict[str, str],
    schema: str,
    target_key: str,
    *,
    fresh: bool,
    upcoming: dict[str, t.Any] | None = None,
) -> None:
    """Row counts (and what is new since the previous demo run) plus a short summary."""
    from psycopg import sql  # noqa: PLC0415

    previous_all = json.loads(COUNTS_FILE.read_text()) if COUNTS_FILE.exists() else {}
    previous = {} if fresh else previous_all.get(target_key, {})
    counts: dict[str, int] = {}
    landed = []
    with connect(env) as conn:
        present = {name for name in TABLES if exists(conn, schema, name)}

        def query(template: str, name: str) -> list[tuple[t.Any, ...]]:
            if name not in present:
                return []
            statement = sql.SQL(template).format(table=sql.Identifier(schema, name))
            return conn.execute(statement).fetchall()

        for name in TABLES:
            if name not in present:
                landed.append((f"{schema}.{name}", "-", "-", "not loaded"))
                continue
            [(total, written)] = query(
                "SELECT count(*), count(*) FILTER (WHERE _sdc_sync_started_at = "
                "(SELECT max(_sdc_sync_started_at) FROM {table})) FROM {table}",
                name,
            )
            counts[name] = total
            new = "first run" if name not in previous else f"{total - previous[name]:+d}"
            landed.append((f"{schema}.{name}", total, written, new))
        failed = query(
            'SELECT "userId", email, count(*) AS failed, max("occurredAt") AS last_failed '
            'FROM {table} WHERE "loginSucceeded" IS FALSE '
            'GROUP BY "userId", email ORDER BY failed DESC, last_failed DESC LIMIT 5',
            "login_activity",
        )
        recent = query(
            'SELECT "occurredAt", type, "actingUser", "ipAddress", location '
            'FROM {table} ORDER BY "occurredAt" DESC, id LIMIT 5',
            "security_activity",
        )
        categories = query(
            "SELECT coalesce(category, '(none)'), count(*) FROM {table} "
            "GROUP BY 1 ORDER BY 2 DESC, 1",
            "audit_logs",
        )
    # Saved before printing, so the next run compares with this one whatever happens.
    previous_all[target_key] = counts
    COUNTS_FILE.write_text(json.dumps(previous_all, indent=2, sort_keys=True) + "\n")

    say("\nWhat landed:")
    say(table(landed, ("table", "rows", "written this run", "new since last demo")))
    say('    ("written this run" includes events re-read by the lookback and upserted)')
    if upcoming is not None:
        explain_new(upcoming, fresh=fresh or not previous)
    if "login_activity" in present:
        say("\nFailed logins per user (top 5):")
        rows = [(user(email, uid), n, when(last)) for uid, email, n, last in failed]
        say(table(rows, ("user", "failed", "last failed (UTC)")))
    if "security_activity" in present:
        say("\nMost recent security events:")
        rows = [(when(at), kind, *rest) for at, kind, *rest in recent]
        say(table(rows, ("occurred (UTC)", "type", "user", "ip", "location")))
    if "audit_logs" in present:
        say("\nAudit events per category:")
        say(table(categories, ("category", "events")))


def explain_new(upcoming: dict[str, t.Any], *, fresh: bool) -> None:
    """Why a rerun brings few or no new events, and when the emulator's next one is due."""
    names = {"login": "login_activity", "audit-logs": "audit_logs", "security": "security_activity"}
    due = sorted(
        (when(moment), names[stream])
        for stream, moment in upcoming["next"].items()
        if moment and stream in names
    )
    say(
        "    The emulator serves the events that happened up to its start "
        f"({when(upcoming['served_until'])} UTC) and adds more as its clock moves: each "
        "`make demo` starts it again, so a rerun brings what happened in between"
        + ("." if fresh else " (+0 when nothing did).")
    )
    if due:
        moment, stream = due[0]
        say(f"    Its next event is due at {moment} UTC ({stream}); run `make demo` after that.")


def dbt_summary() -> str:
    """The closing line of dbt (PASS=.. WARN=.. ERROR=..) from the build log."""
    lines = [line for line in DBT_LOG.read_text().splitlines() if "PASS=" in line]
    return lines[-1].split("Done. ", 1)[-1].strip() if lines else "see the log"
