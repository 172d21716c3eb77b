"""The tap's message writer: RECORDs wait for the next other message, even on a raw stdout."""

from __future__ import annotations

import io
import os
import sys

import pytest
from singer_sdk.singerlib import RecordMessage, StateMessage

from tap_hubspot_activity.writer import RecordBatchingWriter


@pytest.mark.parametrize("unbuffered", [True, False], ids=["python -u", "buffered"])
def test_records_reach_the_pipe_with_the_next_state(
    monkeypatch: pytest.MonkeyPatch, *, unbuffered: bool
) -> None:
    read_fd, write_fd = os.pipe()
    os.set_blocking(read_fd, False)
    raw = io.FileIO(write_fd, "wb")
    # What PYTHONUNBUFFERED gives: a text layer straight over the raw file.
    binary = raw if unbuffered else io.BufferedWriter(raw)
    stdout = io.TextIOWrapper(binary, encoding="utf-8", write_through=True)
    monkeypatch.setattr(sys, "stdout", stdout)
    writer = RecordBatchingWriter()
    try:
        for n in range(3):
            writer.write_message(RecordMessage(stream="audit_logs", record={"id": str(n)}))
        with pytest.raises(BlockingIOError):
            os.read(read_fd, 1 << 16)  # nothing written yet: one write for the batch
        writer.write_message(StateMessage(value={"bookmarks": {}}))
        lines = os.read(read_fd, 1 << 16).splitlines()
        assert len(lines) == 4
        assert lines[-1].startswith(b'{"type":"STATE"')
    finally:
        monkeypatch.undo()
        stdout.close()
        os.close(read_fd)
