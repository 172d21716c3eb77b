"""The benchmark harness: data set sizes, table rows, and the runs every section makes."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
import typing as t

from benchmarks.cli_runs import PYTHON, REPO, TAP, TOKEN, RunResult, child_env, run_cli
from benchmarks.emulators import emulator

if t.TYPE_CHECKING:
    from contextlib import AbstractContextManager
    from pathlib import Path

    from hubspot_emulator.process import EmulatorProcess

BENCH_STREAM = "security_activity"


@dataclasses.dataclass(frozen=True)
class Sizes:
    """Data set sizes: events per day times days of history (security_activity)."""

    zero: tuple[int, int]  # records/s at zero latency, and RSS at "100k"
    big: tuple[int, int]  # RSS at "1M"
    latency: tuple[int, int]  # concurrent pages/s at 250 ms
    sequential: tuple[int, int]  # the same tap with max_concurrency=1
    repeat: int
    # Events per stream of the three-stream backfill (login history: 90 days of them).
    backfill: int
    # A latency run still paging after this long is stopped; pages/s is what it did so far.
    latency_limit_s: float


FULL = Sizes(
    zero=(1000, 100),
    big=(10000, 100),
    latency=(1000, 100),
    sequential=(1000, 10),
    repeat=3,
    backfill=60_000,
    latency_limit_s=120.0,
)
QUICK = Sizes(
    zero=(1000, 30),
    big=(1000, 300),
    latency=(500, 60),
    sequential=(300, 10),
    repeat=1,
    backfill=20_000,
    latency_limit_s=45.0,
)


@dataclasses.dataclass
class Row:
    """One line of the results table."""

    figure: str
    value: str
    target: str = ""
    ok: bool | None = None  # None: informational
    detail: str = ""


class Bench:
    """Runs the sections and collects table rows."""

    def __init__(
        self,
        workdir: Path,
        sizes: Sizes,
        tap_src: Path | None = None,
        emulator_src: Path = REPO,
    ) -> None:
        """A work directory for configs, catalogs and logs; *_src: other source trees."""
        self.workdir = workdir
        self.sizes = sizes
        self.emulator_src = emulator_src
        self.tap_env = child_env()
        if tap_src is not None:
            # Ahead of the editable install's path entry: the tap is imported from tap_src.
            paths = [str(tap_src), os.environ.get("PYTHONPATH", "")]
            self.tap_env = child_env({"PYTHONPATH": os.pathsep.join(p for p in paths if p)})
        self.rows: list[Row] = []
        self.raw: dict[str, t.Any] = {}
        self._catalog: Path | None = None
        self._runs = 0

    def add(self, *args: t.Any, **kwargs: t.Any) -> None:
        """Append a row and echo it, so a long run shows progress."""
        row = Row(*args, **kwargs)
        self.rows.append(row)
        print(f"  {row.figure}: {row.value}  {row.detail}", file=sys.stderr, flush=True)

    def emulator(self, name: str, *flags: str) -> AbstractContextManager[EmulatorProcess]:
        """One emulator process for one data set, for the length of a `with` block."""
        return emulator(self.workdir, name, *flags, source=self.emulator_src)

    def write_json(self, name: str, data: dict[str, t.Any]) -> Path:
        """A JSON file in the work directory."""
        path = self.workdir / name
        path.write_text(json.dumps(data, indent=2))
        return path

    def tap_config(self, emulator: EmulatorProcess, name: str, **settings: t.Any) -> Path:
        """A tap config for one emulator; everything not given keeps the tap's default."""
        return self.write_json(
            f"config-{name}.json", {"access_token": TOKEN, "api_url": emulator.url, **settings}
        )

    def catalog(self, config: Path) -> Path:
        """The tap's discovered catalog with only security_activity selected."""
        if self._catalog is None:
            out = subprocess.run(
                [TAP, "--config", str(config), "--discover"],
                cwd=REPO,
                capture_output=True,
                check=True,
                timeout=120,
                env=self.tap_env,
            )
            catalog = json.loads(out.stdout)
            for stream in catalog["streams"]:
                for entry in stream.get("metadata", []):
                    if entry.get("breadcrumb") == []:
                        entry["metadata"]["selected"] = stream["tap_stream_id"] == BENCH_STREAM
            self._catalog = self.write_json("catalog-security.json", catalog)
        return self._catalog

    def tap(
        self,
        name: str,
        config: Path,
        *,
        catalog: Path | None = None,
        state: dict[str, t.Any] | None = None,
        time_limit: float | None = None,
    ) -> RunResult:
        """One tap CLI run."""
        self._runs += 1
        name = f"{self._runs:02d}-{name}"
        argv = [TAP, "--config", str(config)]
        if state is not None:
            argv += ["--state", str(self.write_json(f"state-{name}.json", state))]
        if catalog is not None:
            argv += ["--catalog", str(catalog)]
        print(f"[{time.strftime('%H:%M:%S')}] {name}", file=sys.stderr, flush=True)
        return run_cli(
            argv,
            self.workdir,
            name,
            keep_state=state is not None or catalog is None,
            time_limit=time_limit,
            env=self.tap_env,
        )

    def bare(self, name: str, records: int) -> RunResult:
        """The bare singer-sdk stream emitting `records` records."""
        self._runs += 1
        name = f"{self._runs:02d}-{name}"
        config = self.write_json(f"config-{name}.json", {"records": records})
        print(f"[{time.strftime('%H:%M:%S')}] {name}", file=sys.stderr, flush=True)
        # Run as a script, not -m: the tap (and its writer) then comes from the same place
        # as the tap runs' (--tap-src or the editable install), not from the current dir.
        argv = [PYTHON, str(REPO / "benchmarks" / "bare_tap.py"), "--config", str(config)]
        return run_cli(argv, self.workdir, name, env=self.tap_env)

    # Sections


def render(rows: list[Row], header: str) -> str:
    """One aligned table."""
    table = [("figure", "value", "target", "result", "detail")]
    for row in rows:
        result = "" if row.ok is None else ("PASS" if row.ok else "FAIL")
        table.append((row.figure, row.value, row.target, result, row.detail))
    widths = [max(len(line[i]) for line in table) for i in range(4)]
    lines = [header, ""]
    for index, line in enumerate(table):
        cells = [line[0].ljust(widths[0]), line[1].rjust(widths[1])]
        cells += [line[2].ljust(widths[2]), line[3].ljust(widths[3]), line[4]]
        lines.append("  ".join(cells).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)
