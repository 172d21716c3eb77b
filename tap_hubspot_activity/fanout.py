"""Reads every portal of a stream at once, while the SDK emits the portals in turn.

The SDK syncs a stream's partitions one after another. To extract several portals
concurrently without holding them in memory, each portal is read by its own thread into a
spool file on disk; the SDK then replays the spool of the portal it is on, following it
while it still grows. Checkpoints travel through the spool too, so a portal's STATE is
written only once its records have really been emitted.
"""

from __future__ import annotations

import tempfile
import threading
import typing as t
from concurrent.futures import ThreadPoolExecutor

import msgspec

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterator

CHECKPOINT = object()
"""Yielded by an extractor between records: everything before it may be bookmarked."""

_CHECKPOINT_LINE = b"#\n"
_POLL_SECONDS = 0.5


class _Spool:
    """One portal's records on disk, written by its reader thread, replayed by the SDK."""

    def __init__(self) -> None:
        self.file = tempfile.TemporaryFile()  # noqa: SIM115 - closed by FanOut.close
        self.written = 0
        self.done = False
        self.error: BaseException | None = None
        self.changed = threading.Condition()

    def append(self, lines: list[bytes]) -> None:
        data = b"".join(lines)
        with self.changed:
            self.file.seek(0, 2)
            self.file.write(data)
            self.file.flush()
            self.written += len(data)
            self.changed.notify_all()

    def finish(self, error: BaseException | None) -> None:
        with self.changed:
            self.error = error
            self.done = True
            self.changed.notify_all()


class FanOut:
    """Runs `extract(context)` for every context, at most `parallel` at a time."""

    def __init__(
        self,
        extract: Callable[[dict], Iterator[t.Any]],
        contexts: list[dict],
        parallel: int,
    ) -> None:
        """Start reading every context in the background."""
        self._extract = extract
        self._spools = {self._key(context): _Spool() for context in contexts}
        self._encoder = msgspec.json.Encoder()
        self._pool = ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="portal")
        for context in contexts:
            self._pool.submit(self._read, context)

    @staticmethod
    def _key(context: t.Mapping[str, t.Any]) -> str:
        return msgspec.json.encode(dict(sorted(context.items()))).decode()

    def _read(self, context: dict) -> None:
        spool = self._spools[self._key(context)]
        lines: list[bytes] = []
        error: BaseException | None = None
        try:
            for item in self._extract(context):
                if item is CHECKPOINT:
                    lines.append(_CHECKPOINT_LINE)
                    spool.append(lines)
                    lines = []
                else:
                    lines.append(self._encoder.encode(item) + b"\n")
        except BaseException as exc:  # noqa: BLE001 - handed to the SDK's thread, raised there
            error = exc
        spool.append(lines)
        spool.finish(error)

    def replay(self, context: t.Mapping[str, t.Any]) -> Iterator[t.Any]:
        """The records and checkpoints of one context, in order; raises its reader's error."""
        spool = self._spools[self._key(context)]
        decoder = msgspec.json.Decoder()
        position = 0
        while True:
            with spool.changed:
                while position == spool.written and not spool.done:
                    spool.changed.wait(_POLL_SECONDS)
                if position == spool.written and spool.done:
                    break
                spool.file.seek(position)
                chunk = spool.file.read(spool.written - position)
            position += len(chunk)
            for line in chunk.splitlines():
                yield CHECKPOINT if line == _CHECKPOINT_LINE.strip() else decoder.decode(line)
        if spool.error is not None:
            raise spool.error

    def close(self) -> None:
        """Stop waiting for readers that are no longer needed and drop the spools."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        for spool in self._spools.values():
            spool.file.close()
