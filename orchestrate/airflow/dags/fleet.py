"""A fleet of HubSpot portals: one mapped Airflow task per portal, then one dbt build.

DAG `hubspot_activity_fleet` (Airflow >= 3.1; tested with 3.3.2):

    portal_list ──> extract_load[label] (dynamic task mapping, one per portal) ──> dbt_build
    state_backend ─┘                                                          └─> failed_portals

- `portal_list` reads the portals at run time: the Airflow Variable
  `hubspot_activity_portals` (JSON) when it is set, else the YAML file
  HUBSPOT_FLEET_PORTALS_FILE (default orchestrate/airflow/portals.yml in the project).
  Each portal is a label, an api_url and *where* its credential comes from: an Airflow
  Connection id (any secrets backend: Vault, AWS Secrets Manager, GCP Secret Manager,
  AIRFLOW_CONN_* variables, the metadata database) or environment variable names. A
  secret itself in the list is refused, and the tap's own rules for its `portals`
  setting apply (fleet_portals.py): unique labels, no portal listed twice, a valid
  api_url. The list (labels, URLs, connection ids) is what
  XCom and the rendered templates hold; credentials are read inside the task only.
- `state_backend` brings Meltano's system database up to date once, before the
  portals start (every `meltano` command would otherwise migrate it, concurrently).
- `extract_load` runs `meltano run --state-id-suffix <label> tap-hubspot-activity
  target-postgres` with that portal's credentials in the subprocess environment only.
  Its bookmark is `<environment>:tap-hubspot-activity-to-target-postgres:<label>` in
  Meltano's state backend, which every worker must reach (MELTANO_DATABASE_URI on
  PostgreSQL, or MELTANO_STATE_BACKEND_URI). It runs in the Airflow pool
  HUBSPOT_FLEET_POOL: the pool's size is how many portals are read at once, fleet-wide.
  Each attempt gets a private Meltano system directory (MELTANO_SYS_DIR_ROOT, with the
  project's installed plugins linked in), so its run directory (config, catalog,
  state.json) is its own: tasks on one host never collide and need no lock.
- `dbt_build` runs `meltano run dbt-postgres:build` once after every portal is done,
  when at least one portal succeeded, and logs the portals that failed.
- `failed_portals` fails the DAG run, naming the failed portals, when any portal
  failed. A failed portal is retried alone by Airflow (HUBSPOT_FLEET_RETRIES), and the
  next DAG run starts every portal from its own bookmark.

Environment of the DAG processor and the workers (besides the MELTANO_PROJECT_ROOT,
MELTANO_BIN, MELTANO_DAG_ENV_FILE and MELTANO_SYS_DIR_ROOT of meltano_project.py):
    HUBSPOT_FLEET_PORTALS_FILE   the portal list (YAML or JSON)
    HUBSPOT_FLEET_POOL           the Airflow pool of the portal tasks (default
                                 hubspot_activity_fleet; create it: `airflow pools set`)
    HUBSPOT_FLEET_SCHEDULE       a cron expression or preset (default @hourly; "none": only
                                 when triggered)
    HUBSPOT_FLEET_RETRIES, HUBSPOT_FLEET_RETRY_DELAY_SECONDS   per portal (2, 360)
    HUBSPOT_FLEET_TASK_TIMEOUT_MINUTES   execution_timeout of each task (180)
    HUBSPOT_FLEET_WORK_DIR       where the private system directories go (default: the
                                 system's temporary directory)
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import tempfile
import typing as t
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pendulum
from airflow.sdk import TriggerRule, dag, get_current_context, task

# The modules beside this file: Airflow 3 puts the DAG bundle's folder on sys.path, a
# bare DagBag (or a copy of these files elsewhere) may not.
sys.path.append(str(Path(__file__).resolve().parent))
from fleet_portals import TAP_PREFIX, FleetConfigError, credentials, read_portals  # noqa: E402
from meltano_project import Redactor, run_meltano, sys_dir  # noqa: E402

try:
    from airflow.sdk.log import mask_secret
except ImportError:  # pragma: no cover - older task SDKs
    from airflow.sdk.execution_time.secrets_masker import mask_secret  # type: ignore[no-redef]

SYS_DIR = sys_dir()
POOL = os.environ.get("HUBSPOT_FLEET_POOL") or "hubspot_activity_fleet"
RETRIES = int(os.environ.get("HUBSPOT_FLEET_RETRIES") or 2)
# As in meltano.py: more than Meltano's 5-minute heartbeat window, so that a retry after a
# killed attempt finds that attempt's run stale instead of "already running".
RETRY_DELAY = timedelta(seconds=float(os.environ.get("HUBSPOT_FLEET_RETRY_DELAY_SECONDS") or 360))
TASK_TIMEOUT = timedelta(minutes=int(os.environ.get("HUBSPOT_FLEET_TASK_TIMEOUT_MINUTES") or 180))
_SCHEDULE = os.environ.get("HUBSPOT_FLEET_SCHEDULE") or "@hourly"
SCHEDULE = None if _SCHEDULE.lower() in {"none", "manual", "@none"} else _SCHEDULE

EXTRACTOR = "tap-hubspot-activity"
LOADER = "target-postgres"
DBT_STEP = "dbt-postgres:build"
# Worker-wide credentials of the single-portal DAGs never reach a fleet task: each portal
# gets exactly the credential of its entry.
CREDENTIAL_SETTINGS = ("ACCESS_TOKEN", "CLIENT_ID", "CLIENT_SECRET", "REFRESH_TOKEN", "PORTALS")
# How the task runs (plugin directories linked into a private system directory).
PLUGIN_KINDS = ("extractors", "loaders", "utilities")

log = logging.getLogger(__name__)


def base_env() -> dict[str, str]:
    """The worker's environment without worker-wide HubSpot credentials."""
    dropped = {f"{TAP_PREFIX}{setting}" for setting in (*CREDENTIAL_SETTINGS, "API_URL")}
    env = {key: value for key, value in os.environ.items() if key not in dropped}
    env["NO_COLOR"] = "1"
    if not env.get("MELTANO_DATABASE_URI"):
        # Meltano's default system database is <sys dir>/meltano.db: with a private system
        # directory per task that would be a new, empty database. Pin the project's file,
        # which is shared by the tasks of one host only: set MELTANO_DATABASE_URI (or
        # MELTANO_STATE_BACKEND_URI) for several workers.
        env["MELTANO_DATABASE_URI"] = f"sqlite:///{SYS_DIR / 'meltano.db'}"
        log.warning("MELTANO_DATABASE_URI is not set: state in %s (this host only)", SYS_DIR)
    return env


@contextmanager
def private_sys_dir(label: str) -> t.Iterator[Path]:
    """A Meltano system directory of this task only, with the installed plugins linked in."""
    missing = [kind for kind in PLUGIN_KINDS[:2] if not (SYS_DIR / kind).is_dir()]
    if missing:
        msg = f"no installed {' or '.join(missing)} in {SYS_DIR}: run `make install` on this worker"
        raise FleetConfigError(msg)
    work_dir = os.environ.get("HUBSPOT_FLEET_WORK_DIR") or None
    if work_dir:
        Path(work_dir).mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix=f"meltano-fleet-{label}-", dir=work_dir))
    try:
        for kind in PLUGIN_KINDS:
            if (SYS_DIR / kind).is_dir():
                (path / kind).symlink_to(SYS_DIR / kind)
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def outcome(portals: list[dict[str, t.Any]]) -> tuple[list[str], list[str]]:
    """(loaded, failed) labels of this DAG run: a portal that returned no result failed."""
    ti = get_current_context()["ti"]
    results = ti.xcom_pull(task_ids="extract_load", key="return_value") or []
    if isinstance(results, dict):
        results = [results]
    loaded = sorted({result["label"] for result in results if result})
    failed = sorted({portal["label"] for portal in portals} - set(loaded))
    return loaded, failed


@dag(
    dag_id="hubspot_activity_fleet",
    description="HubSpot portals fanned out over Airflow workers: one task per portal, then dbt",
    schedule=SCHEDULE,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={
        "owner": "meltano",
        "retries": RETRIES,
        "retry_delay": RETRY_DELAY,
        "execution_timeout": TASK_TIMEOUT,
    },
    tags=["meltano", "fleet"],
    doc_md=__doc__,
)
def hubspot_activity_fleet() -> None:
    @task(retries=0)
    def portal_list() -> list[dict[str, t.Any]]:
        return read_portals()

    @task
    def state_backend() -> None:
        env = base_env()
        uri = env.get("MELTANO_STATE_BACKEND_URI") or env["MELTANO_DATABASE_URI"]
        log.info("Meltano state backend: %s", uri.split("://", 1)[0] + "://…")
        with private_sys_dir("migrate") as task_dir:
            env["MELTANO_SYS_DIR_ROOT"] = str(task_dir)
            run_meltano(["upgrade", "database"], env, Redactor(), "state backend")

    @task(pool=POOL, map_index_template="{{ portal_label }}")
    def extract_load(portal: dict[str, t.Any]) -> dict[str, str]:
        label = portal["label"]
        get_current_context()["portal_label"] = label  # type: ignore[typeddict-unknown-key]
        secret_env = credentials(portal)
        redactor = Redactor()
        for secret in secret_env.values():
            mask_secret(secret)  # Airflow's masker, for its own logs
            redactor.add(secret)  # the tap's redaction, for meltano's output
        env = base_env()
        env[f"{TAP_PREFIX}API_URL"] = portal["api_url"]
        for key, value in (portal.get("config") or {}).items():
            env[f"{TAP_PREFIX}{key.upper()}"] = (
                value if isinstance(value, str) else json.dumps(value)
            )
        env.update(secret_env)
        with private_sys_dir(label) as task_dir:
            env["MELTANO_SYS_DIR_ROOT"] = str(task_dir)
            run_meltano(
                ["run", "--state-id-suffix", label, EXTRACTOR, LOADER],
                env,
                redactor,
                f"portal {label}",
            )
        return {"label": label, "state_id_suffix": label}

    @task(trigger_rule=TriggerRule.ALL_DONE_MIN_ONE_SUCCESS)
    def dbt_build(portals: list[dict[str, t.Any]]) -> None:
        loaded, failed = outcome(portals)
        log.info("dbt build after %d loaded portals: %s", len(loaded), ", ".join(loaded))
        if failed:
            log.warning("%d portals failed and were not loaded: %s", len(failed), ", ".join(failed))
        env = base_env()
        with private_sys_dir("dbt") as task_dir:
            env["MELTANO_SYS_DIR_ROOT"] = str(task_dir)
            # dbt's artifacts and logs in the task's directory, not transform/target.
            env.setdefault("DBT_TARGET_PATH", str(task_dir / "dbt-target"))
            env.setdefault("DBT_LOG_PATH", str(task_dir / "dbt-logs"))
            run_meltano(["run", DBT_STEP], env, Redactor(), "dbt build")

    @task(trigger_rule=TriggerRule.ALL_DONE, retries=0)
    def failed_portals(portals: list[dict[str, t.Any]]) -> None:
        loaded, failed = outcome(portals)
        log.info("%d portals loaded: %s", len(loaded), ", ".join(loaded))
        if failed:
            msg = f"{len(failed)} of {len(portals)} portals failed: {', '.join(failed)}"
            raise RuntimeError(msg)

    portals = portal_list()
    loads = extract_load.expand(portal=portals)
    state_backend() >> loads
    loads >> dbt_build(portals)
    loads >> failed_portals(portals)


hubspot_activity_fleet()
