"""When a stream of many partitions writes a STATE between them: a tenth at a time, or by time."""

from __future__ import annotations

from tap_hubspot_activity.checkpoints import Checkpoints


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _due_after_each(checkpoints: Checkpoints, partitions: int) -> list[int]:
    due = []
    for index in range(partitions):
        if checkpoints.due():
            due.append(index)  # before partition `index` begins
        checkpoints.ended_one()
    return due


def test_a_state_is_due_every_tenth_of_the_partitions():
    assert _due_after_each(Checkpoints(100, clock=Clock()), 100) == list(range(10, 100, 10))
    assert len(_due_after_each(Checkpoints(10_000, clock=Clock()), 10_000)) == 9


def test_few_partitions_write_one_state_each_and_none_before_the_first_ends():
    checkpoints = Checkpoints(3, clock=Clock())
    assert not checkpoints.due()
    assert _due_after_each(checkpoints, 3) == [1, 2]


def test_slow_partitions_write_a_state_every_interval_once_one_ended():
    clock = Clock()
    checkpoints = Checkpoints(1000, every=300, clock=clock)
    clock.now = 400
    assert not checkpoints.due()  # none ended yet: nothing new to write
    checkpoints.ended_one()
    assert checkpoints.due()
    checkpoints.ended_one()
    clock.now = 650
    assert not checkpoints.due()  # 250 s since the last one
    clock.now = 700
    assert checkpoints.due()
