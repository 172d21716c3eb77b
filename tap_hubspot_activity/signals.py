"""SIGTERM and SIGINT: the run stops at once with exit 1, the last STATE written standing."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import typing as t

if t.TYPE_CHECKING:
    from collections.abc import Callable
    from types import FrameType

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Stopped(BaseException):
    """A signal stopped the run.

    A BaseException, as KeyboardInterrupt is: raised wherever the main thread is, it must
    not be swallowed by an `except Exception` on its way (a logging handler's, which
    would print a traceback and let the run go on).
    """


def stop_on_signals() -> None:
    """From now on the first SIGTERM or SIGINT raises Stopped in the main thread."""

    def stop(signum: int, _frame: FrameType | None) -> None:
        # A second signal ends the process the default way, should the exit itself hang.
        for each in STOP_SIGNALS:
            signal.signal(each, signal.SIG_DFL)
        msg = f"Stopped by {signal.Signals(signum).name}: the last STATE emitted stands"
        raise Stopped(msg)

    for signum in STOP_SIGNALS:
        signal.signal(signum, stop)


def exit_now(
    logger: logging.Logger, stopped: Stopped, flush: Callable[[], None] | None
) -> t.NoReturn:
    """One plain line, everything written so far flushed, exit 1 without the teardown.

    Freeing a run of thousands of portals (clients, jobs, a STATE of every portal) takes
    the interpreter seconds, and whoever sent the signal (Meltano, Airflow, a container
    runtime) sends SIGKILL soon after.
    """
    logger.error("%s", stopped)
    with contextlib.suppress(OSError, ValueError):  # a reader gone or stdout closed
        if flush is not None:
            flush()  # the tap's output buffer
        sys.stdout.flush()
    logging.shutdown()
    os._exit(1)
