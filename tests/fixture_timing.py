"""Set-up time per fixture, summed over the run and printed after pytest's durations.

pytest's --durations gives each test's set-up, but a module's first test carries every
module and session fixture it starts. This plugin times each fixture's own set-up (its
dependencies are set up before the hook, so they are not counted twice) and prints the
slowest ones at the end of a run; under pytest-xdist each worker sends its figures to
the controller, which prints them together. --fixture-durations=N (default 15, 0 = off);
conftest.py adds the option and registers `FixtureTimer`.
"""

from __future__ import annotations

import time
import typing as t
from collections import defaultdict

import pytest

WORKER_KEY = "fixture_timing"


def add_option(parser: pytest.Parser) -> None:
    """--fixture-durations (conftest.py's pytest_addoption calls this)."""
    parser.addoption(
        "--fixture-durations",
        type=int,
        default=15,
        metavar="N",
        help="print the N slowest fixture set-ups (summed per fixture and scope); 0: none",
    )


class FixtureTimer:
    """Set-up seconds per (fixture, scope, where defined), and how many set-ups."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.count: dict[str, int] = defaultdict(int)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_fixture_setup(
        self, fixturedef: pytest.FixtureDef[t.Any], request: pytest.FixtureRequest
    ) -> t.Iterator[None]:
        started = time.perf_counter()
        yield
        where = fixturedef.baseid or "conftest"
        key = f"{fixturedef.argname} [{fixturedef.scope}] {where}"
        self.seconds[key] += time.perf_counter() - started
        self.count[key] += 1

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        workeroutput = getattr(session.config, "workeroutput", None)
        if workeroutput is not None:  # an xdist worker: hand the figures to the controller
            workeroutput[WORKER_KEY] = {
                key: [self.seconds[key], self.count[key]] for key in self.seconds
            }

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: t.Any, error: object) -> None:
        for key, (seconds, count) in getattr(node, "workeroutput", {}).get(WORKER_KEY, {}).items():
            self.seconds[key] += seconds
            self.count[key] += count

    def pytest_terminal_summary(self, terminalreporter: t.Any) -> None:
        limit = terminalreporter.config.getoption("fixture_durations")
        if not limit or not self.seconds:
            return
        slowest = sorted(self.seconds.items(), key=lambda item: -item[1])[:limit]
        terminalreporter.write_sep("=", f"slowest {len(slowest)} fixture set-ups")
        for key, seconds in slowest:
            terminalreporter.write_line(f"{seconds:8.2f}s  x{self.count[key]:<4} {key}")
