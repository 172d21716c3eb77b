"""The tap's settings as JSON Schema (the source of --about and the README), and their defaults.

The constants below are the one place each default is written: the schema declares
them, and tap_hubspot_activity.settings applies them.
"""

from __future__ import annotations

import datetime as dt
import typing as t

MAX_PAGE_SIZE = 200
DEFAULT_API_URL = "https://api.hubapi.com"
DEFAULT_API_VERSION = "2026-09"
# Where the OAuth refresh grant goes, per setting value: v1 is deprecated on 2027-02-16.
OAUTH_TOKEN_PATHS = {"2026-03": "/oauth/2026-03/token", "v1": "/oauth/v1/token"}
DEFAULT_OAUTH_TOKEN_ENDPOINT = "2026-03"  # noqa: S105 - a version, not a secret
# Without start_date the tap reads everything HubSpot keeps; nothing there predates this.
DEFAULT_START = dt.datetime(2015, 1, 1, tzinfo=dt.UTC)
MAX_VERIFY_DAYS = 90
DEFAULT_LOOKBACK_MINUTES = 15
DEFAULT_REQUEST_TIMEOUT = 60
DEFAULT_CONCURRENCY = 8
MAX_CONCURRENCY = 32
DEFAULT_PARALLEL_PORTALS = 4
DEFAULT_DAILY_QUOTA_RESERVE = 10_000
DEFAULT_MAX_RETRY_SECONDS = 300
DEFAULT_MAX_RESPONSE_MB = 16
MAX_RESPONSE_MB = 1024
DEFAULT_READ_AHEAD = True


def config_schema() -> dict[str, t.Any]:
    """The settings' JSON Schema (singer-sdk's typing helpers build it)."""
    # Imported here, not at the top: the settings (and the Airflow fleet DAG, which checks
    # a portal list without the tap's dependencies) read the defaults above without it.
    from singer_sdk import typing as th  # noqa: PLC0415

    return th.PropertiesList(
        th.Property(
            "access_token",
            th.StringType,
            secret=True,
            title="Access token",
            description=(
                "A Service Key (Settings > Integrations > Service keys), a legacy private app "
                "token (works until September 2027) or another static access token, with the "
                "account-info.security.read scope. Use this or the three OAuth settings, not both."
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
            "refreshed through the token endpoint (oauth_token_endpoint) before they expire, and "
            "when HubSpot refuses one (at most once per token).",
        ),
        th.Property(
            "oauth_token_endpoint",
            th.StringType,
            default=DEFAULT_OAUTH_TOKEN_ENDPOINT,
            allowed_values=list(OAUTH_TOKEN_PATHS),
            title="OAuth token endpoint",
            description="Where OAuth access tokens are refreshed: 2026-03 ({api_url}/oauth/"
            "2026-03/token, HubSpot's date-versioned endpoint) or v1 ({api_url}/oauth/v1/token, "
            "deprecated on 2027-02-16). Token answers in snake_case or camelCase are both read.",
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
            default=DEFAULT_API_URL,
            title="API URL",
            description="HubSpot API base URL, e.g. https://api-eu1.hubapi.com. Must be "
            "https unless the host is loopback (tests, the emulator).",
        ),
        th.Property(
            "api_version",
            th.StringType,
            default=DEFAULT_API_VERSION,
            title="API version",
            description="Path version of the activity endpoints: a date version such as "
            "2026-09 (the newest; 2026-03 and later ones work too) or v3 (unsupported by HubSpot "
            "from September 2027). Same paths, same fields.",
        ),
        th.Property(
            "page_size",
            th.IntegerType(minimum=1, maximum=MAX_PAGE_SIZE),
            default=MAX_PAGE_SIZE,
            title="Page size",
            description="Records per request, 1 to 200 (HubSpot's maximum).",
        ),
        th.Property(
            "verify_days",
            th.IntegerType(minimum=1, maximum=MAX_VERIFY_DAYS),
            title="Verify days",
            description="Set only for the verification job: re-read the last this many days "
            "whatever the bookmark (run it under its own state id), upserting what HubSpot "
            "holds now and writing its manifests with purpose verification. dbt's "
            "evidence_drift compares them with what earlier runs emitted.",
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
            default=DEFAULT_REQUEST_TIMEOUT,
            title="Request timeout",
            description="Seconds one HubSpot answer may take, from sending the request to "
            "its last byte; a slower one is retried.",
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
            default=DEFAULT_MAX_RETRY_SECONDS,
            title="Maximum retry time",
            description="Give up on a request that keeps failing (5xx, 429, timeouts, "
            "resets) after this many seconds of retries, one budget per portal shared by "
            "its streams; no pause a server asks for lasts longer. The run then fails with "
            "the bookmark at the last emitted event.",
        ),
        th.Property(
            "max_response_mb",
            th.IntegerType(minimum=1, maximum=MAX_RESPONSE_MB),
            default=DEFAULT_MAX_RESPONSE_MB,
            title="Maximum response size (MB)",
            description="Largest answer the tap accepts, decoded (gzip included), in MB; a larger "
            "one fails the portal instead of filling memory. HubSpot's pages are well under 1 MB.",
        ),
        th.Property(
            "read_ahead",
            th.BooleanType,
            default=DEFAULT_READ_AHEAD,
            title="Read ahead",
            description="Read every selected stream from the start, side by side, into temporary "
            "files while the first is emitted (all within max_concurrency and the rate limit). "
            "false: one stream after another.",
        ),
    ).to_dict()
