"""`make demo`: HubSpot account activity into PostgreSQL with Meltano, then a summary.

Without TAP_HUBSPOT_ACTIVITY_ACCESS_TOKEN (or the OAuth refresh token) in the
environment or .env, the tap reads the HubSpot emulator (tests/emulator), started
here in the background with a fixed seed; with one, it reads the real portal.
Without TARGET_POSTGRES_HOST, it loads into the embedded PostgreSQL in .demo/pgdata
(scripts/warehouse.py). Meltano keeps the bookmarks in .meltano/, so a second run
only brings what is new.

Emulator data never mixes with a real portal's: it goes to its own schema
(hubspot_activity_emulator, unless TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA says
otherwise) under its own Meltano state id (...:emulator), so adding a token later
starts the real portal's history from the beginning.

After the load, dbt (transform/, the dbt-postgres utility) builds and tests the
models in <schema>_analytics (or DBT_POSTGRES_SCHEMA), and the demo prints what the
detections found.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from datetime import UTC
from pathlib import Path
from typing import Any

from scripts import warehouse

ROOT = Path(__file__).resolve().parent.parent

DEMO_DIR = ROOT / ".demo"
COUNTS_FILE = DEMO_DIR / "last_counts.json"
RUN_LOG = DEMO_DIR / "meltano-run.log"
DBT_LOG = DEMO_DIR / "dbt-build.log"
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
TABLES = ("login_activity", "audit_logs", "security_activity")
DEMO_SEED = os.environ.get("DEMO_SEED", "7")
# Any non-empty token opens the emulator; it is not a HubSpot credential.
EMULATOR_TOKEN = "demo-emulator-token"  # noqa: S105
EMULATOR_START_TIMEOUT_S = 60
SCHEMA = "hubspot_activity"  # meltano.yml's default_target_schema
EMULATOR_SCHEMA = "hubspot_activity_emulator"
EMULATOR_STATE_SUFFIX = "emulator"


def say(text: str = "") -> None:
    """Print a line of the demo's own output."""
    print(text, flush=True)  # noqa: T201


def settings_env() -> dict[str, str]:
    """What Meltano will see: the project's .env overlaid by the real environment."""
    from dotenv import dotenv_values  # noqa: PLC0415 - installed with meltano

    dotenv = {k: v for k, v in dotenv_values(ROOT / ".env").items() if v}
    return {**dotenv, **os.environ}


class Emulator:
    """`python -m tests.emulator` as a background process."""

    def __init__(self, seed: str) -> None:
        """Start it and wait for the line that gives its URL."""
        self.log = (DEMO_DIR / "emulator.log").open("w")
        self.process = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "tests.emulator", "--port", "0", "--seed", seed],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
        )
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, args=(lines,), daemon=True).start()
        try:
            line = lines.get(timeout=EMULATOR_START_TIMEOUT_S)
        except queue.Empty:
            line = ""
        prefix = "HubSpot emulator listening on "
        if not line.startswith(prefix):
            self.stop()
            msg = f"the emulator did not start: {line!r}; see {self.log.name}"
            raise RuntimeError(msg)
        self.url = line[len(prefix) :].strip()

    def _pump(self, lines: queue.Queue[str]) -> None:
        assert self.process.stdout is not None  # noqa: S101
        for line in self.process.stdout:
            lines.put(line)

    def stop(self) -> None:
        """Terminate the emulator (it stops cleanly on SIGTERM)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def meltano_args(*, state_suffix: str | None, full_refresh: bool) -> list[str]:
    """The `meltano run` command line."""
    args = ["run", "tap-hubspot-activity", "target-postgres"]
    if state_suffix:
        args += ["--state-id-suffix", state_suffix]
    if full_refresh:
        args.append("--full-refresh")
    return args


def run_meltano(env: dict[str, str], args: list[str], log_path: Path = RUN_LOG) -> float:
    """Run Meltano with `args`; the full log goes to a file."""
    meltano = Path(sys.executable).parent / "meltano"
    args = [str(meltano), *args]
    started = time.monotonic()
    with log_path.open("w") as log:
        result = subprocess.run(  # noqa: S603
            args,
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            check=False,
        )
    elapsed = time.monotonic() - started
    if result.returncode != 0:
        tail = log_path.read_text().splitlines()[-25:]
        say("\n".join(tail))
        msg = f"meltano {args[1]} failed (exit {result.returncode}); full log: {log_path}"
        raise SystemExit(msg)
    return elapsed


def connect(env: dict[str, str]) -> Any:
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


def tables_missing(env: dict[str, str], schema: str) -> bool:
    """True if the target schema has none of the tables (a new or wiped warehouse).

    Meltano's bookmarks live in .meltano/, apart from the warehouse: after the warehouse
    is replaced, an incremental run would load only recent events, so do a full refresh.
    """
    import psycopg  # noqa: PLC0415

    try:
        with connect(env) as conn:
            return not any(exists(conn, schema, name) for name in TABLES)
    except psycopg.Error:
        return False  # let meltano run report the connection problem


def table(rows: list[tuple[Any, ...]], header: tuple[str, ...]) -> str:
    """A plain-text table."""
    cells = [tuple("" if v is None else str(v) for v in row) for row in [header, *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = [
        "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join("    " + line for line in lines)


def exists(conn: Any, schema: str, name: str) -> bool:
    """Whether schema.name is a table (audit_logs is absent without Enterprise)."""
    from psycopg import sql  # noqa: PLC0415

    qualified = sql.Identifier(schema, name).as_string(conn)
    return conn.execute("SELECT to_regclass(%s)", (qualified,)).fetchone()[0] is not None


def report(env: dict[str, str], schema: str, target_key: str, *, fresh: bool) -> None:
    """Row counts (and what is new since the previous demo run) plus a short summary."""
    from psycopg import sql  # noqa: PLC0415

    previous_all = json.loads(COUNTS_FILE.read_text()) if COUNTS_FILE.exists() else {}
    previous = {} if fresh else previous_all.get(target_key, {})
    counts: dict[str, int] = {}
    landed = []
    with connect(env) as conn:
        present = {name for name in TABLES if exists(conn, schema, name)}

        def query(template: str, name: str) -> list[tuple[Any, ...]]:
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
    if "login_activity" in present:
        say("\nFailed logins per user (top 5):")
        say(table(failed, ("userId", "email", "failed", "last failed (UTC)")))
    if "security_activity" in present:
        say("\nMost recent security events:")
        say(table(recent, ("occurred (UTC)", "type", "user", "ip", "location")))
    if "audit_logs" in present:
        say("\nAudit events per category:")
        say(table(categories, ("category", "events")))


def dbt_summary() -> str:
    """The closing line of dbt (PASS=.. WARN=.. ERROR=..) from the build log."""
    lines = [line for line in DBT_LOG.read_text().splitlines() if "PASS=" in line]
    return lines[-1].split("Done. ", 1)[-1].strip() if lines else "see the log"


def report_detections(env: dict[str, str], analytics: str) -> None:
    """Row counts of the dbt models and a few lines of what each detection found."""
    from psycopg import sql  # noqa: PLC0415

    with connect(env) as conn:

        def query(template: str, *names: str) -> list[tuple[Any, ...]]:
            tables = {f"t{i}": sql.Identifier(analytics, name) for i, name in enumerate(names)}
            return conn.execute(sql.SQL(template).format(**tables)).fetchall()

        counts = [
            (f"{analytics}.{name}", query("SELECT count(*) FROM {t0}", name)[0][0])
            for name in MODELS
        ]
        bursts = query(
            "SELECT email, first_failed_at, failed_logins, ip_addresses, country_codes, "
            "coalesce(to_char(succeeded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), 'no') "
            "FROM {t0} ORDER BY first_failed_at DESC LIMIT 5",
            "failed_login_bursts",
        )
        countries = query(
            "SELECT email, occurred_at, country_code, known_country_codes, "
            "minutes_since_previous_login FROM {t0} ORDER BY occurred_at DESC LIMIT 5",
            "new_country_logins",
        )
        kinds = query(
            "SELECT change_type, count(*), count(*) FILTER (WHERE affects_other_user) "
            "FROM {t0} GROUP BY 1 ORDER BY 2 DESC, 1",
            "privileged_changes",
        )
        others = query(
            "SELECT occurred_at, action, actor_email, coalesce(target_user_email, "
            "target_user_id) FROM {t0} WHERE affects_other_user "
            "ORDER BY occurred_at DESC LIMIT 5",
            "privileged_changes",
        )
        months = query(
            "SELECT to_char(month_start, 'YYYY-MM'), events, logins_failed, "
            "failed_login_bursts, new_country_logins, privileged_changes, "
            "privileged_changes_on_other_users FROM {t0} ORDER BY month_start",
            "monthly_evidence_summary",
        )

    def utc(rows: list[tuple[Any, ...]], column: int) -> list[tuple[Any, ...]]:
        return [
            (*row[:column], f"{row[column].astimezone(UTC):%Y-%m-%d %H:%M:%S}", *row[column + 1 :])
            for row in rows
        ]

    say("\ndbt models:")
    say(table(counts, ("model", "rows")))
    rows = dict(counts)
    say(f"\nFailed-login bursts: {rows[f'{analytics}.failed_login_bursts']} (newest 5)")
    say(
        table(
            utc(bursts, 1),
            ("user", "first failure (UTC)", "failures", "ip", "country", "then logged in"),
        )
    )
    say(f"\nFirst logins from a new country: {rows[f'{analytics}.new_country_logins']} (newest 5)")
    say(
        table(
            utc(countries, 1),
            ("user", "login (UTC)", "country", "known before", "minutes since previous"),
        )
    )
    say(f"\nPrivileged changes: {rows[f'{analytics}.privileged_changes']}")
    say(table(kinds, ("change", "events", "on another user")))
    if others:
        say("  made to another user's account (newest 5):")
        say(table(utc(others, 0), ("occurred (UTC)", "action", "by", "to user")))
    say("\nMonthly evidence summary:")
    say(
        table(
            months,
            ("month", "events", "failed logins", "bursts", "new country", "privileged", "on other"),
        )
    )


def run_dbt(env: dict[str, str], schema: str, *, full_refresh: bool) -> str:
    """`dbt build` through Meltano on the loaded schema; returns the analytics schema."""
    env = {**env, "DBT_POSTGRES_SOURCE_SCHEMA": schema}
    analytics = env.get("DBT_POSTGRES_SCHEMA") or f"{schema}_analytics"
    args = ["invoke", "dbt-postgres:build"] + (["--full-refresh"] if full_refresh else [])
    say(f"Running: meltano {' '.join(args)} (models in {analytics})")
    elapsed = run_meltano(env, args, DBT_LOG)
    log = DBT_LOG.relative_to(ROOT)
    say(f"dbt build finished in {elapsed:.1f} s: {dbt_summary()} (log: {log})")
    return analytics


def main() -> int:
    """Run the demo end to end."""
    DEMO_DIR.mkdir(exist_ok=True)
    env = {**os.environ, "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false"}
    visible = settings_env()
    real_portal = bool(
        visible.get("TAP_HUBSPOT_ACTIVITY_ACCESS_TOKEN")
        or visible.get("TAP_HUBSPOT_ACTIVITY_REFRESH_TOKEN")
    )
    own_warehouse = bool(visible.get("TARGET_POSTGRES_HOST"))
    schema = visible.get("TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA") or (
        SCHEMA if real_portal else EMULATOR_SCHEMA
    )
    env["TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA"] = schema
    emulator = None
    started_warehouse = False
    try:
        if real_portal:
            say("HubSpot: the real portal (credentials found in the environment or .env)")
        else:
            emulator = Emulator(DEMO_SEED)
            env["TAP_HUBSPOT_ACTIVITY_API_URL"] = emulator.url
            env["TAP_HUBSPOT_ACTIVITY_ACCESS_TOKEN"] = EMULATOR_TOKEN
            say(
                f"HubSpot: the emulator at {emulator.url} (seed {DEMO_SEED}); "
                "set TAP_HUBSPOT_ACTIVITY_ACCESS_TOKEN to read a real portal"
            )

        if own_warehouse:
            say(f"Warehouse: PostgreSQL at {visible['TARGET_POSTGRES_HOST']}, schema {schema}")
            target_key = "{}:{}/{}/{}".format(
                visible.get("TARGET_POSTGRES_HOST"),
                visible.get("TARGET_POSTGRES_PORT") or 5432,
                visible.get("TARGET_POSTGRES_DATABASE"),
                schema,
            )
        else:
            started_warehouse = not warehouse.is_running(warehouse.DEFAULT_DATA_DIR)
            wh = warehouse.start(warehouse.DEFAULT_DATA_DIR)
            env.update(wh.target_env())
            say(
                f"Warehouse: embedded PostgreSQL 18 on {wh.host}:{wh.port}, schema {schema} "
                f"(data in {wh.data_dir.relative_to(ROOT)})"
            )
            # Its port may change between runs; its data directory does not.
            target_key = f"embedded:{wh.data_dir.relative_to(ROOT)}/{schema}"

        summary_env = {**visible, **env}
        full_refresh = tables_missing(summary_env, schema)
        args = meltano_args(
            state_suffix=None if real_portal else EMULATOR_STATE_SUFFIX,
            full_refresh=full_refresh,
        )
        say(f"Running: meltano {' '.join(args)}" + (" (no tables yet)" if full_refresh else ""))
        elapsed = run_meltano(env, args)
        say(f"meltano run finished in {elapsed:.1f} s (log: {RUN_LOG.relative_to(ROOT)})")
        report(summary_env, schema, target_key, fresh=full_refresh)
        say()
        analytics = run_dbt({**visible, **env}, schema, full_refresh=full_refresh)
        report_detections(summary_env, analytics)
    finally:
        # Stop first, print after: a closed stdout must not leave processes behind.
        stopped = []
        if emulator is not None:
            emulator.stop()
            stopped.append("Emulator stopped.")
        if started_warehouse:
            warehouse.stop(warehouse.DEFAULT_DATA_DIR)
            stopped.append(
                "Embedded PostgreSQL stopped (data kept in .demo/pgdata; "
                "`make warehouse` starts it for psql or a BI tool)."
            )
        if stopped:
            say("\n" + "\n".join(stopped))
    return 0


if __name__ == "__main__":
    sys.exit(main())
