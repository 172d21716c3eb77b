"""Benchmark harness: the tap CLI against the HubSpot emulator, each in its own process.

    python -m benchmarks.run            # the full harness (about 12 minutes on 2 cores)
    python -m benchmarks.run --quick    # smaller data sets, one repeat (about 1.5 minutes)
    python -m benchmarks.run --only zero,latency --repeat 5 --keep

Sections (see benchmarks/README.md for what each figure means):
  zero      records/s at zero latency, tap vs a bare singer-sdk stream (benchmarks.bare_tap)
  latency   pages/s at 250 ms latency under a 190 per 10 s limit, tap vs itself sequential
  rss       peak RSS of the tap process at 100k and 1M records
  requests  requests of a full run and of an unchanged incremental run (all three streams)
  backfill  a first run of all three streams at 250 ms, with and without read_ahead, against
            its critical-path bound max(longest cursor chain x round trip, requests / 19/s)

Every run is a fresh subprocess: `.venv/bin/tap-hubspot-activity --config ... [--state ...]
[--catalog ...]` with stdout piped to a counter (RECORD lines are counted, never kept) and
peak RSS read from os.wait4's rusage. This is a measuring tool, not a test: it always
prints the whole table and exits 0 unless a run itself fails (--strict: 1 on any FAIL).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import io
import json
import math
import os
import re
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import typing as t
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = REPO / ".venv" / "bin"
PYTHON = str(VENV_BIN / "python") if (VENV_BIN / "python").exists() else sys.executable
TAP = str(VENV_BIN / "tap-hubspot-activity")
TOKEN = "pat-na1-benchmark-token"
RECORD_MARK = b'{"type":"RECORD"'
STATE_MARK = b'{"type":"STATE"'
STREAM_MARK = b'{"type":"RECORD","stream":"'
PAGE_SIZE = 200
BENCH_STREAM = "security_activity"
# No rolling limit where the figure is about CPU, not about the rate limit.
UNLIMITED = ("--ten-second-max", "1000000000", "--daily-max", "1000000000")
RUN_TIMEOUT_S = 900.0

# Targets of the issue.
TARGET_RATIO = 0.6
LATENCY_MS = 250
TEN_SECOND_MAX = 190
PAGES_BOUND = TEN_SECOND_MAX / 10  # 19 pages/s
TARGET_PAGES = 16.0
TARGET_SPEEDUP = 3.5
TARGET_RSS_MB = 150.0
TARGET_RSS_GROWTH = 1.2
TARGET_BACKFILL = 1.15
TARGET_READ_AHEAD_GAIN = 0.2


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


# Processes


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


class Emulator:
    """`python -m tests.emulator` in its own process, for one data set."""

    # Where `python -m tests.emulator` runs: the repository, or --emulator-src.
    source = REPO

    def __init__(self, workdir: Path, name: str, *flags: str) -> None:
        """Remember the flags; the process starts on __enter__."""
        self.workdir = workdir
        self.name = name
        self.flags = flags
        self.url = ""
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> t.Self:
        """Start the emulator and wait for its `listening on` line."""
        argv = [PYTHON, "-m", "tests.emulator", "--port", "0", *self.flags]
        self._log = (self.workdir / f"emulator-{self.name}.log").open("wb")
        self._proc = subprocess.Popen(
            argv, cwd=self.source, stdout=subprocess.PIPE, stderr=self._log, env=child_env()
        )
        assert self._proc.stdout is not None
        ready, _, _ = select.select([self._proc.stdout], [], [], 120)
        line = self._proc.stdout.readline().decode() if ready else ""
        match = re.search(r"listening on (http://\S+)", line)
        if not match:
            self.__exit__()
            msg = f"emulator {self.name} did not start: {line!r}"
            raise RuntimeError(msg)
        self.url = match.group(1)
        return self

    def __exit__(self, *exc: object) -> None:
        """SIGTERM, then wait (the emulator exits 0 on SIGTERM)."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._log.close()

    def _call(self, method: str, path: str) -> dict[str, t.Any]:
        request = urllib.request.Request(f"{self.url}/_emulator/{path}", method=method)
        if method == "POST":
            request.data = b"{}"
            request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read()
        return json.loads(body) if body else {}

    def stats(self) -> dict[str, t.Any]:
        """Request counts since start or the last reset."""
        return self._call("GET", "stats")

    def reset_stats(self) -> None:
        """Start counting requests from zero."""
        self._call("POST", "reset-stats")


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


# The harness


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

    def __init__(self, workdir: Path, sizes: Sizes, tap_src: Path | None = None) -> None:
        """A work directory for configs, catalogs and logs; tap_src: another source tree."""
        self.workdir = workdir
        self.sizes = sizes
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

    def write_json(self, name: str, data: dict[str, t.Any]) -> Path:
        """A JSON file in the work directory."""
        path = self.workdir / name
        path.write_text(json.dumps(data, indent=2))
        return path

    def tap_config(self, emulator: Emulator, name: str, **settings: t.Any) -> Path:
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

    def zero(self) -> RunResult | None:
        """Records/s at zero latency beside the bare singer-sdk stream, interleaved."""
        per_day, days = self.sizes.zero
        with Emulator(self.workdir, "zero", *data_flags(per_day, days), *UNLIMITED) as emu:
            config = self.tap_config(emu, "zero")
            catalog = self.catalog(config)
            taps: list[RunResult] = []
            bares: list[RunResult] = []
            pages = 0
            for attempt in range(self.sizes.repeat):
                emu.reset_stats()
                run = self.tap(f"zero-tap-{attempt + 1}", config, catalog=catalog)
                pages = activity_pages(emu.stats())
                taps.append(run)
                bares.append(self.bare(f"zero-bare-{attempt + 1}", run.records))
        tap_rate = statistics.median(run.rate for run in taps)
        bare_rate = statistics.median(run.rate for run in bares)
        records = taps[0].records
        how = f"median of {len(taps)}" if len(taps) > 1 else "1 run"
        self.add(
            f"zero latency: tap records/s ({_k(records)})",
            f"{tap_rate:,.0f}/s",
            detail=f"{how}; {pages} pages (ideal {math.ceil(records / PAGE_SIZE)}); "
            f"CPU {statistics.median(r.cpu_s for r in taps):.1f} s, "
            f"wall {statistics.median(r.wall_s for r in taps):.1f} s",
        )
        self.add(
            f"zero latency: bare singer-sdk records/s ({_k(records)})",
            f"{bare_rate:,.0f}/s",
            detail=f"{how}; same schema, writer and record count, no HTTP; "
            f"CPU {statistics.median(r.cpu_s for r in bares):.1f} s, "
            f"peak RSS {max(r.rss_mb for r in bares):.0f} MB",
        )
        ratio = tap_rate / bare_rate
        self.add(
            "zero latency: tap / bare singer-sdk",
            f"{ratio:.2f}",
            f">= {TARGET_RATIO}",
            ratio >= TARGET_RATIO,
            "runs interleaved tap, bare, tap, ...",
        )
        self.raw["zero"] = {
            "tap": [dataclasses.asdict(r) | {"log": str(r.log)} for r in taps],
            "bare": [dataclasses.asdict(r) | {"log": str(r.log)} for r in bares],
            "pages": pages,
        }
        return max(taps, key=lambda run: run.max_rss_kib)

    def latency(self) -> None:
        """Pages/s at 250 ms with a 190 per 10 s budget, and the same tap sequential."""
        limits = ("--latency-ms", str(LATENCY_MS), "--ten-second-max", str(TEN_SECOND_MAX))
        results = {}
        for mode, sizes, settings in (
            ("concurrent", self.sizes.latency, {}),
            ("sequential", self.sizes.sequential, {"max_concurrency": 1}),
        ):
            with Emulator(self.workdir, mode, *data_flags(*sizes), *limits) as emu:
                config = self.tap_config(emu, mode, **settings)
                run = self.tap(
                    f"latency-{mode}",
                    config,
                    catalog=self.catalog(config),
                    time_limit=self.sizes.latency_limit_s,
                )
                stats = emu.stats()
            results[mode] = (run, stats)
        run, stats = results["concurrent"]
        pages = activity_pages(stats)
        pages_rate = pages / run.wall_s
        limited = int(stats.get("rate_limited", 0))
        self.add(
            f"{LATENCY_MS} ms: pages/s, default max_concurrency",
            f"{pages_rate:.1f}/s",
            f">= {TARGET_PAGES:.0f} (~85% of {PAGES_BOUND:.0f})",
            pages_rate >= TARGET_PAGES,
            f"{pages} pages, {run.records:,} records in {run.wall_s:.1f} s{_stopped(run)} "
            f"({run.rate:,.0f} records/s); peak {stats.get('peak_requests_per_10s')} "
            f"requests/10 s, peak {stats.get('peak_concurrency')} in flight",
        )
        self.add(
            f"{LATENCY_MS} ms: 429 responses received",
            str(limited),
            "0",
            limited == 0,
            f"ten_second_max {TEN_SECOND_MAX}",
        )
        seq_run, seq_stats = results["sequential"]
        seq_pages = activity_pages(seq_stats)
        seq_rate = seq_pages / seq_run.wall_s
        self.add(
            f"{LATENCY_MS} ms: pages/s, max_concurrency=1",
            f"{seq_rate:.1f}/s",
            detail=f"{seq_pages} pages, {seq_run.records:,} records in "
            f"{seq_run.wall_s:.1f} s{_stopped(seq_run)}",
        )
        speedup = pages_rate / seq_rate if seq_rate else math.inf
        self.add(
            f"{LATENCY_MS} ms: concurrent / sequential",
            f"{speedup:.1f}x",
            f">= {TARGET_SPEEDUP}x",
            speedup >= TARGET_SPEEDUP,
        )
        self.raw["latency"] = {
            mode: {"run": dataclasses.asdict(r) | {"log": str(r.log)}, "stats": s}
            for mode, (r, s) in results.items()
        }

    def rss(self, small: RunResult | None) -> None:
        """Peak RSS at 100k and at 1M records (zero latency)."""
        if small is None:
            with Emulator(
                self.workdir, "rss-small", *data_flags(*self.sizes.zero), *UNLIMITED
            ) as emu:
                config = self.tap_config(emu, "rss-small")
                small = self.tap("rss-small", config, catalog=self.catalog(config))
        with Emulator(self.workdir, "rss-big", *data_flags(*self.sizes.big), *UNLIMITED) as emu:
            config = self.tap_config(emu, "rss-big")
            big = self.tap("rss-big", config, catalog=self.catalog(config))
            pages = activity_pages(emu.stats())
        self.add(
            f"peak RSS at {_k(small.records)} records",
            f"{small.rss_mb:.0f} MB",
            detail="tap process, ru_maxrss",
        )
        self.add(
            f"peak RSS at {_k(big.records)} records",
            f"{big.rss_mb:.0f} MB",
            f"< {TARGET_RSS_MB:.0f} MB",
            big.rss_mb < TARGET_RSS_MB,
            f"{big.rate:,.0f} records/s, {pages} pages (ideal "
            f"{math.ceil(big.records / PAGE_SIZE)}), wall {big.wall_s:.1f} s",
        )
        growth = big.max_rss_kib / small.max_rss_kib
        self.add(
            f"peak RSS {_k(big.records)} / {_k(small.records)}",
            f"{growth:.2f}",
            f"<= {TARGET_RSS_GROWTH:.2f}",
            growth <= TARGET_RSS_GROWTH,
        )
        self.raw["rss"] = {
            "small": dataclasses.asdict(small) | {"log": str(small.log)},
            "big": dataclasses.asdict(big) | {"log": str(big.log)},
        }

    def requests(self) -> None:
        """Requests of a full run (three streams) and of an unchanged incremental run."""
        with Emulator(self.workdir, "requests", "--seed", "7", *UNLIMITED) as emu:
            config = self.tap_config(emu, "requests")
            full = self.tap("requests-full", config)
            full_stats = emu.stats()
            emu.reset_stats()
            again = self.tap("requests-incremental", config, state=full.last_state or {})
            again_stats = emu.stats()
        paths = data_paths(full_stats)
        # A lower bound: every record in full pages, one request per stream at least.
        ideal = 1 + sum(max(1, math.ceil(n / PAGE_SIZE)) for n in full.per_stream.values())
        self.add(
            f"requests: full run, {len(paths)} streams",
            str(full_stats["total_requests"]),
            detail=f"{full.records:,} records; "
            + ", ".join(f"{path.rsplit('/', 1)[-1]} {n}" for path, n in sorted(paths.items()))
            + f"; lower bound {ideal} (records / {PAGE_SIZE} per stream + details)",
        )
        budget = len(paths) + 1
        total = int(again_stats["total_requests"])
        self.add(
            "requests: unchanged incremental run",
            str(total),
            f"<= {budget}",
            total <= budget,
            f"one per stream + details; {again.records} records re-read (lookback); "
            + ", ".join(
                f"{k.rsplit('/', 1)[-1]}: {v}" for k, v in sorted(again_stats["requests"].items())
            ),
        )
        self.raw["requests"] = {"full": full_stats, "incremental": again_stats}

    def backfill(self) -> None:
        """A first run of all three streams at 250 ms: wall time against its floor.

        Login history has no time filter: its pages are one chain of cursors that cannot
        be split, so the run can end no sooner than that chain at one round trip a page,
        nor than all its requests at the rate limit's 19 per second.
        """
        per_day = self.sizes.backfill / 90
        flags = (
            "--seed", "7", "--history-days", "90",
            "--logins-per-day", f"{per_day:.1f}",
            "--audits-per-day", f"{per_day:.1f}",
            "--security-per-day", f"{per_day:.1f}",
            "--latency-ms", str(LATENCY_MS), "--ten-second-max", str(TEN_SECOND_MAX),
        )  # fmt: skip
        walls = {}
        for read_ahead in (True, False):
            name = f"backfill-{'ahead' if read_ahead else 'in-turn'}"
            with Emulator(self.workdir, name, *flags) as emu:
                config = self.tap_config(emu, name, read_ahead=read_ahead)
                run = self.tap(name, config)
                stats = emu.stats()
            paths = data_paths(stats)
            chain = max(n for path, n in paths.items() if path.endswith("/login"))
            total = int(stats["total_requests"])
            bound = max(chain * LATENCY_MS / 1000, total / PAGES_BOUND)
            walls[read_ahead] = run.wall_s
            self.add(
                f"backfill, 3 streams, read_ahead {str(read_ahead).lower()}",
                f"{run.wall_s:.1f} s",
                "<= 1.15x bound" if read_ahead else "",
                run.wall_s <= TARGET_BACKFILL * bound if read_ahead else None,
                f"{run.wall_s / bound:.2f}x the bound {bound:.1f} s (login chain {chain} x "
                f"{LATENCY_MS} ms, {total} requests / {PAGES_BOUND:.0f}/s); "
                f"{total / run.wall_s:.1f} pages/s, {run.records:,} records, "
                f"{int(stats.get('rate_limited', 0))} 429s",
            )
            self.raw[name] = {
                "run": dataclasses.asdict(run) | {"log": str(run.log)},
                "stats": stats,
            }
        gain = 1 - walls[True] / walls[False]
        self.add(
            "backfill: time saved by read_ahead",
            f"{gain:.0%}",
            ">= 20%",
            gain >= TARGET_READ_AHEAD_GAIN,
        )


def _stopped(run: RunResult) -> str:
    return f" (stopped at {run.wall_s:.0f} s)" if run.stopped else ""


def _k(count: int) -> str:
    if count >= 1_000_000:
        return f"{count / 1e6:.2f}M"
    return f"{count / 1000:.0f}k" if count >= 1000 else str(count)


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


SECTIONS = ("zero", "latency", "rss", "requests", "backfill")


def build_parser() -> argparse.ArgumentParser:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="small data sets, one repeat")
    parser.add_argument(
        "--only", default=",".join(SECTIONS), help=f"comma-separated subset of {','.join(SECTIONS)}"
    )
    parser.add_argument("--repeat", type=int, help="zero-latency repeats (median is reported)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    parser.add_argument("--strict", action="store_true", help="exit 1 if any target fails")
    parser.add_argument(
        "--tap-src",
        type=Path,
        help="run the tap from this source tree (a scratch copy holding tap_hubspot_activity/)",
    )
    parser.add_argument(
        "--emulator-src",
        type=Path,
        help="run the emulator from this tree (holding tests/emulator/) instead of the repo's",
    )
    return parser


def run_sections(bench: Bench, sections: list[str]) -> None:
    """The selected sections, in the table's order."""
    small = bench.zero() if "zero" in sections else None
    if "latency" in sections:
        bench.latency()
    if "rss" in sections:
        bench.rss(small)
    if "requests" in sections:
        bench.requests()
    if "backfill" in sections:
        bench.backfill()


def main(argv: list[str] | None = None) -> int:
    """Parse options, run the sections, print the table."""
    parser = build_parser()
    args = parser.parse_args(argv)
    sections = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections {sorted(unknown)}; choose from {SECTIONS}")
    sizes = QUICK if args.quick else FULL
    if args.repeat:
        sizes = dataclasses.replace(sizes, repeat=args.repeat)
    if not Path(TAP).exists():
        parser.error(f"{TAP} not found: run `make install` first")
    if args.tap_src and not (args.tap_src / "tap_hubspot_activity" / "tap.py").exists():
        parser.error(f"--tap-src {args.tap_src} holds no tap_hubspot_activity/tap.py")
    if args.emulator_src and not (args.emulator_src / "tests" / "emulator").is_dir():
        parser.error(f"--emulator-src {args.emulator_src} holds no tests/emulator/")
    if args.emulator_src:
        Emulator.source = args.emulator_src.resolve()
    # SIGTERM (a CI timeout, kill) unwinds like Ctrl-C: emulators stop, the work dir goes.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    commit = git_commit()
    started = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix="tap-hubspot-bench-"))
    bench = Bench(workdir, sizes, args.tap_src.resolve() if args.tap_src else None)
    try:
        run_sections(bench, sections)
    finally:
        if args.keep:
            print(f"work directory kept: {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    elapsed = time.perf_counter() - started
    source = f"  tap from {args.tap_src}" if args.tap_src else ""
    if args.emulator_src:
        source += f"  emulator from {args.emulator_src}"
    header = (
        f"tap-hubspot-activity benchmark  commit {commit}{source}  "
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC  {'quick' if args.quick else 'full'}, "
        f"{elapsed:.0f} s\n"
        f"{os.cpu_count()} CPUs, {_versions()}"
    )
    print(render(bench.rows, header))
    if args.json:
        raw = {"commit": commit, "rows": [dataclasses.asdict(r) for r in bench.rows], **bench.raw}
        args.json.write_text(json.dumps(raw, indent=2, default=str))
    failed = any(row.ok is False for row in bench.rows)
    return 1 if failed and args.strict else 0


def _versions() -> str:
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


if __name__ == "__main__":
    sys.exit(main())
