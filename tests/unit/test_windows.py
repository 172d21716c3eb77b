"""Windows cut by density and the schedule's emit order, with fake fetches (no HTTP)."""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import threading
import time

import pytest

from tap_hubspot_activity.engine.errors import FatalError
from tap_hubspot_activity.engine.reads.cuts import (
    MAX_PIECES,
    SPLIT_ABOVE,
    TARGET_WINDOW_RECORDS,
    TooDense,
    give_up_early,
)
from tap_hubspot_activity.engine.reads.schedule import WindowSchedule
from tap_hubspot_activity.engine.timestamps import format_timestamp

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
LOG = logging.getLogger("test")


def _page(start, seconds, count, *, oldest_first=True):
    stamps = [
        format_timestamp(start + dt.timedelta(seconds=seconds * i / count)) for i in range(count)
    ]
    return stamps if oldest_first else stamps[::-1]


def test_a_sparse_page_keeps_the_window():
    page = _page(T0, 3600, 200)  # 200 events in the first hour of a day
    assert give_up_early(page, T0, T0 + dt.timedelta(hours=2), 200) is None


@pytest.mark.parametrize("oldest_first", [True, False])
def test_a_dense_page_splits_the_side_still_ahead(oldest_first):
    end = T0 + dt.timedelta(days=10)
    if oldest_first:
        page = _page(T0, 60, 200)  # 200 events in the first minute: ~2.9M ahead
    else:
        page = _page(end - dt.timedelta(seconds=60), 60, 200, oldest_first=False)
    verdict = give_up_early(page, T0, end, 200)
    assert isinstance(verdict, TooDense)
    assert verdict.estimate > SPLIT_ABOVE
    pieces = verdict.pieces()
    # The part already read stays one piece; the rest is cut, at most MAX_PIECES.
    assert 2 <= len(pieces) <= MAX_PIECES + 1
    assert pieces[0][0] == T0
    assert pieces[-1][1] == end
    for (_, high, _), (low, _, _) in itertools.pairwise(pieces):
        assert high == low  # no gap, no overlap


def test_pieces_are_cut_for_the_target_size():
    verdict = TooDense(((T0, T0 + dt.timedelta(days=4), 4 * TARGET_WINDOW_RECORDS),))
    assert len(verdict.pieces()) == 4


def _fake_events(start, end, every):
    moment, events = start, []
    while moment < end:
        events.append({"id": format_timestamp(moment), "occurredAt": format_timestamp(moment)})
        moment += every
    return events


def _schedule(fetch, *, end=None, workers=4, stop=None):
    return WindowSchedule(
        name="test",
        start=T0,
        end=end or T0 + dt.timedelta(days=8),
        fetch=fetch,
        workers=workers,
        stop=stop or threading.Event(),
        logger=LOG,
    )


def test_windows_are_emitted_oldest_first_whatever_order_they_finish_in():
    calls = []

    def fetch(low, high, held):
        calls.append((low, high))
        if high - low > dt.timedelta(days=1):
            middle = low + (high - low) / 2
            return TooDense(((low, middle, 2000.0), (middle, high, 2000.0)))
        # Older windows take longer: they finish last.
        time.sleep(0.02 * (8 - (low - T0).days))
        events = _fake_events(low, high, dt.timedelta(hours=1))
        held[0] = len(events)
        return events

    emitted = []
    for high, batch in _schedule(fetch).closed_windows():
        assert all(record["occurredAt"] < format_timestamp(high) for record in batch)
        emitted.extend(record["occurredAt"] for record in batch)
    assert emitted == sorted(emitted)
    assert len(emitted) == 8 * 24
    assert len(calls) > 8


def test_at_most_workers_fetches_are_in_flight():
    in_flight, peak, lock = [0], [0], threading.Lock()

    def fetch(low, high, held):
        with lock:
            in_flight[0] += 1
            peak[0] = max(peak[0], in_flight[0])
        if high - low > dt.timedelta(hours=12):
            pieces = tuple(
                (low + (high - low) * i / 4, low + (high - low) * (i + 1) / 4, 500.0)
                for i in range(4)
            )
            result = TooDense(pieces)
        else:
            time.sleep(0.05)
            result = []
        with lock:
            in_flight[0] -= 1
        return result

    list(_schedule(fetch, workers=3).closed_windows())
    assert peak[0] == 3


def test_a_failed_window_fails_the_schedule():
    def fetch(low, high, held):
        msg = "HubSpot answered 400"
        raise FatalError(msg)

    with pytest.raises(FatalError, match="400"):
        list(_schedule(fetch).closed_windows())


def _wait_for(condition, seconds=10.0):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the fetches did not finish"
        time.sleep(0.01)


def test_windows_closed_before_a_failed_one_are_still_given():
    def fetch(low, high, held):
        if high - low > dt.timedelta(days=2):  # the whole range: four windows of 2 days
            return TooDense(((low, high, 4.0 * TARGET_WINDOW_RECORDS),))
        if low >= T0 + dt.timedelta(days=4):
            # Failing only once the windows before are fetched: a failure seen while the
            # oldest window is still awaited would rightly raise at once.
            failing = T0 + dt.timedelta(days=4)
            _wait_for(lambda: all(w.done for w in schedule.windows if w.low < failing))
            msg = "HubSpot answered 400"
            raise FatalError(msg)
        return _fake_events(low, high, dt.timedelta(hours=6))

    schedule = _schedule(fetch)
    given = []

    def consume():
        for high, _ in schedule.closed_windows():
            given.append(high)
            # Every fetch ends (the failures among them) before the next window is asked for.
            _wait_for(lambda: all(window.done for window in schedule.windows))

    with pytest.raises(FatalError, match="400"):
        consume()
    assert given == [T0 + dt.timedelta(days=2), T0 + dt.timedelta(days=4)]


def test_pieces_are_never_cut_inside_a_millisecond():
    odd = dt.timedelta(microseconds=333)
    end = T0 + dt.timedelta(seconds=7, microseconds=777)
    parts = (
        (T0 + odd, T0 + dt.timedelta(seconds=1) + odd, 200.0),
        (T0 + dt.timedelta(seconds=1) + odd, end, 9e9),
    )
    pieces = TooDense(parts).pieces()
    assert pieces[0][0] == T0 + odd
    assert pieces[-1][1] == end
    for (_, high, _), (low, _, _) in itertools.pairwise(pieces):
        assert high == low
        assert low.microsecond % 1000 == 0
    assert all(low < high for low, high, _ in pieces)


def test_a_millisecond_is_never_split():
    # The part ahead of a dense millisecond is a millisecond: no cut can fall inside it.
    parts = ((T0, T0 + dt.timedelta(milliseconds=5), 200.0),)
    parts += ((T0 + dt.timedelta(milliseconds=5), T0 + dt.timedelta(milliseconds=6), 9e9),)
    pieces = TooDense(parts).pieces()
    assert all(low.microsecond % 1000 == 0 for low, _, _ in pieces)
    assert pieces[-1][:2] == (T0 + dt.timedelta(milliseconds=5), T0 + dt.timedelta(milliseconds=6))
