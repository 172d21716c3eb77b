"""The benchmarks' HubSpot emulators: one process per data set (spawn), and their stats."""

from __future__ import annotations

import contextlib
import typing as t

from benchmarks.cli_runs import PYTHON, REPO, child_env
from hubspot_emulator.process import MODULE, spawn

if t.TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from hubspot_emulator.process import EmulatorProcess

# No rolling limit where the figure is about CPU, not about the rate limit.
UNLIMITED = ("--ten-second-max", "1000000000", "--daily-max", "1000000000")
# Before the emulator became a package of its own it was `tests.emulator`: --emulator-src
# may name a tree of either age.
OLD_MODULE = "tests.emulator"


def emulator_module(source: Path) -> str | None:
    """The emulator's module in a source tree, or None when it holds none."""
    for module in (MODULE, OLD_MODULE):
        if (source / module.replace(".", "/") / "__main__.py").is_file():
            return module
    return None


@contextlib.contextmanager
def emulator(
    workdir: Path, name: str, *flags: str, source: Path = REPO
) -> Iterator[EmulatorProcess]:
    """`python -m hubspot_emulator` run from `source` for one data set; stderr to a log."""
    module = emulator_module(source) or MODULE
    with (
        (workdir / f"emulator-{name}.log").open("wb") as log,
        spawn(*flags, python=PYTHON, cwd=source, module=module, log=log, env=child_env()) as emu,
    ):
        yield emu


def data_flags(per_day: int, days: int) -> tuple[str, ...]:
    """A portal of about per_day * days security events (login and audit at defaults)."""
    return ("--seed", "7", "--security-per-day", str(per_day), "--history-days", str(days))


def activity_pages(stats: dict[str, t.Any], endpoint: str | None = None) -> int:
    """Data requests in emulator stats (every status; not details, not OAuth), or one path's."""
    return sum(count for path, count in data_paths(stats).items() if endpoint in (None, path))


def data_paths(stats: dict[str, t.Any]) -> dict[str, int]:
    """Requests per data endpoint path (every status), from emulator stats."""
    paths: dict[str, int] = {}
    for key, count in stats.get("requests", {}).items():
        path = key.rsplit(" ", 1)[0]
        if not path.endswith("/details") and "/oauth/" not in path:
            paths[path] = paths.get(path, 0) + count
    return paths
