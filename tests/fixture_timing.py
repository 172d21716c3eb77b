"""Set-up time per fixture and wall time per test module, printed before pytest's durations.

pytest's --durations gives each test's set-up, but a module's first test carries every
module and session fixture it starts. This plugin times each fixture's own set-up (its
dependencies are set up before the hook, so they are not counted twice) and prints the
slowest ones at the end of a run; under pytest-xdist each worker sends its figures to
the controller, which prints them together. --fixture-durations=N (default 15, 0 = off);
conftest.py adds the option and registers `FixtureTimer`.

It also prints the CPU time the run used (pytest's processes and everything they waited
for, plus the shared PostgreSQL server), the least wall time the machine's cores allow
for that work, and each worker's modules in the order they ran, with when each started
and how long it took from its first set-up to its last teardown (modules of at least
MODULE_SPAN_MIN_S): how the modules were spread over the workers, and which ran last.
"""

from __future__ import annotations

import os
import resource
import time
import typing as t
from collections import defaultdict

import pytest

from tests import shared

WORKER_KEY = "fixture_timing"
SPANS_KEY = "module_spans"
CPU_KEY = "cpu_seconds"
MODULE_SPAN_MIN_S = 5.0


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
        # module -> [first start, last end (wall clock), worker]
        self.spans: dict[str, list[t.Any]] = {}
        self.started = time.time()
        self.worker_cpu = 0.0  # what the xdist workers used, each with its children

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> t.Iterator[None]:
        started = time.time()
        yield
        module = item.nodeid.split("::", 1)[0]
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        span = self.spans.setdefault(module, [started, started, worker])
        span[0], span[1] = min(span[0], started), max(span[1], time.time())

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
            workeroutput[SPANS_KEY] = self.spans
            workeroutput[CPU_KEY] = _cpu(resource.RUSAGE_SELF) + _cpu(resource.RUSAGE_CHILDREN)

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: t.Any, error: object) -> None:
        for key, (seconds, count) in getattr(node, "workeroutput", {}).get(WORKER_KEY, {}).items():
            self.seconds[key] += seconds
            self.count[key] += count
        self.spans.update(getattr(node, "workeroutput", {}).get(SPANS_KEY, {}))
        self.worker_cpu += getattr(node, "workeroutput", {}).get(CPU_KEY, 0.0)

    def pytest_terminal_summary(self, terminalreporter: t.Any) -> None:
        limit = terminalreporter.config.getoption("fixture_durations")
        if not limit:
            return
        self._write_cpu(terminalreporter)
        self._write_spans(terminalreporter)
        if not self.seconds:
            return
        slowest = sorted(self.seconds.items(), key=lambda item: -item[1])[:limit]
        terminalreporter.write_sep("=", f"slowest {len(slowest)} fixture set-ups")
        for key, seconds in slowest:
            terminalreporter.write_line(f"{seconds:8.2f}s  x{self.count[key]:<4} {key}")

    def _write_spans(self, terminalreporter: t.Any) -> None:
        if not self.spans:
            return
        origin = min(start for start, _, _ in self.spans.values())
        terminalreporter.write_sep("=", f"test modules per worker (>= {MODULE_SPAN_MIN_S:.0f} s)")
        for module, (start, end, worker) in sorted(
            self.spans.items(), key=lambda item: (item[1][2], item[1][0])
        ):
            if end - start >= MODULE_SPAN_MIN_S:
                terminalreporter.write_line(
                    f"{worker:>5}  from {start - origin:6.0f}s  {end - start:7.1f}s  {module}"
                )

    def _write_cpu(self, terminalreporter: t.Any) -> None:
        """This process, the workers (or, without xdist, this process's children, all
        waited for), and the shared server, whose backends no pytest process waits for."""
        processes = _cpu(resource.RUSAGE_SELF) + (self.worker_cpu or _cpu(resource.RUSAGE_CHILDREN))
        server = shared.server_cpu_seconds() or 0.0
        cores = os.cpu_count() or 1
        total = processes + server
        terminalreporter.write_sep("=", "CPU time of the run")
        terminalreporter.write_line(
            f"{total:.0f} CPU-s (pytest processes and their children {processes:.0f}, "
            f"PostgreSQL {server:.0f}) in {time.time() - self.started:.0f} s wall: "
            f"at least {total / cores:.0f} s on {cores} cores"
        )


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime
