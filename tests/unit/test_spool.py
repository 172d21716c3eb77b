"""The spool between a reader thread and the emitter: back-pressure, whole chains, close."""

from __future__ import annotations

import threading
import time

import pytest

from tap_hubspot_activity.engine.errors import FatalError, TerminatedError
from tap_hubspot_activity.engine.spool import Spool

BATCH = [{"id": str(i), "occurredAt": "2026-01-01T00:00:00.000000Z"} for i in range(100)]


def test_a_reader_pauses_once_too_far_ahead_and_goes_on_as_the_emitter_reads():
    spool = Spool(whole=False, stop=threading.Event(), max_ahead=10_000)
    written = []

    def reader():
        for _ in range(20):
            spool.append(BATCH)
            written.append(spool.written)
        spool.finish(None)

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    time.sleep(0.5)
    assert len(written) < 20  # held back: nobody replays yet
    assert spool.written - spool.replayed <= 10_000 + len(written and str(BATCH)) * 2
    records = list(spool.replay())
    thread.join(5)
    assert len(records) == 20 * len(BATCH)


def test_a_whole_spool_is_replayed_only_once_complete():
    spool = Spool(whole=True, stop=threading.Event(), max_ahead=10)
    spool.append(BATCH)
    spool.append(BATCH)  # no back-pressure: a chain cannot pause for its own replay
    got = []
    thread = threading.Thread(target=lambda: got.extend(spool.replay()), daemon=True)
    thread.start()
    time.sleep(0.3)
    assert got == []
    spool.finish(None)
    thread.join(5)
    assert len(got) == 200


def test_a_failed_whole_spool_replays_nothing():
    spool = Spool(whole=True, stop=threading.Event())
    spool.append(BATCH)
    spool.finish(FatalError("the chain broke"))
    assert list(spool.replay()) == []


def test_a_closed_spool_stops_its_reader():
    spool = Spool(whole=False, stop=threading.Event())
    spool.append(BATCH)
    replay = spool.replay()
    next(replay)
    replay.close()  # the emitter gave up on it
    with pytest.raises(TerminatedError):
        spool.append(BATCH)


def test_a_stopped_run_ends_a_waiting_replay():
    stop = threading.Event()
    spool = Spool(whole=False, stop=stop)
    threading.Timer(0.2, stop.set).start()
    with pytest.raises(TerminatedError):
        list(spool.replay())


def test_the_emitter_reads_in_bounded_chunks_whole_lines_only():
    spool = Spool(whole=True, stop=threading.Event())
    big = {"id": "big", "blob": "x" * 3_000_000}  # one line longer than a read
    spool.append([*BATCH, big, *BATCH])
    spool.finish(None)
    records = list(spool.replay())
    assert [record["id"] for record in records] == [r["id"] for r in BATCH] + ["big"] + [
        r["id"] for r in BATCH
    ]
