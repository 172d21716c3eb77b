"""One account, one listing: which entry of the portal list reads which portalId."""

from __future__ import annotations

import threading
import typing as t

from tap_hubspot_activity.engine.errors import ListedTwiceError

if t.TYPE_CHECKING:
    from collections.abc import Mapping

    from tap_hubspot_activity.engine.portal import PortalSettings


class PortalIds:
    """The portalId each entry answered with, first come; a repeated id names both entries.

    Two entries may look different (two labels, two spellings of an URL, two tokens of
    one account) and still read one account, emitting each event twice under one key
    (portalId, id). Of two such entries the later one in the list is refused, whichever
    answered first: the SDK emits partitions in the list's order.
    """

    def __init__(self, portals: Mapping[str | None, PortalSettings]) -> None:
        """Nothing is claimed yet."""
        self.portals = portals
        self._order = {label: index for index, label in enumerate(portals)}
        self._owners: dict[int, str | None] = {}
        self._lock = threading.Lock()

    def claim(self, label: str | None, portal_id: int) -> ListedTwiceError | None:
        """None if `label` may read `portal_id`, else the error of the entry to refuse.

        The error's `label` is the later of the two entries (perhaps not this one).
        """
        with self._lock:
            owner = self._owners.setdefault(portal_id, label)
            if owner == label:
                return None
            earlier, later = sorted((owner, label), key=self._order.__getitem__)
            self._owners[portal_id] = earlier
        return ListedTwiceError(
            f"{self.portals[earlier].name} and {self.portals[later].name} are one HubSpot "
            f"portal (both answer portalId {portal_id}): list it once",
            label=later,
        )
