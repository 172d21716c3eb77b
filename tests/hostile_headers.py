"""Hostile servers of issue 25's header classes: issued tokens that break headers, look-alike
ids, rate-limit headers that claim a long interval. Modes for tests.hostile.HostileServer.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs

from tests.hostile import NOW, Handler, HostileServer, empty, iso
from tests.hostile_cli import REFRESH

# Issued tokens a header cannot carry: injection (CR/LF, NUL), a Unicode line separator,
# characters http.client cannot encode, a C1 control it would send as a raw byte.
BAD_TOKENS = {
    "crlf": "issued-token-0123456789\r\nX-Injected: yes",
    "nul": "issued-token-0123456789\x00tail",
    "u2028": "issued-token-0123456789\u2028tail",
    "not-latin-1": "issued-token-0123456789-\u043a\u043b\u044e\u0447",
    "c1-control": "issued-token-0123456789\x85tail",
}


def issues_access_token(server: HostileServer, handler: Handler) -> None:
    """The token endpoint issues state['access_token']; the API answers quiet pages."""
    if handler.route.startswith("/oauth/"):
        handler.json({"access_token": server.state["access_token"], "expires_in": 1800})
    else:
        empty(server, handler)


def issues_refresh_token(server: HostileServer, handler: Handler) -> None:
    """The configured grant gets token issued-1 and refresh token state['refresh_token'].

    Like HubSpot, the token endpoint refuses any other refresh token; the API refuses
    issued-1 (so the tap must refresh with the refresh token it was issued) and answers
    quiet pages to anything else.
    """
    if handler.route.startswith("/oauth/"):
        if parse_qs(handler.body).get("refresh_token") != [REFRESH]:
            handler.json({"status": "BAD_REFRESH_TOKEN", "message": "unknown token"}, 400)
            return
        issued = {"access_token": "issued-1", "refresh_token": server.state["refresh_token"]}
        handler.json({**issued, "expires_in": 1800})
    elif handler.headers.get("Authorization") == "Bearer issued-1":
        handler.json({"status": "error", "category": "EXPIRED_AUTHENTICATION"}, 401)
    else:
        empty(server, handler)


def _at(hours: float) -> str:
    return iso(NOW - dt.timedelta(hours=hours))


# Login history: id 123 as a string, then as an integer on the next page, and again as a
# string; look-alikes that are other keys ("0123", "123 ", "ABC" and "abc"); 1.0, no id.
LOGIN_PAGES = [
    [{"id": "123"}, {"id": "0123"}, {"id": "123 "}, {"id": "ABC"}],
    [{"id": 123}, {"id": "abc"}, {"id": 1.0}, {"id": "123"}],
]
LOGIN_KEYS = ["0123", "123", "123 ", "ABC", "abc"]


def lookalike_ids(server: HostileServer, handler: Handler) -> None:
    """Ids that look alike, across pages and partitions (every userId gets the same).

    Login history as LOGIN_PAGES; security history id 7 and "7" in one window; the CMS
    log the same entry twice (its id is derived from its fields); quiet audit log.
    """
    if "/activity/login" in handler.route:
        second = handler.query.get("after") == ["p2"]
        page = LOGIN_PAGES[second]
        records = [
            {**entry, "loginAt": _at(1 + index + 10 * second), "loginSucceeded": True}
            for index, entry in enumerate(page)
        ]
        paging = {} if second else {"paging": {"next": {"after": "p2"}}}
        handler.json({"results": records, **paging})
    elif "/activity/security" in handler.route:
        records = [{"id": 7, "createdAt": _at(3), "type": "X"}, {"id": "7", "createdAt": _at(3)}]
        handler.json({"results": records})
    elif handler.route.startswith("/cms/"):
        entry = {
            "timestamp": _at(5),
            "userId": "1",
            "event": "UPDATED",
            "objectType": "BLOG_POST",
            "objectId": "42",
            "meta": {},
        }
        handler.json({"results": [entry, dict(entry)]})
    else:
        empty(server, handler)


def long_interval(server: HostileServer, handler: Handler) -> None:
    """Quiet answers announcing state['interval_ms'] and no calls left.

    The details call answers state['portal_id'].
    """
    headers = {
        "X-HubSpot-RateLimit-Max": "100",
        "X-HubSpot-RateLimit-Interval-Milliseconds": str(server.state["interval_ms"]),
        "X-HubSpot-RateLimit-Remaining": "0",
    }
    details = {"portalId": server.state["portal_id"]}
    body = details if handler.route.endswith("/details") else {"results": []}
    handler.json(body, headers=headers)
