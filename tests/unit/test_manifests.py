"""Manifests: one per closed window, chains cut at timestamp boundaries, spooled in place."""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import threading
import typing as t

from tap_hubspot_activity.engine.dedup import RunIds
from tap_hubspot_activity.engine.manifests import Manifest, ManifestScope
from tap_hubspot_activity.engine.progress import Progress
from tap_hubspot_activity.engine.reads.windowed import spool_windows
from tap_hubspot_activity.engine.spool import Spool
from tap_hubspot_activity.engine.timestamps import format_timestamp

START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
END = dt.datetime(2026, 2, 1, tzinfo=dt.UTC)


def stamp(ms: int) -> str:
    return format_timestamp(START + dt.timedelta(milliseconds=ms))


def test_the_filter_keeps_what_narrows_the_read_and_drops_the_order():
    scope = ManifestScope.of("cms_content_audit", 7, {"sort": "-timestamp", "userId": ["3"]})
    assert scope.filter == {"userId": ["3"]}


def test_a_window_lists_its_records_in_order_with_their_first_and_last_time():
    scope = ManifestScope.of("audit_logs", 7, {})
    records = [{"id": "b", "occurredAt": stamp(5)}, {"id": "a", "occurredAt": stamp(9)}]
    manifest = scope.window(START, END, records)
    assert (manifest.range_start, manifest.range_end) == (
        format_timestamp(START),
        format_timestamp(END),
    )
    assert manifest.ids == ("b", "a")
    assert manifest.record_count == 2
    assert (manifest.first_occurred_at, manifest.last_occurred_at) == (stamp(5), stamp(9))
    empty = scope.window(START, END, [])
    assert empty.record_count == 0
    assert empty.first_occurred_at is None


def test_a_long_chain_is_cut_between_milliseconds_into_ranges_without_gap_or_overlap():
    # Newest first, as HubSpot serves login history; three events share millisecond 30.
    events = [(stamp(ms), f"id{ms}-{n}") for ms, n in [(50, 0), (40, 0), (30, 0), (30, 1), (30, 2)]]
    events += [(stamp(20), "id20"), (stamp(10), "id10"), (stamp(5), "id5")]
    pieces = ManifestScope.of("login_activity", 7, {}).chain(START, END, events, max_ids=4)
    assert pieces[0].range_start == format_timestamp(START)
    assert pieces[-1].range_end == format_timestamp(END)
    for before, after in itertools.pairwise(pieces):
        assert before.range_end == after.range_start
    assert all(piece.record_count <= 4 for piece in pieces)
    listed = [event_id for piece in pieces for event_id in piece.ids]
    assert sorted(listed) == sorted(event_id for _, event_id in events)
    for piece in pieces:  # every event inside its piece's range
        for event_id in piece.ids:
            moment = next(s for s, i in events if i == event_id)
            assert piece.range_start <= moment < piece.range_end
    # The three events of millisecond 30 share one piece.
    assert (
        len({i for i, piece in enumerate(pieces) for e in piece.ids if e.startswith("id30")}) == 1
    )


def test_an_empty_chain_still_covers_its_range():
    (piece,) = ManifestScope.of("login_activity", 7, {}).chain(START, END, [])
    assert (piece.range_start, piece.range_end, piece.ids) == (
        format_timestamp(START),
        format_timestamp(END),
        (),
    )


def test_the_spool_replays_a_manifest_where_it_was_written():
    spool = Spool(whole=False, stop=threading.Event())
    scope = ManifestScope.of("audit_logs", 7, {})
    records = [{"id": "x", "occurredAt": stamp(1)}]
    manifest = scope.window(START, END, records)
    spool.append(records, [manifest])
    spool.append([], [scope.window(END, END + dt.timedelta(days=1), [])])
    spool.finish(None)
    replayed = list(spool.replay())
    assert replayed[0] == manifest
    assert isinstance(replayed[0], Manifest)
    assert replayed[1] == records[0]
    assert isinstance(replayed[2], Manifest)
    assert replayed[2].record_count == 0


class Closed:
    """Windows already closed, as a WindowSchedule yields them."""

    name = "audit_logs"

    def __init__(self, windows: list[tuple[dt.datetime, list[dict[str, str]]]]) -> None:
        self.windows = windows

    def closed_windows(self):
        yield from self.windows

    def next_is_ready(self) -> bool:
        return True  # all closed already: batched up to WINDOW_BATCH records


def test_windows_go_out_in_batches_each_after_the_manifests_that_name_them():
    hour = dt.timedelta(hours=1)
    windows = [
        (
            START + (n + 1) * hour,
            [{"id": f"w{n}-{i}", "occurredAt": stamp(n * 3_600_000 + i)} for i in range(4_000)],
        )
        for n in range(5)
    ]
    spool = Spool(whole=False, stop=threading.Event())
    progress = Progress("audit_logs", START, logging.getLogger("test"))
    spool_windows(
        t.cast("t.Any", Closed(windows)),
        START,
        spool=spool,
        scope=ManifestScope.of("audit_logs", 7, {}),
        progress=progress,
        ids=RunIds().stream("audit_logs", None, "audit_logs"),
    )
    spool.finish(None)
    kinds = "".join("M" if isinstance(item, Manifest) else "r" for item in spool.replay())
    # 3 windows reach 10,000 records: their 3 manifests, their records; then the last 2.
    assert kinds == "MMM" + "r" * 12_000 + "MM" + "r" * 8_000
    assert progress.records == 20_000


def test_a_record_repeated_in_a_later_window_is_emitted_and_listed_once():
    hour = dt.timedelta(hours=1)
    windows = [
        (START + hour, [{"id": "a", "occurredAt": stamp(1)}, {"id": "b", "occurredAt": stamp(2)}]),
        # HubSpot sent b again, an hour on: same portal, same id, the same record key.
        (START + 2 * hour, [{"id": "b", "occurredAt": stamp(3_600_001)}]),
        (START + 3 * hour, [{"id": "c", "occurredAt": stamp(7_200_001)}]),
    ]
    spool = Spool(whole=False, stop=threading.Event())
    progress = Progress("audit_logs", START, logging.getLogger("test"))
    ids = RunIds().stream("audit_logs", None, "audit_logs")
    spool_windows(
        t.cast("t.Any", Closed(windows)),
        START,
        spool=spool,
        scope=ManifestScope.of("audit_logs", 7, {}),
        progress=progress,
        ids=ids,
    )
    spool.finish(None)
    replayed = list(spool.replay())
    manifests = [item for item in replayed if isinstance(item, Manifest)]
    records = [item for item in replayed if not isinstance(item, Manifest)]
    assert [record["id"] for record in records] == ["a", "b", "c"]
    assert [manifest.ids for manifest in manifests] == [("a", "b"), (), ("c",)]
    assert progress.records == 3
    assert ids.dropped == 1
