"""When a stream with many partitions writes the tap's STATE between them."""

from __future__ import annotations

import time
import typing as t

if t.TYPE_CHECKING:
    from collections.abc import Callable

# The SDK writes STATE every STATE_MSG_FREQUENCY records and at a stream's end; quiet
# partitions (thousands of portals, few events each) reach neither for the whole stream,
# and a kill would lose every one of them. A STATE holds every partition, so one per
# partition would grow with the square of the portals: one per tenth of the stream's
# partitions instead, and one at least every CHECKPOINT_SECONDS while partitions end.
CHECKPOINTS_PER_STREAM = 10
CHECKPOINT_SECONDS = 300.0


class Checkpoints:
    """Counts a stream's partitions as they end and says when a STATE is due."""

    def __init__(
        self,
        partitions: int,
        *,
        per_stream: int = CHECKPOINTS_PER_STREAM,
        every: float = CHECKPOINT_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """A stream of `partitions` partitions begins now."""
        self.step = max(1, partitions // per_stream)
        self.every = every
        self.clock = clock
        self.ended = 0
        self.last = clock()

    def ended_one(self) -> None:
        """A partition was read to its end and emitted."""
        self.ended += 1

    def due(self) -> bool:
        """Whether to write a STATE now (then the count starts again)."""
        if not self.ended or (self.ended < self.step and self.clock() - self.last < self.every):
            return False
        self.ended = 0
        self.last = self.clock()
        return True
