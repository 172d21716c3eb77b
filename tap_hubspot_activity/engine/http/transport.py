"""One portal's wire: api_url's origin only, no redirect, answers bounded in size and time."""

from __future__ import annotations

import time
import typing as t

import requests
import urllib3

from tap_hubspot_activity.engine.errors import FatalError, RetryableError, UnreachableError
from tap_hubspot_activity.engine.http.body import read_body
from tap_hubspot_activity.engine.http.urls import origin
from tap_hubspot_activity.engine.workers import WORKERS

if t.TYPE_CHECKING:
    from collections.abc import Callable

    from tap_hubspot_activity.engine.redaction import Redactor

T = t.TypeVar("T")
CONNECT_TIMEOUT_SECONDS = 10.0
# The innermost reasons of a failed connection worth naming in a log line.
CONNECTION_CAUSES = (
    "Connection refused",
    "Name or service not known",
    "Temporary failure in name resolution",
    "No route to host",
    "Network is unreachable",
    "certificate verify failed",
    "Connection reset",
    "got more than 100 headers",
    "Exceeded 30 redirects",
)
Answer = tuple[int, str, "requests.structures.CaseInsensitiveDict[str]", bytes]


class Transport:
    """Sends a portal's prepared requests over one pooled session.

    A request goes only to api_url's origin and follows no redirect; its answer is read
    whole within `max_response_bytes` and `request_timeout`, whatever the socket does.
    """

    def __init__(
        self,
        api_url: str,
        *,
        connections: int,
        request_timeout: float,
        max_response_bytes: int,
        redactor: Redactor,
    ) -> None:
        """A pool of `connections` connections, opened as requests need them."""
        self.api_url = api_url.rstrip("/")
        self.origin = origin(self.api_url)
        self.request_timeout = request_timeout
        self.max_response_bytes = max_response_bytes
        self.redactor = redactor
        self.session = requests.Session()
        adapter = requests.adapters.HTTPAdapter(
            pool_connections=1, pool_maxsize=connections, max_retries=0
        )
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)

    def exchange(self, request: requests.PreparedRequest, deadline: float) -> Answer:
        """Send to the configured origin only; (status, reason, headers, decoded body)."""
        if origin(str(request.url)) != self.origin:
            msg = "a request was about to leave api_url's origin; refused"
            raise FatalError(msg)
        now = time.monotonic()
        until = min(now + self.request_timeout, deadline)
        read_timeout = max(0.5, until - now)

        def exchange() -> tuple[requests.Response, bytes]:
            response = self.session.send(
                request,
                timeout=(min(CONNECT_TIMEOUT_SECONDS, read_timeout), read_timeout),
                allow_redirects=False,
                stream=True,
            )
            return response, read_body(response, cap=self.max_response_bytes, deadline=until)

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

    def close(self) -> None:
        """Close pooled connections (the session can still be used after)."""
        self.session.close()


def by_deadline(call: Callable[[], T], deadline: float, what: str) -> T:
    """`call()`'s result, or RetryableError once `deadline` (monotonic) has passed.

    Socket timeouts bound each read, not a response: a server can trickle its status
    line or headers a byte at a time. The call runs in a kept daemon thread; past the
    deadline it is abandoned (its reads are still bounded by the response cap) and can
    never hold up the run or its exit.
    """
    outcome = WORKERS.submit(call)
    if not outcome.done.wait(max(0.0, deadline - time.monotonic())):
        msg = f"no complete answer from {what} within request_timeout"
        raise RetryableError(msg)
    if outcome.error is not None:
        raise outcome.error
    return t.cast("T", outcome.value)


def connection_cause(exc: BaseException) -> str:
    """The innermost reason of a connection failure, without URLs or pool internals."""
    inner: BaseException | None = exc
    while inner is not None:
        text = str(inner).lower()
        for reason in CONNECTION_CAUSES:
            if reason.lower() in text:
                return reason
        nested = inner.args[0] if inner.args else None
        inner = (
            inner.__context__
            or inner.__cause__
            or (nested if isinstance(nested, BaseException) else None)
        )
    return type(exc).__name__
