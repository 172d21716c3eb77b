"""One account, one listing: the later of two entries with one portalId is refused."""

from __future__ import annotations

from tap_hubspot_activity.engine.listing import PortalIds
from tap_hubspot_activity.engine.portal import PortalSettings


def _ids(*labels: str) -> PortalIds:
    portals = [PortalSettings(label, "https://api.hubapi.com", {}) for label in labels]
    return PortalIds({portal.label: portal for portal in portals})


def test_distinct_ids_are_claimed_and_the_same_entry_may_claim_again():
    ids = _ids("a", "b")
    assert ids.claim("a", 1) is None
    assert ids.claim("b", 2) is None
    assert ids.claim("a", 1) is None


def test_the_later_entry_is_refused_whichever_answered_first():
    ids = _ids("a", "b", "c")
    assert ids.claim("c", 9) is None
    refused = ids.claim("a", 9)
    assert refused is not None
    assert refused.label == "c"
    assert str(refused) == (
        "portal 'a' and portal 'c' are one HubSpot portal (both answer portalId 9): list it once"
    )
    # The earlier entry keeps the id: a third entry is refused against it.
    again = ids.claim("b", 9)
    assert again is not None
    assert again.label == "b"
    assert "portal 'a' and portal 'b'" in str(again)
