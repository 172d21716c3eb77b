"""An answer as text: a readable table, JSON or CSV."""

from __future__ import annotations

import csv
import io
import json
import typing as t

if t.TYPE_CHECKING:
    from hubspot_activity_investigate.layer import Answer, Value

FORMATS = ("table", "json", "csv")
# A table cell longer than this is cut (JSON and CSV keep every character).
CELL_WIDTH = 48


def render(answer: Answer, output: str) -> str:
    """The answer in `output` (table, json or csv)."""
    if output == "json":
        return json.dumps(answer.as_dict(), indent=2)
    if output == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(answer.columns)
        writer.writerows(answer.rows)
        return buffer.getvalue().rstrip("\n")
    return table(answer)


def _cell(value: Value) -> str:
    text = "" if value is None else str(value)
    text = " ".join(text.split())  # one line per row, whatever a field holds
    return text if len(text) <= CELL_WIDTH else text[: CELL_WIDTH - 3] + "..."


def table(answer: Answer) -> str:
    """Aligned columns, then how many rows (and how many more the cap left out)."""
    if not answer.rows:
        return f"{answer.question}: no rows"
    cells = [list(answer.columns), *([_cell(value) for value in row] for row in answer.rows)]
    widths = [max(len(row[n]) for row in cells) for n in range(len(answer.columns))]
    lines = [
        "  ".join(text.ljust(width) for text, width in zip(row, widths, strict=True)).rstrip()
        for row in cells
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    count = f"{len(answer.rows)} row{'s' if len(answer.rows) != 1 else ''}"
    if answer.more_rows:
        count += f"; {answer.more_rows} more rows not shown (narrow the question or raise --limit)"
    return "\n".join([*lines, count])
