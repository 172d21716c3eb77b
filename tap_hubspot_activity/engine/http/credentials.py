"""A portal's credentials: a static token (Service Key, private app), or OAuth per token."""

from __future__ import annotations

import math
import re
import threading
import time
import typing as t
import unicodedata
from dataclasses import dataclass

from tap_hubspot_activity.engine.errors import FatalError

if t.TYPE_CHECKING:
    from collections.abc import Callable

    from tap_hubspot_activity.engine.redaction import Redactor

# Refresh this long before HubSpot's expiry (30-minute tokens), at most a tenth of the
# token's life, so no request races the expiry.
REFRESH_MARGIN_SECONDS = 300
CREDENTIALS_HINT = (
    "Check the credentials: access_token (a Service Key or private app token) or "
    "client_id, client_secret and refresh_token, with scope account-info.security.read."
)

# Every bearer token (RFC 6750's b64token) and every HubSpot credential is made of visible
# ASCII; anything else in a header is an injection (CR, LF, NUL) or cannot be sent at all
# (http.client encodes header values as Latin-1).
_NOT_VISIBLE_ASCII = re.compile(r"[^\x21-\x7e]")

# Posts the refresh grant and returns the token endpoint's JSON object (FatalError if none).
TokenPost = t.Callable[[dict[str, str]], dict[str, t.Any]]


@dataclass(frozen=True)
class Token:
    """An access token and its place in the sequence of tokens of the run."""

    value: str
    serial: int


def unsendable(value: str) -> str | None:
    """What makes a credential unfit for an HTTP header, never quoting it; None if nothing.

    Names the first offending character by kind, code point and position, so the user
    can find a pasted quote or line break while the value itself is never shown.
    """
    found = _NOT_VISIBLE_ASCII.search(value)
    if found is None:
        return None
    char = found.group()
    if unicodedata.category(char) == "Cc":
        kind = "a control character"
    elif char.isspace():
        kind = "a space"
    else:
        kind = "a non-ASCII character"
    return f"{kind} (U+{ord(char):04X}) at character {found.start() + 1}"


class StaticToken:
    """A token that never changes: a 401 means it is wrong or revoked."""

    def __init__(self, token: str) -> None:
        """Keep the token."""
        self._token = Token(token, 0)

    def current(self) -> Token:
        """The token to send."""
        return self._token

    def succeeded(self, token: Token) -> None:
        """A request with `token` was accepted (nothing to learn)."""

    def unauthorized(self, token: Token) -> bool:  # noqa: ARG002 - same shape as OAuth
        """After a 401: whether a retry can help. Never for a static token."""
        return False


class OAuthToken:
    """Access tokens from a refresh token, refreshed before they expire and per 401.

    A 401 for a token older than the current one is retried with the current one; a
    token is replaced at most once; a token refused before any success, right after it
    replaced one refused in turn, means the credentials are revoked.
    """

    def __init__(  # noqa: PLR0913 - the grant's parts
        self,
        *,
        post: TokenPost,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        redactor: Redactor,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """No token is requested until the first request needs one."""
        self._post = post
        self._client_id = client_id
        self._client_secret = client_secret
        self._refresh_token = refresh_token
        self._redactor = redactor
        self._clock = clock
        self._lock = threading.Lock()
        self._token: Token | None = None
        self._expires_at = math.inf
        self._proven = False  # a request with the current token succeeded
        self._after_refusal = False  # the current token replaced one HubSpot refused

    def current(self) -> Token:
        """The token to send now, refreshed first if it is about to expire."""
        with self._lock:
            if self._token is None or self._clock() >= self._expires_at:
                self._refresh(after_refusal=False)
            assert self._token is not None  # noqa: S101 - _refresh set it or raised
            return self._token

    def succeeded(self, token: Token) -> None:
        """A request with `token` was accepted."""
        with self._lock:
            if self._token is not None and token.serial == self._token.serial:
                self._proven = True

    def unauthorized(self, token: Token) -> bool:
        """After a 401 with `token`: whether to retry (with the current or a new token)."""
        with self._lock:
            if self._token is None or token.serial != self._token.serial:
                return True  # stale: a newer token exists already
            if self._after_refusal and not self._proven:
                return False  # a fresh token refused in turn: revoked
            self._refresh(after_refusal=True)
            return True

    def _refresh(self, *, after_refusal: bool) -> None:
        requested_at = self._clock()
        body = self._post(
            {
                "grant_type": "refresh_token",
                "client_id": self._client_id,
                "client_secret": self._client_secret,
                "refresh_token": self._refresh_token,
            }
        )
        access = body.get("access_token") or body.get("accessToken")
        if not isinstance(access, str) or not access.strip():
            msg = f"HubSpot's token endpoint answered without an access token. {CREDENTIALS_HINT}"
            raise FatalError(msg)
        self._redactor.add(access)
        _refuse_unsendable(access, "an access token")
        refresh = body.get("refresh_token") or body.get("refreshToken")
        if isinstance(refresh, str) and refresh.strip():
            self._redactor.add(refresh)
            # It goes back in the next grant's form: a broken one would fail that grant
            # half an hour on, blaming the configured credentials.
            _refuse_unsendable(refresh, "a refresh token")
            self._refresh_token = refresh
        lifetime = expires_in_seconds(body.get("expires_in", body.get("expiresIn")))
        margin = min(REFRESH_MARGIN_SECONDS, lifetime / 10)
        self._expires_at = requested_at + lifetime - margin
        serial = self._token.serial + 1 if self._token else 1
        self._token = Token(access, serial)
        self._proven = False
        self._after_refusal = after_refusal


def _refuse_unsendable(token: str, what: str) -> None:
    problem = unsendable(token)
    if problem is not None:
        msg = (
            f"HubSpot's token endpoint issued {what} with {problem}, which no request may "
            "carry; refusing it (the token endpoint at api_url is broken or not HubSpot's)."
        )
        raise FatalError(msg)


def expires_in_seconds(value: object) -> float:
    """A token's lifetime; unknown or nonsense (negative, not a number) counts as unknown.

    An unknown lifetime means no refresh ahead of time: the token is replaced when
    HubSpot refuses it.
    """
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return math.inf
    try:
        seconds = float(value)
    except ValueError:
        return math.inf
    return seconds if math.isfinite(seconds) and seconds > 0 else math.inf
