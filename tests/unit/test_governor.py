"""The rate-limit governor's arithmetic, on a fake clock (the emulator tests cover HTTP)."""

from __future__ import annotations

import pytest

from tap_hubspot_activity.engine.governor import DailyQuotaReserveError, RateLimitGovernor


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
    governor.chains(+1)
    for _ in range(28):  # 38 less the chain's quarter (9), the first call included
        governor.wait_turn()
    assert clock.slept == []
    governor.wait_turn(first=True)  # the chain still goes at once
    assert clock.slept == []
    governor.wait_turn()  # a window request now waits for the window to roll
    assert clock.slept
    governor.chains(-1)
