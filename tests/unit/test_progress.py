"""Progress lines on a fake clock: at most one per interval, rates, share and time left."""

from __future__ import annotations

import datetime as dt
import logging
import threading

from tap_hubspot_activity.engine.http.governor import RateLimitGovernor
from tap_hubspot_activity.engine.progress import Progress, duration

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
T_END = T0 + dt.timedelta(days=10)


def _messages(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records]


def test_a_windowed_read_tells_its_rate_share_and_time_left(caplog):
    now = [0.0]
    progress = Progress("audit_logs", T0, logging.getLogger("p"), end=T_END, clock=lambda: now[0])
    with caplog.at_level(logging.INFO, logger="p"):
        for second in range(1, 41):
            now[0] = float(second)
            progress.emitted(200, closed_until=T0 + dt.timedelta(days=second / 8))
            progress.page()
    lines = _messages(caplog)
    assert len(lines) == 4  # every 10 s over 40 s
    # 40 s in, 5 of 10 days closed at an even pace (the first events end 3 h in):
    # 49 % of the 9.875 days since, and 40 s more.
    assert lines[-1] == (
        "audit_logs: 8,000 records, 39 pages in 40 s (200 records/s, 1.0 pages/s), "
        "49% of the time range since the first events emitted (up to 2026-01-06T00:00:00.000000Z), "
        "about 40 s left at the recent pace"
    )


def test_the_time_left_follows_the_recent_pace_not_the_whole_run():
    now = [0.0]
    progress = Progress(
        "security_activity", T0, logging.getLogger("p"), end=T_END, clock=lambda: now[0]
    )
    # Nine quiet days in the first 10 s, then dense days: one day per 100 s.
    now[0] = 10.0
    progress.emitted(100, closed_until=T0 + dt.timedelta(days=9))
    for step in range(1, 7):
        now[0] = 10.0 + 10 * step
        progress.emitted(100, closed_until=T0 + dt.timedelta(days=9, hours=2.4 * step))
    # 0.4 day is left; the last minute closed 0.6 day: about 40 s, where the pace since
    # the start (9.6 days in 70 s) would have said 3 s.
    left = progress.seconds_left()
    assert left is not None
    assert 35 < left < 45


def test_a_stall_slows_the_pace():
    now = [0.0]
    progress = Progress("audit_logs", T0, logging.getLogger("p"), end=T_END, clock=lambda: now[0])
    progress.emitted(10, closed_until=T0 + dt.timedelta(days=1))
    now[0] = 10.0
    progress.emitted(10, closed_until=T0 + dt.timedelta(days=5))
    quick = progress.seconds_left()
    now[0] = 50.0  # nothing closed for 40 s
    slow = progress.seconds_left()
    assert quick is not None
    assert slow is not None
    assert slow > 4 * quick


def test_no_time_left_before_a_pace_can_be_measured():
    now = [0.0]
    progress = Progress("audit_logs", T0, logging.getLogger("p"), end=T_END, clock=lambda: now[0])
    now[0] = 2.0
    progress.emitted(10, closed_until=T0 + dt.timedelta(days=1))
    assert progress.seconds_left() is None
    assert "left" not in progress.line()
    assert "of the time range" in progress.line()


def test_a_chain_tells_counts_and_rates_without_a_share():
    now = [0.0]
    progress = Progress("login_activity", T0, logging.getLogger("p"), clock=lambda: now[0])
    now[0] = 4.0
    progress.page()
    progress.emitted(200)
    assert progress.share() is None
    assert (
        progress.line() == "login_activity: 200 records, 1 pages in 4 s (50 records/s, 0.2 pages/s)"
    )


def test_a_chain_logs_while_it_pages_before_any_record_is_emitted(caplog):
    now = [0.0]
    progress = Progress("login_activity", T0, logging.getLogger("p"), clock=lambda: now[0])
    with caplog.at_level(logging.INFO, logger="p"):
        for second in range(1, 26):
            now[0] = float(second)
            progress.page()
    assert _messages(caplog) == [
        "login_activity: 0 records, 10 pages in 10 s (0 records/s, 1.0 pages/s)",
        "login_activity: 0 records, 20 pages in 20 s (0 records/s, 1.0 pages/s)",
    ]


def test_the_closing_line_counts_only_the_pause_during_this_read(caplog):
    now = [0.0]
    paused = [3.0]  # the portal had paused before this read began
    progress = Progress(
        "audit_logs",
        T0,
        logging.getLogger("p"),
        end=T_END,
        paused=lambda: paused[0],
        clock=lambda: now[0],
    )
    progress.page()
    progress.emitted(1234, closed_until=T_END)
    now[0], paused[0] = 125.0, 7.5
    with caplog.at_level(logging.INFO, logger="p"):
        progress.finish()
    assert _messages(caplog) == [
        (
            "audit_logs: done, 1,234 records, 1 requests answered in 2 min 5 s (10 records/s); "
            "the portal's rate limit held requests for 4.5 s of it (wall clock)"
        )
    ]


def test_the_governor_pause_is_wall_clock_not_summed_over_waiting_threads():
    clock = [0.0]
    sleepers = threading.Semaphore(0)
    go = threading.Event()

    def sleep(_seconds: float) -> None:
        sleepers.release()
        go.wait(10)

    governor = RateLimitGovernor(clock=lambda: clock[0], sleep=sleep)
    governor.pause(5.0)
    threads = [threading.Thread(target=governor.wait_turn) for _ in range(2)]
    for thread in threads:
        thread.start()
    for _ in threads:
        assert sleepers.acquire(timeout=10)
    clock[0] = 3.0
    assert governor.paused_seconds() == 3.0  # a wait going on counts
    clock[0] = 5.0
    go.set()
    for thread in threads:
        thread.join()
    # Two requests waited through the same 5 s: 5 s of wall clock, not 10.
    assert governor.paused_seconds() == 5.0
    assert governor.requests_sent == 2


def test_durations_read_at_a_glance():
    assert [duration(s) for s in (4.4, 59.6, 185, 7800)] == [
        "4 s",
        "1 min 0 s",
        "3 min 5 s",
        "2 h 10 min",
    ]


def test_the_share_counts_from_the_first_events_not_from_empty_years():
    now = [0.0]
    long_ago = T0 - dt.timedelta(days=3650)
    progress = Progress(
        "audit_logs", long_ago, logging.getLogger("p"), end=T_END, clock=lambda: now[0]
    )
    now[0] = 1.0
    progress.emitted(0, closed_until=T0)  # ten empty years in one window
    assert progress.share() is None
    now[0] = 2.0
    progress.emitted(100, closed_until=T0 + dt.timedelta(days=1))
    for second in range(3, 13):
        now[0] = float(second)
        progress.emitted(100, closed_until=T0 + dt.timedelta(days=1 + (second - 2) * 0.4))
    # 4 of the 9 days after the first events, at 0.4 day/s: 5 days, about 12.5 s, left.
    assert 0.43 < progress.share() < 0.46
    left = progress.seconds_left()
    assert left is not None
    assert 11 < left < 14
