"""The run's jobs, per stream in the order the SDK asks for them, and which to read ahead."""

from __future__ import annotations

import dataclasses
import typing as t

if t.TYPE_CHECKING:
    from tap_hubspot_activity.engine.jobs import Job


class JobQueue:
    """Each stream's jobs in emitting order; a job asked for again is planned anew."""

    def __init__(self, parallel: int) -> None:
        """No job yet; `parallel` jobs of a stream are read at once, the emitted one first."""
        self.parallel = parallel
        self._jobs: dict[str, Job] = {}
        self._queues: dict[str, list[Job]] = {}
        self._positions: dict[str, int] = {}

    def plan(self, job: Job) -> Job:
        """Queue the job behind its stream's others."""
        queue = self._queues.setdefault(job.spec.name, [])
        self._positions[job.key] = len(queue)
        queue.append(job)
        self._jobs[job.key] = job
        return job

    def planned(self, key: str) -> Job | None:
        """The job planned under this key (see `partition_key`), if any."""
        return self._jobs.get(key)

    def to_emit(self, wanted: Job) -> Job:
        """The planned job (perhaps read ahead already), or `wanted` planned now.

        A job not planned, or emitted already (the SDK syncing a stream on its own, as
        its test suite does), is read afresh.
        """
        job = self._jobs.get(wanted.key)
        if job is None or job.replayed:
            job = self.plan(dataclasses.replace(wanted, spool=None, replayed=False))
        return job

    def heads(self) -> list[Job]:
        """The first `parallel` jobs of every stream: what reading ahead starts with."""
        return [job for queue in self._queues.values() for job in queue[: self.parallel]]

    def window(self, job: Job) -> list[Job]:
        """The job and the next ones of its stream, `parallel` in all."""
        position = self._positions[job.key]
        return self._queues[job.spec.name][position : position + self.parallel]

    def last_of_its_portal(self, job: Job) -> bool:
        """Whether no later job of the stream reads the same portal next."""
        queue = self._queues[job.spec.name]
        position = self._positions[job.key]
        return position + 1 == len(queue) or queue[position + 1].portal != job.portal

    def jobs(self) -> list[Job]:
        """Every job planned."""
        return list(self._jobs.values())
