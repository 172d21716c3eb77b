"""TapHubspotActivity: settings and the three account-activity streams."""

from __future__ import annotations

import ipaddress
import re
import sys
import threading
import typing as t
from functools import cached_property
from urllib.parse import urlsplit

from singer_sdk import Tap
from singer_sdk import typing as th
from singer_sdk.authenticators import BearerTokenAuthenticator
from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.exceptions import ConfigValidationError, FatalAPIError, RetriableAPIError

from tap_hubspot_activity.auth import HubspotOAuthAuthenticator
from tap_hubspot_activity.client import MAX_PAGE_SIZE, parse_datetime_setting
from tap_hubspot_activity.governor import GovernedSession, RateLimitGovernor
from tap_hubspot_activity.streams import (
    AuditLogsStream,
    LoginActivityStream,
    SecurityActivityStream,
)

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    from singer_sdk.streams import Stream

# "v3" or a HubSpot date version: they ship in March and September.
API_VERSION_PATTERN = re.compile(r"^(v3|20\d\d-(03|09))$")
DEFAULT_LOOKBACK_MINUTES = 15
DEFAULT_DAILY_QUOTA_RESERVE = 10_000
DEFAULT_CONCURRENCY = 8
MAX_CONCURRENCY = 32


class TapHubspotActivity(Tap):
    """Singer tap for HubSpot login history, centralized audit log and security history."""

    name = "tap-hubspot-activity"
    message_writer_class = MsgSpecWriter

    config_jsonschema = th.PropertiesList(
        th.Property(
            "access_token",
            th.StringType,
            secret=True,
            title="Access token",
            description=(
                "Private app (or static) access token with the account-info.security.read "
                "scope. Use this or the three OAuth settings, not both."
            ),
        ),
        th.Property(
            "client_id",
            th.StringType,
            title="OAuth client ID",
            description="Client ID of the public HubSpot app (OAuth), with client_secret and "
            "refresh_token.",
        ),
        th.Property(
            "client_secret",
            th.StringType,
            secret=True,
            title="OAuth client secret",
            description="Client secret of the HubSpot app (OAuth).",
        ),
        th.Property(
            "refresh_token",
            th.StringType,
            secret=True,
            title="OAuth refresh token",
            description="Refresh token of the portal's app installation; access tokens are "
            "refreshed through {api_url}/oauth/v1/token before they expire and once on a 401.",
        ),
        th.Property(
            "start_date",
            th.DateTimeType,
            title="Start date",
            description="Earliest event time to extract (ISO 8601). Without it the tap reads "
            "everything HubSpot keeps (login history: 90 days).",
        ),
        th.Property(
            "end_date",
            th.DateTimeType,
            title="End date",
            description="Extract events before this time only (ISO 8601, exclusive), e.g. "
            "for a monthly evidence pack. Default: the moment the sync starts.",
        ),
        th.Property(
            "api_url",
            th.StringType,
            default="https://api.hubapi.com",
            title="API URL",
            description="HubSpot API base URL, e.g. https://api-eu1.hubapi.com. Must be "
            "https unless the host is loopback (tests, the emulator).",
        ),
        th.Property(
            "api_version",
            th.StringType,
            default="v3",
            title="API version",
            description="Path version of the activity endpoints: v3, or a date version "
            "such as 2026-03 (same paths, same fields).",
        ),
        th.Property(
            "page_size",
            th.IntegerType(minimum=1, maximum=MAX_PAGE_SIZE),
            default=MAX_PAGE_SIZE,
            title="Page size",
            description="Records per request, 1 to 200 (HubSpot's maximum).",
        ),
        th.Property(
            "lookback_minutes",
            th.IntegerType(minimum=0),
            default=DEFAULT_LOOKBACK_MINUTES,
            title="Lookback minutes",
            description="Each incremental run re-reads this many minutes before the "
            "bookmark, to catch events HubSpot records late. Re-read events are emitted "
            "again; targets upsert them on (portalId, id).",
        ),
        th.Property(
            "user_ids",
            th.ArrayType(th.IntegerType),
            title="User IDs",
            description="Only these HubSpot user ids (an investigation): userId for login "
            "and security history, actingUserId for the audit log.",
        ),
        th.Property(
            "request_timeout",
            th.IntegerType(minimum=1),
            default=60,
            title="Request timeout",
            description="Seconds to wait for one HubSpot response before retrying it.",
        ),
        th.Property(
            "max_concurrency",
            th.IntegerType(minimum=1, maximum=MAX_CONCURRENCY),
            default=DEFAULT_CONCURRENCY,
            title="Maximum concurrency",
            description="Time windows of the audit log and security history fetched in "
            "parallel, all within the portal's rate limit; records are still emitted in "
            "order. 1 reads sequentially.",
        ),
        th.Property(
            "daily_quota_reserve",
            th.IntegerType(minimum=0),
            default=DEFAULT_DAILY_QUOTA_RESERVE,
            title="Daily quota reserve",
            description="API calls of the portal's daily quota left for other "
            "integrations: the run stops cleanly, state saved, when HubSpot reports this "
            "few calls remaining today (private app tokens only; OAuth apps have no "
            "daily limit).",
        ),
        th.Property(
            "max_retry_seconds",
            th.IntegerType(minimum=1),
            default=300,
            title="Maximum retry time",
            description="Give up on a request that keeps failing (5xx, 429, timeouts, "
            "resets) after this many seconds of retries; the run then fails with the "
            "bookmark at the last emitted event.",
        ),
    ).to_dict()

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        """Create the tap and check the settings that JSON Schema cannot."""
        super().__init__(*args, **kwargs)
        self._portal_lock = threading.Lock()
        if kwargs.get("validate_config", True):
            errors = settings_errors(self.config)
            if errors:
                msg = "Config validation failed"
                raise ConfigValidationError(msg, errors=errors)

    @override
    def discover_streams(self) -> list[Stream]:
        return [
            LoginActivityStream(self),
            AuditLogsStream(self),
            SecurityActivityStream(self),
        ]

    @cached_property
    def authenticator(self) -> BearerTokenAuthenticator | HubspotOAuthAuthenticator:
        """One authenticator for every stream, so OAuth tokens are refreshed once."""
        if self.config.get("access_token"):
            return BearerTokenAuthenticator(token=self.config["access_token"])
        return HubspotOAuthAuthenticator(
            auth_endpoint=f"{str(self.config['api_url']).rstrip('/')}/oauth/v1/token",
            client_id=self.config["client_id"],
            client_secret=self.config["client_secret"],
            refresh_token=self.config["refresh_token"],
        )

    @cached_property
    def governor(self) -> RateLimitGovernor:
        """The portal's rate-limit governor, shared by every stream and thread."""
        return RateLimitGovernor(daily_quota_reserve=int(self.config["daily_quota_reserve"]))

    @cached_property
    def session(self) -> GovernedSession:
        """The portal's HTTP session: one connection pool behind the governor."""
        return GovernedSession(self.governor, pool_size=int(self.config["max_concurrency"]) + 2)

    @cached_property
    def portal_id(self) -> int:
        """The portal's id, read once per run from /account-info/v3/details."""
        with self._portal_lock:
            stream = t.cast("LoginActivityStream", self.streams["login_activity"])
            portal_id = stream.fetch_portal_id()
        self.logger.info("Extracting HubSpot portal %s", portal_id)
        return portal_id

    def log_governor_summary(self) -> None:
        """One line on what rate limiting cost this run."""
        governor = self.governor
        self.logger.info(
            "Rate-limit governor: %d requests sent, %.1f s spent waiting for the rolling limit%s",
            governor.requests_sent,
            governor.seconds_waited,
            ""
            if governor.daily_remaining is None
            else f", {governor.daily_remaining} calls left today",
        )

    @classmethod
    @override
    def invoke(cls, *args: t.Any, **kwargs: t.Any) -> None:
        try:
            super().invoke(*args, **kwargs)
        except (FatalAPIError, RetriableAPIError) as exc:
            # A foreseeable HubSpot failure: the message says what to do; no traceback.
            cls.logger.error("%s", exc)  # noqa: TRY400
            sys.exit(1)


def settings_errors(config: t.Mapping[str, t.Any]) -> list[str]:
    """The setting mistakes JSON Schema cannot express, each naming its setting."""
    return [*_credential_errors(config), *_date_errors(config), *_endpoint_errors(config)]


def _credential_errors(config: t.Mapping[str, t.Any]) -> list[str]:
    oauth_keys = ("client_id", "client_secret", "refresh_token")
    given_oauth = [key for key in oauth_keys if config.get(key)]
    if config.get("access_token") and given_oauth:
        return [
            (
                "Set either access_token or the OAuth settings (client_id, client_secret, "
                f"refresh_token), not both; found access_token and {', '.join(given_oauth)}."
            )
        ]
    if config.get("access_token"):
        return []
    if not given_oauth:
        return [
            (
                "No credentials: set access_token (a private app token), or client_id, "
                "client_secret and refresh_token."
            )
        ]
    missing = [key for key in oauth_keys if key not in given_oauth]
    return [f"OAuth needs all three settings; missing {', '.join(missing)}."] if missing else []


def _date_errors(config: t.Mapping[str, t.Any]) -> list[str]:
    errors: list[str] = []
    dates = {}
    for key in ("start_date", "end_date"):
        if config.get(key):
            try:
                dates[key] = parse_datetime_setting(str(config[key]))
            except (ValueError, TypeError):
                errors.append(f"{key} is not an ISO 8601 date or date-time: {config[key]!r}.")
    if len(dates) == 2 and dates["end_date"] <= dates["start_date"]:  # noqa: PLR2004
        errors.append(
            f"end_date ({config['end_date']}) must be after start_date ({config['start_date']})."
        )
    return errors


def _endpoint_errors(config: t.Mapping[str, t.Any]) -> list[str]:
    errors: list[str] = []
    api_version = str(config.get("api_version", "v3"))
    if not API_VERSION_PATTERN.match(api_version):
        errors.append(
            f"api_version {api_version!r} is unknown: use v3 or a date version such as 2026-03."
        )
    api_url = str(config.get("api_url", ""))
    parts = urlsplit(api_url)
    if parts.scheme not in {"https", "http"} or not parts.hostname:
        errors.append(f"api_url {api_url!r} is not an http(s) URL.")
    elif parts.scheme == "http" and not _is_loopback(parts.hostname):
        errors.append(
            f"api_url {api_url!r} must use https: plain http is allowed for loopback hosts only."
        )
    return errors


def _is_loopback(hostname: str) -> bool:
    if hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False
