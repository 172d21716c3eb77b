"""The warehouse benchmark's figures: one volume's loads and builds, and its hourly runs."""

from __future__ import annotations

import dataclasses
import typing as t

if t.TYPE_CHECKING:
    from benchmarks import investigation, pipeline


@dataclasses.dataclass
class Volume:
    """Every figure of one volume."""

    name: str
    k: float
    events: int = 0
    tap: dict[str, t.Any] = dataclasses.field(default_factory=dict)
    load: pipeline.Timed | None = None
    loaded: dict[str, int] = dataclasses.field(default_factory=dict)
    build: pipeline.Build | None = None
    hours: list[Hour] = dataclasses.field(default_factory=list)
    questions: list[investigation.Timing] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Hour:
    """One hourly increment: its load, the rows it added, the build after it."""

    label: str
    load: pipeline.Timed
    new_events: int
    build: pipeline.Build | None = None
