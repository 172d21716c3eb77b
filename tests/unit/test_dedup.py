"""One record per (stream, portalId, id) in a run: the digest table and the ids it keeps."""

from __future__ import annotations

import hashlib
import logging

import pytest

from tap_hubspot_activity.engine.dedup import DigestSet, RunIds


def _digest(number: int) -> bytes:
    return hashlib.blake2b(str(number).encode(), digest_size=16).digest()


def test_the_set_keeps_every_digest_once_among_many():
    table = DigestSet()
    assert all(table.add(_digest(n)) for n in range(50_000))
    assert not any(table.add(_digest(n)) for n in range(0, 50_000, 7))
    assert len(table) == 50_000
    assert table.add(_digest(50_000))


def test_a_match_across_two_digests_of_a_bucket_is_no_match():
    table = DigestSet()
    assert table.add(b"\x00\x07" + b"a" * 14)
    assert table.add(b"\x00\x07" + b"b" * 14)
    straddling = b"\x00\x07" + b"a" * 7 + b"b" * 7
    assert table.add(straddling)
    assert not table.add(straddling)
    assert len(table) == 3


def test_an_id_costs_under_32_bytes_from_300_thousand_on():
    table = DigestSet()
    for number in range(300_000):
        table.add(_digest(number))
    assert table.nbytes / len(table) < 32


def test_partitions_of_a_stream_and_portal_share_their_ids_and_nothing_else():
    run = RunIds()
    user_1 = run.stream("login_activity", "a", "login_activity (portal 'a')")
    assert run.stream("login_activity", "a", "ignored") is user_1
    assert user_1.first("123")
    assert not run.stream("login_activity", "a", "").first("123")
    assert run.stream("security_activity", "a", "").first("123")
    assert run.stream("login_activity", "b", "").first("123")
    assert user_1.dropped == 1


@pytest.mark.parametrize("other", ["0123", "123 ", " 123", "123.0", "\u0661\u0662\u0663"])
def test_an_id_is_the_string_the_record_carries(other):
    ids = RunIds().stream("login_activity", None, "login_activity")
    assert ids.first("123")
    assert ids.first(other)  # another key in the warehouse: another record
    assert not ids.first(other)


def test_case_makes_another_id_and_a_lone_surrogate_is_an_id_too():
    ids = RunIds().stream("cms_content_audit", None, "cms_content_audit")
    assert ids.first("abc")
    assert ids.first("ABC")
    assert ids.first("\ud800")
    assert not ids.first("\ud800")


def test_firsts_keeps_order_and_drops_repeats_within_the_batch_too():
    ids = RunIds().stream("audit_logs", None, "audit_logs")
    records = [{"id": "a"}, {"id": "b"}, {"id": "a"}, {"id": "c"}]
    assert [record["id"] for record in ids.firsts(records)] == ["a", "b", "c"]
    assert [record["id"] for record in ids.firsts([{"id": "c"}, {"id": "d"}])] == ["d"]
    assert ids.dropped == 2


def test_the_repeats_are_reported_once_with_their_count(caplog):
    run = RunIds()
    ids = run.stream("login_activity", "a", "login_activity (portal 'a')")
    for record_id in ("1", "1", "2", "1"):
        ids.first(record_id)
    logger = logging.getLogger("test-dedup")
    with caplog.at_level(logging.WARNING):
        run.report("login_activity", "a", logger)
        run.report("login_activity", "a", logger)  # nothing new: nothing said
        run.report("audit_logs", "a", logger)  # never read: nothing said
    assert [record.getMessage()[:48] for record in caplog.records] == [
        "login_activity (portal 'a'): dropped 2 records w"
    ]
