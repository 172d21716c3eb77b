"""The one stop-aware wait: every wait of a portal's reads ends at once when it is stopped."""

from __future__ import annotations

import typing as t

from tap_hubspot_activity.engine.errors import TerminatedError

if t.TYPE_CHECKING:
    import threading


def stopped_error() -> TerminatedError:
    """The error that ends whatever a stopped portal (or run) was doing."""
    return TerminatedError("stopped")


def check_stop(stop: threading.Event) -> None:
    """Raise TerminatedError if `stop` is set."""
    if stop.is_set():
        raise stopped_error()


def wait_unless_stopped(
    stop: threading.Event, seconds: float, changed: threading.Condition | None = None
) -> None:
    """Wait `seconds` (or until `changed` is notified; its lock held); stopped, raise at once.

    Without `changed` the wait is on `stop` itself, so a stop ends it at once; with it,
    the waiter looks at `stop` before each wait and keeps its waits short.
    """
    if changed is None:
        if stop.wait(seconds):
            raise stopped_error()
        return
    check_stop(stop)
    changed.wait(seconds)
