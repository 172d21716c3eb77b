"""Warehouse benchmark: tap alone vs `meltano run` into PostgreSQL, then dbt build, per volume.

    python -m benchmarks.warehouse                    # 15k, 150k, 1M (make bench-warehouse)
    python -m benchmarks.warehouse --quick            # 15k and 150k
    python -m benchmarks.warehouse --volumes 1M --no-dbt --keep --json out.json
    python -m benchmarks.warehouse --quick --set use_copy=true --set batch_size_rows=100000

For each volume: the HubSpot emulator (its own process, seed 7, the demo portal with users
and per-day rates times K, a fixed --now, no latency or rate limit); the tap alone into a
counter (benchmarks.cli_runs.run_cli) with the config and catalog Meltano hands it; `meltano run
tap-hubspot-activity target-postgres` into a fresh embedded PostgreSQL, with the CPU seconds
of the tap, Meltano, the target and the PostgreSQL server (benchmarks.proctree); `meltano
invoke dbt-postgres:build`; then the emulator restarted one hour later (same seed), an
incremental `meltano run` from the state Meltano kept, and dbt build again (the first
hourly build after a backfill: it re-reads the history, loaded within the lookback); then
one more hour, loaded and built (the steady state an hourly job lives in); then the
analyst's questions, each ~20 times (benchmarks/investigation.py). See
benchmarks/README.md. A measuring tool: it prints one table and exits 0 unless a load fails.
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

from benchmarks import aging, investigation, pipeline
from benchmarks.cli_runs import git_commit, run_cli, versions
from benchmarks.emulators import UNLIMITED, emulator
from benchmarks.report import render
from benchmarks.volumes import Hour, Volume
from hubspot_emulator.config import EmulatorConfig
from scripts import warehouse

# K per volume: the demo portal (seed 7, emulator defaults: 12,834 activity events at NOW)
# times K gives 15.2k, 150.7k and ~1.0M events (measured on the emulator's truth).
VOLUMES = {"15k": 1.2, "150k": 13.0, "1M": 87.0}
QUICK = ("15k", "150k")
# The emulator's data is a function of its clock: a fixed anchor makes runs reproducible.
# It must lie in the past: the tap reads up to the real clock.
NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)
# Before the first hour's load, every load time of the warehouse moves back this far
# (more than the models' 60-minute lookback): see benchmarks/aging.py.
AGED = dt.timedelta(hours=2)
DBT_TIMEOUT_S = 3600.0


def emulator_flags(k: float, now: dt.datetime, *, unlimited: bool) -> tuple[str, ...]:
    """The demo portal (seed 7) with users and per-day rates times k, at `now`.

    HubSpot's rate limit (the emulator's default, 190 requests per 10 s) unless
    `unlimited`: the load keeps up with the tap as production runs it, which is how the
    issue measured "load / tap alone"; --unlimited shows each side's raw speed.
    """
    base = EmulatorConfig()
    limits = UNLIMITED if unlimited else ("--daily-max", "1000000000")
    return (
        "--seed", "7",
        "--users", str(round(base.users * k)),
        "--logins-per-day", f"{base.logins_per_day * k:g}",
        "--audits-per-day", f"{base.audits_per_day * k:g}",
        "--security-per-day", f"{base.security_per_day * k:g}",
        "--now", now.isoformat(),
        "--latency-ms", "0",
        *limits,
    )  # fmt: skip


def parse_volumes(text: str) -> dict[str, float]:
    """`15k,1M` (named volumes) or `x20` (a factor K of your own)."""
    chosen = {}
    for name in (part.strip() for part in text.split(",") if part.strip()):
        if name in VOLUMES:
            chosen[name] = VOLUMES[name]
        elif name.startswith("x"):
            chosen[name] = float(name[1:])
        else:
            msg = f"unknown volume {name!r}: choose from {', '.join(VOLUMES)} or xK"
            raise argparse.ArgumentTypeError(msg)
    return chosen


def bench_volume(vol: Volume, workdir: Path, args: argparse.Namespace) -> Volume:
    """The emulator, tap alone, load, dbt build; one hour later, load and build again."""
    home = workdir / vol.name
    home.mkdir()
    settings = {f"TARGET_POSTGRES_{key.upper()}": value for key, value in args.set}
    wh = warehouse.start(home / "pgdata")
    try:
        env = pipeline.meltano_env(home, wh, settings)
        say(f"{vol.name}: emulator K={vol.k:g} at {NOW:%Y-%m-%d %H:%M}")
        with emulator(home, "now", *emulator_flags(vol.k, NOW, unlimited=args.unlimited)) as emu:
            env["TAP_HUBSPOT_ACTIVITY_API_URL"] = emu.url
            config = pipeline.dump(env, home, "config")
            catalog = pipeline.dump(env, home, "catalog")
            say(f"{vol.name}: tap alone")
            argv = [str(pipeline.PLUGIN_TAP), "--config", str(config), "--catalog", str(catalog)]
            tap = run_cli(argv, home, "tap-alone", keep_state=True, env=env)
            vol.events = sum(n for s, n in tap.per_stream.items() if s != pipeline.MANIFESTS)
            vol.tap = dataclasses.asdict(tap) | {"log": str(tap.log), "last_state": None}
            say(f"{vol.name}: {vol.events:,} events; meltano run")
            vol.load = pipeline.meltano_run("load", env, home, wh.pid)
            vol.loaded = pipeline.row_counts(wh.uri)
        if not args.no_dbt:
            say(f"{vol.name}: dbt build")
            vol.build = pipeline.dbt_build("build", env, home, wh.pid, args.dbt_timeout)
        # The history was loaded and built long ago in production, not a minute ago.
        aging.age(wh.uri, (pipeline.SCHEMA, f"{pipeline.SCHEMA}_analytics"), AGED)
        counts = vol.loaded
        # Hour 1 re-reads the history (it was loaded within the lookback of hour 1's
        # cutoff, as after a real backfill); hour 2 re-reads hour 1 and its own rows,
        # which every later hour does too: the steady state.
        for hour, label in enumerate(("hour 1 (after backfill)", "hour 2 (steady)"), 1):
            flags = emulator_flags(vol.k, NOW + hour * HOUR, unlimited=args.unlimited)
            with emulator(home, f"hour{hour}", *flags) as emu:
                env["TAP_HUBSPOT_ACTIVITY_API_URL"] = emu.url
                say(f"{vol.name}: {label}: meltano run (incremental)")
                load = pipeline.meltano_run(f"load-hour{hour}", env, home, wh.pid)
                after = pipeline.row_counts(wh.uri)
            new = pipeline.events_in(after) - pipeline.events_in(counts)
            counts = after
            vol.hours.append(Hour(label, load, new))
            if not args.no_dbt:
                say(f"{vol.name}: {label}: dbt build (incremental)")
                vol.hours[-1].build = pipeline.dbt_build(
                    f"build-hour{hour}", env, home, wh.pid, args.dbt_timeout
                )
        if not args.no_dbt:
            say(f"{vol.name}: investigation: each question {investigation.REPEATS} times")
            analytics = f"{pipeline.SCHEMA}_analytics"
            vol.questions = investigation.bench(wh, analytics, NOW + 2 * HOUR)
    finally:
        warehouse.stop(home / "pgdata")
        # The data directory is the bulk of the work dir (GBs at 1M): drop it unless kept.
        if not args.keep:
            shutil.rmtree(home / "pgdata", ignore_errors=True)
    return vol


def say(text: str) -> None:
    """Progress on stderr, timestamped: a 1M volume runs for many minutes."""
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def build_parser() -> argparse.ArgumentParser:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.warehouse", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help=f"only {' and '.join(QUICK)}")
    parser.add_argument(
        "--volumes", type=parse_volumes, help=f"comma-separated: {','.join(VOLUMES)} or xK"
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    parser.add_argument("--no-dbt", action="store_true", help="loads only, no dbt build")
    parser.add_argument(
        "--unlimited",
        action="store_true",
        help="no rate limit in the emulator (default: HubSpot's 190 requests per 10 s)",
    )
    parser.add_argument(
        "--dbt-timeout", type=float, default=DBT_TIMEOUT_S, help="stop a dbt build after (s)"
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        type=lambda s: tuple(s.split("=", 1)) if "=" in s else s.split(),
        metavar="SETTING=VALUE",
        help="a target-postgres setting for this run (TARGET_POSTGRES_<SETTING>); repeatable",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse options, run each volume, print the table."""
    parser = build_parser()
    args = parser.parse_args(argv)
    volumes = args.volumes or {n: VOLUMES[n] for n in (QUICK if args.quick else VOLUMES)}
    if any(len(pair) != 2 for pair in args.set):
        parser.error("--set takes SETTING=VALUE")
    if not pipeline.PLUGIN_TAP.exists():
        parser.error(f"{pipeline.PLUGIN_TAP} not found: run `make install` first")
    if dt.datetime.now(dt.UTC) < NOW + 2 * HOUR:
        parser.error(f"the emulator's anchor {NOW + 2 * HOUR} is in the future of this clock")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    commit = git_commit()
    started = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix="tap-hubspot-warehouse-"))
    # As root the embedded server runs as its own user, which must reach its data dir.
    workdir.chmod(0o755)
    done: list[Volume] = []
    try:
        for name, k in volumes.items():
            done.append(bench_volume(Volume(name, k), workdir, args))
    finally:
        if args.keep:
            say(f"work directory kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    header = (
        f"tap-hubspot-activity warehouse benchmark  commit {commit}  "
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC  {time.perf_counter() - started:.0f} s"
        f"\n{os.cpu_count()} CPUs, {versions()}"
        + (f"\ntarget-postgres settings: {dict(args.set)}" if args.set else "")
    )
    print(render(done, header))
    if args.json:
        raw = {"commit": commit, "settings": dict(args.set), "volumes": done}
        args.json.write_text(json.dumps(raw, indent=2, default=_jsonable))
    return 0


def _jsonable(value: object) -> object:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return str(value)


if __name__ == "__main__":
    sys.exit(main())
