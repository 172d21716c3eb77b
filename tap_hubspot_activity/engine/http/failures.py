"""HubSpot's error answers mapped to what the engine does: retry, skip the stream, or stop."""

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


def classify(  # noqa: PLR0911 - one return per HubSpot failure class
    status: int,
    headers: Mapping[str, str],
    body: Mapping[str, t.Any],
    message: str,
    rules: EndpointRules,
) -> HubspotError:
    """The exception a failed answer calls for (401 is the client's, with its credentials)."""
    category = str(body.get("category") or body.get("errorType") or "")
    retry_after = retry_after_seconds(headers.get("Retry-After"))
    # 423 Locked and HubSpot's own 477 Migration in Progress clear up by themselves.
    transient = {HTTPStatus.LOCKED, MIGRATION_IN_PROGRESS}
    if status in transient or status >= HTTPStatus.INTERNAL_SERVER_ERROR:
        return RetryableError(message, wait_seconds=retry_after)
    if status == HTTPStatus.TOO_MANY_REQUESTS:
        if str(body.get("policyName", "")).upper() == "DAILY":
            return FatalError(
                f"{message}. The portal's daily API quota is used up; it resets at "
                "midnight in the portal's time zone. State up to the last emitted "
                "record is saved: run again after the reset."
            )
        wait = retry_after if retry_after is not None else RATE_LIMIT_WINDOW_SECONDS
        return RetryableError(message, wait_seconds=wait)
    if status == HTTPStatus.UNAUTHORIZED:
        return FatalError(f"{message}. {CREDENTIALS_HINT}")
    if status == HTTPStatus.FORBIDDEN and category == "MISSING_SCOPES":
        if rules.scope_is_optional:
            return StreamUnavailableError(f"{message} (scope {rules.required_scope})")
        return FatalError(
            f"{message}. Grant the scope {rules.required_scope} to the app or Service Key."
        )
    if status in {HTTPStatus.FORBIDDEN, HTTPStatus.NOT_FOUND} and rules.skippable_when_forbidden:
        return StreamUnavailableError(message)
    if status == HTTPStatus.NOT_FOUND:
        return FatalError(f"{message}. Check api_url and api_version ({rules.api_version}).")
    if HTTPStatus.MULTIPLE_CHOICES <= status < HTTPStatus.BAD_REQUEST:
        return FatalError(
            f"{message}. The tap follows no redirect: credentials go to api_url's origin only."
        )
    return FatalError(message)
