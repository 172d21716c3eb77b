"""HubSpot's cursor pages of one read, each shaped, every page bound to move the read forward."""

from __future__ import annotations

import datetime as dt
import typing as t
from dataclasses import dataclass

import msgspec

from tap_hubspot_activity.engine.errors import FatalError
from tap_hubspot_activity.engine.reads.advance import Advance
from tap_hubspot_activity.engine.redaction import shown
from tap_hubspot_activity.engine.timestamps import format_timestamp

if t.TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from tap_hubspot_activity.engine.http.client import PortalClient
    from tap_hubspot_activity.engine.http.failures import EndpointRules
    from tap_hubspot_activity.engine.progress import Progress
    from tap_hubspot_activity.engine.reads.records import RecordShaper

Record = dict[str, t.Any]
# HubSpot keeps no events from the future; a day covers any clock's error.
FUTURE_MARGIN = dt.timedelta(days=1)


@dataclass
class Endpoint:
    """Where and how one partition of a stream is read."""

    client: PortalClient
    path: str
    params: dict[str, t.Any]
    rules: EndpointRules
    shaper: RecordShaper
    portal_id: int
    page_size: int
    progress: Progress


@dataclass
class Page:
    """One page of a read: its usable records, and how many entries HubSpot sent."""

    records: list[Record]
    size: int
    # Events new to the read (see `Advance.page`).
    new: int


def pages(
    endpoint: Endpoint,
    extra: Mapping[str, t.Any],
    *,
    first: bool,
    max_events: int | None = None,
) -> Iterator[Page]:
    """Each page's records, shaped, following `paging.next.after` until the last page.

    Every page must move the read forward (see `Advance`): a read that stops moving ends
    with an error naming the endpoint rather than a loop.
    """
    horizon = format_timestamp(dt.datetime.now(dt.UTC) + FUTURE_MARGIN)
    advance = Advance(endpoint.path, horizon=horizon, max_events=max_events)
    after: str | None = None
    while True:
        params = {**endpoint.params, **extra, "limit": endpoint.page_size}
        if after is not None:
            params["after"] = after
        body = endpoint.client.get(endpoint.path, params, endpoint.rules, first=first)
        endpoint.progress.page()
        results = body.get("results")
        if not isinstance(results, list):
            msg = f"HubSpot's answer on {endpoint.path} has no `results` list"
            raise FatalError(msg)
        sent = msgspec.json.encode(results) if results else None
        records = [
            record
            for raw in results
            if (record := endpoint.shaper.shape(raw, endpoint.portal_id)) is not None
        ]
        new = advance.page([(record["occurredAt"], record["id"]) for record in records], sent)
        yield Page(records, len(results), new)
        after = _next_cursor(body, endpoint.path)
        if after is None:
            return
        advance.cursor(after)


def _next_cursor(body: Mapping[str, t.Any], path: str) -> str | None:
    paging = body.get("paging")
    following = paging.get("next") if isinstance(paging, dict) else None
    after = following.get("after") if isinstance(following, dict) else None
    if after is None or after == "":
        return None
    if isinstance(after, bool) or not isinstance(after, str | int):
        msg = f"HubSpot sent an unreadable paging cursor on {path} ({shown(type(after).__name__)})"
        raise FatalError(msg)
    return str(after)
