"""The retry budget on a fake clock: shared per portal, server hints capped, fast first contact."""

from __future__ import annotations

import logging

import pytest

from tap_hubspot_activity.engine.errors import (
    FatalError,
    RetryableError,
    StaleTokenError,
    UnreachableError,
)
from tap_hubspot_activity.engine.http.retry import RetryPolicy, retry_after_seconds


class FakeTime:
    """A clock and a stop flag whose waits move the clock instead of sleeping."""

    def __init__(self):
        self.now = 0.0
        self.waits = []

    def __call__(self):
        return self.now

    def is_set(self):
        return False

    def wait(self, seconds):
        self.waits.append(seconds)
        self.now += seconds
        return False


def _policy(clock, seconds=300):
    return RetryPolicy(
        max_retry_seconds=seconds, stop=clock, logger=logging.getLogger("test"), clock=clock
    )


def _failing(clock, error, cost=0.0):
    def attempt(deadline):
        clock.now += cost
        raise error

    return attempt


def test_a_request_gives_up_once_the_budget_is_spent():
    clock = FakeTime()
    with pytest.raises(FatalError, match="gave up on /x after"):
        _policy(clock).run(_failing(clock, RetryableError("HubSpot answered 503")), "/x")
    assert clock.now <= 300
    assert max(clock.waits) <= 60


def test_a_host_never_reached_fails_within_thirty_seconds():
    clock = FakeTime()
    with pytest.raises(FatalError, match="Connection refused"):
        _policy(clock).run(_failing(clock, UnreachableError("Connection refused")), "/details")
    assert clock.now <= 30


def test_a_portal_that_became_unreachable_shares_one_budget_across_its_streams():
    clock = FakeTime()
    policy = _policy(clock, seconds=100)
    policy.run(lambda deadline: "ok", "/details")  # reached once
    with pytest.raises(FatalError):
        policy.run(_failing(clock, UnreachableError("reset")), "/login")
    assert clock.now <= 100
    # The next stream's request finds the portal failing since then: no budget of its own.
    with pytest.raises(FatalError):
        policy.run(_failing(clock, UnreachableError("reset"), cost=1.0), "/security")
    assert clock.now <= 100 + 1.0


@pytest.mark.parametrize("header", ["100000", "1e12"])
def test_a_wait_longer_than_the_budget_gives_up_at_once(header):
    clock = FakeTime()
    error = RetryableError("429", wait_seconds=retry_after_seconds(header))
    with pytest.raises(FatalError, match=r"0 s to wait \(Retry-After"):
        _policy(clock).run(_failing(clock, error), "/x")
    assert clock.waits == []


@pytest.mark.parametrize("header", ["inf", "-5", "nan", "soon", ""])
def test_a_nonsense_retry_after_is_ignored(header):
    assert retry_after_seconds(header) is None


def test_the_deadline_of_an_attempt_is_capped_by_the_budget():
    clock = FakeTime()
    deadlines = []

    def attempt(deadline):
        deadlines.append(deadline)
        clock.now += 5
        raise RetryableError("slow")

    with pytest.raises(FatalError):
        _policy(clock, seconds=20).run(attempt, "/x")
    assert deadlines[0] == float("inf")  # the first attempt has only its own timeout
    assert all(deadline <= 20 for deadline in deadlines[1:])


def test_stale_token_retries_need_no_wait_but_are_bounded():
    clock = FakeTime()
    with pytest.raises(StaleTokenError):
        _policy(clock).run(_failing(clock, StaleTokenError("401")), "/x")
    assert clock.waits == []
