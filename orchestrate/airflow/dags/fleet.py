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
  secret itself in the list is refused. The list (labels, URLs, connection ids) is what
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
MELTANO_BIN and MELTANO_DAG_ENV_FILE of meltano.py):
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

import collections
import json
import logging
import os
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
import typing as t
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pendulum
from airflow.sdk import Connection, TriggerRule, Variable, dag, get_current_context, task

try:
    from airflow.sdk.log import mask_secret
except ImportError:  # pragma: no cover - older task SDKs
    from airflow.sdk.execution_time.secrets_masker import mask_secret  # type: ignore[no-redef]

PROJECT_ROOT = Path(
    os.environ.get("MELTANO_PROJECT_ROOT") or Path(__file__).resolve().parents[3]
).resolve()
SYS_DIR = Path(os.environ.get("MELTANO_SYS_DIR_ROOT") or PROJECT_ROOT / ".meltano")
ENV_FILE = os.environ.get("MELTANO_DAG_ENV_FILE") or None
PORTALS_FILE = Path(
    os.environ.get("HUBSPOT_FLEET_PORTALS_FILE")
    or PROJECT_ROOT / "orchestrate" / "airflow" / "portals.yml"
)
PORTALS_VARIABLE = "hubspot_activity_portals"
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
TAP_PREFIX = "TAP_HUBSPOT_ACTIVITY_"
# Worker-wide credentials of the single-portal DAGs never reach a fleet task: each portal
# gets exactly the credential of its entry.
CREDENTIAL_SETTINGS = ("ACCESS_TOKEN", "CLIENT_ID", "CLIENT_SECRET", "REFRESH_TOKEN", "PORTALS")
# Keys that would put a secret into the portal list itself.
SECRET_KEYS = {"access_token", "client_secret", "refresh_token", "password", "token"}
CREDENTIAL_SOURCES = (
    "access_token_conn_id",
    "oauth_conn_id",
    "access_token_env",
    "client_id_env",
)
LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
DEFAULT_API_URL = "https://api.hubapi.com"
# How the task runs (plugin directories linked into a private system directory).
PLUGIN_KINDS = ("extractors", "loaders", "utilities")
STOP_TIMEOUT_S = 30

log = logging.getLogger(__name__)


class FleetConfigError(ValueError):
    """The portal list is unusable; the message says which entry and why."""


def meltano_bin() -> str:
    """The meltano executable: MELTANO_BIN, `meltano` on PATH, or the project's .venv."""
    configured = os.environ.get("MELTANO_BIN")
    if configured:
        return configured
    found = shutil.which("meltano")
    if found:
        return found
    return str(PROJECT_ROOT / ".venv" / "bin" / "meltano")


def validate_portals(raw: t.Any) -> list[dict[str, t.Any]]:
    """The portal list, checked: unique labels, one credential source each, no secrets."""
    entries = raw.get("portals") if isinstance(raw, dict) else raw
    if not isinstance(entries, list) or not entries:
        msg = "the portal list must be a non-empty list (or {portals: [...]})"
        raise FleetConfigError(msg)
    portals: list[dict[str, t.Any]] = []
    seen: set[str] = set()
    for n, entry in enumerate(entries):
        if not isinstance(entry, dict):
            msg = f"portal #{n + 1} is not a mapping"
            raise FleetConfigError(msg)
        label = str(entry.get("label") or "")
        where = f"portal #{n + 1} ({label or 'no label'})"
        if not LABEL.match(label):
            msg = f"{where}: label must match {LABEL.pattern} (it names the state id)"
            raise FleetConfigError(msg)
        if label in seen:
            msg = f"{where}: duplicate label"
            raise FleetConfigError(msg)
        seen.add(label)
        secrets = sorted(SECRET_KEYS & {str(key).lower() for key in entry})
        secrets += sorted(SECRET_KEYS & {str(k).lower() for k in entry.get("config") or {}})
        if secrets:
            msg = (
                f"{where}: {', '.join(secrets)} in the portal list; name an Airflow "
                "Connection (access_token_conn_id, oauth_conn_id) or environment "
                "variables (access_token_env, client_id_env + ...) instead"
            )
            raise FleetConfigError(msg)
        sources = [key for key in CREDENTIAL_SOURCES if entry.get(key)]
        if len(sources) != 1:
            msg = f"{where}: exactly one of {', '.join(CREDENTIAL_SOURCES)} is needed"
            raise FleetConfigError(msg)
        if sources == ["client_id_env"] and not (
            entry.get("client_secret_env") and entry.get("refresh_token_env")
        ):
            msg = f"{where}: client_id_env needs client_secret_env and refresh_token_env"
            raise FleetConfigError(msg)
        config = entry.get("config") or {}
        if not isinstance(config, dict):
            msg = f"{where}: config must be a mapping of tap settings"
            raise FleetConfigError(msg)
        portal = {
            "label": label,
            "api_url": str(entry.get("api_url") or DEFAULT_API_URL),
            **{key: str(entry[key]) for key in entry if key.endswith(("_conn_id", "_env"))},
        }
        if config:
            portal["config"] = {str(key): value for key, value in config.items()}
        portals.append(portal)
    return portals


def read_portals() -> list[dict[str, t.Any]]:
    """The Airflow Variable when set, else the portal list file."""
    value = Variable.get(PORTALS_VARIABLE, default=None)
    if value:
        source = f"Airflow Variable {PORTALS_VARIABLE}"
        raw = json.loads(value) if isinstance(value, str) else value
    else:
        import yaml  # noqa: PLC0415 - an Airflow dependency

        source = str(PORTALS_FILE)
        try:
            raw = yaml.safe_load(PORTALS_FILE.read_text())
        except OSError as exc:
            msg = f"cannot read the portal list {PORTALS_FILE}: {exc}"
            raise FleetConfigError(msg) from exc
    try:
        portals = validate_portals(raw)
    except FleetConfigError as exc:
        msg = f"{source}: {exc}"
        raise FleetConfigError(msg) from exc
    log.info("%d portals from %s: %s", len(portals), source, [p["label"] for p in portals])
    return portals


def _secret(value: str | None, what: str) -> str:
    if not value:
        msg = f"{what} is empty"
        raise FleetConfigError(msg)
    mask_secret(value)
    return value


def credentials(portal: dict[str, t.Any]) -> dict[str, str]:
    """The portal's credential as TAP_HUBSPOT_ACTIVITY_* variables, masked in every log."""
    label = portal["label"]
    if portal.get("access_token_conn_id"):
        conn_id = portal["access_token_conn_id"]
        conn = Connection.get(conn_id)
        token = _secret(conn.password, f"portal {label}: the password of connection {conn_id}")
        return {f"{TAP_PREFIX}ACCESS_TOKEN": token}
    if portal.get("oauth_conn_id"):
        conn_id = portal["oauth_conn_id"]
        conn = Connection.get(conn_id)
        where = f"portal {label}: connection {conn_id}"
        return {
            f"{TAP_PREFIX}CLIENT_ID": _secret(conn.login, f"{where}: login (client id)"),
            f"{TAP_PREFIX}CLIENT_SECRET": _secret(conn.password, f"{where}: password"),
            f"{TAP_PREFIX}REFRESH_TOKEN": _secret(
                (conn.extra_dejson or {}).get("refresh_token"), f"{where}: extra refresh_token"
            ),
        }
    if portal.get("access_token_env"):
        name = portal["access_token_env"]
        token = _secret(os.environ.get(name), f"portal {label}: environment variable {name}")
        return {f"{TAP_PREFIX}ACCESS_TOKEN": token}
    return {
        f"{TAP_PREFIX}{setting}": _secret(
            os.environ.get(portal[key]), f"portal {label}: environment variable {portal[key]}"
        )
        for setting, key in (
            ("CLIENT_ID", "client_id_env"),
            ("CLIENT_SECRET", "client_secret_env"),
            ("REFRESH_TOKEN", "refresh_token_env"),
        )
    }


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


def scrub(line: str, secrets: t.Iterable[str]) -> str:
    """The line with every secret replaced, whatever Airflow's masker does."""
    for secret in secrets:
        if secret:
            line = line.replace(secret, "***")
    return line


def run_meltano(args: list[str], env: dict[str, str], secrets: list[str], what: str) -> None:
    """Run meltano, its output into the task log (secrets scrubbed); raise on failure."""
    command = [meltano_bin(), *(["--env-file", ENV_FILE] if ENV_FILE else []), *args]
    log.info("%s: %s (system directory %s)", what, shlex.join(command), env["MELTANO_SYS_DIR_ROOT"])
    tail: collections.deque[str] = collections.deque(maxlen=40)
    errors: list[str] = []
    process = subprocess.Popen(  # noqa: S603
        command,
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        start_new_session=True,  # its own process group: the tap and target end with it
    )
    try:
        assert process.stdout is not None  # noqa: S101 - for mypy
        for raw in process.stdout:
            line = scrub(raw.rstrip("\n"), secrets)
            if "METRIC" in line:
                continue  # the tap's per-request metrics: too many lines for a task log
            log.info("%s", line)
            tail.append(line)
            if re.search(r"\[(error|critical)\b|Error:|FATAL", line) and len(errors) < 20:
                errors.append(line.strip())
        returncode = process.wait()
    except BaseException:  # a timeout or a kill of the task: the run goes with it
        _stop(process)
        raise
    if returncode != 0:
        detail = "\n".join(errors or list(tail)[-15:])
        msg = f"{what}: `meltano {' '.join(args)}` exited {returncode}:\n{detail}"
        raise RuntimeError(msg)


def _stop(process: subprocess.Popen[str]) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            continue
        return


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
        with private_sys_dir("migrate") as sys_dir:
            env["MELTANO_SYS_DIR_ROOT"] = str(sys_dir)
            run_meltano(["upgrade", "database"], env, [], "state backend")

    @task(pool=POOL, map_index_template="{{ portal_label }}")
    def extract_load(portal: dict[str, t.Any]) -> dict[str, str]:
        label = portal["label"]
        get_current_context()["portal_label"] = label  # type: ignore[typeddict-unknown-key]
        secret_env = credentials(portal)
        env = base_env()
        env[f"{TAP_PREFIX}API_URL"] = portal["api_url"]
        for key, value in (portal.get("config") or {}).items():
            env[f"{TAP_PREFIX}{key.upper()}"] = (
                value if isinstance(value, str) else json.dumps(value)
            )
        env.update(secret_env)
        with private_sys_dir(label) as sys_dir:
            env["MELTANO_SYS_DIR_ROOT"] = str(sys_dir)
            run_meltano(
                ["run", "--state-id-suffix", label, EXTRACTOR, LOADER],
                env,
                list(secret_env.values()),
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
        with private_sys_dir("dbt") as sys_dir:
            env["MELTANO_SYS_DIR_ROOT"] = str(sys_dir)
            # dbt's artifacts and logs in the task's directory, not transform/target.
            env.setdefault("DBT_TARGET_PATH", str(sys_dir / "dbt-target"))
            env.setdefault("DBT_LOG_PATH", str(sys_dir / "dbt-logs"))
            run_meltano(["run", DBT_STEP], env, [], "dbt build")

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
