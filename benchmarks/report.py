"""The warehouse benchmark's printed table: volumes, CPU split per 1,000 records, slowest nodes."""

from __future__ import annotations

import typing as t

if t.TYPE_CHECKING:
    from benchmarks.pipeline import Build, Timed
    from benchmarks.warehouse import Volume

CPU_ROLES = ("tap", "discovery", "meltano", "target", "postgres", "other")


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


def render(volumes: list[Volume], header: str) -> str:
    """Everything the run measured, as text."""
    rows = [
        [
            "volume", "K", "events", "tap s", "tap ev/s", "load s", "load ev/s", "load/tap",
            "build s", "+1h events", "incr load s", "incr build s",
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
                f"{vol.new_events:,}",
                _secs(vol.incremental),
                _build(vol.rebuild),
            ]
        )
    lines = [header, "", *_table(rows), ""]
    lines += ["CPU seconds per 1,000 records during the first load (all RECORD messages):", ""]
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
    lines += [*_table(cpu_rows), ""]
    for vol in volumes:
        for label, build in (("first build", vol.build), ("incremental build", vol.rebuild)):
            if build is None:
                continue
            lines.append(f"{vol.name}, {label}: ten slowest nodes (s)")
            if not build.nodes:
                lines.append("  (no run_results.json: the build was stopped or did not start)")
            lines += [f"  {seconds:8.1f}  {node}" for node, seconds in build.nodes]
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"
