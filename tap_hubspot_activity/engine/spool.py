"""One (stream, portal) read ahead into a temporary file, replayed in order by the emitting thread.

The SDK emits streams, and a stream's partitions, one after another. To read them side
by side without holding them in memory, each is read by its own thread into a spool on
disk, opened when the reading starts and removed once replayed. A spool that may be
replayed while it grows (time windows, each complete when written) makes its reader
pause MAX_AHEAD bytes ahead of the replay; a cursor chain is replayed only once read
to its end, so a chain that fails half-way emits nothing and moves no bookmark.

Manifests travel in the spool too, each in the place where it is to be emitted: a
window's before the window's records, a chain's after all of its records.
"""

from __future__ import annotations

import tempfile
import threading
import typing as t

import msgspec

from tap_hubspot_activity.engine.errors import FatalError
from tap_hubspot_activity.engine.manifests import Manifest
from tap_hubspot_activity.engine.stopping import check_stop, stopped_error, wait_unless_stopped

if t.TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

MAX_AHEAD = 64 * 1024 * 1024
# The emitter reads this much at a time: memory stays flat however far ahead the reader is.
READ_CHUNK = 1024 * 1024
# A manifest's line starts with this byte; a record's is a JSON object, starting with {.
MANIFEST_TAG = b"M"
POLL_SECONDS = 0.5


def _unwritable(error: OSError) -> FatalError:
    """What to change when a spool cannot be created or written: space, or open files."""
    where = tempfile.gettempdir()
    return FatalError(
        f"could not write the read-ahead spool in {where} ({error.strerror}): free space"
        " there (or point TMPDIR elsewhere), or raise the open-files limit (ulimit -n),"
        " or lower max_parallel_portals"
    )


class Spool:
    """Records on disk: appended by one reader thread, replayed by the emitting thread."""

    def __init__(self, *, whole: bool, stop: threading.Event, max_ahead: int = MAX_AHEAD) -> None:
        """`whole`: replay only once the reader finished without error."""
        self.whole = whole
        self.stop = stop
        self.max_ahead = max_ahead
        self.written = 0
        self.replayed = 0
        self.done = False
        self.closed = False
        self.error: BaseException | None = None
        self._file: t.IO[bytes] | None = None
        self._encoder = msgspec.json.Encoder()
        self._changed = threading.Condition()

    def append(self, records: list[dict[str, t.Any]], manifests: Sequence[Manifest] = ()) -> None:
        """Write manifests, then records (each batch complete); pauses while too far ahead."""
        data = b"".join(
            MANIFEST_TAG + self._encoder.encode(manifest.to_json()) + b"\n"
            for manifest in manifests
        ) + b"".join(self._encoder.encode(record) + b"\n" for record in records)
        with self._changed:
            while (
                not self.whole and self.written - self.replayed > self.max_ahead and not self.closed
            ):
                wait_unless_stopped(self.stop, POLL_SECONDS, self._changed)
            if self.closed:
                raise stopped_error()
            check_stop(self.stop)
            try:
                if self._file is None:
                    self._file = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
                self._file.seek(0, 2)
                self._file.write(data)
            except OSError as error:
                raise _unwritable(error) from None
            self.written += len(data)
            self._changed.notify_all()

    def finish(self, error: BaseException | None) -> None:
        """The reader is done, with `error` if it failed."""
        with self._changed:
            self.error = error
            self.done = True
            self._changed.notify_all()

    def replay(self) -> Iterator[dict[str, t.Any] | Manifest]:
        """Records and manifests in order, as written; nothing of a failed `whole` spool."""
        try:
            yield from self._replay()
        finally:
            # Read to the end, or abandoned by the emitter: the file goes either way.
            self.close()

    def _replay(self) -> Iterator[dict[str, t.Any] | Manifest]:
        decoder = msgspec.json.Decoder()
        position = 0
        while True:
            with self._changed:
                while not self.done and (self.whole or position == self.written):
                    wait_unless_stopped(self.stop, POLL_SECONDS, self._changed)
                if (self.whole and self.error is not None) or position == self.written:
                    return
                assert self._file is not None  # noqa: S101 - written > 0 means it exists
                self._file.flush()
                self._file.seek(position)
                chunk = self._file.read(min(READ_CHUNK, self.written - position))
                # Whole lines only; batches are written whole, so a line always ends.
                end = chunk.rfind(b"\n") + 1
                if not end:  # one record longer than READ_CHUNK
                    chunk += self._file.readline()
                    end = len(chunk)
                chunk = chunk[:end]
                position += len(chunk)
                self.replayed = position
                self._changed.notify_all()
            for line in chunk.split(b"\n"):
                if line.startswith(MANIFEST_TAG):
                    yield Manifest.from_json(decoder.decode(line[1:]))
                elif line:
                    yield decoder.decode(line)

    def close(self) -> None:
        """Drop the file; a reader still writing stops at its next append."""
        with self._changed:
            self.closed = True
            if self._file is not None:
                self._file.close()
                self._file = None
            self._changed.notify_all()
