"""HubSpot's error answers mapped, as a table, to what the engine does: retry, skip, or stop."""

from __future__ import annotations

import typing as t
from dataclasses import dataclass
from http import HTTPStatus

from tap_hubspot_activity.engine.errors import (
    FatalError,
    HubspotError,
    RetryableError,
    StreamUnavailableError,
)
from tap_hubspot_activity.engine.http.credentials import CREDENTIALS_HINT
from tap_hubspot_activity.engine.http.retry import retry_after_seconds
from tap_hubspot_activity.engine.redaction import shown

if t.TYPE_CHECKING:
    from collections.abc import Mapping

REQUIRED_SCOPE = "account-info.security.read"
# HubSpot asks clients to pause "a few seconds" on 5xx; the rolling limit is 10 s wide.
RATE_LIMIT_WINDOW_SECONDS = 10.0
MIGRATION_IN_PROGRESS = 477


@dataclass(frozen=True)
class EndpointRules:
    """How an endpoint's refusals read: which mean "not in this portal", which scope it needs."""

    required_scope: str = REQUIRED_SCOPE
    # A 403/404 means "not in this portal's plan", not "bad token".
    skippable_when_forbidden: bool = False
    # An add-on stream is skipped, not failed, when its scope is missing.
    scope_is_optional: bool = False
    # The configured API version, named when the endpoint is not found.
    api_version: str = ""


def describe(status: int, reason: str, body: Mapping[str, t.Any], path: str) -> str:
    """One plain sentence about a failed answer: status, category, path, correlationId."""
    category = body.get("category") or body.get("errorType") or body.get("status")
    correlation_id = body.get("correlationId")
    message = body.get("message") or reason or "no message"
    parts = [f"HubSpot answered {status}"]
    if category:
        parts.append(shown(category, 60))
    parts.append(f"on {path}")
    if correlation_id:
        parts.append(f"(correlationId {shown(correlation_id, 60)})")
    return f"{' '.join(parts)}: {shown(message, 300)}"


@dataclass(frozen=True)
class FailedAnswer:
    """What the table of failures reads of an answer HubSpot refused."""

    status: int
    # HubSpot's category (or errorType): MISSING_SCOPES tells a scope from a plan.
    category: str
    # The rate limit refused is the daily quota, not the rolling one.
    daily: bool
    retry_after: float | None
    message: str
    rules: EndpointRules


Row = tuple[t.Callable[[FailedAnswer], bool], t.Callable[[FailedAnswer], HubspotError]]
# 423 Locked and HubSpot's own 477 Migration in Progress clear up by themselves.
TRANSIENT = frozenset({HTTPStatus.LOCKED, MIGRATION_IN_PROGRESS})
DAILY_QUOTA_HINT = (
    "The portal's daily API quota is used up; it resets at midnight in the portal's time "
    "zone. State up to the last emitted record is saved: run again after the reset."
)
# Which answers call for what, one row per HubSpot failure class: the first row that
# matches wins; an answer no row matches is a plain FatalError. 401 comes here only once
# the client's credentials found no newer token to retry with.
FAILURES: tuple[Row, ...] = (
    (
        lambda a: a.status in TRANSIENT or a.status >= HTTPStatus.INTERNAL_SERVER_ERROR,
        lambda a: RetryableError(a.message, wait_seconds=a.retry_after),
    ),
    (
        lambda a: a.status == HTTPStatus.TOO_MANY_REQUESTS and a.daily,
        lambda a: FatalError(f"{a.message}. {DAILY_QUOTA_HINT}"),
    ),
    (
        lambda a: a.status == HTTPStatus.TOO_MANY_REQUESTS,
        lambda a: RetryableError(
            a.message,
            wait_seconds=RATE_LIMIT_WINDOW_SECONDS if a.retry_after is None else a.retry_after,
        ),
    ),
    (
        lambda a: a.status == HTTPStatus.UNAUTHORIZED,
        lambda a: FatalError(f"{a.message}. {CREDENTIALS_HINT}"),
    ),
    (
        lambda a: (
            a.status == HTTPStatus.FORBIDDEN
            and a.category == "MISSING_SCOPES"
            and a.rules.scope_is_optional
        ),
        lambda a: StreamUnavailableError(f"{a.message} (scope {a.rules.required_scope})"),
    ),
    (
        lambda a: a.status == HTTPStatus.FORBIDDEN and a.category == "MISSING_SCOPES",
        lambda a: FatalError(
            f"{a.message}. Grant the scope {a.rules.required_scope} to the app or Service Key."
        ),
    ),
    (
        lambda a: (
            a.status in {HTTPStatus.FORBIDDEN, HTTPStatus.NOT_FOUND}
            and a.rules.skippable_when_forbidden
        ),
        lambda a: StreamUnavailableError(a.message),
    ),
    (
        lambda a: a.status == HTTPStatus.NOT_FOUND,
        lambda a: FatalError(
            f"{a.message}. Check api_url and api_version ({a.rules.api_version})."
        ),
    ),
    (
        lambda a: HTTPStatus.MULTIPLE_CHOICES <= a.status < HTTPStatus.BAD_REQUEST,
        lambda a: FatalError(
            f"{a.message}. The tap follows no redirect: credentials go to api_url's origin only."
        ),
    ),
)


def classify(
    status: int,
    headers: Mapping[str, str],
    body: Mapping[str, t.Any],
    message: str,
    rules: EndpointRules,
) -> HubspotError:
    """The exception a failed answer calls for: the first row of FAILURES that matches."""
    answer = FailedAnswer(
        status=status,
        category=str(body.get("category") or body.get("errorType") or ""),
        daily=str(body.get("policyName", "")).upper() == "DAILY",
        retry_after=retry_after_seconds(headers.get("Retry-After")),
        message=message,
        rules=rules,
    )
    for matches, failure in FAILURES:
        if matches(answer):
            return failure(answer)
    return FatalError(message)
