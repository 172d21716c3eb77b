"""A long step run with a line as it starts, what it does every ~10 s, and its time (stdlib only).

`make demo` runs `python3 -m scripts.steps install -- make install` before the venv
exists, so this module imports nothing outside the standard library.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import typing as t
from pathlib import Path

if t.TYPE_CHECKING:
    from collections.abc import Sequence

TELL_SECONDS = 10.0
TAIL_LINES = 20
POLL_SECONDS = 0.5
# The tap's own progress and closing lines, however Meltano wraps them.
TAP_PROGRESS = re.compile(r"(\b[a-z_]+(?: \([^)]*\))?: (?:done, )?[\d,]+ records, .*?)\s*$")


class StepFailedError(SystemExit):
    """A step ended with a non-zero exit: its log's tail was printed."""


def say(text: str = "") -> None:
    """Print a line of the demo's own output at once."""
    print(text, flush=True)  # noqa: T201


def run_step(  # noqa: PLR0913 - a command and where it runs
    name: str,
    args: Sequence[str],
    log_path: Path,
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    progress: re.Pattern[str] | None = None,
) -> float:
    """Run `args` with its output in `log_path`; say what happens; the seconds it took.

    While it runs, lines of its log that match `progress` are repeated (the tap's own
    counts); otherwise a line every TELL_SECONDS says it is still at work. On failure the
    last TAIL_LINES of the log are printed and StepFailedError is raised.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    say(f"[{name}] started (log: {_shown(log_path)})")
    started = last_told = time.monotonic()
    with log_path.open("w") as log, log_path.open() as reader:
        process = subprocess.Popen(  # noqa: S603 - our own commands
            list(args), cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        while True:
            finished = process.poll() is not None
            for line in reader.readlines():
                match = progress.search(line) if progress else None
                if match:
                    say(f"[{name}] {match.group(1)}")
                    last_told = time.monotonic()
            now = time.monotonic()
            if finished:
                break
            if now - last_told >= TELL_SECONDS:
                say(f"[{name}] still running, {now - started:.0f} s")
                last_told = now
            time.sleep(POLL_SECONDS)
    elapsed = time.monotonic() - started
    if process.returncode != 0:
        tail = log_path.read_text(errors="replace").splitlines()[-TAIL_LINES:]
        say(f"[{name}] failed after {elapsed:.1f} s (exit {process.returncode}); its log ends:")
        say("\n".join(f"    {line}" for line in tail))
        msg = f"[{name}] failed; full log: {_shown(log_path)}"
        raise StepFailedError(msg)
    say(f"[{name}] done in {elapsed:.1f} s")
    return elapsed


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def main(argv: list[str]) -> int:
    """`python3 -m scripts.steps NAME -- COMMAND...`: one step, told as it runs."""
    if len(argv) < 3 or argv[1] != "--":  # noqa: PLR2004 - NAME -- COMMAND
        say(__doc__ or "")
        return 2
    name, command = argv[0], argv[2:]
    log = Path(os.environ.get("STEP_LOG_DIR", ".demo")) / f"{name}.log"
    try:
        run_step(name, command, log)
    except StepFailedError as exc:
        say(str(exc))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
