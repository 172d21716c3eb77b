"""The connection check behind --test: one line per portal, what each stream would do."""

from __future__ import annotations

import typing as t

from tap_hubspot_activity.engine.errors import FatalError, HubspotError, StreamUnavailableError

if t.TYPE_CHECKING:
    from tap_hubspot_activity.engine.extraction import Extraction
    from tap_hubspot_activity.engine.jobs import StreamSpec


def connection_report(
    extraction: Extraction, specs: list[StreamSpec]
) -> tuple[list[str], FatalError | None]:
    """One line per portal, and the failure to exit with if any portal failed.

    Each portal answers /details, then one record of each selected stream: enough to
    prove the origin, the credentials and the scope, and to say which streams its plan
    offers.
    """
    lines = []
    failed = []
    for label, portal in extraction.portals.items():
        try:
            client = extraction.clients.client(label)
            portal_id = extraction.clients.portal_id(label)
            verdicts = []
            for spec in specs:
                try:
                    client.get(spec.path, {"limit": 1}, spec.rules)
                    verdicts.append(f"{spec.name} ok")
                except StreamUnavailableError:
                    needs = spec.needs or "a plan this portal lacks"
                    verdicts.append(f"{spec.name} needs {needs} (will be skipped)")
        except HubspotError as exc:
            failed.append(f"{portal.name} ({portal.api_url}): {exc}")
            continue
        lines.append(f"connection OK: portal {portal_id} ({portal.api_url}), {', '.join(verdicts)}")
    if not failed:
        return lines, None
    return lines, FatalError("connection failed: " + " | ".join(failed))
