"""The fleet's portal list: read, checked with the tap's own rules, and each portal's credential.

Not a DAG file (.airflowignore lists it): fleet.py imports it. Each portal is a label,
an api_url and *where* its credential comes from (an Airflow Connection id or
environment variable names); a secret itself in the list is refused.
"""

from __future__ import annotations

import json
import logging
import os
import re
import typing as t
from pathlib import Path

from meltano_project import project_root

from tap_hubspot_activity.settings import portal_list_errors

PORTALS_VARIABLE = "hubspot_activity_portals"
TAP_PREFIX = "TAP_HUBSPOT_ACTIVITY_"
# Keys that would put a secret into the portal list itself.
SECRET_KEYS = {"access_token", "client_secret", "refresh_token", "password", "token"}
CREDENTIAL_SOURCES = (
    "access_token_conn_id",
    "oauth_conn_id",
    "access_token_env",
    "client_id_env",
)
# Stricter than the tap's labels: the label names the portal's Meltano state id.
LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
DEFAULT_API_URL = "https://api.hubapi.com"

log = logging.getLogger(__name__)


class FleetConfigError(ValueError):
    """The portal list is unusable; the message says which entry and why."""


def validate_portals(raw: t.Any) -> list[dict[str, t.Any]]:
    """The portal list, checked, as the tasks receive it.

    Each entry: a valid label, one credential source, no secret; then the tap's rules for
    its `portals` setting (unique labels, no portal listed twice, a valid api_url).
    """
    entries = raw.get("portals") if isinstance(raw, dict) else raw
    if not isinstance(entries, list) or not entries:
        msg = "the portal list must be a non-empty list (or {portals: [...]})"
        raise FleetConfigError(msg)
    portals = [_checked_entry(n, entry) for n, entry in enumerate(entries)]
    errors = portal_list_errors([_as_tap_entry(portal) for portal in portals])
    if errors:
        raise FleetConfigError("; ".join(errors))
    return portals


def _checked_entry(n: int, entry: t.Any) -> dict[str, t.Any]:
    """One entry of the list, as the tasks receive it (no secret in it)."""
    if not isinstance(entry, dict):
        msg = f"portal #{n + 1} is not a mapping"
        raise FleetConfigError(msg)
    label = str(entry.get("label") or "")
    where = f"portal #{n + 1} ({label or 'no label'})"
    if not LABEL.match(label):
        msg = f"{where}: label must match {LABEL.pattern} (it names the state id)"
        raise FleetConfigError(msg)
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
    return portal


def _as_tap_entry(portal: dict[str, t.Any]) -> dict[str, str]:
    """The entry as the tap's `portals` setting would hold it, for the tap's checks.

    Credentials are read in the task only, so each stands here for its source: two
    entries reading one Connection or variable at one api_url are one portal listed twice.
    """
    entry = {"label": portal["label"], "api_url": portal["api_url"]}
    if portal.get("access_token_conn_id"):
        entry["access_token"] = f"connection:{portal['access_token_conn_id']}"
    elif portal.get("oauth_conn_id"):
        for key in ("client_id", "client_secret", "refresh_token"):
            entry[key] = f"connection:{portal['oauth_conn_id']}"
    elif portal.get("access_token_env"):
        entry["access_token"] = f"variable:{portal['access_token_env']}"
    else:
        for key in ("client_id", "client_secret", "refresh_token"):
            entry[key] = f"variable:{portal[f'{key}_env']}"
    return entry


def portals_file() -> Path:
    """HUBSPOT_FLEET_PORTALS_FILE, else orchestrate/airflow/portals.yml in the project."""
    configured = os.environ.get("HUBSPOT_FLEET_PORTALS_FILE")
    return Path(configured or project_root() / "orchestrate" / "airflow" / "portals.yml")


def read_portals() -> list[dict[str, t.Any]]:
    """The Airflow Variable when set, else the portal list file."""
    from airflow.sdk import Variable  # noqa: PLC0415 - validate_portals needs no Airflow

    value = Variable.get(PORTALS_VARIABLE, default=None)
    if value:
        source = f"Airflow Variable {PORTALS_VARIABLE}"
        raw = json.loads(value) if isinstance(value, str) else value
    else:
        import yaml  # noqa: PLC0415 - an Airflow dependency

        path = portals_file()
        source = str(path)
        try:
            raw = yaml.safe_load(path.read_text())
        except OSError as exc:
            msg = f"cannot read the portal list {path}: {exc}"
            raise FleetConfigError(msg) from exc
    try:
        portals = validate_portals(raw)
    except FleetConfigError as exc:
        msg = f"{source}: {exc}"
        raise FleetConfigError(msg) from exc
    log.info("%d portals from %s: %s", len(portals), source, [p["label"] for p in portals])
    return portals


def credentials(portal: dict[str, t.Any]) -> dict[str, str]:
    """The portal's credential as TAP_HUBSPOT_ACTIVITY_* variables (each one non-empty)."""
    from airflow.sdk import Connection  # noqa: PLC0415 - validate_portals needs no Airflow

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


def _secret(value: str | None, what: str) -> str:
    if not value:
        msg = f"{what} is empty"
        raise FleetConfigError(msg)
    return value
