"""One run: the portals' clients, each (stream, partition) read by a thread, replayed in order."""

from __future__ import annotations

import dataclasses
import threading
import time
import typing as t
from collections import defaultdict

from tap_hubspot_activity.engine.client import PortalClient
from tap_hubspot_activity.engine.deadline import WORKERS
from tap_hubspot_activity.engine.dedup import RunIds
from tap_hubspot_activity.engine.errors import (
    FatalError,
    HubspotError,
    Redactor,
    StreamUnavailableError,
    TerminatedError,
)
from tap_hubspot_activity.engine.listing import PortalIds
from tap_hubspot_activity.engine.manifests import ManifestScope
from tap_hubspot_activity.engine.paging import Endpoint, fetch_window
from tap_hubspot_activity.engine.progress import Progress
from tap_hubspot_activity.engine.records import RecordShaper
from tap_hubspot_activity.engine.schedule import WindowSchedule
from tap_hubspot_activity.engine.spool import Spool
from tap_hubspot_activity.engine.spooling import spool_chain, spool_windows
from tap_hubspot_activity.engine.timestamps import format_timestamp

if t.TYPE_CHECKING:
    from collections.abc import Iterator
    from logging import Logger

    from tap_hubspot_activity.engine.jobs import Job, PortalSettings
    from tap_hubspot_activity.engine.limits import Limits
    from tap_hubspot_activity.engine.manifests import Manifest


class PortalsFailedError(FatalError):
    """Some portals of a multi-portal run failed; the message names them and why."""


class Extraction:
    """Reads the jobs of a run and hands each one's records, in order, to whoever emits them.

    Every job is read by a daemon thread into its spool. With `read_ahead`, the jobs of
    every stream start at once, up to `parallel` of each stream ahead of the emitter
    (cursor chains take the portal's slots and turns first); without it, a job starts
    when its records are asked for. A failure stops the portal (with several portals,
    the others go on), and the first one is raised by `finish`.
    """

    def __init__(  # noqa: PLR0913 - the run's settings
        self,
        portals: list[PortalSettings],
        limits: Limits,
        *,
        page_size: int,
        read_ahead: bool,
        parallel: int,
        logger: Logger,
    ) -> None:
        """Nothing is sent until `start`."""
        self.portals = {portal.label: portal for portal in portals}
        self.portal_ids = PortalIds(self.portals)
        self.multi = len(portals) > 1 or next(iter(self.portals)) is not None
        self.limits = limits
        self.page_size = page_size
        self.read_ahead = read_ahead
        self.parallel = parallel
        self.logger = logger
        self.stop = threading.Event()
        self.redactor = Redactor()
        self.ids = RunIds()
        for portal in portals:
            for secret in portal.credentials.values():
                self.redactor.add(secret)
        self.failures: dict[str | None, HubspotError] = {}
        self.unexpected: BaseException | None = None
        self._clients: dict[str | None, PortalClient] = {}
        self._portal_stops: dict[str | None, threading.Event] = defaultdict(threading.Event)
        self._running: dict[str | None, int] = defaultdict(int)
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}
        self._queues: dict[str, list[Job]] = {}
        self._positions: dict[str, int] = {}
        self._started = time.monotonic()

    def start(self, jobs: list[Job]) -> None:
        """Plan the jobs, in the order they will be asked for, and start reading ahead."""
        for job in jobs:
            self._plan(job)
        if self.read_ahead:
            for queue in self._queues.values():
                for job in queue[: self.parallel]:
                    self._launch(job)

    def records(self, wanted: Job) -> Iterator[dict[str, t.Any] | Manifest]:
        """The job's records and manifests in order: as read, or nothing after a failure.

        A job planned by `start` is read as planned (perhaps already ahead); another one
        (the SDK syncing a stream on its own, as its test suite does) is read now.
        """
        job = self._jobs.get(wanted.key)
        if job is None or job.replayed:
            job = self._plan(dataclasses.replace(wanted, spool=None, replayed=False))
        stream = job.spec.name
        if self._failed(job.portal):
            if self.multi:
                self.logger.warning(
                    "%s: skipping %s, which failed", stream, self.portals[job.portal].name
                )
            return
        # This partition and the next ones of the stream, `parallel` at a time.
        position = self._positions[job.key]
        for following in self._queues[stream][position : position + self.parallel]:
            self._launch(following)
        assert job.spool is not None  # noqa: S101 - _launch made it
        try:
            yield from job.spool.replay()
        except TerminatedError:
            if not self._failed(job.portal):
                raise  # a signal, not a failure
            # Stopped by its portal's failure, which `finish` reports: what was emitted
            # stands (whole windows; a chain emits nothing until complete).
        finally:
            # Emitted and its file gone, the spool goes too: KBs each, thousands of portals.
            job.spool, job.replayed = None, True
        queue = self._queues[stream]
        if position + 1 == len(queue) or queue[position + 1].portal != job.portal:
            self.ids.report(stream, job.portal, self.logger)  # the portal's last partition
        if self.unexpected is not None:
            raise self.unexpected

    def planned(self, key: str) -> Job | None:
        """The job `start` planned under this key (see `partition_key`), if any."""
        return self._jobs.get(key)

    def _plan(self, job: Job) -> Job:
        queue = self._queues.setdefault(job.spec.name, [])
        self._positions[job.key] = len(queue)
        queue.append(job)
        self._jobs[job.key] = job
        return job

    def finish(self) -> None:
        """Stop every reader; raise the run's failure, if any."""
        self.terminate()
        for client in self._clients.values():
            client.close()
        for job in self._jobs.values():
            if job.spool is not None:
                job.spool.close()
        if self.unexpected is not None:
            raise self.unexpected
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

    def terminate(self) -> None:
        """Stop every reader and every wait, at once."""
        self.stop.set()
        for event in list(self._portal_stops.values()):
            event.set()

    def summary(self) -> list[str]:
        """One line per portal that sent requests: requests, time paused, calls left today."""
        return [client.summary(self.portals[label].name) for label, client in self._clients.items()]

    def _failed(self, portal: str | None) -> bool:
        return portal in self.failures or (not self.multi and bool(self.failures))

    def client(self, label: str | None) -> PortalClient:
        """The portal's client, made on first use."""
        with self._lock:
            if label not in self._clients:
                portal = self.portals[label]
                self._clients[label] = PortalClient(
                    name=portal.name,
                    api_url=portal.api_url,
                    credentials=portal.credentials,
                    limits=self.limits,
                    redactor=self.redactor,
                    stop=self._portal_stops[label],
                    logger=self.logger,
                )
            return self._clients[label]

    def portal_id(self, label: str | None) -> int:
        """The portal's id, once no earlier entry of the list has it (see PortalIds)."""
        portal_id = self.client(label).portal_id()
        refused = self.portal_ids.claim(label, portal_id)
        if refused is not None:
            if refused.label == label:
                raise refused
            self._fail(refused.label, refused)
        return portal_id

    def _launch(self, job: Job) -> None:
        with self._lock:
            if job.spool is not None or job.replayed:
                return
            stop = self._portal_stops[job.portal]
            spool = job.spool = Spool(whole=not job.spec.windowed, stop=stop)
            self._running[job.portal] += 1
        # A kept daemon thread: Thread.start per job costs the emitter ms (it waits for it).
        WORKERS.submit(lambda: self._read(job, spool))

    def _read(self, job: Job, spool: Spool) -> None:
        error: BaseException | None = None
        try:
            if not self._failed(job.portal):
                self._extract(job, spool)
        except StreamUnavailableError as exc:
            self.logger.warning(
                "Skipping %s for %s: %s %s",
                job.spec.name,
                self.portals[job.portal].name,
                exc,
                job.spec.unavailable_hint,
            )
        except TerminatedError as exc:
            error = exc
        except HubspotError as exc:
            error = exc
            self._fail(job.portal, exc)
        except BaseException as exc:  # noqa: BLE001 - a bug: raised again by the emitter
            error = self.unexpected = exc
            self.terminate()
        finally:
            spool.finish(error)
            self._release(job.portal)

    def _extract(self, job: Job, spool: Spool) -> None:
        client = self.client(job.portal)
        spec = job.spec
        shaper = RecordShaper(
            stream=spec.name,
            schema=spec.schema,
            timestamp_field=spec.timestamp_field,
            identity_fields=spec.identity_fields,
            logger=self.logger,
        )
        where = spec.name if not self.multi else f"{spec.name} ({self.portals[job.portal].name})"
        end = job.end if spec.window_params is not None else None
        paused = client.governor.paused_seconds
        progress = Progress(where, job.start, self.logger, end=end, paused=paused)
        endpoint = Endpoint(
            client=client,
            path=spec.path,
            params=spec.params(job.partition),
            rules=spec.rules,
            shaper=shaper,
            portal_id=self.portal_id(job.portal),
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
        if spec.window_params is None:
            spool_chain(
                endpoint, job.start, job.end, spool=spool, scope=scope, progress=progress, ids=ids
            )
            return
        window_params = spec.window_params
        schedule = WindowSchedule(
            name=where,
            start=job.start,
            end=job.end,
            fetch=lambda low, high, held: fetch_window(endpoint, window_params, low, high, held),
            workers=self.limits.max_concurrency,
            stop=self._portal_stops[job.portal],
            logger=self.logger,
        )
        spool_windows(schedule, job.start, spool=spool, scope=scope, progress=progress, ids=ids)

    def _fail(self, portal: str | None, error: HubspotError) -> None:
        with self._lock:
            if portal in self.failures:
                return
            self.failures[portal] = error
        if self.multi:
            self.logger.error(
                "%s failed: %s. The other portals go on.", self.portals[portal].name, error
            )
            self._portal_stops[portal].set()
        else:
            self.terminate()

    def _release(self, portal: str | None) -> None:
        with self._lock:
            self._running[portal] -= 1
            idle = not self._running[portal]
            client = self._clients.get(portal)
        if idle and client is not None:
            # A finished portal keeps no connection open: thousands of portals, few files.
            client.close()
