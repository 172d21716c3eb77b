"""One portal's requests: a slot, the governor's turn, credentials, retries, the answer judged."""

from __future__ import annotations

import threading
import time
import typing as t
from http import HTTPStatus

import requests

from tap_hubspot_activity.engine.errors import (
    FatalError,
    HubspotError,
    RetryableError,
    StaleTokenError,
)
from tap_hubspot_activity.engine.http.body import decode_json
from tap_hubspot_activity.engine.http.credentials import OAuthToken, StaticToken, Token
from tap_hubspot_activity.engine.http.failures import EndpointRules, classify, describe
from tap_hubspot_activity.engine.http.governor import RateLimitGovernor
from tap_hubspot_activity.engine.http.priority import ChainPriority
from tap_hubspot_activity.engine.http.retry import RetryPolicy
from tap_hubspot_activity.engine.http.slots import Slots
from tap_hubspot_activity.engine.http.transport import Transport
from tap_hubspot_activity.engine.redaction import shown
from tap_hubspot_activity.engine.stopping import wait_unless_stopped

if t.TYPE_CHECKING:
    from contextlib import AbstractContextManager
    from logging import Logger

    from tap_hubspot_activity.engine.portal import Limits, PortalSettings
    from tap_hubspot_activity.engine.redaction import Redactor

# Connections beyond the requests in flight: a token refresh, a connection being closed.
SPARE_CONNECTIONS = 2


class PortalClient:
    """Every request to one portal goes through here, whichever stream it serves.

    A request first gets a slot and the governor's turn, then its credentials (so a
    token cannot expire while it waits), then goes over the portal's Transport.
    """

    def __init__(
        self,
        portal: PortalSettings,
        *,
        limits: Limits,
        redactor: Redactor,
        stop: threading.Event,
        logger: Logger,
    ) -> None:
        """Nothing is sent until the first request."""
        self.name = portal.name
        self.api_url = portal.api_url.rstrip("/")
        self.limits = limits
        self.redactor = redactor
        self.logger = logger
        self.transport = Transport(
            self.api_url,
            connections=limits.requests_in_flight + SPARE_CONNECTIONS,
            request_timeout=limits.request_timeout,
            max_response_bytes=limits.max_response_bytes,
            redactor=redactor,
        )
        priority = ChainPriority()
        self.slots = Slots(limits.requests_in_flight, stop, priority)
        self.governor = RateLimitGovernor(
            daily_quota_reserve=limits.daily_quota_reserve,
            sleep=lambda seconds: wait_unless_stopped(stop, seconds),
            warn=lambda text: logger.warning("Rate limit of %s: %s", self.name, text),
            priority=priority,
        )
        self.retry = RetryPolicy(
            max_retry_seconds=limits.max_retry_seconds, stop=stop, logger=logger
        )
        credentials = portal.credentials
        for secret in credentials.values():
            redactor.add(secret)
        self.credentials: StaticToken | OAuthToken = (
            StaticToken(credentials["access_token"])
            if credentials.get("access_token")
            else OAuthToken(
                post=self._post_token,
                client_id=credentials["client_id"],
                client_secret=credentials["client_secret"],
                refresh_token=credentials["refresh_token"],
                redactor=redactor,
            )
        )
        self._portal_id: int | None = None
        self._lock = threading.Lock()
        self.created = time.monotonic()

    def get(
        self, path: str, params: dict[str, t.Any], rules: EndpointRules, *, first: bool = False
    ) -> dict[str, t.Any]:
        """The JSON object HubSpot answers for GET path?params, retried as the policy allows."""
        return self.retry.run(
            lambda deadline: self._attempt(path, params, rules, deadline, first=first), path
        )

    def chain(self) -> AbstractContextManager[None]:
        """A cursor chain runs: a slot and part of the rate limit are kept for it."""
        return self.slots.chain()

    def portal_id(self) -> int:
        """The portal's id, from GET /account-info/<api_version>/details once per run."""
        with self._lock:
            if self._portal_id is None:
                rules = EndpointRules(api_version=self.limits.api_version)
                body = self.get(self.limits.details_path, {}, rules)
                portal_id = body.get("portalId")
                if not isinstance(portal_id, int) or isinstance(portal_id, bool):
                    msg = f"HubSpot's {self.limits.details_path} answer has no integer portalId"
                    raise FatalError(msg)
                self._portal_id = portal_id
            return self._portal_id

    def summary(self) -> str:
        """Requests sent, time paused by the rolling limit, peak in flight, calls left."""
        daily = self.governor.daily_remaining
        wall = time.monotonic() - self.created
        return (
            f"Rate-limit governor of {self.name}: {self.governor.requests_sent} requests sent "
            f"in {wall:.1f} s, {self.governor.paused_seconds():.1f} s paused by the rolling "
            "limit (wall clock), "
            f"peak {self.slots.peak} in flight"
            + ("" if daily is None else f", {daily} calls left today")
        )

    def close(self) -> None:
        """Close pooled connections (the client can still be used after)."""
        self.transport.close()

    def _attempt(
        self,
        path: str,
        params: dict[str, t.Any],
        rules: EndpointRules,
        deadline: float,
        *,
        first: bool,
    ) -> dict[str, t.Any]:
        with self.slots.hold(first=first):
            self.governor.wait_turn(first=first)
            token = self.credentials.current()
            request = requests.Request(
                "GET",
                f"{self.api_url}{path}",
                params=params,
                headers={
                    "Accept": "application/json",
                    "Accept-Encoding": "gzip",
                    "User-Agent": self.limits.user_agent,
                    "Authorization": f"Bearer {token.value}",
                },
            ).prepare()
            status, reason, headers, body = self.transport.exchange(request, deadline)
            self.governor.observe(headers)
        return self._judge(status, reason, headers, body, path, rules, token)

    def _judge(  # noqa: PLR0913, PLR0917 - one answer's parts
        self,
        status: int,
        reason: str,
        headers: t.Mapping[str, str],
        body: bytes,
        path: str,
        rules: EndpointRules,
        token: Token,
    ) -> dict[str, t.Any]:
        if status < HTTPStatus.MULTIPLE_CHOICES:
            try:
                decoded = decode_json(body)
            except HubspotError as exc:
                raise type(exc)(self._describe(status, reason, {}, path, str(exc))) from None
            self.credentials.succeeded(token)
            return decoded
        try:
            error_body: dict[str, t.Any] = decode_json(body)
        except HubspotError:
            error_body = {}
        message = self._describe(status, reason, error_body, path)
        if status == HTTPStatus.UNAUTHORIZED and self.credentials.unauthorized(token):
            raise StaleTokenError(message)
        failure = classify(status, headers, error_body, message, rules)
        if status == HTTPStatus.TOO_MANY_REQUESTS and isinstance(failure, RetryableError):
            # Hold the whole portal, not just this request.
            retry_after = headers.get("Retry-After")
            self.governor.pause(
                min(failure.wait_seconds or 0.0, self.limits.max_retry_seconds),
                f"Retry-After: {shown(retry_after, 40)}" if retry_after else "a 429 answer",
            )
        raise failure

    def _describe(
        self,
        status: int,
        reason: str,
        body: dict[str, t.Any],
        path: str,
        detail: str | None = None,
    ) -> str:
        message = describe(status, reason, {**body, "message": detail} if detail else body, path)
        return self.redactor.redact(message)

    def _post_token(self, form: dict[str, str]) -> dict[str, t.Any]:
        """POST the refresh grant to the origin's token endpoint; the token JSON or an error."""
        request = requests.Request(
            "POST",
            f"{self.api_url}{self.limits.oauth_token_path}",
            data=form,
            headers={"Accept": "application/json", "User-Agent": self.limits.user_agent},
        ).prepare()
        self.logger.info("Requesting a new HubSpot access token")
        deadline = time.monotonic() + self.limits.request_timeout
        status, reason, _, body = self.transport.exchange(request, deadline)
        try:
            decoded = decode_json(body)
        except HubspotError:
            decoded = {}
        if status >= HTTPStatus.INTERNAL_SERVER_ERROR:
            raise RetryableError(self._describe(status, reason, decoded, "the token endpoint"))
        if status != HTTPStatus.OK:
            category = decoded.get("status") or decoded.get("category") or reason
            msg = self.redactor.redact(
                f"HubSpot refused to refresh the access token ({status} {category}, "
                f"correlationId {decoded.get('correlationId', 'none')}). Check client_id, "
                "client_secret and refresh_token; the app may have been uninstalled."
            )
            raise FatalError(msg)
        return decoded
