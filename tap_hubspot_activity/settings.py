"""The tap's settings checked, and turned into the engine's portals and limits (no singer-sdk)."""

from __future__ import annotations

import os
import re
import typing as t

from urllib3.util import parse_url

from tap_hubspot_activity.engine.credentials import unsendable
from tap_hubspot_activity.engine.jobs import PortalSettings
from tap_hubspot_activity.engine.limits import Limits
from tap_hubspot_activity.engine.timestamps import parse_datetime_setting
from tap_hubspot_activity.engine.urls import origin, url_error

if t.TYPE_CHECKING:
    from collections.abc import Mapping

CREDENTIAL_KEYS = ("access_token", "client_id", "client_secret", "refresh_token")
OAUTH_KEYS = ("client_id", "client_secret", "refresh_token")
# "v3" or a HubSpot date version: they ship in March and September.
API_VERSION_PATTERN = re.compile(r"^(v3|20\d\d-(03|09))$")
DEFAULT_API_VERSION = "2026-09"
# The OAuth refresh grant's endpoint per setting value: v1 is deprecated on 2027-02-16.
OAUTH_TOKEN_PATHS = {"2026-03": "/oauth/2026-03/token", "v1": "/oauth/v1/token"}
DEFAULT_OAUTH_TOKEN_ENDPOINT = "2026-03"  # noqa: S105 - a version, not a secret
MEGABYTE = 1024 * 1024


def settings_errors(config: Mapping[str, t.Any], *, credentials_required: bool) -> list[str]:
    """The setting mistakes JSON Schema cannot express, each naming its setting.

    Discovery needs no credentials, so their absence is an error only when
    `credentials_required`; a malformed value is an error in every mode.
    """
    return [
        *_credential_errors(config, credentials_required=credentials_required),
        *_date_errors(config),
        *_endpoint_errors(config),
    ]


def portal_list_errors(
    portals: list[Mapping[str, t.Any]],
    *,
    api_url: str = "https://api.hubapi.com",
    credentials_required: bool = False,
) -> list[str]:
    """TEMPORARY stand-in for the seams-engine branch's function: a `portals` list's errors."""
    config = {"portals": portals, "api_url": api_url}
    return _credential_errors(config, credentials_required=credentials_required)


def portal_settings(config: Mapping[str, t.Any]) -> list[PortalSettings]:
    """The configured portals with credentials resolved; the top-level one if none."""
    entries = config.get("portals") or [{key: config.get(key) for key in CREDENTIAL_KEYS}]
    portals = []
    for entry in entries:
        credentials = {}
        for key in CREDENTIAL_KEYS:
            value = entry.get(key)
            # `<key>_env` names an environment variable, so no secret sits in a config file.
            if not value and entry.get(f"{key}_env"):
                value = os.environ.get(str(entry[f"{key}_env"]))
            # A token pasted with its line break still works; one broken inside does not.
            if value and str(value).strip():
                credentials[key] = str(value).strip()
        portals.append(
            PortalSettings(
                label=entry.get("label"),
                api_url=str(entry.get("api_url") or config["api_url"]).rstrip("/"),
                credentials=credentials,
            )
        )
    return portals


def engine_limits(config: Mapping[str, t.Any], user_agent: str) -> Limits:
    """The bounds of every request, from the settings."""
    return Limits(
        request_timeout=float(config["request_timeout"]),
        max_retry_seconds=float(config["max_retry_seconds"]),
        max_response_bytes=int(config["max_response_mb"]) * MEGABYTE,
        max_concurrency=int(config["max_concurrency"]),
        daily_quota_reserve=int(config["daily_quota_reserve"]),
        user_agent=user_agent,
        details_path=f"/account-info/{config.get('api_version', DEFAULT_API_VERSION)}/details",
        oauth_token_path=OAUTH_TOKEN_PATHS[
            str(config.get("oauth_token_endpoint") or DEFAULT_OAUTH_TOKEN_ENDPOINT)
        ],
    )


def _credential_errors(config: Mapping[str, t.Any], *, credentials_required: bool) -> list[str]:
    if config.get("portals"):
        if any(config.get(key) for key in CREDENTIAL_KEYS):
            return ["Set credentials inside each of portals, not at the top level as well."]
        errors = []
        labels = [entry.get("label") for entry in config["portals"]]
        if len(set(labels)) != len(labels):
            errors.append("portals: every label must be unique.")
        errors.extend(_listed_twice_errors(portal_settings(config)))
        for portal in portal_settings(config):
            where = f"portals[{portal.label}]"
            errors.extend(
                _one_portal_errors(
                    portal.credentials, where, credentials_required=credentials_required
                )
            )
            error = url_error(portal.api_url, f"{where}.api_url")
            errors.extend([error] if error else [])
        return errors
    (portal,) = portal_settings(config)
    return _one_portal_errors(
        portal.credentials, "settings", credentials_required=credentials_required
    )


def _listed_twice_errors(portals: list[PortalSettings]) -> list[str]:
    """One error per entry that repeats an earlier one's api_url and credential.

    Both would read one account, emitting each event twice under one (portalId, id).
    Entries without a credential or with a bad api_url are left to the other checks.
    """
    errors = []
    first: dict[tuple[object, ...], str | None] = {}
    for portal in portals:
        identity = _listing(portal)
        if identity is None:
            continue
        if identity in first:
            errors.append(
                f"portals[{first[identity]}] and portals[{portal.label}] are one portal listed "
                "twice (same api_url and credential): list it once."
            )
        else:
            first[identity] = portal.label
    return errors


def _listing(portal: PortalSettings) -> tuple[object, ...] | None:
    """Where and as whom a portal entry reads: the same pair is the same account."""
    # A refresh token belongs to one installation of an app, so to one portal.
    credential = portal.credentials.get("access_token") or portal.credentials.get("refresh_token")
    if not credential or url_error(portal.api_url, "api_url") is not None:
        return None
    return (*origin(portal.api_url), parse_url(portal.api_url).path or "", credential)


def _one_portal_errors(  # noqa: PLR0911 - one return per mistake
    credentials: Mapping[str, str], where: str, *, credentials_required: bool
) -> list[str]:
    # Each credential goes into a header or a form: visible ASCII only, whatever the mode.
    broken = [
        f"{key} has {problem}"
        for key, value in credentials.items()
        if (problem := unsendable(value)) is not None
    ]
    if broken:
        return [f"{where}: {'; '.join(broken)} (credentials are visible ASCII only)."]
    given_oauth = [key for key in OAUTH_KEYS if credentials.get(key)]
    if credentials.get("access_token") and given_oauth:
        return [
            (
                f"{where}: set either access_token or the OAuth settings (client_id, "
                f"client_secret, refresh_token), not both; found access_token and "
                f"{', '.join(given_oauth)}."
            )
        ]
    if credentials.get("access_token"):
        return []
    if not given_oauth:
        if not credentials_required:
            return []
        return [
            (
                f"{where}: no credentials: set access_token (a Service Key or private app "
                "token), or client_id, client_secret and refresh_token (or their _env variables)."
            )
        ]
    missing = [key for key in OAUTH_KEYS if key not in given_oauth]
    if missing:
        return [
            (
                f"{where}: OAuth needs all three of client_id, client_secret, refresh_token; "
                f"missing {', '.join(missing)}."
            )
        ]
    return []


def _date_errors(config: Mapping[str, t.Any]) -> list[str]:
    errors: list[str] = []
    dates = {}
    for key in ("start_date", "end_date"):
        if config.get(key):
            try:
                dates[key] = parse_datetime_setting(str(config[key]))
            except ValueError:
                errors.append(f"{key} is not an ISO 8601 date or date-time: {config[key]!r}.")
    if len(dates) == 2 and dates["end_date"] <= dates["start_date"]:  # noqa: PLR2004 - the pair
        errors.append(
            f"end_date ({config['end_date']}) must be after start_date ({config['start_date']})."
        )
    return errors


def _endpoint_errors(config: Mapping[str, t.Any]) -> list[str]:
    errors: list[str] = []
    api_version = str(config.get("api_version", DEFAULT_API_VERSION))
    if not API_VERSION_PATTERN.match(api_version):
        errors.append(
            f"api_version {api_version!r} is unknown: use a date version such as "
            f"{DEFAULT_API_VERSION}, or v3."
        )
    token_endpoint = config.get("oauth_token_endpoint", DEFAULT_OAUTH_TOKEN_ENDPOINT)
    if token_endpoint not in OAUTH_TOKEN_PATHS:
        errors.append(
            f"oauth_token_endpoint {token_endpoint!r} is unknown: use "
            f"{' or '.join(OAUTH_TOKEN_PATHS)}."
        )
    error = url_error(str(config.get("api_url", "")), "api_url")
    return [*errors, error] if error else errors
