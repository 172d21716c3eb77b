"""The run's portals and their clients: each made on first use, each portal's id claimed once."""

from __future__ import annotations

import threading
import typing as t

from tap_hubspot_activity.engine.http.client import PortalClient
from tap_hubspot_activity.engine.listing import PortalIds
from tap_hubspot_activity.engine.redaction import Redactor

if t.TYPE_CHECKING:
    from logging import Logger

    from tap_hubspot_activity.engine.portal import Limits, PortalSettings
    from tap_hubspot_activity.engine.portal_failures import PortalFailures


class PortalClients:
    """Every portal of the run by label, with its client once a read or a check needs it."""

    def __init__(
        self,
        portals: list[PortalSettings],
        limits: Limits,
        failures: PortalFailures,
        logger: Logger,
    ) -> None:
        """No client is made, and nothing sent, until asked for."""
        self.portals = {portal.label: portal for portal in portals}
        self.limits = limits
        self.failures = failures
        self.logger = logger
        self.redactor = Redactor()
        for portal in portals:
            for secret in portal.credentials.values():
                self.redactor.add(secret)
        self.ids = PortalIds(self.portals)
        self._clients: dict[str | None, PortalClient] = {}
        self._lock = threading.Lock()

    def client(self, label: str | None) -> PortalClient:
        """The portal's client, made on first use."""
        with self._lock:
            if label not in self._clients:
                self._clients[label] = PortalClient(
                    self.portals[label],
                    limits=self.limits,
                    redactor=self.redactor,
                    stop=self.failures.stop_flag(label),
                    logger=self.logger,
                )
            return self._clients[label]

    def portal_id(self, label: str | None) -> int:
        """The portal's id, once no earlier entry of the list has it (see PortalIds).

        Of two entries reading one account the later is refused: raised here when it is
        this one, failed as its portal otherwise.
        """
        portal_id = self.client(label).portal_id()
        refused = self.ids.claim(label, portal_id)
        if refused is not None:
            if refused.label == label:
                raise refused
            self.failures.fail(refused.label, refused)
        return portal_id

    def close(self, label: str | None) -> None:
        """Close the portal's connections, if it has a client: its reads are done for now."""
        with self._lock:
            client = self._clients.get(label)
        if client is not None:
            client.close()

    def close_all(self) -> None:
        """Close every portal's connections."""
        with self._lock:
            clients = list(self._clients.values())
        for client in clients:
            client.close()

    def summary(self) -> list[str]:
        """One line per portal that sent requests: requests, time paused, calls left today."""
        with self._lock:
            clients = list(self._clients.values())
        return [client.summary() for client in clients]
