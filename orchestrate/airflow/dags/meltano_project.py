"""What the DAG files share: the Meltano project's paths, the meltano command, a redacted run.

Not a DAG file (.airflowignore lists it): meltano.py and fleet.py import it from their
folder. The environment is read at each call, not once: this module stays imported while
Airflow parses the DAG files again.

Environment of the DAG processor and the workers:
    MELTANO_PROJECT_ROOT    the Meltano project (default: three levels above this file)
    MELTANO_BIN             the meltano executable (default: `meltano` on PATH, else
                            <project>/.venv/bin/meltano)
    MELTANO_DAG_ENV_FILE    a dotenv file for meltano (`meltano --env-file`) instead of
                            <project>/.env; variables set in the environment still win
    MELTANO_SYS_DIR_ROOT    Meltano's system directory (default <project>/.meltano)
"""

from __future__ import annotations

import collections
import logging
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
from pathlib import Path


def project_root() -> Path:
    """The Meltano project: MELTANO_PROJECT_ROOT, else three levels above this file."""
    configured = os.environ.get("MELTANO_PROJECT_ROOT")
    return Path(configured or Path(__file__).resolve().parents[3]).resolve()


def sys_dir() -> Path:
    """Meltano's system directory: MELTANO_SYS_DIR_ROOT, else <project>/.meltano."""
    return Path(os.environ.get("MELTANO_SYS_DIR_ROOT") or project_root() / ".meltano")


def env_file() -> str | None:
    """The dotenv file meltano reads instead of <project>/.env, if one is configured."""
    return os.environ.get("MELTANO_DAG_ENV_FILE") or None


# The tap's own rules (redaction, the portal list) are read from its source: in the project,
# else in a folder above these DAGs. The Airflow virtualenv does not install the tap, and
# those modules need only the standard library, urllib3 and pendulum. Appended, so an
# installed tap would win.
TAP_SOURCE = next(
    (
        root
        for root in (project_root(), *Path(__file__).resolve().parents)
        if (root / "tap_hubspot_activity" / "__init__.py").is_file()
    ),
    None,
)
if TAP_SOURCE is not None and str(TAP_SOURCE) not in sys.path:
    sys.path.append(str(TAP_SOURCE))

from tap_hubspot_activity.engine.redaction import Redactor  # noqa: E402, TC001 - fleet.py runs it

# Meltano's own error lines, not the traceback box around them.
ERROR_LINE = re.compile(r"\[(error|critical)\b|Error:|FATAL")
STOP_TIMEOUT_S = 30
MAX_ERROR_LINES = 20  # in the failure message of a run

log = logging.getLogger(__name__)


class MeltanoNotFoundError(RuntimeError):
    """No meltano executable: MELTANO_BIN names the one to use."""


def meltano_bin() -> str:
    """The meltano executable, as an absolute path when one is found."""
    configured = os.environ.get("MELTANO_BIN")
    if configured:
        return configured
    found = shutil.which("meltano")
    if found:
        return found
    local = project_root() / ".venv" / "bin" / "meltano"
    if local.exists():
        return str(local)
    msg = (
        "meltano is not on PATH and not in the project's .venv; set MELTANO_BIN "
        f"(project: {project_root()})"
    )
    raise MeltanoNotFoundError(msg)


def meltano_command(executable: str, *args: str) -> list[str]:
    """A meltano command line, with the env file when one is configured."""
    configured = env_file()
    return [executable, *(["--env-file", configured] if configured else []), *args]


def error_lines(lines: list[str], limit: int) -> list[str]:
    """Meltano's error lines among its output, at most `limit` of them."""
    return [line.strip() for line in lines if ERROR_LINE.search(line)][:limit]


def run_meltano(args: list[str], env: dict[str, str], redactor: Redactor, what: str) -> None:
    """Run meltano, its output into the task log (secrets redacted); raise on failure."""
    command = meltano_command(meltano_bin(), *args)
    log.info("%s: %s (system directory %s)", what, shlex.join(command), env["MELTANO_SYS_DIR_ROOT"])
    tail: collections.deque[str] = collections.deque(maxlen=40)
    errors: list[str] = []
    process = subprocess.Popen(  # noqa: S603
        command,
        cwd=project_root(),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        start_new_session=True,  # its own process group: the tap and target end with it
    )
    try:
        assert process.stdout is not None  # noqa: S101 - for mypy
        for raw in process.stdout:
            # Whole lines, whatever their length: the tap's redaction without its cut.
            line = redactor.redact(raw.rstrip("\n"), limit=sys.maxsize)
            if "METRIC" in line:
                continue  # the tap's per-request metrics: too many lines for a task log
            log.info("%s", line)
            tail.append(line)
            if len(errors) < MAX_ERROR_LINES:
                errors.extend(error_lines([line], 1))
        returncode = process.wait()
    except BaseException:  # a timeout or a kill of the task: the run goes with it
        stop(process)
        raise
    if returncode != 0:
        detail = "\n".join(errors or list(tail)[-15:])
        msg = f"{what}: `meltano {' '.join(args)}` exited {returncode}:\n{detail}"
        raise RuntimeError(msg)


def stop(process: subprocess.Popen[str]) -> None:
    """End a meltano run and its process group: SIGTERM, then SIGKILL."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            continue
        return
