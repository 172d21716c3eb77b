"""The tap as a process against a hostile server: its config, a run's outcome, and the bounds.

Shared by the tests/test_hostile*.py modules: every foreseeable failure ends with exit 1
and one plain line within BOUND_S; memory is measured from the process's own rusage.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
import typing as t
from dataclasses import dataclass
from pathlib import Path

import pytest

if t.TYPE_CHECKING:
    from tests.hostile import HostileServer

TOKEN = "pat-na1-hostile-0123456789abcdef"
SECRET = "client-secret-0123456789abcdef"
REFRESH = "refresh-token-0123456789abcdef"
# Short budgets keep the suite quick; the bound the tap must meet follows from them.
FAST = {"max_retry_seconds": 3, "request_timeout": 2}
BOUND_S = max(60, FAST["max_retry_seconds"] + 30)
MEGABYTE = 1024 * 1024


def config_for(server: HostileServer, **overrides: t.Any) -> dict[str, t.Any]:
    start = (dt.datetime.now(dt.UTC) - dt.timedelta(days=30)).isoformat()
    return {"access_token": TOKEN, "api_url": server.url, "start_date": start, **FAST, **overrides}


@dataclass
class CliRun:
    code: int
    stdout: str
    stderr: str
    seconds: float
    max_rss_mb: float

    def messages(self, kind: str) -> list[dict[str, t.Any]]:
        lines = [json.loads(line) for line in self.stdout.splitlines() if line.startswith("{")]
        return [line for line in lines if line.get("type") == kind]

    @property
    def last_line(self) -> str:
        return self.stderr.strip().splitlines()[-1]


def run_cli(
    config: dict[str, t.Any],
    *,
    timeout: float = BOUND_S + 30,
    open_files: int | None = None,
    stop_when: t.Callable[[], bool] | None = None,
) -> CliRun:
    """The tap as a process; SIGTERM once `stop_when()`; peak RSS from wait4."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "config.json"
        path.write_text(json.dumps(config))
        stdout, stderr = Path(folder) / "out", Path(folder) / "err"

        def limit() -> None:
            if open_files:
                resource.setrlimit(resource.RLIMIT_NOFILE, (open_files, open_files))

        started = time.monotonic()
        with stdout.open("wb") as out, stderr.open("wb") as err:
            process = subprocess.Popen(
                [sys.executable, "-m", "tap_hubspot_activity", "--config", str(path)],
                stdout=out,
                stderr=err,
                preexec_fn=limit,  # noqa: PLW1509 - only setrlimit, before exec
            )
            deadline = started + timeout
            while stop_when is not None and not stop_when() and time.monotonic() < deadline:
                time.sleep(0.05)
            if stop_when is not None:
                signalled = time.monotonic()
                process.send_signal(signal.SIGTERM)
            while True:
                pid, status, usage = os.wait4(process.pid, os.WNOHANG)
                if pid:
                    process.returncode = os.waitstatus_to_exitcode(status)
                    break
                if time.monotonic() > deadline:
                    process.kill()
                    pytest.fail(f"the tap was still running after {timeout} s")
                time.sleep(0.05)
        return CliRun(
            code=process.returncode,
            stdout=stdout.read_text(),
            stderr=stderr.read_text(),
            seconds=time.monotonic() - (signalled if stop_when is not None else started),
            max_rss_mb=usage.ru_maxrss / 1024,
        )


def assert_plain_failure(run: CliRun, *fragments: str) -> None:
    assert run.code == 1, run.stderr[-2000:]
    assert "Traceback" not in run.stderr
    assert run.seconds < BOUND_S
    for fragment in fragments:
        assert fragment in run.last_line, run.last_line


# 1. Events lost: one out-of-order record must never stop the paging.
