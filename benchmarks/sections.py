"""The benchmark's sections: each runs the tap against emulators and adds rows to the table."""

from __future__ import annotations

import dataclasses
import math
import statistics
import typing as t

from benchmarks.emulators import UNLIMITED, activity_pages, data_flags, data_paths

if t.TYPE_CHECKING:
    from benchmarks.cli_runs import RunResult
    from benchmarks.harness import Bench

PAGE_SIZE = 200

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


def zero(bench: Bench) -> RunResult | None:
    """Records/s at zero latency beside the bare singer-sdk stream, interleaved."""
    per_day, days = bench.sizes.zero
    with bench.emulator("zero", *data_flags(per_day, days), *UNLIMITED) as emu:
        config = bench.tap_config(emu, "zero")
        catalog = bench.catalog(config)
        taps: list[RunResult] = []
        bares: list[RunResult] = []
        pages = 0
        for attempt in range(bench.sizes.repeat):
            emu.reset_stats()
            run = bench.tap(f"zero-tap-{attempt + 1}", config, catalog=catalog)
            pages = activity_pages(emu.stats())
            taps.append(run)
            bares.append(bench.bare(f"zero-bare-{attempt + 1}", run.records))
    tap_rate = statistics.median(run.rate for run in taps)
    bare_rate = statistics.median(run.rate for run in bares)
    records = taps[0].records
    how = f"median of {len(taps)}" if len(taps) > 1 else "1 run"
    bench.add(
        f"zero latency: tap records/s ({_k(records)})",
        f"{tap_rate:,.0f}/s",
        detail=f"{how}; {pages} pages (ideal {math.ceil(records / PAGE_SIZE)}); "
        f"CPU {statistics.median(r.cpu_s for r in taps):.1f} s, "
        f"wall {statistics.median(r.wall_s for r in taps):.1f} s",
    )
    bench.add(
        f"zero latency: bare singer-sdk records/s ({_k(records)})",
        f"{bare_rate:,.0f}/s",
        detail=f"{how}; same schema, writer and record count, no HTTP; "
        f"CPU {statistics.median(r.cpu_s for r in bares):.1f} s, "
        f"peak RSS {max(r.rss_mb for r in bares):.0f} MB",
    )
    ratio = tap_rate / bare_rate
    bench.add(
        "zero latency: tap / bare singer-sdk",
        f"{ratio:.2f}",
        f">= {TARGET_RATIO}",
        ratio >= TARGET_RATIO,
        "runs interleaved tap, bare, tap, ...",
    )
    bench.raw["zero"] = {
        "tap": [dataclasses.asdict(r) | {"log": str(r.log)} for r in taps],
        "bare": [dataclasses.asdict(r) | {"log": str(r.log)} for r in bares],
        "pages": pages,
    }
    return max(taps, key=lambda run: run.max_rss_kib)


def latency(bench: Bench) -> None:
    """Pages/s at 250 ms with a 190 per 10 s budget, and the same tap sequential."""
    limits = ("--latency-ms", str(LATENCY_MS), "--ten-second-max", str(TEN_SECOND_MAX))
    results = {}
    for mode, sizes, settings in (
        ("concurrent", bench.sizes.latency, {}),
        ("sequential", bench.sizes.sequential, {"max_concurrency": 1}),
    ):
        with bench.emulator(mode, *data_flags(*sizes), *limits) as emu:
            config = bench.tap_config(emu, mode, **settings)
            run = bench.tap(
                f"latency-{mode}",
                config,
                catalog=bench.catalog(config),
                time_limit=bench.sizes.latency_limit_s,
            )
            stats = emu.stats()
        results[mode] = (run, stats)
    run, stats = results["concurrent"]
    pages = activity_pages(stats)
    pages_rate = pages / run.wall_s
    limited = int(stats.get("rate_limited", 0))
    bench.add(
        f"{LATENCY_MS} ms: pages/s, default max_concurrency",
        f"{pages_rate:.1f}/s",
        f">= {TARGET_PAGES:.0f} (~85% of {PAGES_BOUND:.0f})",
        pages_rate >= TARGET_PAGES,
        f"{pages} pages, {run.records:,} records in {run.wall_s:.1f} s{_stopped(run)} "
        f"({run.rate:,.0f} records/s); peak {stats.get('peak_requests_per_10s')} "
        f"requests/10 s, peak {stats.get('peak_concurrency')} in flight",
    )
    bench.add(
        f"{LATENCY_MS} ms: 429 responses received",
        str(limited),
        "0",
        limited == 0,
        f"ten_second_max {TEN_SECOND_MAX}",
    )
    seq_run, seq_stats = results["sequential"]
    seq_pages = activity_pages(seq_stats)
    seq_rate = seq_pages / seq_run.wall_s
    bench.add(
        f"{LATENCY_MS} ms: pages/s, max_concurrency=1",
        f"{seq_rate:.1f}/s",
        detail=f"{seq_pages} pages, {seq_run.records:,} records in "
        f"{seq_run.wall_s:.1f} s{_stopped(seq_run)}",
    )
    speedup = pages_rate / seq_rate if seq_rate else math.inf
    bench.add(
        f"{LATENCY_MS} ms: concurrent / sequential",
        f"{speedup:.1f}x",
        f">= {TARGET_SPEEDUP}x",
        speedup >= TARGET_SPEEDUP,
    )
    bench.raw["latency"] = {
        mode: {"run": dataclasses.asdict(r) | {"log": str(r.log)}, "stats": s}
        for mode, (r, s) in results.items()
    }


def rss(bench: Bench, small: RunResult | None) -> None:
    """Peak RSS at 100k and at 1M records (zero latency)."""
    if small is None:
        with bench.emulator("rss-small", *data_flags(*bench.sizes.zero), *UNLIMITED) as emu:
            config = bench.tap_config(emu, "rss-small")
            small = bench.tap("rss-small", config, catalog=bench.catalog(config))
    with bench.emulator("rss-big", *data_flags(*bench.sizes.big), *UNLIMITED) as emu:
        config = bench.tap_config(emu, "rss-big")
        big = bench.tap("rss-big", config, catalog=bench.catalog(config))
        pages = activity_pages(emu.stats())
    bench.add(
        f"peak RSS at {_k(small.records)} records",
        f"{small.rss_mb:.0f} MB",
        detail="tap process, ru_maxrss",
    )
    bench.add(
        f"peak RSS at {_k(big.records)} records",
        f"{big.rss_mb:.0f} MB",
        f"< {TARGET_RSS_MB:.0f} MB",
        big.rss_mb < TARGET_RSS_MB,
        f"{big.rate:,.0f} records/s, {pages} pages (ideal "
        f"{math.ceil(big.records / PAGE_SIZE)}), wall {big.wall_s:.1f} s",
    )
    growth = big.max_rss_kib / small.max_rss_kib
    bench.add(
        f"peak RSS {_k(big.records)} / {_k(small.records)}",
        f"{growth:.2f}",
        f"<= {TARGET_RSS_GROWTH:.2f}",
        growth <= TARGET_RSS_GROWTH,
    )
    bench.raw["rss"] = {
        "small": dataclasses.asdict(small) | {"log": str(small.log)},
        "big": dataclasses.asdict(big) | {"log": str(big.log)},
    }


def requests(bench: Bench) -> None:
    """Requests of a full run (three streams) and of an unchanged incremental run."""
    with bench.emulator("requests", "--seed", "7", *UNLIMITED) as emu:
        config = bench.tap_config(emu, "requests")
        full = bench.tap("requests-full", config)
        full_stats = emu.stats()
        emu.reset_stats()
        again = bench.tap("requests-incremental", config, state=full.last_state or {})
        again_stats = emu.stats()
    paths = data_paths(full_stats)
    # A lower bound: every record in full pages, one request per stream at least.
    ideal = 1 + sum(max(1, math.ceil(n / PAGE_SIZE)) for n in full.per_stream.values())
    bench.add(
        f"requests: full run, {len(paths)} streams",
        str(full_stats["total_requests"]),
        detail=f"{full.records:,} records; "
        + ", ".join(f"{path.rsplit('/', 1)[-1]} {n}" for path, n in sorted(paths.items()))
        + f"; lower bound {ideal} (records / {PAGE_SIZE} per stream + details)",
    )
    budget = len(paths) + 1
    total = int(again_stats["total_requests"])
    bench.add(
        "requests: unchanged incremental run",
        str(total),
        f"<= {budget}",
        total <= budget,
        f"one per stream + details; {again.records} records re-read (lookback); "
        + ", ".join(
            f"{k.rsplit('/', 1)[-1]}: {v}" for k, v in sorted(again_stats["requests"].items())
        ),
    )
    bench.raw["requests"] = {"full": full_stats, "incremental": again_stats}


def backfill(bench: Bench) -> None:
    """A first run of all three streams at 250 ms: wall time against its floor.

    Login history has no time filter: its pages are one chain of cursors that cannot
    be split, so the run can end no sooner than that chain at one round trip a page,
    nor than all its requests at the rate limit's 19 per second.
    """
    per_day = bench.sizes.backfill / 90
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
        with bench.emulator(name, *flags) as emu:
            config = bench.tap_config(emu, name, read_ahead=read_ahead)
            run = bench.tap(name, config)
            stats = emu.stats()
        paths = data_paths(stats)
        chain = max(n for path, n in paths.items() if path.endswith("/login"))
        total = int(stats["total_requests"])
        bound = max(chain * LATENCY_MS / 1000, total / PAGES_BOUND)
        walls[read_ahead] = run.wall_s
        bench.add(
            f"backfill, 3 streams, read_ahead {str(read_ahead).lower()}",
            f"{run.wall_s:.1f} s",
            "<= 1.15x bound" if read_ahead else "",
            run.wall_s <= TARGET_BACKFILL * bound if read_ahead else None,
            f"{run.wall_s / bound:.2f}x the bound {bound:.1f} s (login chain {chain} x "
            f"{LATENCY_MS} ms, {total} requests / {PAGES_BOUND:.0f}/s); "
            f"{total / run.wall_s:.1f} pages/s, {run.records:,} records, "
            f"{int(stats.get('rate_limited', 0))} 429s",
        )
        bench.raw[name] = {
            "run": dataclasses.asdict(run) | {"log": str(run.log)},
            "stats": stats,
        }
    gain = 1 - walls[True] / walls[False]
    bench.add(
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
