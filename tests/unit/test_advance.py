"""The progress rule of every paging read, page by page on made-up events (no HTTP)."""

from __future__ import annotations

import datetime as dt

import pytest

from tap_hubspot_activity.engine.errors import FatalError
from tap_hubspot_activity.engine.reads.advance import (
    MAX_EVENTS_IN_PLACE,
    MAX_STALLED_PAGES,
    Advance,
)
from tap_hubspot_activity.engine.timestamps import format_timestamp

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
PATH = "/account-info/2026-09/activity/login"
HORIZON = format_timestamp(T0 + dt.timedelta(days=1))


def _stamp(seconds: float) -> str:
    return format_timestamp(T0 + dt.timedelta(seconds=seconds))


def _events(first: int, count: int, *, step: float = -1.0) -> list[tuple[str, str]]:
    """`count` events with ids from `first`, `step` seconds apart (newest first)."""
    return [(_stamp(step * (first + index)), f"e{first + index}") for index in range(count)]


def _advance(**settings) -> Advance:
    return Advance(PATH, horizon=HORIZON, **settings)


def test_a_newest_first_read_moves_on_page_after_page():
    advance = _advance()
    for first in range(0, 5000, 200):
        assert advance.page(_events(first, 200)) == 200
    assert advance.stalled == 0
    assert advance.in_place == 0


def test_pages_without_a_new_event_end_the_read_after_the_bound():
    advance = _advance()
    advance.page(_events(0, 3))
    for turn in range(MAX_STALLED_PAGES):
        # The same events, reordered: no page is sent twice byte for byte.
        assert advance.page(_events(0, 3)[turn % 3 :] + _events(0, 3)[: turn % 3]) == 0
    with pytest.raises(FatalError, match=f"not moving: {MAX_STALLED_PAGES + 1} pages in a row"):
        advance.page(_events(0, 3)[::-1])


def test_a_new_event_starts_the_count_again():
    advance = _advance()
    advance.page(_events(0, 3))
    for round_ in range(3):
        for _ in range(MAX_STALLED_PAGES):
            advance.page([])
        assert advance.page(_events(10 + round_, 1)) == 1
    assert advance.stalled == 0


def test_empty_pages_count_as_pages_without_progress():
    advance = _advance()
    for _ in range(MAX_STALLED_PAGES):
        advance.page([])
    with pytest.raises(FatalError, match=PATH):
        advance.page([])


def test_two_result_sets_in_turn_end_the_read():
    advance = _advance()
    sets = [_events(0, 3), _events(3, 3)]
    advance.page(sets[0])
    advance.page(sets[1])
    for turn in range(MAX_STALLED_PAGES):
        assert advance.page(sets[turn % 2]) == 0
    with pytest.raises(FatalError, match="not moving"):
        advance.page(sets[MAX_STALLED_PAGES % 2])


def test_the_same_page_twice_and_a_cursor_twice_are_loops():
    advance = _advance()
    advance.page(_events(0, 2), b"page one")
    with pytest.raises(FatalError, match="same page twice"):
        advance.page(_events(2, 2), b"page one")
    advance.cursor("abc")
    with pytest.raises(FatalError, match="came round again"):
        advance.cursor("abc")


def test_events_from_the_future_are_never_progress():
    advance = _advance()
    later = [
        (format_timestamp(T0 + dt.timedelta(days=2, hours=turn)), f"f{turn}") for turn in range(12)
    ]
    for turn in range(MAX_STALLED_PAGES):
        assert advance.page([later[turn]]) == 0
    with pytest.raises(FatalError, match="not moving"):
        advance.page([later[-1]])
    assert not advance.events


def test_new_events_at_times_already_passed_end_the_read_after_the_bound():
    advance = _advance()
    moments = [_stamp(-index / 1000) for index in range(200)]

    def page(turn):
        return [(moment, f"p{turn}-{index}") for index, moment in enumerate(moments)]

    # The first page places the read; the next 100 bring 20,000 events in place.
    for turn in range(MAX_EVENTS_IN_PLACE // 200 + 1):
        assert advance.page(page(turn)) == 200
    assert advance.in_place == MAX_EVENTS_IN_PLACE
    with pytest.raises(FatalError, match="not moving on in time"):
        advance.page(page(-1))


def test_a_burst_in_one_millisecond_across_pages_is_progress():
    advance = _advance()
    advance.page(_events(0, 200))
    burst = _stamp(-500)
    for turn in range(20):
        advance.page([(burst, f"b{turn}-{index}") for index in range(200)])
    advance.page(_events(600, 200))
    assert advance.in_place == 0


def test_one_event_out_of_order_does_not_hold_the_position():
    advance = _advance()
    for first in range(0, 2000, 3):
        page = _events(first, 3)
        if first == 300:
            page[1] = (_stamp(-(10**7)), "stray")  # months older, in the middle of a page
        advance.page(page)
    assert advance.in_place == 0


def test_more_events_than_the_read_may_hold_end_it():
    advance = _advance(max_events=1000)
    for first in range(0, 1000, 200):
        advance.page(_events(first, 200))
    with pytest.raises(FatalError, match="passed 1,000 events in one read"):
        advance.page(_events(1000, 1))


def test_the_read_keeps_digests_not_ids():
    advance = _advance()
    advance.page([(_stamp(0), "x" * 10_000)])
    assert all(isinstance(key, int) and key.bit_length() <= 64 for key in advance.events)
