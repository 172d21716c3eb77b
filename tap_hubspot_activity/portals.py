"""HubSpot portals of a run: each with its own credentials, governor and HTTP session."""

from __future__ import annotations

import os
import threading
import typing as t
from dataclasses import dataclass, field

from singer_sdk.authenticators import BearerTokenAuthenticator

from tap_hubspot_activity.auth import HubspotOAuthAuthenticator
from tap_hubspot_activity.governor import GovernedSession, RateLimitGovernor

if t.TYPE_CHECKING:
    from collections.abc import Callable, Mapping

CREDENTIAL_KEYS = ("access_token", "client_id", "client_secret", "refresh_token")
SECRET_KEYS = ("access_token", "client_secret", "refresh_token")


@dataclass
class Portal:
    """One HubSpot account: where to call, how to authenticate, how fast to go."""

    label: str | None
    api_url: str
    credentials: dict[str, str]
    governor: RateLimitGovernor
    session: GovernedSession
    failure: str | None = None
    _portal_id: int | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def context(self) -> dict[str, str]:
        """The partition context of this portal (empty for the single-portal settings)."""
        return {"portal": self.label} if self.label is not None else {}

    @property
    def name(self) -> str:
        """How logs and errors refer to the portal."""
        return f"portal {self.label!r}" if self.label is not None else "the portal"

    def secrets(self) -> list[str]:
        """Every secret of this portal, including a live OAuth access token."""
        values = [self.credentials[key] for key in SECRET_KEYS if self.credentials.get(key)]
        live = getattr(self.authenticator, "access_token", None)
        if isinstance(live, str) and live:
            values.append(live)
        return values

    @property
    def authenticator(self) -> BearerTokenAuthenticator | HubspotOAuthAuthenticator:
        """The portal's one authenticator, so OAuth tokens are refreshed once for all."""
        return self._authenticator

    def __post_init__(self) -> None:
        """Build the authenticator for whichever kind of credentials the portal has."""
        if self.credentials.get("access_token"):
            self._authenticator: BearerTokenAuthenticator | HubspotOAuthAuthenticator = (
                BearerTokenAuthenticator(token=self.credentials["access_token"])
            )
        else:
            self._authenticator = HubspotOAuthAuthenticator(
                auth_endpoint=f"{self.api_url}/oauth/v1/token",
                client_id=self.credentials["client_id"],
                client_secret=self.credentials["client_secret"],
                refresh_token=self.credentials["refresh_token"],
            )

    def portal_id(self, fetch: Callable[[Portal], int]) -> int:
        """The HubSpot portal id, fetched once (thread-safe) with `fetch`."""
        with self._lock:
            if self._portal_id is None:
                self._portal_id = fetch(self)
            return self._portal_id


def portal_entries(config: Mapping[str, t.Any]) -> list[dict[str, t.Any]]:
    """The configured portals with credentials resolved; the top-level ones if none."""
    entries = config.get("portals") or [{key: config.get(key) for key in CREDENTIAL_KEYS}]
    resolved = []
    for entry in entries:
        credentials = {}
        for key in CREDENTIAL_KEYS:
            value = entry.get(key)
            # `<key>_env` names an environment variable, so no secret sits in a config file.
            if not value and entry.get(f"{key}_env"):
                value = os.environ.get(str(entry[f"{key}_env"]))
            if value:
                credentials[key] = str(value)
        resolved.append(
            {
                "label": entry.get("label"),
                "api_url": str(entry.get("api_url") or config["api_url"]).rstrip("/"),
                "credentials": credentials,
            }
        )
    return resolved


def build_portals(config: Mapping[str, t.Any]) -> list[Portal]:
    """One Portal per configured portal, each with its own governor and connections."""
    portals = []
    for entry in portal_entries(config):
        governor = RateLimitGovernor(daily_quota_reserve=int(config["daily_quota_reserve"]))
        session = GovernedSession(governor, max_in_flight=int(config["max_concurrency"]))
        portals.append(Portal(governor=governor, session=session, **entry))
    return portals
