"""Runs one command as its own child and writes that child's exit code and peak RSS to a file.

Why a launcher: on Linux a process forked from a large one (a pytest worker grown to
hundreds of MB) keeps the parent's high-water RSS through exec, so wait4 from the worker
over-reports the tap's memory. Forked from this small process, the figure is the tap's own.
Usage: python peak_rss_launcher.py REPORT OPEN_FILES COMMAND...
(OPEN_FILES 0 keeps the inherited limit). SIGTERM is passed on to the command.
"""

from __future__ import annotations

import os
import resource
import signal
import sys
from pathlib import Path


def main() -> int:
    report, open_files, *command = sys.argv[1:]
    child = os.fork()
    if child == 0:
        if int(open_files):
            resource.setrlimit(resource.RLIMIT_NOFILE, (int(open_files), int(open_files)))
        os.execv(command[0], command)  # noqa: S606 - a test's own command, no shell
    signal.signal(signal.SIGTERM, lambda *_: os.kill(child, signal.SIGTERM))
    _, status, usage = os.wait4(child, 0)
    code = os.waitstatus_to_exitcode(status)
    Path(report).write_text(f"{code} {usage.ru_maxrss}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
