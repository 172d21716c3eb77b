"""The HubSpot emulator's determinism: same seed, same data, checked over real HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hubspot_emulator import EmulatorConfig, HubSpotEmulator
from tests.emulator_http import STREAMS, TINY, cms_all, http_session, page_all

http = pytest.fixture(http_session, scope="module", name="http")


def test_same_seed_same_data_and_a_later_restart_only_adds() -> None:
    anchor = datetime(2026, 3, 10, 15, 30, tzinfo=UTC)
    small: dict[str, Any] = {**TINY, "history_days": 30}
    first = HubSpotEmulator(EmulatorConfig(seed=21, now=anchor, **small))
    again = HubSpotEmulator(EmulatorConfig(seed=21, now=anchor, **small))
    later = HubSpotEmulator(EmulatorConfig(seed=21, now=anchor + timedelta(days=2), **small))
    other = HubSpotEmulator(EmulatorConfig(seed=22, now=anchor, **small))
    for stream in (*STREAMS, "cms"):
        assert first.truth(stream) == again.truth(stream)
        window: dict[str, Any] = {"since": anchor - timedelta(days=20), "until": anchor}
        assert first.truth(stream, **window) == later.truth(stream, **window)
        assert first.truth(stream, **window) != other.truth(stream, **window)
    assert first.incidents() == again.incidents()
    assert later.truth("audit-logs", since=anchor)
    assert not first.truth("audit-logs", since=anchor - timedelta(seconds=1))


def test_two_started_instances_serve_identical_pages(http) -> None:
    cfg = EmulatorConfig(seed=3, now=datetime(2026, 1, 5, tzinfo=UTC), **TINY)
    with HubSpotEmulator(cfg) as one, HubSpotEmulator(cfg) as two:
        for stream in STREAMS:
            assert page_all(http, one, stream, limit=13) == page_all(http, two, stream, limit=13)
        assert cms_all(http, one, limit=13) == cms_all(http, two, limit=13)
