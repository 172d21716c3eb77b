"""OAuth refresh-token authenticator for HubSpot apps, shared by every stream."""

from __future__ import annotations

import datetime as dt
import sys
import threading

import msgspec
import requests
from singer_sdk.authenticators import OAuthAuthenticator
from singer_sdk.exceptions import FatalAPIError

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

# Refresh this long before HubSpot's expiry (30 min tokens), so no request races it.
REFRESH_MARGIN_SECONDS = 300
TOKEN_REQUEST_TIMEOUT_SECONDS = 60


class OAuthRefreshError(FatalAPIError):
    """HubSpot refused to issue an access token; the message names the settings."""


class HubspotOAuthAuthenticator(OAuthAuthenticator):
    """Refresh-token grant against {api_url}/oauth/v1/token, refreshed before expiry."""

    def __init__(
        self,
        *,
        auth_endpoint: str,
        client_id: str,
        client_secret: str,
        refresh_token: str,
    ) -> None:
        """Keep the app credentials; no token is requested until the first call."""
        super().__init__(
            auth_endpoint=auth_endpoint,
            client_id=client_id,
            client_secret=client_secret,
        )
        self.refresh_token = refresh_token
        self._lock = threading.Lock()
        self._forced_refresh_pending = False
        self._token_from_forced_refresh = False

    @property
    @override
    def oauth_request_body(self) -> dict:
        return {
            "grant_type": "refresh_token",
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "refresh_token": self.refresh_token,
        }

    @override
    def is_token_valid(self) -> bool:
        if self.last_refreshed is None or not self.access_token:
            return False
        if not self.expires_in:
            return True
        margin = min(REFRESH_MARGIN_SECONDS, self.expires_in / 10)
        age = (dt.datetime.now(dt.UTC) - self.last_refreshed).total_seconds()
        return age < self.expires_in - margin

    def expire_once(self) -> bool:
        """Drop the token after a 401 so the retry refreshes it; False if that already failed.

        HubSpot says a 401 is not proof that the token expired, so one refresh is tried,
        not a loop of them.
        """
        with self._lock:
            if self._token_from_forced_refresh:
                return False
            self.last_refreshed = None
            self._forced_refresh_pending = True
            return True

    @override
    def authenticate_request(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        with self._lock:
            if not self.is_token_valid():
                self.update_access_token()
            token = self.access_token
        request.headers["Authorization"] = f"Bearer {token}"
        return request

    @override
    def update_access_token(self) -> None:
        self.logger.info("Requesting a new HubSpot access token")
        requested_at = dt.datetime.now(dt.UTC)
        try:
            response = self._session.post(
                self.auth_endpoint,
                data=self.oauth_request_payload,
                timeout=TOKEN_REQUEST_TIMEOUT_SECONDS,
            )
        except requests.exceptions.RequestException as exc:
            msg = f"Could not reach HubSpot's token endpoint: {type(exc).__name__}"
            raise OAuthRefreshError(msg) from None
        try:
            body = msgspec.json.decode(response.content)
        except msgspec.DecodeError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        if response.status_code != requests.codes.ok or not body.get("access_token"):
            status = body.get("status") or body.get("category") or response.reason
            msg = (
                f"HubSpot refused to refresh the access token ({response.status_code} {status}"
                f", correlationId {body.get('correlationId', 'none')}). Check client_id, "
                "client_secret and refresh_token; the app may have been uninstalled."
            )
            raise OAuthRefreshError(msg)
        self.access_token = str(body["access_token"])
        self.refresh_token = str(body.get("refresh_token") or self.refresh_token)
        expires_in = body.get("expires_in")
        self.expires_in = int(expires_in) if expires_in else None
        self.last_refreshed = requested_at
        self._token_from_forced_refresh = self._forced_refresh_pending
        self._forced_refresh_pending = False
