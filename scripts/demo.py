"""`make demo`: HubSpot account activity into PostgreSQL with Meltano, then a summary.

Without TAP_HUBSPOT_ACTIVITY_ACCESS_TOKEN (or the OAuth refresh token) in the
environment or .env, the tap reads the HubSpot emulator (hubspot_emulator), started
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

import contextlib
import json
import os
import sys
from pathlib import Path
from typing import Any

from hubspot_emulator.process import EmulatorProcess, spawn
from scripts import warehouse
from scripts.demo_detections import report_detections
from scripts.demo_evidence import report_evidence
from scripts.demo_report import (
    DBT_LOG,
    TABLES,
    connect,
    dbt_summary,
    exists,
    report,
)
from scripts.steps import TAP_PROGRESS, run_step, say

ROOT = Path(__file__).resolve().parent.parent

DEMO_DIR = ROOT / ".demo"
RUN_LOG = DEMO_DIR / "meltano-run.log"
DEMO_SEED = os.environ.get("DEMO_SEED", "7")
# Any non-empty token opens the emulator; it is not a HubSpot credential.
EMULATOR_TOKEN = "demo-emulator-token"  # noqa: S105
EMULATOR_START_TIMEOUT_S = 60
SCHEMA = "hubspot_activity"  # meltano.yml's default_target_schema
EMULATOR_SCHEMA = warehouse.EMULATOR_SCHEMA
EMULATOR_STATE_SUFFIX = "emulator"


def settings_env() -> dict[str, str]:
    """What Meltano will see: the project's .env overlaid by the real environment."""
    from dotenv import dotenv_values  # noqa: PLC0415 - installed with meltano

    dotenv = {k: v for k, v in dotenv_values(ROOT / ".env").items() if v}
    return {**dotenv, **os.environ}


def start_emulator(stack: contextlib.ExitStack, env: dict[str, str]) -> EmulatorProcess:
    """The emulator in the background until `stack` closes (stderr in .demo/), in `env`."""
    log = stack.enter_context((DEMO_DIR / "emulator.log").open("w"))
    emulator = stack.enter_context(
        spawn("--seed", DEMO_SEED, log=log, start_timeout=EMULATOR_START_TIMEOUT_S)
    )
    env["TAP_HUBSPOT_ACTIVITY_API_URL"] = emulator.url
    env["TAP_HUBSPOT_ACTIVITY_ACCESS_TOKEN"] = EMULATOR_TOKEN
    say(
        f"HubSpot: the emulator at {emulator.url} (seed {DEMO_SEED}); "
        "set TAP_HUBSPOT_ACTIVITY_ACCESS_TOKEN to read a real portal"
    )
    return emulator


def upcoming_events(emulator: EmulatorProcess) -> dict[str, Any] | None:
    """When the emulator's next event is due per stream, if it answers."""
    try:
        return emulator.next_events()
    except (OSError, ValueError):
        return None


def meltano_args(*, state_suffix: str | None, full_refresh: bool) -> list[str]:
    """The `meltano run` command line."""
    args = ["run", "tap-hubspot-activity", "target-postgres"]
    if state_suffix:
        args += ["--state-id-suffix", state_suffix]
    if full_refresh:
        args.append("--full-refresh")
    return args


def run_meltano(
    env: dict[str, str], args: list[str], log_path: Path, step: str, *, counts: bool = False
) -> float:
    """Run Meltano with `args` as a step told as it runs; the full log goes to a file."""
    meltano = Path(sys.executable).parent / "meltano"
    say(f"[{step}] meltano {' '.join(args)}")
    return run_step(
        step,
        [str(meltano), *args],
        log_path,
        env=env,
        cwd=ROOT,
        progress=TAP_PROGRESS if counts else None,
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


def run_dbt(env: dict[str, str], schema: str, *, full_refresh: bool) -> str:
    """`dbt build` through Meltano on the loaded schema; returns the analytics schema."""
    env = {**env, "DBT_POSTGRES_SOURCE_SCHEMA": schema}
    analytics = env.get("DBT_POSTGRES_SCHEMA") or f"{schema}_analytics"
    args = ["invoke", "dbt-postgres:build"] + (["--full-refresh"] if full_refresh else [])
    run_meltano(env, args, DBT_LOG, "dbt")
    say(f"[dbt] models in {analytics}: {dbt_summary()}")
    return analytics


def summarize(env: dict[str, str], analytics: str, schema: str) -> None:
    """What the dbt models say: the detections, then completeness and pipeline health."""
    report_detections(env, analytics, schema)
    report_evidence(env, analytics)


def investigate_hint(analytics: str, *, own_warehouse: bool) -> str:
    """How to ask the warehouse a question: the CLI, and an MCP client's configuration."""
    where = [] if own_warehouse else ["--demo"]
    schema = (
        {} if analytics == f"{EMULATOR_SCHEMA}_analytics" else {"DBT_POSTGRES_SCHEMA": analytics}
    )
    prefix = "".join(f"{key}={value} " for key, value in schema.items())
    ask = f"{prefix}.venv/bin/hubspot-activity ask failed-logins --since 7d {' '.join(where)}"
    client = {"command": str(ROOT / ".venv" / "bin" / "hubspot-activity"), "args": ["mcp", *where]}
    return (
        "Ask the warehouse a question (README: Investigating):\n"
        f"  {ask.rstrip()}\n"
        "  .venv/bin/hubspot-activity questions     # all of them: timeline, detections, ...\n"
        "or from an MCP client (Claude Desktop, an agent), the same questions as tools:\n"
        f"  {json.dumps(client | ({'env': schema} if schema else {}))}"
        + ("  (env: your DBT_POSTGRES_* or TARGET_POSTGRES_* too)" if own_warehouse else "")
    )


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
    emulator_stack = contextlib.ExitStack()
    try:
        if real_portal:
            say("HubSpot: the real portal (credentials found in the environment or .env)")
        else:
            emulator = start_emulator(emulator_stack, env)

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
        if full_refresh:
            say("[extract+load] no tables yet: a full refresh")
        run_meltano(env, args, RUN_LOG, "extract+load", counts=True)
        upcoming = upcoming_events(emulator) if emulator is not None else None
        say("[load] done: what landed in the warehouse")
        report(summary_env, schema, target_key, fresh=full_refresh, upcoming=upcoming)
        say()
        analytics = run_dbt({**visible, **env}, schema, full_refresh=full_refresh)
        summarize(summary_env, analytics, schema)
        say("\n" + investigate_hint(analytics, own_warehouse=own_warehouse))
    finally:
        # Stop first, print after: a closed stdout must not leave processes behind.
        stopped = []
        if emulator is not None:
            emulator_stack.close()
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
