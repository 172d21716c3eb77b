"""Hostile servers whose paging never moves forward: fresh cursors, changing pages, endless windows.

Modes for tests/test_hostile_paging.py, on tests.hostile's HostileServer; each attacks one
endpoint and answers the others with an empty page.

    python -m tests.hostile_paging MODE   # one mode, standalone
"""

from __future__ import annotations

import argparse
import datetime as dt
import typing as t

from tests.hostile import NOW, Handler, HostileServer, empty, iso

# The dense attack keeps away from this moment: windows that end before it are quiet.
QUIET_UNTIL = NOW - dt.timedelta(days=10)
# The one millisecond of the audit log that never ends.
ENDLESS_AT = NOW - dt.timedelta(days=10)
# Rate-limit headers announcing a generous budget (HubSpot sends these headers with every
# answer): the attacks are read at the tap's own pace, not at the 100 requests per 10 s
# it assumes without them, so a bound of a hundred pages is reached in seconds.
GENEROUS = {
    "X-HubSpot-RateLimit-Max": "10000",
    "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
    "X-HubSpot-RateLimit-Remaining": "9999",
}


def _turn(server: HostileServer, key: str = "turn") -> int:
    """How many times this mode has answered `key` (1 the first time)."""
    server.state[key] = server.state.get(key, 0) + 1
    return server.state[key]


def _limit(handler: Handler) -> int:
    return int((handler.query.get("limit") or ["200"])[0])


def _login(event_id: str, moment: dt.datetime, **fields: t.Any) -> dict[str, t.Any]:
    return {"id": event_id, "loginAt": iso(moment), "loginSucceeded": True, "userId": 7, **fields}


def _audit(event_id: str, moment: dt.datetime, **fields: t.Any) -> dict[str, t.Any]:
    return {
        "id": event_id,
        "occurredAt": iso(moment),
        "category": "PROPERTY_VALUE",
        "action": "UPDATE",
        "actingUser": {"userId": 7},
        **fields,
    }


def _cms(moment: dt.datetime, index: int, **fields: t.Any) -> dict[str, t.Any]:
    return {
        "objectId": str(index),
        "objectName": "page",
        "objectType": "LANDING_PAGE",
        "event": "UPDATED",
        "userId": "7",
        "fullName": "Someone",
        "timestamp": iso(moment),
        "meta": {},
        **fields,
    }


def _window(handler: Handler) -> tuple[dt.datetime, dt.datetime]:
    """The audit-log window asked for."""
    low = dt.datetime.fromisoformat(handler.query["occurredAfter"][0])
    high = dt.datetime.fromisoformat(handler.query["occurredBefore"][0])
    return low, high


def _send(handler: Handler, results: list[dict[str, t.Any]], cursor: str | None) -> None:
    """A page of `results`, pointing to a next one at `cursor` (none if None)."""
    body: dict[str, t.Any] = {"results": results}
    if cursor is not None:
        body["paging"] = {"next": {"after": cursor}}
    handler.json(body, headers=GENEROUS)


def login_same_ids_changing(server: HostileServer, handler: Handler) -> None:
    """Login pages that ignore `after`: the same three events, one field changed, a fresh cursor."""
    if "/activity/login" not in handler.route:
        empty(server, handler)
        return
    turn = _turn(server)
    records = [
        _login(f"l{index}", NOW - dt.timedelta(hours=index), userAgent=f"agent {turn}")
        for index in (1, 2, 3)
    ]
    _send(handler, records, f"c{turn}")


def login_alternating(server: HostileServer, handler: Handler) -> None:
    """Login pages alternating between two result sets, a field changed every time."""
    if "/activity/login" not in handler.route:
        empty(server, handler)
        return
    turn = _turn(server)
    first = 1 if turn % 2 else 4
    records = [
        _login(f"l{index}", NOW - dt.timedelta(hours=index), location=f"place {turn}")
        for index in range(first, first + 3)
    ]
    _send(handler, records, f"c{turn}")


def login_growing_cursor(server: HostileServer, handler: Handler) -> None:
    """Login pages whose cursor grows by a byte each time, the same events in another order."""
    if "/activity/login" not in handler.route:
        empty(server, handler)
        return
    turn = _turn(server)
    after = (handler.query.get("after") or ["c"])[0]
    records = [
        _login(f"l{index}", NOW - dt.timedelta(hours=index), userAgent=f"agent {turn}")
        for index in (1, 2, 3)
    ]
    shift = turn % 3
    _send(handler, records[shift:] + records[:shift], after + "x")


def login_future(server: HostileServer, handler: Handler) -> None:
    """New login events every page, stamped days after now and moving on (time forward)."""
    if "/activity/login" not in handler.route:
        empty(server, handler)
        return
    turn = _turn(server)
    moment = NOW + dt.timedelta(days=2, hours=turn)
    records = [_login(f"f{turn}-{index}", moment + dt.timedelta(seconds=index)) for index in (0, 1)]
    _send(handler, records, f"c{turn}")


def login_in_place(server: HostileServer, handler: Handler) -> None:
    """Full login pages of new events, always at the same moments an hour ago."""
    if "/activity/login" not in handler.route:
        empty(server, handler)
        return
    turn = _turn(server)
    base = NOW - dt.timedelta(hours=1)
    records = [
        _login(f"p{turn}-{index}", base + dt.timedelta(milliseconds=index))
        for index in range(_limit(handler))
    ]
    _send(handler, records, f"c{turn}")


def login_receding(server: HostileServer, handler: Handler) -> None:
    """One new login event per page, each a day older than the last, never a last page."""
    if "/activity/login" not in handler.route:
        empty(server, handler)
        return
    turn = _turn(server)
    moment = NOW - dt.timedelta(days=turn - 0.5)
    _send(handler, [_login(f"r{turn}", moment)], f"c{turn}")


def audit_same_ids_changing(server: HostileServer, handler: Handler) -> None:
    """Audit-log pages that ignore `after`: the same events in the window, a field changed."""
    if "/activity/audit-logs" not in handler.route:
        empty(server, handler)
        return
    turn = _turn(server)
    low, high = _window(handler)
    step = (high - low) / 4
    records = [
        _audit(f"a{index}", low + step * index, subCategory=f"CONTACT {turn}")
        for index in (1, 2, 3)
    ]
    _send(handler, records, f"c{turn}")


def audit_dense_endless(server: HostileServer, handler: Handler) -> None:
    """Windows ending after QUIET_UNTIL dense and endless: full pages of new events, always more.

    A window that ends by QUIET_UNTIL holds one event and one page.
    """
    if "/activity/audit-logs" not in handler.route:
        empty(server, handler)
        return
    low, high = _window(handler)
    if high <= QUIET_UNTIL:
        _send(handler, [_audit(f"q{iso(low)}", low + (high - low) / 2)], None)
        return
    turn = _turn(server)
    # Oldest first from the window's start, a millisecond apart, round and round within
    # the window: each page tells a window longer than a minute to split where it stands,
    # and a shorter one never ends, all inside the range.
    base = low + dt.timedelta(milliseconds=1)
    span = max(1, (high - base) // dt.timedelta(milliseconds=1))
    offset = int((handler.query.get("after") or ["0"])[0])
    size = _limit(handler)
    records = [
        _audit(f"d{turn}-{index}", base + dt.timedelta(milliseconds=(offset + index) % span))
        for index in range(size)
    ]
    _send(handler, records, str(offset + size))


def audit_endless_moment(server: HostileServer, handler: Handler) -> None:
    """One millisecond, ENDLESS_AT, that never ends: full pages of new events, always more.

    A window without it holds one event and one page.
    """
    if "/activity/audit-logs" not in handler.route:
        empty(server, handler)
        return
    low, high = _window(handler)
    if not low < ENDLESS_AT < high:
        _send(handler, [_audit(f"q{iso(low)}-{iso(high)}", low + (high - low) / 2)], None)
        return
    turn = _turn(server)
    records = [_audit(f"m{turn}-{index}", ENDLESS_AT) for index in range(_limit(handler))]
    _send(handler, records, f"c{turn}")


def audit_outside_range(server: HostileServer, handler: Handler) -> None:
    """Full audit-log pages of new events, all a year before the window asked for."""
    if "/activity/audit-logs" not in handler.route:
        empty(server, handler)
        return
    turn = _turn(server)
    low, _ = _window(handler)
    base = low - dt.timedelta(days=365)
    records = [
        _audit(f"o{turn}-{index}", base + dt.timedelta(seconds=index))
        for index in range(_limit(handler))
    ]
    _send(handler, records, f"c{turn}")


def cms_same_events(server: HostileServer, handler: Handler) -> None:
    """CMS pages that ignore `after`: the same events, a display name changed each time."""
    if "/audit-logs" not in handler.route or "/activity/" in handler.route:
        empty(server, handler)
        return
    turn = _turn(server)
    records = [
        _cms(NOW - dt.timedelta(hours=index), index, fullName=f"Someone {turn}")
        for index in (1, 2, 3)
    ]
    _send(handler, records, f"c{turn}")


def cms_changing_meta(server: HostileServer, handler: Handler) -> None:
    """CMS pages of the same moments whose `meta` changes: every event looks new."""
    if "/audit-logs" not in handler.route or "/activity/" in handler.route:
        empty(server, handler)
        return
    turn = _turn(server)
    records = [
        _cms(NOW - dt.timedelta(hours=1, milliseconds=index), index, meta={"turn": turn})
        for index in range(_limit(handler))
    ]
    _send(handler, records, f"c{turn}")


MODES: dict[str, t.Callable[[HostileServer, Handler], None]] = {
    name: value
    for name, value in list(globals().items())
    if callable(value)
    and getattr(value, "__module__", "") == __name__
    and not name.startswith("_")
    and name.islower()
    and name != "main"
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("mode", choices=sorted(MODES))
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    with HostileServer(MODES[args.mode], args.host) as server:
        print(server.url, flush=True)  # noqa: T201
        server.closing.wait()


if __name__ == "__main__":
    main()
