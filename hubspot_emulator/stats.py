"""Request counts the emulator reports: per path and status, peak rate and concurrency."""

from __future__ import annotations

import collections
import time
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import threading

WINDOW_S = 10.0


class RequestStats:
    """Counts since start or the last reset(); every request is begun, then ended."""

    def __init__(self, lock: threading.RLock) -> None:
        self._lock = lock
        self._inflight = 0
        # Requests in flight per path: how many endpoints a client reads at once.
        self._paths_inflight: collections.Counter[str] = collections.Counter()
        self._peak_paths = 0
        self._total = 0
        self._by_status: collections.Counter[str] = collections.Counter()
        self._recent: collections.deque[float] = collections.deque()
        self._peak_rate = self._peak_inflight = self._rate_limited = 0

    def begin(self, path: str) -> None:
        with self._lock:
            self._paths_inflight[path] += 1
            self._peak_paths = max(self._peak_paths, len(+self._paths_inflight))
            now = time.monotonic()
            self._recent.append(now)
            while self._recent[0] <= now - WINDOW_S:
                self._recent.popleft()
            self._peak_rate = max(self._peak_rate, len(self._recent))
            self._inflight += 1
            self._peak_inflight = max(self._peak_inflight, self._inflight)

    def end(self, path: str, status: int | str) -> None:
        with self._lock:
            self._paths_inflight[path] -= 1
            self._inflight -= 1
            self._total += 1
            self._by_status[f"{path} {status}"] += 1
            if status == HTTPStatus.TOO_MANY_REQUESTS:
                self._rate_limited += 1

    def snapshot(self) -> dict[str, Any]:
        """Request counts since start or the last reset()."""
        with self._lock:
            return {
                "total_requests": self._total,
                "requests": dict(self._by_status),
                "peak_requests_per_10s": self._peak_rate,
                "peak_concurrency": self._peak_inflight,
                "peak_paths_in_flight": self._peak_paths,
                "rate_limited": self._rate_limited,
            }

    def reset(self) -> None:
        with self._lock:
            self._total = self._peak_rate = self._rate_limited = 0
            self._by_status.clear()
            self._recent.clear()
            self._peak_inflight = self._inflight
            self._peak_paths = len(+self._paths_inflight)
