"""Reads partitions (portals) and streams ahead, while the SDK emits them in turn.

The SDK syncs streams, and a stream's partitions, one after another. To extract them
concurrently without holding them in memory, each is read by its own thread into a spool
file on disk; the SDK then replays the spool of the partition it is on, following it
while it still grows. Checkpoints travel through the spool too, so STATE is written only
once the records before it have really been emitted. A reader pauses once its spool is
MAX_SPOOL_AHEAD bytes ahead of the replay, so a long backfill does not fill the disk.
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
# Lines written to the spool at once when no checkpoint comes (login history has none).
_FLUSH_LINES = 1000
MAX_SPOOL_AHEAD = 64 * 1024 * 1024


class _Spool:
    """One portal's records on disk, written by its reader thread, replayed by the SDK."""

    def __init__(self) -> None:
        self.file = tempfile.TemporaryFile()  # noqa: SIM115 - closed by FanOut.close
        self.written = 0
        self.replayed = 0
        self.closed = False
        self.done = False
        self.error: BaseException | None = None
        self.changed = threading.Condition()

    def append(self, lines: list[bytes]) -> None:
        data = b"".join(lines)
        with self.changed:
            while self.written - self.replayed > MAX_SPOOL_AHEAD and not self.closed:
                self.changed.wait(_POLL_SECONDS)
            if self.closed:
                msg = "the spool was closed: nobody replays it any more"
                raise EOFError(msg)
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
        extract: Callable[[dict | None], Iterator[t.Any]],
        contexts: list[dict | None],
        parallel: int,
    ) -> None:
        """Start reading every context in the background (None: a stream without partitions)."""
        self._extract = extract
        self._spools = {self._key(context): _Spool() for context in contexts}
        self._encoder = msgspec.json.Encoder()
        self._pool = ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="read-ahead")
        for context in contexts:
            self._pool.submit(self._read, context)

    @staticmethod
    def _key(context: t.Mapping[str, t.Any] | None) -> str:
        return msgspec.json.encode(dict(sorted((context or {}).items()))).decode()

    def _read(self, context: dict | None) -> None:
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
                    if len(lines) >= _FLUSH_LINES:
                        spool.append(lines)
                        lines = []
        except BaseException as exc:  # noqa: BLE001 - handed to the SDK's thread, raised there
            error = exc
        if spool.closed:  # nobody replays it any more
            return
        spool.append(lines)
        spool.finish(error)

    def replay(self, context: t.Mapping[str, t.Any] | None) -> Iterator[t.Any]:
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
                spool.replayed = position
                spool.changed.notify_all()
            for line in chunk.splitlines():
                yield CHECKPOINT if line == _CHECKPOINT_LINE.strip() else decoder.decode(line)
        if spool.error is not None:
            raise spool.error

    def close(self) -> None:
        """Stop waiting for readers that are no longer needed and drop the spools."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        for spool in self._spools.values():
            with spool.changed:
                spool.closed = True
                spool.file.close()
                spool.changed.notify_all()
