"""One portal's HTTP: its origin, slots, governor, credentials, retries and bounded answers."""

from __future__ import annotations

import contextlib
import threading
import time
import typing as t
from http import HTTPStatus

import requests
import urllib3

from tap_hubspot_activity.engine.body import decode_json, read_body
from tap_hubspot_activity.engine.causes import connection_cause
from tap_hubspot_activity.engine.credentials import OAuthToken, StaticToken, Token
from tap_hubspot_activity.engine.deadline import by_deadline
from tap_hubspot_activity.engine.errors import (
    FatalError,
    HubspotError,
    RetryableError,
    StaleTokenError,
    TerminatedError,
    shown,
)
from tap_hubspot_activity.engine.failures import EndpointRules, classify, describe
from tap_hubspot_activity.engine.governor import RateLimitGovernor
from tap_hubspot_activity.engine.retry import RetryPolicy, UnreachableError
from tap_hubspot_activity.engine.slots import Slots
from tap_hubspot_activity.engine.urls import origin

if t.TYPE_CHECKING:
    from collections.abc import Iterator
    from logging import Logger

    from tap_hubspot_activity.engine.errors import Redactor
    from tap_hubspot_activity.engine.limits import Limits

CONNECT_TIMEOUT_SECONDS = 10.0


class PortalClient:
    """Every request to one portal goes through here, whichever stream it serves.

    A request first gets a slot and the governor's turn, then its credentials (so a
    token cannot expire while it waits), goes only to api_url's origin and follows no
    redirect, and its answer is read within the response cap and the request timeout.
    """

    def __init__(  # noqa: PLR0913 - a portal and the run's shared parts
        self,
        *,
        name: str,
        api_url: str,
        credentials: dict[str, str],
        limits: Limits,
        redactor: Redactor,
        stop: threading.Event,
        logger: Logger,
    ) -> None:
        """Nothing is sent until the first request; `name` is how logs call the portal."""
        self.name = name
        self.api_url = api_url.rstrip("/")
        self.origin = origin(self.api_url)
        self.limits = limits
        self.redactor = redactor
        self.logger = logger
        self.session = requests.Session()
        adapter = requests.adapters.HTTPAdapter(
            pool_connections=1, pool_maxsize=limits.max_concurrency + 2, max_retries=0
        )
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self.slots = Slots(limits.max_concurrency, stop)
        self.governor = RateLimitGovernor(
            daily_quota_reserve=limits.daily_quota_reserve,
            sleep=lambda seconds: _pause(stop, seconds),
            warn=lambda text: logger.warning("Rate limit of %s: %s", name, text),
        )
        self.retry = RetryPolicy(
            max_retry_seconds=limits.max_retry_seconds, stop=stop, logger=logger
        )
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

    @contextlib.contextmanager
    def chain(self) -> Iterator[None]:
        """A cursor chain runs: a slot and part of the rate limit are kept for it."""
        self.governor.chains(+1)
        try:
            with self.slots.chain():
                yield
        finally:
            self.governor.chains(-1)

    def portal_id(self) -> int:
        """The portal's id, from GET /account-info/<api_version>/details once per run."""
        with self._lock:
            if self._portal_id is None:
                body = self.get(self.limits.details_path, {}, EndpointRules())
                portal_id = body.get("portalId")
                if not isinstance(portal_id, int) or isinstance(portal_id, bool):
                    msg = f"HubSpot's {self.limits.details_path} answer has no integer portalId"
                    raise FatalError(msg)
                self._portal_id = portal_id
            return self._portal_id

    def summary(self, name: str) -> str:
        """Requests sent, time paused by the rolling limit, peak in flight, calls left."""
        daily = self.governor.daily_remaining
        wall = time.monotonic() - self.created
        return (
            f"Rate-limit governor of {name}: {self.governor.requests_sent} requests sent "
            f"in {wall:.1f} s, {self.governor.paused_seconds():.1f} s paused by the rolling "
            "limit (wall clock), "
            f"peak {self.slots.peak} in flight"
            + ("" if daily is None else f", {daily} calls left today")
        )

    def close(self) -> None:
        """Close pooled connections (the session can still be used after)."""
        self.session.close()

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
            status, reason, headers, body = self._exchange(request, deadline)
            self.governor.observe(headers)
        return self._judge(
            status=status,
            reason=reason,
            headers=headers,
            body=body,
            path=path,
            rules=rules,
            token=token,
        )

    def _exchange(
        self, request: requests.PreparedRequest, deadline: float
    ) -> tuple[int, str, requests.structures.CaseInsensitiveDict[str], bytes]:
        """Send to the configured origin only; (status, reason, headers, decoded body)."""
        if origin(str(request.url)) != self.origin:
            msg = "a request was about to leave api_url's origin; refused"
            raise FatalError(msg)
        now = time.monotonic()
        until = min(now + self.limits.request_timeout, deadline)
        read_timeout = max(0.5, until - now)

        def exchange() -> tuple[requests.Response, bytes]:
            response = self.session.send(
                request,
                timeout=(min(CONNECT_TIMEOUT_SECONDS, read_timeout), read_timeout),
                allow_redirects=False,
                stream=True,
            )
            return response, read_body(response, cap=self.limits.max_response_bytes, deadline=until)

        try:
            response, body = by_deadline(exchange, until, self.api_url)
        except requests.exceptions.SSLError as exc:
            msg = f"TLS with {self.api_url} failed ({connection_cause(exc)})"
            raise UnreachableError(msg) from None
        except requests.exceptions.ConnectionError as exc:
            if isinstance(exc, requests.exceptions.ConnectTimeout):
                msg = f"could not connect to api_url {self.api_url} in time"
            else:
                msg = f"could not connect to api_url {self.api_url} ({connection_cause(exc)})"
            raise UnreachableError(self.redactor.redact(msg)) from None
        except (requests.exceptions.Timeout, urllib3.exceptions.TimeoutError):
            msg = f"no complete answer from {self.api_url} within request_timeout"
            raise RetryableError(msg) from None
        except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError) as exc:
            msg = f"the answer from {self.api_url} broke off ({type(exc).__name__})"
            raise RetryableError(msg) from None
        return response.status_code, response.reason or "", response.headers, body

    def _judge(  # noqa: PLR0913 - one answer's parts
        self,
        *,
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
        status, reason, _, body = self._exchange(request, deadline)
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


def _pause(stop: threading.Event, seconds: float) -> None:
    """Sleep, unless the portal is stopped (then end the request)."""
    if stop.wait(seconds):
        msg = "stopped"
        raise TerminatedError(msg)
