"""The rate-limit governor's arithmetic, on a fake clock (the emulator tests cover HTTP)."""

from __future__ import annotations

import pytest

from tap_hubspot_activity.engine.errors import DailyQuotaReserveError
from tap_hubspot_activity.engine.http.governor import RateLimitGovernor


class FakeClock:
    def __init__(self):
        self.now = 1000.0
        self.slept = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


def _response(**headers):
    return {f"X-HubSpot-RateLimit-{k}": str(v) for k, v in headers.items()}


@pytest.fixture
def clock():
    return FakeClock()


def test_budget_is_learned_from_headers_and_kept_under(clock):
    governor = RateLimitGovernor(clock=clock, sleep=clock.sleep)
    governor.wait_turn()
    governor.observe(_response(**{"Max": 20, "Interval-Milliseconds": 2000, "Remaining": 19}))
    assert governor.budget == 18
    for _ in range(17):
        governor.wait_turn()
    assert clock.slept == []
    governor.wait_turn()  # the 19th within the window must wait for the first to expire
    assert clock.slept
    assert clock.slept[0] == pytest.approx(2.0 + 0.15)


def test_pause_holds_every_request(clock):
    governor = RateLimitGovernor(clock=clock, sleep=clock.sleep)
    governor.pause(10)
    governor.wait_turn()
    assert sum(clock.slept) == pytest.approx(10)


def test_low_remaining_from_other_clients_pauses_half_a_window(clock):
    governor = RateLimitGovernor(clock=clock, sleep=clock.sleep)
    governor.wait_turn()
    governor.observe(_response(**{"Max": 100, "Interval-Milliseconds": 10000, "Remaining": 2}))
    governor.wait_turn()
    assert sum(clock.slept) == pytest.approx(5)


def test_daily_reserve_stops_and_reordered_answers_cannot_raise_the_count(clock):
    governor = RateLimitGovernor(daily_quota_reserve=5, clock=clock, sleep=clock.sleep)
    governor.wait_turn()
    governor.observe(_response(**{"Daily-Remaining": 9}))
    for _ in range(3):
        governor.wait_turn()
    # An answer that overtook others reports more calls left than we know remain.
    governor.observe(_response(**{"Daily-Remaining": 8}))
    assert governor.daily_remaining == 6
    governor.wait_turn()
    with pytest.raises(DailyQuotaReserveError, match="daily_quota_reserve keeps 5"):
        governor.wait_turn()


def test_midnight_reset_is_believed(clock):
    governor = RateLimitGovernor(daily_quota_reserve=5, clock=clock, sleep=clock.sleep)
    governor.wait_turn()
    governor.observe(_response(**{"Daily-Remaining": 7}))
    governor.wait_turn()
    governor.observe(_response(**{"Daily-Remaining": 999_000}))
    assert governor.daily_remaining == 999_000


def test_an_interval_of_three_years_is_believed_only_up_to_a_minute(clock):
    governor = RateLimitGovernor(clock=clock, sleep=clock.sleep)
    governor.wait_turn()
    governor.observe(_response(**{"Max": 3, "Interval-Milliseconds": 100_000_000_000}))
    governor.wait_turn()  # the budget of 3 leaves 1 a window: this one waits
    assert clock.slept
    assert max(clock.slept) <= 61.5  # the 60 s believed, and its 2 % of slack


@pytest.mark.parametrize("value", ["inf", "nan", "1e400", "-5", "x"])
def test_nonsense_rate_limit_headers_are_ignored(clock, value):
    governor = RateLimitGovernor(clock=clock, sleep=clock.sleep)
    governor.observe(_response(**{"Max": value, "Interval-Milliseconds": value}))
    assert governor.budget == 95  # the default budget stands


def test_while_a_chain_runs_other_requests_leave_it_part_of_the_budget(clock):
    governor = RateLimitGovernor(clock=clock, sleep=clock.sleep)
    governor.wait_turn()
    governor.observe(_response(**{"Max": 40, "Interval-Milliseconds": 10_000}))
    assert governor.budget == 38
    with governor.priority.chain():
        for _ in range(28):  # 38 less the chain's quarter (9), the first call included
            governor.wait_turn()
        assert clock.slept == []
        governor.wait_turn(first=True)  # the chain still goes at once
        assert clock.slept == []
        governor.wait_turn()  # a window request now waits for the window to roll
        assert clock.slept


def _warned(clock):
    warnings: list[str] = []
    return RateLimitGovernor(clock=clock, sleep=clock.sleep, warn=warnings.append), warnings


def test_a_pause_past_the_documented_interval_is_warned_about_once_naming_the_header(clock):
    governor, warnings = _warned(clock)
    governor.wait_turn()
    headers = {"Max": 100, "Interval-Milliseconds": 24_000, "Remaining": 0}
    governor.observe(_response(**headers))
    governor.wait_turn()  # half the interval: 12 s
    governor.observe(_response(**headers))
    governor.wait_turn()
    assert sum(clock.slept) == pytest.approx(24)
    assert len(warnings) == 1
    assert "hold requests for 12.0 s" in warnings[0]
    assert "X-HubSpot-RateLimit-Remaining: 0" in warnings[0]
    assert "X-HubSpot-RateLimit-Interval-Milliseconds: 24000" in warnings[0]
    assert "10 s interval HubSpot documents" in warnings[0]


def test_a_rolling_window_longer_than_documented_is_warned_about(clock):
    governor, warnings = _warned(clock)
    governor.wait_turn()
    governor.observe(_response(**{"Max": 3, "Interval-Milliseconds": 100_000_000_000}))
    governor.wait_turn()  # a budget of 1: the window of 60 s believed must roll
    assert len(warnings) == 1
    assert "X-HubSpot-RateLimit-Interval-Milliseconds: 100000000000" in warnings[0]
    assert "at most 60 s" in warnings[0]


def test_a_long_retry_after_holding_the_portal_is_named(clock):
    governor, warnings = _warned(clock)
    governor.pause(45, "Retry-After: 45")
    governor.wait_turn()
    assert "hold requests for 45.0 s (Retry-After: 45)" in warnings[0]


def test_waits_within_the_documented_interval_are_not_warned_about(clock):
    governor, warnings = _warned(clock)
    governor.wait_turn()
    governor.observe(_response(**{"Max": 10, "Interval-Milliseconds": 10_000, "Remaining": 0}))
    governor.wait_turn()  # 5 s: half the window
    governor.pause(10)  # a 429 without Retry-After: the window's 10 s
    governor.wait_turn()
    for _ in range(10):
        governor.wait_turn()  # the budget of 8 per 10 s: waits for the window to roll
    assert clock.slept
    assert max(clock.slept) <= 10.2 + 1e-9  # the window and its slack at most
    assert warnings == []
