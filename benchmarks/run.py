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
The harness is benchmarks/harness.py, its sections benchmarks/sections.py.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import sections
from benchmarks.cli_runs import REPO, TAP, git_commit, versions
from benchmarks.emulators import emulator_module
from benchmarks.harness import FULL, QUICK, Bench, render

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
        help="run the emulator from this tree (holding hubspot_emulator/) instead of the repo's",
    )
    return parser


def run_sections(bench: Bench, chosen: list[str]) -> None:
    """The selected sections, in the table's order."""
    small = sections.zero(bench) if "zero" in chosen else None
    if "latency" in chosen:
        sections.latency(bench)
    if "rss" in chosen:
        sections.rss(bench, small)
    if "requests" in chosen:
        sections.requests(bench)
    if "backfill" in chosen:
        sections.backfill(bench)


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
    if args.emulator_src and emulator_module(args.emulator_src) is None:
        parser.error(f"--emulator-src {args.emulator_src} holds no hubspot_emulator/")
    # SIGTERM (a CI timeout, kill) unwinds like Ctrl-C: emulators stop, the work dir goes.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    commit = git_commit()
    started = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix="tap-hubspot-bench-"))
    bench = Bench(
        workdir,
        sizes,
        args.tap_src.resolve() if args.tap_src else None,
        args.emulator_src.resolve() if args.emulator_src else REPO,
    )
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
        f"{os.cpu_count()} CPUs, {versions()}"
    )
    print(render(bench.rows, header))
    if args.json:
        raw = {"commit": commit, "rows": [dataclasses.asdict(r) for r in bench.rows], **bench.raw}
        args.json.write_text(json.dumps(raw, indent=2, default=str))
    failed = any(row.ok is False for row in bench.rows)
    return 1 if failed and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
