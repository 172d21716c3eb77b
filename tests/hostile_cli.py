"""The tap as a process against a hostile server: its config, a run's outcome, and the bounds.

Shared by the tests/test_hostile*.py modules: every foreseeable failure ends with exit 1
and one plain line within BOUND_S; memory is the tap's own peak RSS, not its parent's.
"""

from __future__ import annotations

import datetime as dt
import json
import os
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
LAUNCHER = Path(__file__).with_name("peak_rss_launcher.py")


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
    """The tap as a process; SIGTERM once `stop_when()`; its own peak RSS (see the launcher)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "config.json"
        path.write_text(json.dumps(config))
        stdout, stderr = Path(folder) / "out", Path(folder) / "err"
        report = Path(folder) / "report"
        started = time.monotonic()
        with stdout.open("wb") as out, stderr.open("wb") as err:
            process = subprocess.Popen(
                [
                    *(sys.executable, str(LAUNCHER), str(report), str(open_files or 0)),
                    *(sys.executable, "-m", "tap_hubspot_activity", "--config", str(path)),
                ],
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
            deadline = started + timeout
            while stop_when is not None and not stop_when() and time.monotonic() < deadline:
                time.sleep(0.05)
            if stop_when is not None:
                signalled = time.monotonic()
                process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                pytest.fail(f"the tap was still running after {timeout} s")
        code, max_rss_kb = (int(field) for field in report.read_text().split())
        return CliRun(
            code=code,
            stdout=stdout.read_text(),
            stderr=stderr.read_text(),
            seconds=time.monotonic() - (signalled if stop_when is not None else started),
            max_rss_mb=max_rss_kb / 1024,
        )


def assert_plain_failure(run: CliRun, *fragments: str) -> None:
    assert run.code == 1, run.stderr[-2000:]
    assert "Traceback" not in run.stderr
    assert run.seconds < BOUND_S
    for fragment in fragments:
        assert fragment in run.last_line, run.last_line


# 1. Events lost: one out-of-order record must never stop the paging.
