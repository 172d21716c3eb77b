"""The portals of the settings: each entry's credentials resolved, and the list's rules checked.

Standard library, urllib3 and pendulum only (no singer-sdk, no msgspec): the Airflow
fleet DAG checks a portal list with `portal_list_errors` in its own virtualenv.
"""

from __future__ import annotations

import os
import typing as t

from urllib3.util import parse_url

from tap_hubspot_activity.config_schema import DEFAULT_API_URL
from tap_hubspot_activity.engine.http.credentials import unsendable
from tap_hubspot_activity.engine.http.urls import origin, url_error
from tap_hubspot_activity.engine.portal import PortalSettings

if t.TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

CREDENTIAL_KEYS = ("access_token", "client_id", "client_secret", "refresh_token")
OAUTH_KEYS = ("client_id", "client_secret", "refresh_token")


def resolve_portal(entry: Mapping[str, t.Any], api_url: str) -> PortalSettings:
    """One entry with its credentials resolved (`<key>_env` read) and its api_url settled."""
    credentials = {}
    for key in CREDENTIAL_KEYS:
        value = entry.get(key)
        # `<key>_env` names an environment variable, so no secret sits in a config file.
        if not value and entry.get(f"{key}_env"):
            value = os.environ.get(str(entry[f"{key}_env"]))
        # A token pasted with its line break still works; one broken inside does not.
        if value and str(value).strip():
            credentials[key] = str(value).strip()
    return PortalSettings(
        label=entry.get("label"),
        api_url=str(entry.get("api_url") or api_url).rstrip("/"),
        credentials=credentials,
    )


def portal_list_errors(
    portals: Sequence[Mapping[str, t.Any]],
    *,
    api_url: str = DEFAULT_API_URL,
    credentials_required: bool = False,
) -> list[str]:
    """The mistakes of a `portals` list, each naming its entry: the lines settings give.

    Labels must be unique, no account may be listed twice, credentials must be
    sendable (and, when `credentials_required`, present), and each api_url plain https.
    `api_url` is the top-level one, for entries without their own.
    """
    errors = []
    labels = [entry.get("label") for entry in portals]
    if len(set(labels)) != len(labels):
        errors.append("portals: every label must be unique.")
    resolved = [resolve_portal(entry, api_url) for entry in portals]
    errors.extend(_listed_twice_errors(resolved))
    for portal in resolved:
        where = f"portals[{portal.label}]"
        errors.extend(
            credential_errors(portal.credentials, where, credentials_required=credentials_required)
        )
        error = url_error(portal.api_url, f"{where}.api_url")
        errors.extend([error] if error else [])
    return errors


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


def credential_errors(  # noqa: PLR0911 - one return per mistake
    credentials: Mapping[str, str], where: str, *, credentials_required: bool
) -> list[str]:
    """The mistakes of one portal's credentials (`where` names it in each line)."""
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
