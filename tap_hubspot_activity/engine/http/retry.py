"""Retries of one portal's requests: one time budget for all its streams, every wait bounded."""

from __future__ import annotations

import math
import threading
import time
import typing as t

from tap_hubspot_activity.engine.errors import (
    FatalError,
    RetryableError,
    StaleTokenError,
    UnreachableError,
)
from tap_hubspot_activity.engine.stopping import check_stop, wait_unless_stopped

if t.TYPE_CHECKING:
    from collections.abc import Callable
    from logging import Logger

T = t.TypeVar("T")
MAX_BACKOFF_SECONDS = 60.0
# A host never reached is not retried for long: a wrong api_url should fail fast.
FIRST_CONTACT_SECONDS = 30.0
# Stale-token retries need no wait, but a server could answer 401 forever.
MAX_STALE_RETRIES = 8


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After in seconds when it is a finite, non-negative number, else None."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


class RetryPolicy:
    """Runs attempts of a portal's requests until one succeeds or the budget is spent.

    The budget is `max_retry_seconds` from the start of the first failed attempt: of
    this request, or of the portal's current run of failures, whichever came first, so
    a portal that becomes unreachable fails once for all its streams. A host never
    reached gets FIRST_CONTACT_SECONDS at most. Waits follow the server's hint, else
    1 s doubling to a minute; a hint longer than the budget left ends the retries at
    once. Every wait ends early when `stop` is set.
    """

    def __init__(
        self,
        *,
        max_retry_seconds: float,
        stop: threading.Event,
        logger: Logger,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Share one policy across all requests of a portal."""
        self.max_retry_seconds = float(max_retry_seconds)
        self.stop = stop
        self.logger = logger
        self.clock = clock
        self.reached = False
        self._lock = threading.Lock()
        self._portal_failing_since: float | None = None

    def run(self, attempt: Callable[[float], T], what: str) -> T:
        """`attempt(deadline)` until it returns; FatalError once retrying is pointless."""
        own_since: float | None = None
        tries = stale = 0
        while True:
            check_stop(self.stop)
            started = self.clock()
            tries += 1
            try:
                result = attempt(self._deadline(own_since))
            except StaleTokenError:
                stale += 1
                if stale > MAX_STALE_RETRIES:
                    raise
                continue
            except RetryableError as exc:
                if not isinstance(exc, UnreachableError):
                    self.reached = True
                own_since = started if own_since is None else own_since
                self._wait_or_give_up(exc, what, tries, own_since)
                continue
            with self._lock:
                self.reached = True
                self._portal_failing_since = None
            return result

    def _budget(self, exc: RetryableError) -> float:
        if isinstance(exc, UnreachableError) and not self.reached:
            return min(self.max_retry_seconds, FIRST_CONTACT_SECONDS)
        return self.max_retry_seconds

    def _deadline(self, own_since: float | None) -> float:
        """When retrying this request ends: an attempt must not outlive it."""
        with self._lock:
            since = [m for m in (own_since, self._portal_failing_since) if m is not None]
        return min(since) + self.max_retry_seconds if since else math.inf

    def _wait_or_give_up(
        self, exc: RetryableError, what: str, tries: int, own_since: float
    ) -> None:
        now = self.clock()
        with self._lock:
            if self._portal_failing_since is None:
                self._portal_failing_since = own_since
            since = min(own_since, self._portal_failing_since)
        left = since + self._budget(exc) - now
        delay = (
            exc.wait_seconds
            if exc.wait_seconds is not None
            else min(2.0 ** (tries - 1), MAX_BACKOFF_SECONDS)
        )
        if delay > left:
            elapsed = now - since
            if exc.wait_seconds is not None and exc.wait_seconds > left:
                msg = (
                    f"{exc}; the {exc.wait_seconds:.0f} s to wait (Retry-After, or the rate "
                    f"limit's window) are more than the {max(0.0, left):.0f} s left of "
                    f"max_retry_seconds; giving up on {what}"
                )
            else:
                msg = f"{exc}; gave up on {what} after {tries} attempts in {elapsed:.0f} s"
            raise FatalError(msg) from None
        self.logger.warning(
            "Retrying %s in %.1f s (attempt %d, %.0f s of retries left): %s",
            what,
            delay,
            tries,
            left,
            exc,
        )
        wait_unless_stopped(self.stop, delay)
