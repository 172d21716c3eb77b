"""The tap's Singer output: msgspec lines, flushed at every message but RECORD."""

from __future__ import annotations

import atexit
import io
import sys
import typing as t

from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.singerlib.encoding import SingerMessageType

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    from singer_sdk.singerlib import Message

# io.DEFAULT_BUFFER_SIZE (8 KiB) is about 20 records; 64 KiB is a pipe's capacity.
BUFFER_BYTES = 1 << 16


class RecordBatchingWriter(MsgSpecWriter):
    """msgspec output flushed at every message but RECORD: the pipe wakes per batch.

    A STATE line is flushed together with every record written before it, so what a
    target has received is always complete up to its last STATE.

    Under PYTHONUNBUFFERED (or `python -u`, which many container images and CI shells
    set) sys.stdout.buffer is the raw file: every RECORD would be a system call of its
    own, and a wake-up of the reader (Meltano, which pumps lines to the target). Such a
    stdout gets a buffer here; what it holds at exit is flushed then.
    """

    _raw: object = None
    _buffered: io.BufferedWriter | None = None

    def _stdout(self) -> t.BinaryIO:
        out = sys.stdout.buffer
        if not isinstance(out, io.RawIOBase):
            return out
        if self._raw is not out or self._buffered is None:
            # closefd=False: closing or collecting this buffer never closes fd 1.
            raw = io.FileIO(out.fileno(), "wb", closefd=False)
            self._raw, self._buffered = out, io.BufferedWriter(raw, BUFFER_BYTES)
            atexit.register(self._buffered.flush)
        return self._buffered

    def flush(self) -> None:
        """Write out what the buffer holds now (an exit that skips atexit comes next)."""
        if self._buffered is not None:
            self._buffered.flush()
        sys.stdout.flush()

    @override
    def write_message(self, message: Message) -> None:
        out = self._stdout()
        out.write(self.format_message(message))
        if message.type != SingerMessageType.RECORD:
            out.flush()
            sys.stdout.flush()
