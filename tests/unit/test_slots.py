"""A portal's slots: at most N requests in flight, one kept for a running cursor chain."""

from __future__ import annotations

import threading

from tap_hubspot_activity.engine.http.slots import Slots


def test_a_running_chain_keeps_a_slot_free_for_itself():
    slots = Slots(3, threading.Event())
    with slots.chain():
        held = [slots.hold() for _ in range(2)]
        for hold in held:
            hold.__enter__()
        blocked = threading.Event()

        def window_request():
            with slots.hold():
                blocked.set()

        thread = threading.Thread(target=window_request, daemon=True)
        thread.start()
        assert not blocked.wait(0.3)  # two windows in flight: the third slot is the chain's
        with slots.hold(first=True):
            assert slots.in_flight == 3
        for hold in held:
            hold.__exit__(None, None, None)
        assert blocked.wait(2)
