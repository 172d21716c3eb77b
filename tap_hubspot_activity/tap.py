"""TapHubspotActivity: settings and the three account-activity streams."""

from __future__ import annotations

import ipaddress
import re
import sys
import typing as t
from functools import cached_property
from urllib.parse import urlsplit

from singer_sdk import Tap
from singer_sdk import typing as th
from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.exceptions import ConfigValidationError, FatalAPIError, RetriableAPIError
from singer_sdk.singerlib.encoding import SingerMessageType

from tap_hubspot_activity.client import (
    MAX_PAGE_SIZE,
    HubspotActivityStream,
    HubspotAPIError,
    parse_datetime_setting,
)
from tap_hubspot_activity.portals import CREDENTIAL_KEYS, Portal, build_portals, portal_entries
from tap_hubspot_activity.streams import (
    AuditLogsStream,
    CmsContentAuditStream,
    LoginActivityStream,
    SecurityActivityStream,
)

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    from singer_sdk.singerlib import Message
    from singer_sdk.streams import Stream

# "v3" or a HubSpot date version: they ship in March and September.
API_VERSION_PATTERN = re.compile(r"^(v3|20\d\d-(03|09))$")
DEFAULT_LOOKBACK_MINUTES = 15
DEFAULT_DAILY_QUOTA_RESERVE = 10_000
DEFAULT_CONCURRENCY = 8
DEFAULT_PARALLEL_PORTALS = 4
CMS_STREAM = CmsContentAuditStream.name
MAX_CONCURRENCY = 32


class RecordBatchingWriter(MsgSpecWriter):
    """msgspec output flushed at every message but RECORD: the pipe wakes per batch.

    A STATE line is flushed together with every record written before it, so what a
    target has received is always complete up to its last STATE.
    """

    @override
    def write_message(self, message: Message) -> None:
        sys.stdout.buffer.write(self.format_message(message))
        if message.type != SingerMessageType.RECORD:
            sys.stdout.flush()


class PortalsFailedError(HubspotAPIError):
    """Some portals of a multi-portal run failed; the message names them and why."""


class TapHubspotActivity(Tap):
    """Singer tap for HubSpot login history, centralized audit log and security history."""

    name = "tap-hubspot-activity"
    message_writer_class = RecordBatchingWriter

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
            "portals",
            th.ArrayType(
                th.ObjectType(
                    th.Property("label", th.StringType, required=True),
                    th.Property("access_token", th.StringType, secret=True),
                    th.Property("access_token_env", th.StringType),
                    th.Property("client_id", th.StringType),
                    th.Property("client_id_env", th.StringType),
                    th.Property("client_secret", th.StringType, secret=True),
                    th.Property("client_secret_env", th.StringType),
                    th.Property("refresh_token", th.StringType, secret=True),
                    th.Property("refresh_token_env", th.StringType),
                    th.Property("api_url", th.StringType),
                )
            ),
            title="Portals",
            description="Several HubSpot portals in one run, each a partition of every "
            "stream with its own bookmarks and rate limit: a list of {label, access_token "
            "or client_id/client_secret/refresh_token, optional api_url}. Any credential "
            "can instead name an environment variable: access_token_env, client_id_env, "
            "client_secret_env, "
            "refresh_token_env. Replaces the top-level credentials.",
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
            "cms_content_audit",
            th.BooleanType,
            title="CMS content audit",
            description="Extract the CMS content audit log too (stream cms_content_audit: "
            "CMS Hub Enterprise, scope `content`). When unset, the catalog decides and the "
            "stream is not selected by default; when set, the setting decides.",
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
            description="Requests in flight per portal: time windows of the audit log and "
            "security history, and the streams after the first (read ahead while it is "
            "emitted), all within the portal's rate limit; records are still emitted in "
            "order. 1 reads sequentially.",
        ),
        th.Property(
            "max_parallel_portals",
            th.IntegerType(minimum=1, maximum=MAX_CONCURRENCY),
            default=DEFAULT_PARALLEL_PORTALS,
            title="Maximum parallel portals",
            description="With several portals, how many are read at the same time (each "
            "within its own rate limit); the others wait their turn.",
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
        if kwargs.get("validate_config", True):
            errors = settings_errors(self.config)
            if errors:
                msg = "Config validation failed"
                raise ConfigValidationError(msg, errors=errors)

    @override
    def setup_mapper(self) -> None:
        enabled = self.config.get("cms_content_audit")
        if enabled is not None:
            # Set, the setting wins over the catalog: Meltano selects every stream unless
            # told otherwise, and meltano.yml passes false for this optional one. Both the
            # stream and the catalog the mapper reads must agree.
            self.streams[CMS_STREAM].selected = bool(enabled)
            entry = self.input_catalog.get_stream(CMS_STREAM) if self.input_catalog else None
            if entry is not None:
                entry.metadata.root.selected = bool(enabled)
        super().setup_mapper()

    @override
    def discover_streams(self) -> list[Stream]:
        return [
            LoginActivityStream(self),
            AuditLogsStream(self),
            SecurityActivityStream(self),
            CmsContentAuditStream(self),
        ]

    @cached_property
    def portals(self) -> dict[str | None, Portal]:
        """The portals of this run by label (None: the single portal of the top settings)."""
        return {portal.label: portal for portal in build_portals(self.config)}

    @property
    def multi_portal(self) -> bool:
        """Whether the `portals` setting is in use: each portal is then a partition."""
        return bool(self.config.get("portals"))

    def secrets(self) -> list[str]:
        """Every secret value of the run, for redaction."""
        return [secret for portal in self.portals.values() for secret in portal.secrets()]

    def read_ahead_from(self, current: HubspotActivityStream) -> None:
        """As the first stream starts, start reading the streams after it (once a run).

        The SDK syncs streams one after another; the later ones are read meanwhile into
        spool files, all within each portal's rate limit and max_concurrency.
        """
        if self._reading_ahead is not None:
            return
        selected = [stream for stream in self.streams.values() if stream.selected]
        later = selected[selected.index(current) + 1 :] if current in selected else []
        self._reading_ahead = t.cast("list[HubspotActivityStream]", later)
        if int(self.config["max_concurrency"]) > 1:
            for stream in self._reading_ahead:
                stream.read_ahead()

    def stop_reading_ahead(self) -> None:
        """The run failed: stop the streams read ahead and drop what they read."""
        for stream in self._reading_ahead or []:
            stream.stop_reading_ahead()

    _reading_ahead: list[HubspotActivityStream] | None = None

    def finish_run(self) -> None:
        """Report what rate limiting cost, then fail the run if any portal failed."""
        for portal in self.portals.values():
            governor = portal.governor
            self.logger.info(
                "Rate-limit governor of %s: %d requests sent, %.1f s spent waiting for the "
                "rolling limit%s",
                portal.name,
                governor.requests_sent,
                governor.seconds_waited,
                ""
                if governor.daily_remaining is None
                else f", {governor.daily_remaining} calls left today",
            )
        failed = [portal for portal in self.portals.values() if portal.failure]
        if failed:
            details = "; ".join(f"{portal.name}: {portal.failure}" for portal in failed)
            msg = (
                f"{len(failed)} of {len(self.portals)} portals failed, the others completed "
                f"and kept their state. {details}"
            )
            raise PortalsFailedError(msg)

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
    if config.get("portals"):
        if any(config.get(key) for key in CREDENTIAL_KEYS):
            return ["Set credentials inside each of portals, not at the top level as well."]
        errors = []
        labels = [entry.get("label") for entry in config["portals"]]
        if len(set(labels)) != len(labels):
            errors.append("portals: every label must be unique.")
        for entry in portal_entries(config):
            where = f"portals[{entry['label']}]"
            errors.extend(_one_portal_errors(entry["credentials"], where))
            errors.extend(_url_errors(entry["api_url"], f"{where}.api_url"))
        return errors
    return _one_portal_errors(
        {key: config[key] for key in CREDENTIAL_KEYS if config.get(key)}, "settings"
    )


def _one_portal_errors(credentials: t.Mapping[str, str], where: str) -> list[str]:
    oauth_keys = ("client_id", "client_secret", "refresh_token")
    given_oauth = [key for key in oauth_keys if credentials.get(key)]
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
        return [
            (
                f"{where}: no credentials: set access_token (a private app token), or "
                "client_id, client_secret and refresh_token (or their _env variables)."
            )
        ]
    missing = [key for key in oauth_keys if key not in given_oauth]
    return (
        [
            (
                f"{where}: OAuth needs all three of client_id, client_secret, refresh_token; "
                f"missing {', '.join(missing)}."
            )
        ]
        if missing
        else []
    )


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
    errors.extend(_url_errors(str(config.get("api_url", "")), "api_url"))
    return errors


def _url_errors(api_url: str, setting: str) -> list[str]:
    parts = urlsplit(api_url)
    if parts.scheme not in {"https", "http"} or not parts.hostname:
        return [f"{setting} {api_url!r} is not an http(s) URL."]
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        return [
            f"{setting} {api_url!r} must use https: plain http is allowed for loopback hosts only."
        ]
    return []


def _is_loopback(hostname: str) -> bool:
    if hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False
