"""Full and incremental syncs against the emulator, reconciled with its ground truth."""

from __future__ import annotations

import datetime as dt
import json
import time
import typing as t
from collections import Counter

import pytest

from hubspot_emulator import EmulatorConfig, HubSpotEmulator
from tests.conftest import SMALL_PORTAL, STREAMS, TOKEN, run_tap, tap_config, truth_ids


def test_full_sync_equals_truth(emulator):
    emulator.reset_stats()
    run = run_tap(tap_config(emulator))
    for stream in STREAMS:
        ids = run.ids(stream)
        assert len(ids) == len(set(ids)), f"{stream} emitted duplicates"
        assert sorted(ids) == sorted(truth_ids(emulator, stream)), stream
        assert len(ids) > 50
    record = run.records["security_activity"][0]
    assert record["portalId"] == 62515
    assert record["occurredAt"].endswith("Z")
    assert len(record["occurredAt"]) == len("2025-02-07T19:36:24.303000Z")
    assert record["occurredAt"][:23] == record["createdAt"][:23]
    login = run.records["login_activity"][0]
    assert login["occurredAt"][:23] == login["loginAt"][:23]
    bookmarks = run.state["bookmarks"]
    for stream in STREAMS:
        emitted = max(r["occurredAt"] for r in run.records[stream])
        assert bookmarks[stream]["replication_key_value"] == emitted


def test_windowed_streams_emit_ascending(emulator):
    run = run_tap(tap_config(emulator))
    for stream in ("audit_logs", "security_activity"):
        times = [r["occurredAt"] for r in run.records[stream]]
        assert times == sorted(times)


@pytest.mark.parametrize("order", ["asc", "desc"])
@pytest.mark.parametrize("bounds", ["inclusive", "exclusive"])
def test_every_sort_order_and_bound_kind(fresh_emulator, order, bounds):
    fresh_emulator.configure(
        sort={"login": order, "audit-logs": order, "security": order},
        after_bound=bounds,
        before_bound=bounds,
    )
    # Odd, small pages put same-millisecond bursts across page boundaries.
    run = run_tap(tap_config(fresh_emulator, page_size=7))
    for stream in STREAMS:
        ids = run.ids(stream)
        assert len(ids) == len(set(ids)), stream
        assert sorted(ids) == sorted(truth_ids(fresh_emulator, stream)), stream


@pytest.mark.parametrize("max_concurrency", [1, 3])
def test_streams_are_read_side_by_side_within_max_concurrency(fresh_emulator, max_concurrency):
    # Latency keeps requests in flight long enough for the emulator to see them overlap.
    fresh_emulator.configure(latency_ms=40)
    fresh_emulator.reset_stats()
    run = run_tap(tap_config(fresh_emulator, page_size=50, max_concurrency=max_concurrency))
    for stream in STREAMS:
        assert sorted(run.ids(stream)) == sorted(truth_ids(fresh_emulator, stream)), stream
    stats = fresh_emulator.stats()
    # 1 reads sequentially; otherwise later streams are read while the first is emitted,
    # and all of them share the portal's max_concurrency.
    assert stats["peak_concurrency"] == max_concurrency
    assert stats["peak_paths_in_flight"] == min(max_concurrency, 3)


@pytest.fixture(scope="module")
def dense_emulator() -> t.Iterator[HubSpotEmulator]:
    """About 12,000 security events: read in many windows, most of them split."""
    config = EmulatorConfig(
        seed=31, **{**SMALL_PORTAL, "security_per_day": 400.0, "history_days": 30}
    )
    with HubSpotEmulator(config) as emulator:
        yield emulator


@pytest.mark.parametrize("order", ["asc", "desc"])
@pytest.mark.parametrize("bounds", ["inclusive", "exclusive"])
def test_dense_windows_split_under_every_order_and_bound(dense_emulator, order, bounds):
    dense_emulator.configure(sort={"security": order}, after_bound=bounds, before_bound=bounds)
    run = run_tap(tap_config(dense_emulator, page_size=50, max_concurrency=4))
    assert ": splitting " in run.log
    records = run.records["security_activity"]
    times = [record["occurredAt"] for record in records]
    assert times == sorted(times)
    ids = run.ids("security_activity")
    assert len(ids) == len(set(ids))
    assert sorted(ids) == sorted(truth_ids(dense_emulator, "security_activity"))
    bookmark = run.state["bookmarks"]["security_activity"]["replication_key_value"]
    assert bookmark == times[-1]


def test_window_bounds_at_exact_event_times(fresh_emulator):
    """start_date and end_date equal to real event times: start included, end excluded."""
    events = fresh_emulator.truth("security")
    start, end = events[10]["createdAt"], events[-10]["createdAt"]
    for bounds in ("inclusive", "exclusive"):
        fresh_emulator.configure(after_bound=bounds, before_bound=bounds)
        run = run_tap(tap_config(fresh_emulator, start_date=start, end_date=end))
        since = dt.datetime.fromisoformat(start)
        until = dt.datetime.fromisoformat(end)
        expected = truth_ids(fresh_emulator, "security_activity", since=since, until=until)
        assert sorted(run.ids("security_activity")) == sorted(expected)
        assert events[10]["id"] in run.ids("security_activity")
        assert events[-10]["id"] not in run.ids("security_activity")


def test_window_edges_between_milliseconds(fresh_emulator):
    """Edges inside a millisecond (split windows have them) keep the events around them."""
    events = fresh_emulator.truth("security")
    half_ms = dt.timedelta(microseconds=500)
    first, last = events[10], events[-10]
    start = dt.datetime.fromisoformat(first["createdAt"]) + half_ms
    end = dt.datetime.fromisoformat(last["createdAt"]) + half_ms
    fresh_emulator.configure(after_bound="exclusive", before_bound="exclusive")
    run = run_tap(
        tap_config(fresh_emulator, start_date=start.isoformat(), end_date=end.isoformat())
    )
    expected = truth_ids(fresh_emulator, "security_activity", since=start, until=end)
    assert sorted(run.ids("security_activity")) == sorted(expected)
    assert last["id"] in run.ids("security_activity")
    assert first["id"] not in run.ids("security_activity")


def test_bursts_sharing_a_millisecond_survive_small_pages(emulator):
    events = emulator.truth("audit-logs")
    stamps = [event["occurredAt"] for event in events]
    shared = {stamp for stamp in stamps if stamps.count(stamp) > 2}
    assert shared, "the data set should hold same-millisecond bursts"
    run = run_tap(tap_config(emulator, page_size=2))
    emitted = [r["occurredAt"][:23] + "Z" for r in run.records["audit_logs"]]
    for stamp in shared:
        assert emitted.count(stamp) == stamps.count(stamp)


def test_incremental_run_reads_only_new_events_and_late_ones(fresh_emulator):
    config = tap_config(fresh_emulator, lookback_minutes=30)
    first = run_tap(config)
    fresh_emulator.reset_stats()
    new = {stream: fresh_emulator.add_events(STREAMS[stream], 3) for stream in STREAMS}
    late = {
        stream: fresh_emulator.add_events(STREAMS[stream], 2, late_minutes=10) for stream in STREAMS
    }
    # An event stamped in the very millisecond a sync starts belongs to the next sync.
    time.sleep(0.01)
    second = run_tap(config, state=first.state)
    for stream in STREAMS:
        wanted = {str(e["id"]) for e in new[stream] + late[stream]}
        assert wanted <= set(second.ids(stream)), stream
        union = set(first.ids(stream)) | set(second.ids(stream))
        assert union == set(truth_ids(fresh_emulator, stream)), stream
        # Only the lookback overlap is read again, not history.
        assert len(second.ids(stream)) < len(first.ids(stream)) / 4, stream
    stats = fresh_emulator.stats()
    assert stats["total_requests"] <= 8


def test_unchanged_portal_costs_one_request_per_stream(fresh_emulator):
    config = tap_config(fresh_emulator, lookback_minutes=0, page_size=200)
    first = run_tap(config)
    fresh_emulator.reset_stats()
    second = run_tap(config, state=first.state)
    stats = fresh_emulator.stats()
    # details + one page per stream.
    assert stats["total_requests"] == 4, stats
    assert second.state["bookmarks"]["audit_logs"] == first.state["bookmarks"]["audit_logs"]


def test_end_date_and_start_date_are_respected(emulator):
    now = dt.datetime.now(dt.UTC)
    start, end = now - dt.timedelta(days=20), now - dt.timedelta(days=5)
    run = run_tap(tap_config(emulator, start_date=start.isoformat(), end_date=end.isoformat()))
    for stream in STREAMS:
        expected = truth_ids(emulator, stream, since=start, until=end)
        assert sorted(run.ids(stream)) == sorted(expected), stream
        assert all(start.isoformat() <= r["occurredAt"] for r in run.records[stream])
        bookmark = run.state["bookmarks"][stream]["replication_key_value"]
        assert dt.datetime.fromisoformat(bookmark) < end


def test_user_ids_filter(emulator):
    users = sorted({e["userId"] for e in emulator.truth("security")})[:2]
    run = run_tap(tap_config(emulator, user_ids=users))
    assert {r["userId"] for r in run.records["security_activity"]} <= set(users)
    assert sorted(run.ids("security_activity")) == sorted(
        truth_ids(emulator, "security_activity", user_ids=users)
    )
    assert sorted(run.ids("login_activity")) == sorted(
        truth_ids(emulator, "login_activity", user_ids=users)
    )
    assert {r["actingUser"]["userId"] for r in run.records["audit_logs"]} <= set(users)
    assert sorted(run.ids("audit_logs")) == sorted(
        truth_ids(emulator, "audit_logs", user_ids=users)
    )


def test_login_paging_stops_early_only_when_order_proves_it(fresh_emulator):
    recent = (dt.datetime.now(dt.UTC) - dt.timedelta(days=2)).isoformat()
    config = tap_config(fresh_emulator, start_date=recent, page_size=20)
    path = "/account-info/2026-09/activity/login 200"
    expected = truth_ids(fresh_emulator, "login_activity", since=dt.datetime.fromisoformat(recent))
    for order in ("desc", "asc"):
        fresh_emulator.configure(sort={"login": order})
        fresh_emulator.reset_stats()
        run = run_tap({**config, "start_date": recent})
        assert sorted(run.ids("login_activity")) == sorted(expected), order
        pages = fresh_emulator.stats()["requests"].get(path, 0)
        all_pages = -(-len(fresh_emulator.truth("login")) // 20)
        if order == "desc":
            assert 0 < pages < all_pages / 4, pages
        else:
            assert pages == all_pages


def test_date_version_paths(emulator):
    emulator.reset_stats()
    run = run_tap(tap_config(emulator, api_version="2026-03"))
    assert sorted(run.ids("audit_logs")) == sorted(truth_ids(emulator, "audit_logs"))
    requests = emulator.stats()["requests"]
    assert any(key.startswith("/account-info/2026-03/activity/audit-logs") for key in requests)
    assert not any(key.startswith("/account-info/v3/activity/") for key in requests)


@pytest.mark.parametrize(("setting", "path"), [(None, "2026-09"), ("v3", "v3")])
def test_the_default_version_is_the_newest_date_one_and_v3_still_works(emulator, setting, path):
    emulator.reset_stats()
    overrides = {} if setting is None else {"api_version": setting}
    run = run_tap({**tap_config(emulator), **overrides})
    assert sorted(run.ids("security_activity")) == sorted(truth_ids(emulator, "security_activity"))
    paths = {
        key.split("/activity/")[0] for key in emulator.stats()["requests"] if "/activity/" in key
    }
    assert paths == {f"/account-info/{path}"}
    # The portal's details too: v3 paths go unsupported in September 2027.
    details = [key for key in emulator.stats()["requests"] if "/details" in key]
    assert details == [f"/account-info/{path}/details 200"]


def test_unknown_fields_do_not_break_a_run(fresh_emulator):
    fresh_emulator.configure(extra_fields=True)
    run = run_tap(tap_config(fresh_emulator))
    assert sorted(run.ids("login_activity")) == sorted(truth_ids(fresh_emulator, "login_activity"))


def test_token_never_in_output(emulator):
    run = run_tap(tap_config(emulator))
    assert TOKEN not in run.output
    assert TOKEN not in run.log


def test_no_state_passes_an_event_before_its_manifest():
    # Dense enough that STATEs fall inside the audit log's windows, not only after them.
    busy = EmulatorConfig(seed=5, **{**SMALL_PORTAL, "audits_per_day": 400.0})
    with HubSpotEmulator(busy) as emulator:
        run = run_tap(tap_config(emulator, cms_content_audit=True))
    listed: Counter[tuple[str, str]] = Counter()
    emitted: list[tuple[str, str, str]] = []
    checked = 0
    for line in filter(None, run.output.split("\n")):
        message = json.loads(line)
        if message["type"] == "RECORD" and message["stream"] == "sync_manifests":
            manifest = message["record"]
            listed.update((manifest["stream"], event_id) for event_id in manifest["ids"])
        elif message["type"] == "RECORD":
            record = message["record"]
            emitted.append((message["stream"], record["id"], record["occurredAt"]))
        elif message["type"] == "STATE":
            bookmarks = message["value"]["bookmarks"]
            for stream, event_id, occurred_at in emitted:
                bookmark = bookmarks.get(stream, {}).get("replication_key_value")
                if bookmark and occurred_at <= bookmark:
                    checked += 1
                    assert (stream, event_id) in listed, (stream, event_id)
    # Mid-stream STATEs of the audit log moved its bookmark past earlier events.
    audit = sum(stream == "audit_logs" for stream, _, _ in emitted)
    assert audit > 20_000
    assert checked > 2 * len(emitted)
    # Every event emitted is listed once, and nothing else is.
    assert listed == Counter((stream, event_id) for stream, event_id, _ in emitted)
