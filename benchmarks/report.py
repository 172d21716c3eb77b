"""The warehouse benchmark's printed table: volumes, CPU split per 1,000 records, slowest nodes."""

from __future__ import annotations

import itertools
import statistics
import typing as t

if t.TYPE_CHECKING:
    from benchmarks.pipeline import Build, Timed
    from benchmarks.volumes import Volume

CPU_ROLES = ("tap", "discovery", "meltano", "target", "postgres", "other")
# Nodes faster than this at the smaller volume are not compared: timer noise.
NOISE_FLOOR_S = 0.5


def _table(rows: list[list[str]]) -> list[str]:
    """Aligned columns: the first left-aligned, the others right-aligned."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for index, row in enumerate(rows):
        rest = zip(row[1:], widths[1:], strict=True)
        cells = [row[0].ljust(widths[0])] + [cell.rjust(width) for cell, width in rest]
        lines.append("  ".join(cells).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return lines


def _secs(run: Timed | None) -> str:
    if run is None:
        return "-"
    if run.stopped:
        return f">{run.wall_s:.0f} stopped"
    mark = "" if run.returncode == 0 else f" (exit {run.returncode})"
    return f"{run.wall_s:.1f}{mark}"


def _build(build: Build | None) -> str:
    return _secs(build.run if build else None)


def _hour_cells(vol: Volume, index: int) -> list[str]:
    if index >= len(vol.hours):
        return ["-", "-", "-"]
    hour = vol.hours[index]
    return [f"{hour.new_events:,}", _secs(hour.load), _build(hour.build)]


def render(volumes: list[Volume], header: str) -> str:
    """Everything the run measured, as text."""
    rows = [
        [
            "volume", "K", "events", "tap s", "tap ev/s", "load s", "load ev/s", "load/tap",
            "build s", "h1 events", "h1 load s", "h1 build s", "h2 events", "h2 load s",
            "h2 build s",
        ]
    ]  # fmt: skip
    for vol in volumes:
        tap_s = float(vol.tap.get("wall_s", 0.0))
        load_s = vol.load.wall_s if vol.load else 0.0
        rows.append(
            [
                vol.name,
                f"{vol.k:g}",
                f"{vol.events:,}",
                f"{tap_s:.1f}",
                f"{vol.events / tap_s:,.0f}" if tap_s else "-",
                f"{load_s:.1f}",
                f"{vol.events / load_s:,.0f}" if load_s else "-",
                f"{tap_s / load_s:.0%}" if load_s else "-",
                _build(vol.build),
                *_hour_cells(vol, 0),
                *_hour_cells(vol, 1),
            ]
        )
    lines = [header, "", *_table(rows), ""]
    lines += ["h1: the first hour after the backfill; h2: the next hour (the steady state).", ""]
    lines += _cpu_split(volumes)
    lines += _growth(volumes)
    lines += _investigation(volumes)
    for vol in volumes:
        builds = [("first build", vol.build)] + [(h.label, h.build) for h in vol.hours]
        for label, build in builds:
            if build is None:
                continue
            lines.append(f"{vol.name}, {label}: ten slowest nodes (s)")
            if not build.nodes:
                lines.append("  (no run_results.json: the build was stopped or did not start)")
            lines += [f"  {seconds:8.1f}  {node}" for node, seconds in build.nodes[:10]]
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _cpu_split(volumes: list[Volume]) -> list[str]:
    """CPU seconds per 1,000 records of the first load, per process role."""
    lines = ["CPU seconds per 1,000 records during the first load (all RECORD messages):", ""]
    cpu_rows = [["volume", "records", *CPU_ROLES, "sum", "load wall s", "loaded rows"]]
    for vol in volumes:
        if vol.load is None:
            continue
        records = int(vol.tap.get("records", 0)) or 1
        per_k = [vol.load.cpu.get(role, 0.0) * 1000 / records for role in CPU_ROLES]
        cpu_rows.append(
            [
                vol.name,
                f"{records:,}",
                *(f"{v:.3f}" for v in per_k),
                f"{sum(per_k):.3f}",
                f"{vol.load.wall_s:.1f}",
                f"{sum(vol.loaded.values()):,}",
            ]
        )
    return [*lines, *_table(cpu_rows), ""]


def _steady(vol: Volume) -> Build | None:
    return vol.hours[-1].build if vol.hours else None


def _growth(volumes: list[Volume]) -> list[str]:
    """How the steady hour's build grows from each volume to the next: whole and per node.

    A node's ratio compares its execution time at the two volumes; nodes under 0.5 s at
    the smaller volume are left out of the largest ratio (timer noise dominates them).
    """
    lines: list[str] = []
    for small, large in itertools.pairwise(volumes):
        before, after = _steady(small), _steady(large)
        if not (before and after and before.nodes and after.nodes):
            continue
        small_nodes = dict(before.nodes)
        ratios = sorted(
            ((after_s / small_nodes[node], node, small_nodes[node], after_s)
             for node, after_s in after.nodes
             if small_nodes.get(node, 0.0) >= NOISE_FLOOR_S),
            reverse=True,
        )  # fmt: skip
        data = large.events / small.events if small.events else 0.0
        lines.append(
            f"steady hour's build, {small.name} -> {large.name} ({data:.1f}x the events):"
            f" {before.run.wall_s:.1f} s -> {after.run.wall_s:.1f} s"
            f" ({after.run.wall_s / before.run.wall_s:.2f}x)"
        )
        lines += [
            f"  {ratio:6.2f}x  {node} ({was:.2f} s -> {now:.2f} s)"
            for ratio, node, was, now in ratios[:5]
        ]
        lines.append("")
    return lines


def _investigation(volumes: list[Volume]) -> list[str]:
    """Per volume and question (benchmarks/investigation.py): ms per ask, rows, seq scans."""
    rows = [["question", "volume", "asks", "p50 ms", "p95 ms", "max ms", "rows/ask", "seq scans"]]
    for vol in volumes:
        for timing in vol.questions:
            ms = sorted(s * 1000 for s in timing.seconds)
            p95 = statistics.quantiles(ms, n=20, method="inclusive")[-1] if len(ms) > 1 else ms[0]
            rows.append(
                [
                    timing.question,
                    vol.name,
                    str(len(ms)),
                    f"{statistics.median(ms):.1f}",
                    f"{p95:.1f}",
                    f"{ms[-1]:.1f}",
                    f"{timing.rows / len(ms):.0f}",
                    f"{timing.seq_scans}/{len(ms)}",
                ]
            )
    if len(rows) == 1:
        return []
    title = "Investigation: each question through the query layer, as `hubspot-activity ask`:"
    return [title, "", *_table(rows), ""]
