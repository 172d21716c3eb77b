"""Paging that never moves forward ends in one plain line naming the endpoint (issue 25, class 1).

Every paging loop, cursor chain or time window, must bring events it has not seen, and
move on in time; an unsplittable window holds a bounded number of events. Each test runs
the tap as a process against a mode of tests/hostile_paging.py.
"""

from __future__ import annotations

import datetime as dt

import pytest

from tests import hostile_paging
from tests.hostile import HostileServer
from tests.hostile_cli import assert_plain_failure, config_for, run_cli

LOGIN = "/activity/login"
AUDIT = "/activity/audit-logs"
CMS = "/cms/v3/audit-logs/"
# The bounds are written out, not imported, so this module runs against older checkouts
# too. After the (at most two) pages that bring events, 10 pages without a new one
# (engine/advance.py's MAX_STALLED_PAGES) are tolerated and the 11th ends the read.
# 20,000 events (windows.py's MAX_WINDOW_RECORDS) in place or outside a window are, at
# 200 a page, 100 pages after the first, and the next one ends the read.
STALLED_REQUESTS = 2 + 10 + 1
FLOODED_REQUESTS = 1 + 20_000 // 200 + 1
# Memory stays that of a small run: digests of what was seen, never whole pages.
MAX_RSS_MB = 150


def _stream_records(run, stream):
    return [m["record"] for m in run.messages("RECORD") if m["stream"] == stream]


@pytest.mark.parametrize(
    "mode",
    [
        hostile_paging.login_same_ids_changing,
        hostile_paging.login_alternating,
        hostile_paging.login_growing_cursor,
    ],
)
def test_login_pages_that_bring_no_new_event_end_the_run(mode):
    with HostileServer(mode) as server:
        run = run_cli(config_for(server))
        requests = len(server.paths(LOGIN))
    assert_plain_failure(run, LOGIN, "not moving")
    assert requests <= STALLED_REQUESTS
    # A failed chain emits nothing and keeps no bookmark.
    assert not _stream_records(run, "login_activity")
    assert run.max_rss_mb < MAX_RSS_MB


def test_a_chain_stamped_ever_further_in_the_future_ends_the_run():
    with HostileServer(hostile_paging.login_future) as server:
        run = run_cli(config_for(server))
        requests = len(server.paths(LOGIN))
    assert_plain_failure(run, LOGIN, "not moving")
    assert requests <= STALLED_REQUESTS


@pytest.mark.parametrize(
    ("mode", "path", "settings"),
    [
        (hostile_paging.login_in_place, LOGIN, {}),
        # The CMS log has no ids: a changed `meta` makes every event look new.
        (hostile_paging.cms_changing_meta, CMS, {"cms_content_audit": True}),
    ],
)
def test_new_events_that_never_move_on_in_time_end_the_run(mode, path, settings):
    with HostileServer(mode) as server:
        run = run_cli(config_for(server, **settings))
        requests = len(server.paths(path))
    assert_plain_failure(run, path, "not moving on in time")
    assert requests <= FLOODED_REQUESTS
    assert run.max_rss_mb < MAX_RSS_MB


def test_cms_pages_that_bring_no_new_event_end_the_run():
    with HostileServer(hostile_paging.cms_same_events) as server:
        run = run_cli(config_for(server, cms_content_audit=True))
        requests = len(server.paths(CMS))
    assert_plain_failure(run, CMS, "not moving")
    assert requests <= STALLED_REQUESTS


def test_a_chain_of_one_event_pages_going_back_stops_once_past_the_range():
    with HostileServer(hostile_paging.login_receding) as server:
        run = run_cli(config_for(server))
        requests = len(server.paths(LOGIN))
    assert run.code == 0, run.stderr[-2000:]
    # 30 days of one event a day, then the ten older ones that prove the order.
    assert len(_stream_records(run, "login_activity")) == 30
    assert requests == 40


def test_audit_pages_that_bring_no_new_event_end_the_run():
    with HostileServer(hostile_paging.audit_same_ids_changing) as server:
        run = run_cli(config_for(server))
        requests = len(server.paths(AUDIT))
    assert_plain_failure(run, AUDIT, "not moving")
    assert requests <= STALLED_REQUESTS


def test_an_endless_millisecond_fails_after_emitting_the_windows_closed_before_it():
    with HostileServer(hostile_paging.audit_endless_moment) as server:
        run = run_cli(config_for(server))
        requests = len(server.paths(AUDIT))
    assert_plain_failure(run, AUDIT, "cannot be split")
    # A page for each split above a minute; below, 101 pages before each of the (at most
    # two) splits from a minute to a second, and before the failure.
    assert requests <= 3 * FLOODED_REQUESTS + 60
    assert run.max_rss_mb < MAX_RSS_MB
    endless_at = hostile_paging.ENDLESS_AT
    emitted = _stream_records(run, "audit_logs")
    assert emitted
    assert all(dt.datetime.fromisoformat(r["occurredAt"]) < endless_at for r in emitted)
    bookmarks = run.messages("STATE")[-1]["value"]["bookmarks"]["audit_logs"]
    assert dt.datetime.fromisoformat(bookmarks["replication_key_value"]) <= endless_at


def test_a_window_flooded_with_events_outside_its_range_ends_the_run():
    with HostileServer(hostile_paging.audit_outside_range) as server:
        run = run_cli(config_for(server))
        requests = len(server.paths(AUDIT))
    assert_plain_failure(run, AUDIT, "does not honour the time filter")
    assert requests <= FLOODED_REQUESTS
    assert not _stream_records(run, "audit_logs")
