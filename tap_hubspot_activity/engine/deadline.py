"""A call that must end by a deadline, whatever the socket does: it is left behind otherwise."""

from __future__ import annotations

import threading
import time
import typing as t

from tap_hubspot_activity.engine.errors import RetryableError

if t.TYPE_CHECKING:
    from collections.abc import Callable

T = t.TypeVar("T")


def by_deadline(call: Callable[[], T], deadline: float, what: str) -> T:
    """`call()`'s result, or RetryableError once `deadline` (monotonic) has passed.

    Socket timeouts bound each read, not a response: a server can trickle its status
    line or headers a byte at a time. The call runs in a daemon thread; past the
    deadline it is abandoned (its reads are still bounded by the response cap) and can
    never hold up the run or its exit.
    """
    outcome: dict[str, t.Any] = {}
    done = threading.Event()

    def run() -> None:
        try:
            outcome["value"] = call()
        except BaseException as exc:  # noqa: BLE001 - raised again in the caller
            outcome["error"] = exc
        finally:
            done.set()

    threading.Thread(target=run, name="request", daemon=True).start()
    if not done.wait(max(0.0, deadline - time.monotonic())):
        msg = f"no complete answer from {what} within request_timeout"
        raise RetryableError(msg)
    if "error" in outcome:
        raise outcome["error"]
    return t.cast("T", outcome["value"])
