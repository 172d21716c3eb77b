"""Which portals failed, and what a failure stops: its portal, or, with one portal, the run."""

from __future__ import annotations

import threading
import typing as t
from collections import defaultdict

from tap_hubspot_activity.engine.errors import PortalsFailedError

if t.TYPE_CHECKING:
    from collections.abc import Mapping
    from logging import Logger

    from tap_hubspot_activity.engine.errors import HubspotError
    from tap_hubspot_activity.engine.portal import PortalSettings


class PortalFailures:
    """The run's failures and stop flags, one flag per portal.

    Every wait of a portal's reads watches its flag. With several portals (`multi`, or
    one labelled entry of a portal list) a failure stops its portal and the others go
    on; with one, it stops the run. A bug (`crashed`) stops everything.
    """

    def __init__(self, portals: Mapping[str | None, PortalSettings], logger: Logger) -> None:
        """No failure yet."""
        self.portals = portals
        self.logger = logger
        self.multi = len(portals) > 1 or next(iter(portals)) is not None
        self.failures: dict[str | None, HubspotError] = {}
        self.unexpected: BaseException | None = None
        self._stops: dict[str | None, threading.Event] = defaultdict(threading.Event)
        self._lock = threading.Lock()

    def stop_flag(self, portal: str | None) -> threading.Event:
        """The flag that ends every wait of the portal's reads."""
        with self._lock:
            return self._stops[portal]

    def terminate(self) -> None:
        """Stop every reader and every wait, at once."""
        with self._lock:
            flags = list(self._stops.values())
        for flag in flags:
            flag.set()

    def fail(self, portal: str | None, error: HubspotError) -> None:
        """The portal failed: stop it (with one portal, the run); the first error stays."""
        with self._lock:
            if portal in self.failures:
                return
            self.failures[portal] = error
        if self.multi:
            self.logger.error(
                "%s failed: %s. The other portals go on.", self.portals[portal].name, error
            )
            self.stop_flag(portal).set()
        else:
            self.terminate()

    def crashed(self, error: BaseException) -> None:
        """A bug: everything stops, and the emitter raises it again."""
        self.unexpected = error
        self.terminate()

    def failed(self, portal: str | None) -> bool:
        """Whether the portal's reads are to stop (with one portal: whether any failed)."""
        return portal in self.failures or (not self.multi and bool(self.failures))

    def where(self, stream: str, portal: str | None) -> str:
        """How logs name a read: the stream, and the portal when there are several."""
        return stream if not self.multi else f"{stream} ({self.portals[portal].name})"

    def skipped(self, stream: str, portal: str | None) -> None:
        """Say that a stream of a failed portal is not emitted (with one portal, the run ends)."""
        if self.multi:
            self.logger.warning("%s: skipping %s, which failed", stream, self.portals[portal].name)

    def raise_unexpected(self) -> None:
        """Raise the bug a reader met, if any."""
        if self.unexpected is not None:
            raise self.unexpected

    def raise_any(self) -> None:
        """Raise the run's failure: the bug, the one portal's, or every failed portal named."""
        self.raise_unexpected()
        if not self.failures:
            return
        if not self.multi:
            raise next(iter(self.failures.values()))
        # Portals that failed alike (a revoked app, too few open files) share one mention.
        alike: dict[str, list[str]] = {}
        for label, error in self.failures.items():
            alike.setdefault(str(error), []).append(self.portals[label].name)
        details = "; ".join(f"{', '.join(names)}: {error}" for error, names in alike.items())
        msg = (
            f"{len(self.failures)} of {len(self.portals)} portals failed, the others "
            f"completed and kept their state. {details}"
        )
        raise PortalsFailedError(msg)
