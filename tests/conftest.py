"""Shared fixtures: a HubSpot emulator on loopback and an in-process tap runner."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
import typing as t
from contextlib import redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from hubspot_emulator import EmulatorConfig, HubSpotEmulator
from scripts import warehouse  # noqa: TC001 - fixtures' annotations
from tap_hubspot_activity.tap import TapHubspotActivity
from tests import fixture_timing, shared

ROOT = Path(__file__).resolve().parent.parent
MELTANO = Path(sys.executable).parent / "meltano"
MELTANO_TIMEOUT_S = 300
# The executable `meltano install` leaves for each plugin the tests run.
PLUGIN_EXECUTABLES = {
    "tap-hubspot-activity": "extractors/tap-hubspot-activity/venv/bin/tap-hubspot-activity",
    # The verification job's extractor inherits the tap's virtualenv.
    "tap-hubspot-activity--verify": "extractors/tap-hubspot-activity/venv/bin/tap-hubspot-activity",
    "target-postgres": "loaders/target-postgres/venv/bin/target-postgres",
    "dbt-postgres": "utilities/dbt-postgres/venv/bin/dbt",
    "target-jsonl": "loaders/target-jsonl/venv/bin/target-jsonl",
    # The OCSF export and dbt on Snowflake (tests/test_ocsf_jobs.py, tests/test_snowflake.py);
    # the --ocsf plugins inherit their parent's virtualenv.
    "tap-postgres--ocsf": "extractors/tap-postgres/venv/bin/tap-postgres",
    "target-jsonl--ocsf": "loaders/target-jsonl/venv/bin/target-jsonl",
    "dbt-snowflake": "utilities/dbt-snowflake/venv/bin/dbt",
}
PLUGIN_KINDS = ("extractors", "loaders", "utilities")
# The modules that take minutes, longest first (pytest --durations; the README's table),
# then those that take most of a minute, longest first, so that the run ends on short
# modules: in collection (alphabetical) order, test_sync and test_reliability came last
# and one worker ran on alone for most of a minute.
# pytest-xdist hands a worker its next module as soon as its current one has 2 tests or
# fewer left: test_fleet is one test, so the fourth module waits behind it on its worker
# for the whole of it, and is a short one.
MODULE_ORDER = (
    "test_fleet",
    "test_airflow",
    "test_completeness",
    "test_pipeline",
    "test_snowflake",
    "test_dbt_incremental",
    "test_dbt",
    "test_ocsf_jobs",
    "test_ocsf",
    "test_pipeline_portals",
    "test_hostile",
    "test_errors",
    "test_sync",
    "test_hostile_paging",
    "test_hostile_headers",
    "test_reliability",
    "test_oauth",
    "test_hostile_portals",
    "test_cli",
    "test_readme",
    "test_portals",
    "test_investigate",
    "test_investigate_mcp",
)
TOKEN = "pat-na1-test-token-0123456789"
STREAMS = {
    "login_activity": "login",
    "audit_logs": "audit-logs",
    "security_activity": "security",
}

# A small portal: a full run is a few thousand records and under a second of HTTP.
SMALL_PORTAL = {
    "users": 40,
    "logins_per_day": 12.0,
    "audits_per_day": 15.0,
    "security_per_day": 4.0,
    "history_days": 60,
    # Rate limiting has its own tests; here it would only make the suite wait.
    "ten_second_max": 100_000,
}


@dataclass
class TapRun:
    """What one in-process sync wrote: records per stream, STATE messages, the log."""

    records: dict[str, list[dict[str, t.Any]]] = field(default_factory=dict)
    states: list[dict[str, t.Any]] = field(default_factory=list)
    log: str = ""
    output: str = ""
    error: BaseException | None = None

    @property
    def state(self) -> dict[str, t.Any]:
        """The last STATE the tap emitted (what Meltano would store)."""
        return self.states[-1] if self.states else {}

    def ids(self, stream: str) -> list[str]:
        """Record ids of a stream in emitted order."""
        return [record["id"] for record in self.records.get(stream, [])]


def run_tap(
    config: dict[str, t.Any],
    state: dict[str, t.Any] | None = None,
    catalog: dict[str, t.Any] | None = None,
    *,
    expect_error: bool | None = False,
) -> TapRun:
    """Sync in-process, capturing stdout messages and the tap's log.

    expect_error: False, the run must succeed; True, it must fail; None, either.
    """
    stdout = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", write_through=True)
    log_buffer = io.StringIO()
    handler = logging.StreamHandler(log_buffer)
    root = logging.getLogger()
    root.addHandler(handler)
    previous_level = root.level
    # INFO, as the tap logs by default: at DEBUG every request of urllib3 and every
    # property of singer-sdk's catalog is formatted twice (here and in pytest's capture),
    # a tenth of the CPU of the in-process tests, and no test reads a DEBUG line.
    root.setLevel(logging.INFO)
    run = TapRun()
    try:
        with redirect_stdout(stdout):
            tap = TapHubspotActivity(config=config, state=state, catalog=catalog)
            tap.sync_and_report()
    except Exception as exc:
        if expect_error is False:
            raise
        run.error = exc
    finally:
        root.removeHandler(handler)
        root.setLevel(previous_level)
    stdout.flush()
    run.output = t.cast("io.BytesIO", stdout.buffer).getvalue().decode()
    run.log = log_buffer.getvalue()
    # Singer is newline-delimited; str.splitlines() would also split inside JSON strings
    # on characters such as U+0085.
    for line in filter(None, run.output.split("\n")):
        message = json.loads(line)
        if message["type"] == "RECORD":
            run.records.setdefault(message["stream"], []).append(message["record"])
        elif message["type"] == "STATE":
            run.states.append(message["value"])
    if expect_error is True and run.error is None:
        pytest.fail("the tap was expected to fail but completed")
    return run


def truth_ids(
    emulator: HubSpotEmulator,
    stream: str,
    **window: t.Any,
) -> list[str]:
    """Ids the emulator holds for a tap stream, ascending by time."""
    return [str(event["id"]) for event in emulator.truth(STREAMS[stream], **window)]


def tap_config(emulator: HubSpotEmulator, **overrides: t.Any) -> dict[str, t.Any]:
    """Settings pointing the tap at an emulator."""
    return {
        "access_token": TOKEN,
        "api_url": emulator.url,
        "start_date": "2000-01-01T00:00:00Z",
        "page_size": 50,
        **overrides,
    }


def pytest_addoption(parser: pytest.Parser) -> None:
    """--fixture-durations=N: the N slowest fixture set-ups at the end of a run."""
    fixture_timing.add_option(parser)


def pytest_configure(config: pytest.Config) -> None:
    """The run's shared folder (tests/shared.py), and set-up time per fixture."""
    shared.start_run()
    config.pluginmanager.register(fixture_timing.FixtureTimer(), "fixture-timer")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slowest modules first (a stable sort: each module keeps its own order).

    Under pytest-xdist (`make test`) a module runs on one worker, in the order modules
    are collected: started first, the long ones run beside the many short ones, and
    the run does not end waiting for one of them.
    """
    rank = {name: n for n, name in enumerate(MODULE_ORDER)}

    def module_rank(item: pytest.Item) -> int:
        module = getattr(item, "module", None)
        return rank.get(getattr(module, "__name__", "").rsplit(".", 1)[-1], len(rank))

    items.sort(key=module_rank)


def pytest_unconfigure(config: pytest.Config) -> None:
    """The controller (or the only process) stops what the run shared."""
    if not hasattr(config, "workerinput"):
        shared.finish()


@pytest.fixture(scope="session")
def emulator() -> t.Iterator[HubSpotEmulator]:
    """A small seeded portal shared by the read-only tests."""
    with HubSpotEmulator(EmulatorConfig(seed=11, **SMALL_PORTAL)) as emu:
        yield emu


@pytest.fixture
def fresh_emulator() -> t.Iterator[HubSpotEmulator]:
    """A private emulator for tests that add events, change modes or inject faults."""
    with HubSpotEmulator(EmulatorConfig(seed=23, **SMALL_PORTAL)) as emu:
        yield emu


@pytest.fixture(scope="session")
def pg_server() -> warehouse.Warehouse:
    """The run's embedded PostgreSQL (tests/shared.py), database `postgres`: one for all
    modules and xdist workers, started on first use and stopped when the run ends."""
    return shared.server()


@pytest.fixture(scope="module")
def pg(request: pytest.FixtureRequest, pg_server: warehouse.Warehouse) -> warehouse.Warehouse:
    """A PostgreSQL database of this test module's own, on the run's server.

    The same connection values as a server of its own (uri, target_env(), data_dir),
    so a module's schemas never meet another's.
    """
    module = request.module.__name__.rsplit(".", 1)[-1]
    return shared.database(
        pg_server, shared.database_name(module, os.environ.get("PYTEST_XDIST_WORKER", ""))
    )


def meltano_env(
    home: Path, pg: t.Any, settings: dict[str, str], *, also_drop: tuple[str, ...] = ()
) -> dict[str, str]:
    """The environment of a test's Meltano calls: only what the test sets.

    The project's own variables are dropped from the inherited environment, the system
    database lives in `home`, and an empty env file (PIPELINE_ENV_FILE, passed as
    --env-file) stands in for the project's .env, which may hold real credentials.
    """
    prefixes = ("TAP_HUBSPOT_ACTIVITY_", "TARGET_", "MELTANO_", "DBT_", *also_drop)
    env = {key: value for key, value in os.environ.items() if not key.startswith(prefixes)}
    env.update(pg.target_env())
    empty = home / "empty.env"
    empty.write_text("")
    env.update(
        {
            "MELTANO_DATABASE_URI": f"sqlite:///{home / 'meltano.db'}",
            "MELTANO_ENVIRONMENT": "dev",
            "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
            # Meltano asks pypi.org for its latest version once a day: no test goes online.
            "MELTANO_CLI_DISABLE_VERSION_CHECK": "true",
            "NO_COLOR": "1",
            "PIPELINE_ENV_FILE": str(empty),
            # dbt's JSON artifacts (manifest, run results) and its debug log file: no test
            # reads them but test_dbt's documentation test, which asks for them, and
            # writing them is about 2 of a build's 14 CPU-s. Its console output stays.
            "DBT_WRITE_JSON": "false",
            "DBT_LOG_LEVEL_FILE": "none",
        }
    )
    env.update(settings)
    # A private Meltano system directory, with the installed plugins linked in: its own
    # run/ (config, catalog, state.json), which another test running Meltano in this
    # checkout at the same time (an xdist worker, a demo) would otherwise overwrite.
    sys_dir = home / "meltano-sys"
    if not sys_dir.exists():
        sys_dir.mkdir()
        for kind in PLUGIN_KINDS:
            (ROOT / ".meltano" / kind).mkdir(parents=True, exist_ok=True)
            (sys_dir / kind).symlink_to(ROOT / ".meltano" / kind)
    env["MELTANO_SYS_DIR_ROOT"] = str(sys_dir)
    return env


def meltano(
    env: dict[str, str], *args: str, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run the project's Meltano; with `check`, fail the test with the output's tail."""
    result = subprocess.run(
        [str(MELTANO), "--env-file", env["PIPELINE_ENV_FILE"], *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=MELTANO_TIMEOUT_S,
        check=False,
    )
    if check and result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-60:])
        pytest.fail(f"meltano {' '.join(args)} exited {result.returncode}:\n{tail}")
    return result


def ensure_plugins(env: dict[str, str], *names: str) -> None:
    """`make install` installs them; a bare pytest run installs what is missing."""
    missing = [
        name for name in names if not (ROOT / ".meltano" / PLUGIN_EXECUTABLES[name]).exists()
    ]
    if missing:
        meltano(env, "install", *missing)


# The dbt-built data set the dbt, OCSF and Snowflake tests share (tests/dbt_build.py).
from tests.dbt_build import dbt_build, dbt_build_copy, ocsf_build  # noqa: E402, F401
