"""spawn(): the emulator as a child process on loopback, for the demo, benchmarks and tests."""

from __future__ import annotations

import contextlib
import json
import queue
import re
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from urllib.request import Request, urlopen

if TYPE_CHECKING:
    from collections.abc import Iterator

# The tree whose `python -m hubspot_emulator` is run: the repository holding this package.
REPO = Path(__file__).resolve().parent.parent
MODULE = "hubspot_emulator"
START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 10.0
# __main__ prints exactly this line once the port is bound, then nothing more on stdout.
_BANNER = re.compile(r"HubSpot emulator listening on (http://\S+)")


@dataclass
class EmulatorProcess:
    """A started emulator process: its URL, the line that gave it, and its control API."""

    process: subprocess.Popen[str]
    banner: str
    url: str
    returncode: int | None = field(default=None)

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def control(self, method: str, path: str, timeout: float = 30) -> dict[str, Any]:
        """One call to its /_emulator/ control API; the JSON answer ({} when empty)."""
        request = Request(f"{self.url}/_emulator/{path}", method=method)  # noqa: S310 - loopback
        if method == "POST":
            request.data = b"{}"
            request.add_header("Content-Type", "application/json")
        with urlopen(request, timeout=timeout) as response:  # noqa: S310 - our loopback emulator
            body = response.read()
        return dict(json.loads(body)) if body else {}

    def stats(self) -> dict[str, Any]:
        """Request counts since start or the last reset."""
        return self.control("GET", "stats")

    def reset_stats(self) -> None:
        """Start counting requests from zero."""
        self.control("POST", "reset-stats")

    def next_events(self) -> dict[str, Any]:
        """When the next event of each stream happens (a restart after it serves it)."""
        return self.control("GET", "next-events", timeout=10)


@contextlib.contextmanager
def spawn(  # noqa: PLR0913 - every launcher's knobs, all keyword-only
    *flags: str,
    python: str = sys.executable,
    cwd: Path = REPO,
    module: str = MODULE,
    log: IO[Any] | None = None,
    env: dict[str, str] | None = None,
    start_timeout: float = START_TIMEOUT_S,
    stop_timeout: float = STOP_TIMEOUT_S,
) -> Iterator[EmulatorProcess]:
    """`python -m hubspot_emulator --port 0 FLAGS` until the block ends.

    Ready when it prints the line naming its URL (it binds first), or an error once it
    exits or `start_timeout` passes; stderr goes to `log` (None: this process's stderr).
    On exit: SIGTERM (the emulator stops cleanly and exits 0), SIGKILL after
    `stop_timeout`; the exit status is kept in `returncode`.
    """
    argv = [python, "-m", module, "--port", "0", *flags]
    process = subprocess.Popen(  # noqa: S603 - our own module, no shell
        argv, cwd=cwd, stdout=subprocess.PIPE, stderr=log, env=env, text=True
    )
    running = EmulatorProcess(process, "", "")
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=_read, args=(process, lines), daemon=True)
    reader.start()
    try:
        try:
            running.banner = lines.get(timeout=start_timeout).strip()
        except queue.Empty:
            running.banner = ""
        match = _BANNER.fullmatch(running.banner)
        if match is None:
            where = f"; see {log.name}" if log is not None and hasattr(log, "name") else ""
            msg = f"the emulator did not start: {running.banner!r}{where}"
            raise RuntimeError(msg)
        running.url = match.group(1)
        yield running
    finally:
        running.returncode = _stop(process, stop_timeout)
        # Its stdout reaches EOF as it exits: the reader is done and the pipe can close.
        reader.join(timeout=stop_timeout)
        if not reader.is_alive() and process.stdout is not None:
            process.stdout.close()


def _read(process: subprocess.Popen[str], lines: queue.Queue[str]) -> None:
    """Hand on its first stdout line ("" at EOF: it exited before), then drain to EOF."""
    assert process.stdout is not None  # noqa: S101 - Popen was given stdout=PIPE
    lines.put(process.stdout.readline())
    for _ in process.stdout:
        pass


def _stop(process: subprocess.Popen[str], timeout: float) -> int:
    """SIGTERM, then SIGKILL if it is still there after `timeout`: its exit status."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode
