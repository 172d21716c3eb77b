"""One portal as the engine reaches it: where, with which credentials, within which bounds."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PortalSettings:
    """One HubSpot account: where to call and with what credentials."""

    label: str | None
    api_url: str
    credentials: dict[str, str]

    @property
    def name(self) -> str:
        """How logs and errors refer to the portal."""
        return f"portal {self.label!r}" if self.label is not None else "the portal"


@dataclass(frozen=True)
class Limits:
    """The bounds of every request of a run, shared by each portal's client.

    Made from the settings once (tap_hubspot_activity.settings): the defaults are the
    settings' own, and are written nowhere here.
    """

    request_timeout: float
    max_retry_seconds: float
    max_response_bytes: int
    # Requests of one portal in flight at once (the max_concurrency setting); a windowed
    # read keeps at most this many windows in flight, one request each.
    requests_in_flight: int
    daily_quota_reserve: int
    user_agent: str
    oauth_token_path: str
    # The API version of the activity endpoints and of the portal's details (its id).
    api_version: str

    @property
    def details_path(self) -> str:
        """Where a portal tells its id, in the configured API version."""
        return f"/account-info/{self.api_version}/details"
