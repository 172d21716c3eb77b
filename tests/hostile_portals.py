"""Servers for the portal list's attacks: one account under several entries, thousands of portals.

Modes as in tests/hostile.py. `portal_per_token` needs HostileServer(..., attack_details=True),
so that the details call reaches it: it says which portal a token belongs to. Tokens ending
in `-<n>` belong to portal 1000 + n; any other token to portal 9, HostileServer's own.

    python -m tests.hostile_portals MODE [--host 127.0.0.1]   # one mode, standalone
"""

from __future__ import annotations

import argparse
import datetime as dt
import typing as t

from tests.hostile import NOW, Handler, HostileServer, empty, iso

if t.TYPE_CHECKING:
    from tests.hostile import Mode

# Every portal's one event per endpoint is this old: inside any test's range.
EVENT_AGE = dt.timedelta(hours=1)
OWN_PORTALS_FROM = 1000


def token_of(handler: Handler) -> str:
    return (handler.headers.get("Authorization") or "").rpartition(" ")[2]


def portal_id_of(token: str) -> int:
    number = token.rpartition("-")[2]
    return OWN_PORTALS_FROM + int(number) if number.isdigit() else 9


def _within(handler: Handler, moment: dt.datetime) -> bool:
    """Whether `moment` is inside the request's time filter, if it has one."""
    query = {key: values[0] for key, values in handler.query.items()}
    if "occurredAfter" in query:
        low = dt.datetime.fromisoformat(query["occurredAfter"])
        return low < moment <= dt.datetime.fromisoformat(query["occurredBefore"])
    if "fromTimestamp" in query:
        stamp = moment.timestamp() * 1000
        return int(query["fromTimestamp"]) < stamp <= int(query["toTimestamp"])
    return True


def one_event_each(server: HostileServer, handler: Handler) -> None:
    """One event per endpoint (login, audit log, security), an hour old; CMS is quiet."""
    moment = NOW - EVENT_AGE
    if "/activity/login" in handler.route:
        record = {"id": "l1", "loginAt": iso(moment), "loginSucceeded": True, "userId": 7}
    elif "/activity/audit-logs" in handler.route:
        record = {"id": "a1", "occurredAt": iso(moment), "category": "LOGIN"}
    elif "/activity/security" in handler.route:
        record = {"id": "s1", "createdAt": iso(moment), "type": "LOGIN"}
    else:
        empty(server, handler)
        return
    handler.json({"results": [record] if _within(handler, moment) else []})


def portal_per_token(server: HostileServer, handler: Handler) -> None:
    """Each token is a portal of its own (see portal_id_of), with one event per endpoint.

    `server.state["late"]`, a {token: seconds} map, delays those tokens' details call.
    """
    if handler.route.endswith("/details"):
        token = token_of(handler)
        server.closing.wait(server.state.get("late", {}).get(token, 0))
        handler.json({"portalId": portal_id_of(token)})
        return
    one_event_each(server, handler)


def quiet_portal_per_token(server: HostileServer, handler: Handler) -> None:
    """Each token is a portal of its own, every endpoint one empty page."""
    if handler.route.endswith("/details"):
        handler.json({"portalId": portal_id_of(token_of(handler))})
        return
    empty(server, handler)


MODES: dict[str, Mode] = {
    "one_event_each": one_event_each,
    "portal_per_token": portal_per_token,
    "quiet_portal_per_token": quiet_portal_per_token,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("mode", choices=sorted(MODES))
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    with HostileServer(MODES[args.mode], args.host, attack_details=True) as server:
        print(server.url, flush=True)  # noqa: T201
        server.closing.wait()


if __name__ == "__main__":
    main()
