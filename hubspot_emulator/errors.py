"""HubSpot-shaped error bodies and the canned replies of injectable faults."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

JSON_TYPE = "application/json;charset=utf-8"

AUTH_NOT_FOUND_MESSAGE = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication "
    "and you can find more details at "
    "https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)
MISSING_SCOPES_MESSAGE = (
    "This app hasn't been granted all required scopes to make this call. Read more about "
    "required scopes here: https://developers.hubspot.com/scopes."
)
REQUIRED_SCOPE = "account-info.security.read"
# The CMS content audit log needs the `content` scope and a CMS Hub Enterprise portal.
CMS_SCOPE = "content"
NOT_CMS_ENTERPRISE_MESSAGE = (
    "This endpoint is only available in accounts with a CMS Hub Enterprise subscription."
)
# HubSpot does not document what a non-Enterprise portal gets from audit-logs; this is
# a guess kept in one place so it can follow reality once someone observes it.
NOT_ENTERPRISE = {
    "status": "error",
    "category": "FORBIDDEN",
    "message": "This endpoint is only available for HubSpot Enterprise accounts.",
}
GATEWAY_HTML = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>cloudflare</center>\r\n"
    "</body>\r\n</html>\r\n"
)


@dataclass
class Reply:
    """A response to send: JSON-able body (or str for non-JSON), status and headers."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = JSON_TYPE


def new_id() -> str:
    return str(uuid.uuid4())


def error(status: int, category: str, message: str, **extra: Any) -> Reply:
    """The common HubSpot error envelope (the schema plus the legacy `status` field)."""
    body = {
        "status": "error",
        "message": message,
        "correlationId": new_id(),
        "category": category,
        **extra,
    }
    return Reply(status, body)


def auth_missing() -> Reply:
    return error(401, "INVALID_AUTHENTICATION", AUTH_NOT_FOUND_MESSAGE)


def auth_expired(seconds_ago: int) -> Reply:
    message = f"The OAuth token used to make this call expired {seconds_ago} second(s) ago."
    return error(401, "EXPIRED_AUTHENTICATION", message)


def missing_scopes(scope: str = REQUIRED_SCOPE) -> Reply:
    detail = {
        "message": "One or more of the following scopes are required.",
        "context": {"requiredGranularScopes": [scope]},
    }
    return error(
        403,
        "MISSING_SCOPES",
        MISSING_SCOPES_MESSAGE,
        errors=[detail],
        links={"scopes": "https://developers.hubspot.com/scopes"},
    )


def not_enterprise() -> Reply:
    return Reply(403, {**NOT_ENTERPRISE, "correlationId": new_id()})


def not_cms_enterprise() -> Reply:
    # As undocumented as the account-activity one; the message quotes the CMS spec's tier note.
    return error(403, "FORBIDDEN", NOT_CMS_ENTERPRISE_MESSAGE)


def validation(message: str, param: str | None = None) -> Reply:
    detail: dict[str, Any] = {"message": message, "code": "INVALID_VALUE"}
    if param:
        detail["in"] = param
    return error(400, "VALIDATION_ERROR", message, errors=[detail])


def not_found(path: str) -> Reply:
    return error(404, "OBJECT_NOT_FOUND", f"No resource matches {path}")


def method_not_allowed(method: str) -> Reply:
    return error(405, "VALIDATION_ERROR", f"{method} is not supported on this path")


def rate_limited(policy: str, portal_id: int) -> Reply:
    """429 body as documented (DAILY) or observed (TEN_SECONDLY_ROLLING)."""
    if policy == "DAILY":
        body = {
            "status": "error",
            "message": "You have reached your daily limit.",
            "errorType": "RATE_LIMIT",
            "correlationId": new_id(),
            "policyName": "DAILY",
            "requestId": new_id(),
        }
    else:
        body = {
            "status": "error",
            "message": "You have reached your ten_secondly_rolling limit.",
            "errorType": "RATE_LIMIT",
            "correlationId": new_id(),
            "policyName": "TEN_SECONDLY_ROLLING",
            "groupName": f"publicapi:private_app-api-calls-ten-secondly:1234567:{portal_id}",
        }
    return Reply(429, body)


def oauth_error(status: str, message: str) -> Reply:
    return Reply(
        400,
        {"status": status, "message": message, "correlationId": new_id(), "requestId": new_id()},
    )


# Status, category and message of the faults that answer with a plain error body.
_FAULTS: dict[str, tuple[int, str, str]] = {
    "500": (500, "INTERNAL_ERROR", "internal error"),
    "502": (502, "BAD_GATEWAY", "Bad gateway. Please retry in a few seconds."),
    "503": (503, "SERVICE_UNAVAILABLE", "The service is temporarily unavailable."),
    "504": (504, "GATEWAY_TIMEOUT", "The request timed out. Please retry."),
    "423": (423, "LOCKED", "The resource is locked. Locks last for 2 seconds."),
    "477": (
        477,
        "MIGRATION_IN_PROGRESS",
        "This portal is being migrated. Retry after the Retry-After delay.",
    ),
}


def fault_reply(kind: str, portal_id: int) -> Reply:
    """The canned reply of a fault kind that answers with a status code."""
    if kind in ("429", "429-daily"):
        return rate_limited("DAILY" if kind == "429-daily" else "TEN_SECONDLY_ROLLING", portal_id)
    if kind == "401-expired":
        return auth_expired(1)
    if kind == "html":
        return Reply(502, GATEWAY_HTML, content_type="text/html")
    status, category, message = _FAULTS[kind]
    reply = error(status, category, message)
    if kind == "477":
        # The one status HubSpot documents a Retry-After for.
        reply.headers["Retry-After"] = "1"
    return reply
