"""The settings that bound every request of a run, shared by each portal's client."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """The settings that bound a portal's requests."""

    request_timeout: float = 60.0
    max_retry_seconds: float = 300.0
    max_response_bytes: int = 16 * 1024 * 1024
    max_concurrency: int = 8
    daily_quota_reserve: int = 10_000
    user_agent: str = "tap-hubspot-activity"
    oauth_token_path: str = "/oauth/2026-03/token"  # noqa: S105 - a path, not a secret
    # The portal's details (its id), in the configured API version: v3 paths go
    # unsupported in September 2027.
    details_path: str = "/account-info/2026-09/details"
