"""Injected and random faults: which request fails, and how."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .config import FAULT_KINDS
from .data import seeded

if TYPE_CHECKING:
    import threading

    from .config import EmulatorConfig


@dataclass
class _Fault:
    kind: str
    remaining: int
    path: str | None
    # Matching requests to let through before the fault starts: fails mid-run.
    after: int = 0


class FaultPlan:
    """The faults still to fire, in the order they were injected, then the random ones."""

    def __init__(self, seed: int, lock: threading.RLock) -> None:
        self._lock = lock
        self._faults: list[_Fault] = []
        self._rng = seeded(seed, "faults")

    def inject(self, kind: str, count: int = 1, path: str | None = None, after: int = 0) -> None:
        """Fail `count` requests whose path contains `path` (None: activity), after `after`."""
        if kind not in FAULT_KINDS:
            msg = f"unknown fault kind {kind!r}; known: {FAULT_KINDS}"
            raise ValueError(msg)
        if count < 1 or after < 0:
            msg = "count must be >= 1 and after >= 0"
            raise ValueError(msg)
        with self._lock:
            self._faults.append(_Fault(kind, count, path, after))

    def clear(self) -> None:
        """Forget injected faults that have not fired yet."""
        with self._lock:
            self._faults.clear()

    def take(self, path: str, config: EmulatorConfig, *, activity: bool) -> str | None:
        """The fault this request must suffer, if any (consumes one injected fault)."""
        with self._lock:
            for fault in self._faults:
                if (fault.path is None and activity) or (
                    fault.path is not None and fault.path in path
                ):
                    if fault.after > 0:
                        fault.after -= 1
                        return None
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    return fault.kind
            if (
                activity
                and config.fault_rate
                and config.fault_kinds
                and (self._rng.random() < config.fault_rate)
            ):
                return self._rng.choice(config.fault_kinds)
        return None
