"""One Singer CLI run in its own process, measured: records counted, wall, CPU, peak RSS."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
import typing as t
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = REPO / ".venv" / "bin"
PYTHON = str(VENV_BIN / "python") if (VENV_BIN / "python").exists() else sys.executable
TAP = str(VENV_BIN / "tap-hubspot-activity")
TOKEN = "pat-na1-benchmark-token"
RECORD_MARK = b'{"type":"RECORD"'
STATE_MARK = b'{"type":"STATE"'
STREAM_MARK = b'{"type":"RECORD","stream":"'
RUN_TIMEOUT_S = 900.0


@dataclasses.dataclass
class RunResult:
    """One CLI run: what it printed (counted), how long it took, how much memory it held."""

    records: int
    wall_s: float
    cpu_s: float
    max_rss_kib: int
    returncode: int
    last_state: dict[str, t.Any] | None
    log: Path
    stopped: bool = False
    per_stream: dict[str, int] = dataclasses.field(default_factory=dict)

    @property
    def rate(self) -> float:
        """Records per second of wall time, start-up included."""
        return self.records / self.wall_s if self.wall_s else 0.0

    @property
    def rss_mb(self) -> float:
        """Peak resident set size in MB (10^6 bytes); ru_maxrss is KiB on Linux."""
        return self.max_rss_kib * 1024 / 1e6


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of every tap, bare tap and emulator process.

    PYTHONUNBUFFERED is removed: with it, stdout is a raw file and every message is a
    system call whatever the writer does, which is not how taps run in production.
    """
    env = {key: value for key, value in os.environ.items() if key != "PYTHONUNBUFFERED"}
    return {**env, **(extra or {})}


def run_cli(  # noqa: PLR0913
    argv: list[str],
    workdir: Path,
    name: str,
    *,
    keep_state: bool = False,
    time_limit: float | None = None,
    env: dict[str, str] | None = None,
) -> RunResult:
    """Run one Singer CLI, counting RECORD lines on the fly.

    time_limit: stop the run with SIGTERM after this many seconds and report what it did
    so far (`stopped`); without it a run that outlives RUN_TIMEOUT_S is an error.
    """
    log = workdir / f"{name}.log"
    records = 0
    last_state: bytes | None = None
    per_stream: dict[str, int] = {}
    with log.open("wb") as stderr:
        started = time.perf_counter()
        proc = subprocess.Popen(
            argv, cwd=REPO, stdout=subprocess.PIPE, stderr=stderr, bufsize=0, env=env or child_env()
        )
        assert proc.stdout is not None
        stopped = threading.Event()

        def stop() -> None:
            stopped.set()
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM if time_limit else signal.SIGKILL)

        timer = threading.Timer(time_limit or RUN_TIMEOUT_S, stop)
        timer.start()
        try:
            if keep_state:
                # Line by line, to keep the last STATE message and count per stream. The
                # pipe is unbuffered (bufsize=0): read it through a buffer, or every line
                # costs a system call per byte and the tap waits on a full pipe.
                for line in io.BufferedReader(proc.stdout, buffer_size=1 << 20):
                    if line.startswith(RECORD_MARK):
                        records += 1
                        stream = line[len(STREAM_MARK) : line.find(b'"', len(STREAM_MARK))]
                        per_stream[stream.decode()] = per_stream.get(stream.decode(), 0) + 1
                    elif line.startswith(STATE_MARK):
                        last_state = line
            else:
                # Count markers in raw chunks; the carried tail is one byte shorter than
                # the marker, so a marker split across two reads is counted exactly once.
                tail = b""
                while chunk := proc.stdout.read(1 << 20):
                    buffer = tail + chunk
                    records += buffer.count(RECORD_MARK)
                    tail = buffer[-(len(RECORD_MARK) - 1) :]
        except BaseException:
            proc.kill()
            raise
        finally:
            proc.stdout.close()
            _, status, usage = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - started
            timer.cancel()
            proc.returncode = os.waitstatus_to_exitcode(status)
    result = RunResult(
        records=records,
        wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime,
        max_rss_kib=usage.ru_maxrss,
        returncode=proc.returncode,
        last_state=json.loads(last_state)["value"] if last_state else None,
        log=log,
        stopped=stopped.is_set(),
        per_stream=per_stream,
    )
    if result.stopped and not time_limit:
        msg = f"{name} ran longer than {RUN_TIMEOUT_S:.0f} s; see {log}"
        raise TimeoutError(msg)
    if result.returncode != 0 and not result.stopped:
        tail_lines = log.read_text(errors="replace").splitlines()[-15:]
        msg = f"{name} exited {result.returncode}; last log lines:\n" + "\n".join(tail_lines)
        raise RuntimeError(msg)
    return result


def git_commit() -> str:
    """Short HEAD, with +dirty when tracked or untracked files differ from it."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head}+dirty" if dirty else head


def versions() -> str:
    """Python, singer-sdk and msgspec of the tap's own interpreter (the venv)."""
    code = (
        "import platform, importlib.metadata as m; "
        'print(f\'Python {platform.python_version()}, singer-sdk {m.version("singer-sdk")}, '
        'msgspec {m.version("msgspec")}\')'
    )
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        return subprocess.run(
            [PYTHON, "-c", code], capture_output=True, text=True, check=True
        ).stdout.strip()
    return "versions unknown"
