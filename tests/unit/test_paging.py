"""Chains and windows read from a made-up server in memory: early stops and the window bounds."""

from __future__ import annotations

import contextlib
import datetime as dt
import typing as t

import pytest

from tap_hubspot_activity.engine.errors import FatalError
from tap_hubspot_activity.engine.reads.chain import EARLY_STOP_TAIL, read_chain
from tap_hubspot_activity.engine.reads.cuts import (
    MAX_WINDOW_RECORDS,
    MIN_SPLIT,
    MIN_WINDOW,
    TooDense,
)
from tap_hubspot_activity.engine.reads.paging import Endpoint
from tap_hubspot_activity.engine.reads.windowed import fetch_window
from tap_hubspot_activity.engine.timestamps import format_timestamp

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
PATH = "/account-info/2026-09/activity/audit-logs"
PAGE = 200


class _Server:
    """Answers GETs from `answer(params, turn)`; counts them."""

    def __init__(self, answer: t.Callable[[dict[str, t.Any], int], dict[str, t.Any]]) -> None:
        self.answer = answer
        self.requests = 0

    def get(self, path, params, rules, *, first=False):
        self.requests += 1
        return self.answer(params, self.requests)

    @contextlib.contextmanager
    def chain(self):
        yield


class _Shaper:
    def shape(self, raw, portal_id):
        return {**raw, "occurredAt": format_timestamp(dt.datetime.fromisoformat(raw["at"]))}


class _Progress:
    def page(self):
        pass


def _endpoint(server: _Server) -> Endpoint:
    return Endpoint(
        client=t.cast("t.Any", server),
        path=PATH,
        params={},
        rules=t.cast("t.Any", None),
        shaper=t.cast("t.Any", _Shaper()),
        portal_id=9,
        page_size=PAGE,
        progress=t.cast("t.Any", _Progress()),
    )


def _event(event_id: str, moment: dt.datetime) -> dict[str, t.Any]:
    return {"id": event_id, "at": moment.isoformat()}


def _endless(results: list[dict[str, t.Any]], turn: int) -> dict[str, t.Any]:
    return {"results": results, "paging": {"next": {"after": f"c{turn}"}}}


def test_a_newest_first_chain_of_small_pages_stops_once_past_the_range():
    def answer(params, turn):
        # One event a page, an hour older each time, never a last page.
        return _endless([_event(f"r{turn}", T0 - dt.timedelta(hours=turn))], turn)

    server = _Server(answer)
    start = T0 - dt.timedelta(hours=24, minutes=30)
    records = list(read_chain(_endpoint(server), start, T0))
    assert len(records) == 24
    assert server.requests == 24 + EARLY_STOP_TAIL


def test_a_record_out_of_order_between_small_pages_does_not_stop_a_chain():
    stray = T0 - dt.timedelta(days=400)
    moments = [T0 - dt.timedelta(hours=hours) for hours in range(1, 40)]
    moments[3:3] = [stray] * (EARLY_STOP_TAIL - 1)

    def answer(params, turn):
        page = {"results": [_event(f"s{turn}", moments[turn - 1])]}
        return page if turn == len(moments) else {**page, "paging": {"next": {"after": str(turn)}}}

    server = _Server(answer)
    records = list(read_chain(_endpoint(server), T0 - dt.timedelta(days=30), T0))
    assert len(records) == 39
    assert server.requests == len(moments)


def _dense(size: int = PAGE):
    """Pages of `size` new events in the window's first 50 ms, never a last page."""

    def answer(params, turn):
        low = params["occurredAfter"]
        return _endless(
            [_event(f"d{turn}-{i}", low + dt.timedelta(milliseconds=i % 50)) for i in range(size)],
            turn,
        )

    return answer


def _window_params(start, end):
    return {"occurredAfter": start, "occurredBefore": end}


def test_a_window_of_a_second_that_never_ends_fails_past_the_bound():
    server = _Server(_dense())
    with pytest.raises(FatalError, match="cannot be split further"):
        fetch_window(_endpoint(server), _window_params, T0, T0 + MIN_SPLIT, [0])
    assert server.requests == MAX_WINDOW_RECORDS // PAGE + 1


def test_a_minute_past_the_bound_is_split_not_read_whole():
    server = _Server(_dense())
    verdict = fetch_window(_endpoint(server), _window_params, T0, T0 + MIN_WINDOW, [0])
    assert isinstance(verdict, TooDense)
    assert server.requests == MAX_WINDOW_RECORDS // PAGE + 1


def test_a_window_of_short_endless_pages_is_split_past_the_bound():
    # Half pages: their density is never read, only the bound can end the window.
    server = _Server(_dense(PAGE // 2))
    held = [0]
    verdict = fetch_window(_endpoint(server), _window_params, T0, T0 + dt.timedelta(hours=1), held)
    assert isinstance(verdict, TooDense)
    assert held[0] == MAX_WINDOW_RECORDS + PAGE // 2


def test_a_window_flooded_from_outside_its_range_fails():
    def answer(params, turn):
        before = params["occurredAfter"] - dt.timedelta(days=365)
        return _endless([_event(f"o{turn}-{i}", before) for i in range(PAGE)], turn)

    server = _Server(answer)
    with pytest.raises(FatalError, match="does not honour the time filter"):
        fetch_window(_endpoint(server), _window_params, T0, T0 + dt.timedelta(hours=1), [0])
    assert server.requests == MAX_WINDOW_RECORDS // PAGE + 1
