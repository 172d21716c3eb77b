"""Who may call and how often: OAuth-issued tokens, bearer auth, rolling and daily limits."""

from __future__ import annotations

import collections
import hmac
import secrets
import time
from typing import TYPE_CHECKING

from . import errors
from .data import DAY_MS

if TYPE_CHECKING:
    import threading

    from .config import EmulatorConfig

# The portal's time zone (US/Eastern, as /details says): the daily limit resets there.
_PORTAL_OFFSET_S = -5 * 3600


class Access:
    """The tokens this emulator issued, and the requests counted against the limits."""

    def __init__(self, lock: threading.RLock) -> None:
        self._lock = lock
        self._tokens: dict[str, float] = {}
        self._window: collections.deque[float] = collections.deque()
        self._daily: tuple[int, int] = (0, 0)  # (portal-local day, requests counted)

    def issue_token(
        self, cfg: EmulatorConfig, client_id: str, client_secret: str, refresh_token: str
    ) -> errors.Reply:
        if not (
            hmac.compare_digest(client_id, cfg.oauth_client_id)
            and hmac.compare_digest(client_secret, cfg.oauth_client_secret)
        ):
            return errors.oauth_error("BAD_CLIENT_ID", "missing or invalid client id")
        if not hmac.compare_digest(refresh_token, cfg.oauth_refresh_token):
            return errors.oauth_error("BAD_REFRESH_TOKEN", "missing or invalid refresh token")
        token = "emu-at-" + secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = time.monotonic() + cfg.token_lifetime_s
        return errors.Reply(
            200,
            {
                "token_type": "bearer",
                "refresh_token": refresh_token,
                "access_token": token,
                "expires_in": cfg.token_lifetime_s,
            },
        )

    def authenticate(
        self, cfg: EmulatorConfig, header: str | None
    ) -> tuple[errors.Reply | None, bool]:
        """(error reply or None, whether the token was issued by our OAuth endpoint)."""
        scheme, _, token = (header or "").strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return errors.auth_missing(), False
        with self._lock:
            expires = self._tokens.get(token)
        if expires is not None:
            late = time.monotonic() - expires
            return (errors.auth_expired(int(late)) if late >= 0 else None), True
        if cfg.require_oauth or (
            cfg.access_token is not None and not hmac.compare_digest(token, cfg.access_token)
        ):
            return errors.auth_missing(), False
        return None, False

    def charge(
        self, cfg: EmulatorConfig, now_ms: int, *, oauth: bool
    ) -> tuple[errors.Reply | None, dict[str, str]]:
        """Count one request against the limits: (429 reply or None, rate headers)."""
        with self._lock:
            now = time.monotonic()
            window_s = cfg.rate_limit_interval_ms / 1000
            while self._window and self._window[0] <= now - window_s:
                self._window.popleft()
            day = (now_ms // 1000 + _PORTAL_OFFSET_S) * 1000 // DAY_MS
            if self._daily[0] != day:
                self._daily = (day, 0)
            reply = None
            if not oauth and self._daily[1] >= cfg.daily_max:
                reply = errors.rate_limited("DAILY", cfg.portal_id)
            elif len(self._window) >= cfg.ten_second_max:
                reply = errors.rate_limited("TEN_SECONDLY_ROLLING", cfg.portal_id)
            else:
                self._window.append(now)
                if not oauth:
                    self._daily = (day, self._daily[1] + 1)
            return reply, self._headers(cfg, oauth=oauth)

    def _headers(self, cfg: EmulatorConfig, *, oauth: bool) -> dict[str, str]:
        headers: dict[str, str] = {}
        if cfg.rate_limit_headers:
            interval = str(cfg.rate_limit_interval_ms)
            headers["X-HubSpot-RateLimit-Interval-Milliseconds"] = interval
            headers["X-HubSpot-RateLimit-Max"] = str(cfg.ten_second_max)
            headers["X-HubSpot-RateLimit-Remaining"] = str(
                max(0, cfg.ten_second_max - len(self._window))
            )
            # OAuth calls have no daily limit, so HubSpot omits the daily headers.
            if not oauth:
                headers["X-HubSpot-RateLimit-Daily"] = str(cfg.daily_max)
                headers["X-HubSpot-RateLimit-Daily-Remaining"] = str(
                    max(0, cfg.daily_max - self._daily[1])
                )
        return headers
