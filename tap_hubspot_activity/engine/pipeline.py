"""One job's read put together: client, shaper, progress and endpoint, then a chain or windows."""

from __future__ import annotations

import typing as t

from tap_hubspot_activity.engine.manifests import ManifestScope
from tap_hubspot_activity.engine.progress import Progress
from tap_hubspot_activity.engine.reads.chain import spool_chain
from tap_hubspot_activity.engine.reads.paging import Endpoint
from tap_hubspot_activity.engine.reads.records import RecordShaper
from tap_hubspot_activity.engine.reads.windowed import spool_windows, window_schedule
from tap_hubspot_activity.engine.timestamps import format_timestamp

if t.TYPE_CHECKING:
    from logging import Logger

    from tap_hubspot_activity.engine.dedup import RunIds
    from tap_hubspot_activity.engine.jobs import Job
    from tap_hubspot_activity.engine.portal_clients import PortalClients
    from tap_hubspot_activity.engine.portal_failures import PortalFailures
    from tap_hubspot_activity.engine.spool import Spool


class JobReader:
    """Reads one job into its spool, with what the run shares: clients, failures, ids."""

    def __init__(  # noqa: PLR0913 - the run's shared parts and its read settings
        self,
        *,
        clients: PortalClients,
        failures: PortalFailures,
        ids: RunIds,
        page_size: int,
        windows_in_flight: int,
        logger: Logger,
    ) -> None:
        """Nothing is read until `read`."""
        self.clients = clients
        self.failures = failures
        self.ids = ids
        self.page_size = page_size
        self.windows_in_flight = windows_in_flight
        self.logger = logger

    def read(self, job: Job, spool: Spool) -> None:
        """The job's records and manifests, written to `spool` in emitting order."""
        client = self.clients.client(job.portal)
        spec = job.spec
        shaper = RecordShaper(
            stream=spec.name,
            schema=spec.schema,
            timestamp_field=spec.timestamp_field,
            identity_fields=spec.identity_fields,
            logger=self.logger,
        )
        where = self.failures.where(spec.name, job.portal)
        end = job.end if spec.time_filter is not None else None
        paused = client.governor.paused_seconds
        progress = Progress(where, job.start, self.logger, end=end, paused=paused)
        endpoint = Endpoint(
            client=client,
            path=spec.path,
            params=spec.request_params(job.partition),
            rules=spec.rules,
            shaper=shaper,
            portal_id=self.clients.portal_id(job.portal),
            page_size=self.page_size,
            progress=progress,
        )
        if job.start >= job.end:
            self.logger.info("%s: nothing to read, %s is not before %s", where, job.start, job.end)
            return
        self.logger.info(
            "%s: reading events from %s to %s",
            where,
            format_timestamp(job.start),
            format_timestamp(job.end),
        )
        scope = ManifestScope.of(spec.name, endpoint.portal_id, endpoint.params)
        ids = self.ids.stream(spec.name, job.portal, where)
        if spec.time_filter is None:
            spool_chain(
                endpoint, job.start, job.end, spool=spool, scope=scope, progress=progress, ids=ids
            )
            return
        schedule = window_schedule(
            endpoint,
            spec.time_filter,
            job.start,
            job.end,
            in_flight=self.windows_in_flight,
            stop=self.failures.stop_flag(job.portal),
            name=where,
            logger=self.logger,
        )
        spool_windows(schedule, job.start, spool=spool, scope=scope, progress=progress, ids=ids)
