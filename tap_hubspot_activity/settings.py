"""The run's settings, checked, parsed and defaulted once into one frozen Settings."""

from __future__ import annotations

import collections
import datetime as dt
import re
import typing as t
from dataclasses import dataclass

from tap_hubspot_activity.config_schema import (
    DEFAULT_API_URL,
    DEFAULT_API_VERSION,
    DEFAULT_CONCURRENCY,
    DEFAULT_DAILY_QUOTA_RESERVE,
    DEFAULT_LOOKBACK_MINUTES,
    DEFAULT_MAX_RESPONSE_MB,
    DEFAULT_MAX_RETRY_SECONDS,
    DEFAULT_OAUTH_TOKEN_ENDPOINT,
    DEFAULT_PARALLEL_PORTALS,
    DEFAULT_READ_AHEAD,
    DEFAULT_REQUEST_TIMEOUT,
    DEFAULT_START,
    MAX_PAGE_SIZE,
    OAUTH_TOKEN_PATHS,
)
from tap_hubspot_activity.engine.http.urls import url_error
from tap_hubspot_activity.engine.portal import Limits, PortalSettings
from tap_hubspot_activity.engine.timestamps import parse_datetime_setting
from tap_hubspot_activity.portal_list import (
    CREDENTIAL_KEYS,
    credential_errors,
    portal_list_errors,
    resolve_portal,
)

if t.TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "Settings",
    "SettingsError",
    "checked_settings",
    "portal_list_errors",
    "settings_errors",
]

# "v3" or a HubSpot date version: they ship in March and September.
API_VERSION_PATTERN = re.compile(r"^(v3|20\d\d-(03|09))$")
MEGABYTE = 1024 * 1024
# The schema's defaults, for a config the SDK did not fill in (tests, the fleet DAG).
DEFAULTS: dict[str, t.Any] = {
    "request_timeout": DEFAULT_REQUEST_TIMEOUT,
    "max_retry_seconds": DEFAULT_MAX_RETRY_SECONDS,
    "max_response_mb": DEFAULT_MAX_RESPONSE_MB,
    "max_concurrency": DEFAULT_CONCURRENCY,
    "daily_quota_reserve": DEFAULT_DAILY_QUOTA_RESERVE,
    "page_size": MAX_PAGE_SIZE,
    "read_ahead": DEFAULT_READ_AHEAD,
    "max_parallel_portals": DEFAULT_PARALLEL_PORTALS,
    "lookback_minutes": DEFAULT_LOOKBACK_MINUTES,
}
DATE_SETTINGS = ("start_date", "end_date")


class SettingsError(ValueError):
    """Settings that cannot run: every mistake, one plain line each."""

    def __init__(self, errors: list[str]) -> None:
        """Keep the lines."""
        super().__init__("; ".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class Settings:
    """Every setting of a run as its consumers read it: made once, from the config, frozen."""

    portals: tuple[PortalSettings, ...]
    limits: Limits
    page_size: int
    # Streams read side by side: read_ahead, and more than one request in flight.
    read_ahead: bool
    # Jobs of one stream read at once: max_parallel_portals with several portals, else 1.
    parallel_portals: int
    # Windows of one windowed read fetched at once: one request each, so max_concurrency.
    windows_in_flight: int
    start: dt.datetime
    end: dt.datetime | None
    lookback: dt.timedelta
    verify: dt.timedelta | None
    user_ids: tuple[int, ...]
    cms_content_audit: bool | None

    @classmethod
    def from_config(
        cls, config: Mapping[str, t.Any], *, user_agent: str, credentials_required: bool = True
    ) -> Settings:
        """The settings of `config` (valid JSON Schema); SettingsError naming every mistake."""
        dates, date_errors = _parse_dates(config)
        errors = [
            *_credential_errors(config, credentials_required=credentials_required),
            *date_errors,
            *_endpoint_errors(config),
        ]
        if errors:
            raise SettingsError(errors)
        portals = _portals(config)
        setting = collections.ChainMap(dict(config), DEFAULTS)
        requests_in_flight = int(setting["max_concurrency"])
        verify_days = setting.get("verify_days")
        enabled = setting.get("cms_content_audit")
        return cls(
            portals=tuple(portals),
            limits=Limits(
                request_timeout=float(setting["request_timeout"]),
                max_retry_seconds=float(setting["max_retry_seconds"]),
                max_response_bytes=int(setting["max_response_mb"]) * MEGABYTE,
                requests_in_flight=requests_in_flight,
                daily_quota_reserve=int(setting["daily_quota_reserve"]),
                user_agent=user_agent,
                oauth_token_path=OAUTH_TOKEN_PATHS[_token_endpoint(config)],
                api_version=_api_version(config),
            ),
            page_size=int(setting["page_size"]),
            read_ahead=bool(setting["read_ahead"]) and requests_in_flight > 1,
            parallel_portals=int(setting["max_parallel_portals"]) if len(portals) > 1 else 1,
            windows_in_flight=requests_in_flight,
            start=dates.get("start_date", DEFAULT_START),
            end=dates.get("end_date"),
            lookback=dt.timedelta(minutes=int(setting["lookback_minutes"])),
            verify=dt.timedelta(days=int(verify_days)) if verify_days else None,
            user_ids=tuple(int(user_id) for user_id in setting.get("user_ids") or ()),
            cms_content_audit=None if enabled is None else bool(enabled),
        )

    @property
    def portal_labels(self) -> list[str]:
        """The labels of the portal list, in its order; none with top-level credentials."""
        return [portal.label for portal in self.portals if portal.label is not None]

    def activity_path(self, endpoint: str) -> str:
        """An account-activity endpoint's path, in the configured API version."""
        return f"/account-info/{self.limits.api_version}/activity/{endpoint}"


def checked_settings(
    config: Mapping[str, t.Any], *, schema: dict[str, t.Any], validated: bool, user_agent: str
) -> Settings:
    """The run's settings, or SettingsError naming every mistake, each in one line.

    The SDK checked `config` against the JSON Schema when `validated` (credentials are
    then required too); otherwise the schema is checked here, first.
    """
    errors = [] if validated else schema_errors(config, schema)
    if errors:
        raise SettingsError([*errors, *settings_errors(config, credentials_required=validated)])
    return Settings.from_config(config, user_agent=user_agent, credentials_required=validated)


def schema_errors(config: Mapping[str, t.Any], schema: dict[str, t.Any]) -> list[str]:
    """JSON Schema violations of the settings (the SDK checks them only when syncing)."""
    # Imported here: the Airflow fleet DAG imports this module for portal_list_errors alone.
    import jsonschema  # noqa: PLC0415

    validator = jsonschema.Draft7Validator(schema)
    return [
        f"{'.'.join(str(part) for part in error.absolute_path) or 'settings'}: {error.message}"
        for error in validator.iter_errors(dict(config))
    ]


def settings_errors(config: Mapping[str, t.Any], *, credentials_required: bool) -> list[str]:
    """The setting mistakes JSON Schema cannot express, each naming its setting.

    Discovery needs no credentials, so their absence is an error only when
    `credentials_required`; a malformed value is an error in every mode.
    """
    return [
        *_credential_errors(config, credentials_required=credentials_required),
        *_parse_dates(config)[1],
        *_endpoint_errors(config),
    ]


def _api_url(config: Mapping[str, t.Any]) -> str:
    return str(config.get("api_url", DEFAULT_API_URL))


def _api_version(config: Mapping[str, t.Any]) -> str:
    return str(config.get("api_version", DEFAULT_API_VERSION))


def _token_endpoint(config: Mapping[str, t.Any]) -> str:
    return str(config.get("oauth_token_endpoint") or DEFAULT_OAUTH_TOKEN_ENDPOINT)


def _portals(config: Mapping[str, t.Any]) -> list[PortalSettings]:
    """The configured portals with credentials resolved; the top-level one if none."""
    entries = config.get("portals") or [{key: config.get(key) for key in CREDENTIAL_KEYS}]
    return [resolve_portal(entry, _api_url(config)) for entry in entries]


def _credential_errors(config: Mapping[str, t.Any], *, credentials_required: bool) -> list[str]:
    if config.get("portals"):
        if any(config.get(key) for key in CREDENTIAL_KEYS):
            return ["Set credentials inside each of portals, not at the top level as well."]
        return portal_list_errors(
            config["portals"], api_url=_api_url(config), credentials_required=credentials_required
        )
    (portal,) = _portals(config)
    return credential_errors(
        portal.credentials, "settings", credentials_required=credentials_required
    )


def _parse_dates(config: Mapping[str, t.Any]) -> tuple[dict[str, dt.datetime], list[str]]:
    """start_date and end_date as set, parsed; and what is wrong with them."""
    errors: list[str] = []
    dates = {}
    for key in DATE_SETTINGS:
        if config.get(key):
            try:
                dates[key] = parse_datetime_setting(str(config[key]))
            except ValueError:
                errors.append(f"{key} is not an ISO 8601 date or date-time: {config[key]!r}.")
    if len(dates) == len(DATE_SETTINGS) and dates["end_date"] <= dates["start_date"]:
        errors.append(
            f"end_date ({config['end_date']}) must be after start_date ({config['start_date']})."
        )
    return dates, errors


def _endpoint_errors(config: Mapping[str, t.Any]) -> list[str]:
    errors: list[str] = []
    api_version = _api_version(config)
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
    error = url_error(_api_url(config), "api_url")
    return [*errors, error] if error else errors
