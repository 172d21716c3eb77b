"""One run: each (stream, partition) read by a kept thread into its spool, replayed in order."""

from __future__ import annotations

import threading
import typing as t
from collections import defaultdict

from tap_hubspot_activity.engine.dedup import RunIds
from tap_hubspot_activity.engine.errors import HubspotError, StreamUnavailableError, TerminatedError
from tap_hubspot_activity.engine.job_queue import JobQueue
from tap_hubspot_activity.engine.pipeline import JobReader
from tap_hubspot_activity.engine.portal_clients import PortalClients
from tap_hubspot_activity.engine.portal_failures import PortalFailures
from tap_hubspot_activity.engine.spool import Spool
from tap_hubspot_activity.engine.workers import WORKERS

if t.TYPE_CHECKING:
    from collections.abc import Iterator
    from logging import Logger

    from tap_hubspot_activity.engine.jobs import Job
    from tap_hubspot_activity.engine.manifests import Manifest
    from tap_hubspot_activity.engine.portal import Limits, PortalSettings


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
        windows_in_flight: int,
        logger: Logger,
    ) -> None:
        """Nothing is sent until `start`."""
        self.logger = logger
        self.read_ahead = read_ahead
        self.failures = PortalFailures({portal.label: portal for portal in portals}, logger)
        self.clients = PortalClients(portals, limits, self.failures, logger)
        self.portals = self.clients.portals
        self.ids = RunIds()
        self.queue = JobQueue(parallel)
        self.reader = JobReader(
            clients=self.clients,
            failures=self.failures,
            ids=self.ids,
            page_size=page_size,
            windows_in_flight=windows_in_flight,
            logger=logger,
        )
        self._running: dict[str | None, int] = defaultdict(int)
        self._lock = threading.Lock()

    def start(self, jobs: list[Job]) -> None:
        """Plan the jobs, in the order they will be asked for, and start reading ahead."""
        for job in jobs:
            self.queue.plan(job)
        if self.read_ahead:
            for job in self.queue.heads():
                self._launch(job)

    def planned(self, key: str) -> Job | None:
        """The job `start` planned under this key (see `partition_key`), if any."""
        return self.queue.planned(key)

    def records(self, wanted: Job) -> Iterator[dict[str, t.Any] | Manifest]:
        """The job's records and manifests in order: as read, or nothing after a failure.

        A job planned by `start` is read as planned (perhaps already ahead); another one
        (the SDK syncing a stream on its own, as its test suite does) is read now.
        """
        job = self.queue.to_emit(wanted)
        if self.failures.failed(job.portal):
            self.failures.skipped(job.spec.name, job.portal)
            return
        # This partition and the next ones of the stream, `parallel` at a time.
        for following in self.queue.window(job):
            self._launch(following)
        assert job.spool is not None  # noqa: S101 - _launch made it
        try:
            yield from job.spool.replay()
        except TerminatedError:
            if not self.failures.failed(job.portal):
                raise  # a signal, not a failure
            # Stopped by its portal's failure, which `finish` reports: what was emitted
            # stands (whole windows; a chain emits nothing until complete).
        finally:
            # Emitted and its file gone, the spool goes too: KBs each, thousands of portals.
            job.spool, job.replayed = None, True
        if self.queue.last_of_its_portal(job):
            self.ids.report(job.spec.name, job.portal, self.logger)
        self.failures.raise_unexpected()

    def finish(self) -> None:
        """Stop every reader; raise the run's failure, if any."""
        self.terminate()
        self.clients.close_all()
        for job in self.queue.jobs():
            if job.spool is not None:
                job.spool.close()
        self.failures.raise_any()

    def terminate(self) -> None:
        """Stop every reader and every wait, at once."""
        self.failures.terminate()

    def summary(self) -> list[str]:
        """One line per portal that sent requests: requests, time paused, calls left today."""
        return self.clients.summary()

    def _launch(self, job: Job) -> None:
        with self._lock:
            if job.spool is not None or job.replayed:
                return
            stop = self.failures.stop_flag(job.portal)
            spool = job.spool = Spool(whole=not job.spec.windowed, stop=stop)
            self._running[job.portal] += 1
        # A kept daemon thread: Thread.start per job costs the emitter ms (it waits for it).
        WORKERS.submit(lambda: self._read(job, spool))

    def _read(self, job: Job, spool: Spool) -> None:
        error: BaseException | None = None
        try:
            if not self.failures.failed(job.portal):
                self.reader.read(job, spool)
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
            self.failures.fail(job.portal, exc)
        except BaseException as exc:  # noqa: BLE001 - a bug: raised again by the emitter
            error = exc
            self.failures.crashed(exc)
        finally:
            spool.finish(error)
            self._release(job.portal)

    def _release(self, portal: str | None) -> None:
        with self._lock:
            self._running[portal] -= 1
            idle = not self._running[portal]
        if idle:
            # A finished portal keeps no connection open: thousands of portals, few files.
            self.clients.close(portal)
