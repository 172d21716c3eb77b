"""A response body read under a size cap and a deadline, decompressed under the same cap."""

from __future__ import annotations

import time
import typing as t
import zlib

import msgspec

from tap_hubspot_activity.engine.errors import FatalError, RetryableError, TooLargeError

if t.TYPE_CHECKING:
    import requests

CHUNK = 64 * 1024
# gzip or zlib header, detected by zlib itself.
_AUTO_HEADER = 47


class Inflater:
    """Content-Encoding decoding that never produces more than `cap` bytes."""

    def __init__(self, encoding: str, cap: int) -> None:
        """Prepare for `encoding` (identity, gzip or deflate); FatalError for others."""
        encoding = encoding.strip().lower()
        self.cap = cap
        if encoding in {"", "identity"}:
            self._zlib = None
        elif encoding in {"gzip", "x-gzip", "deflate"}:
            self._zlib = zlib.decompressobj(_AUTO_HEADER)
        else:
            msg = f"the response is {encoding!r}-encoded, which the tap did not ask for"
            raise FatalError(msg)

    def feed(self, data: bytes, produced: int) -> bytes:
        """Decoded bytes of `data`; raises once more than `cap` bytes would exist in all."""
        if self._zlib is None:
            if produced + len(data) > self.cap:
                raise TooLargeError(self.cap)
            return data
        out = bytearray()
        pending = data
        try:
            while pending:
                # Never more than one byte past the cap at a time, whatever the ratio.
                out += self._zlib.decompress(pending, self.cap - produced - len(out) + 1)
                if produced + len(out) > self.cap:
                    raise TooLargeError(self.cap)
                pending = self._zlib.unconsumed_tail
        except zlib.error:
            msg = "the compressed response is corrupt"
            raise RetryableError(msg) from None
        return bytes(out)


def read_body(response: requests.Response, *, cap: int, deadline: float) -> bytes:
    """The whole decoded body of a streamed response, within `cap` bytes and by `deadline`.

    The socket's read timeout bounds each read; the deadline bounds the response, so a
    server that trickles a byte at a time cannot hold the run.
    """
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > cap:
        response.close()
        raise TooLargeError(cap)
    inflater = Inflater(response.headers.get("Content-Encoding", ""), cap)
    body = bytearray()
    try:
        while chunk := response.raw.read1(CHUNK, decode_content=False):
            # read1 returns what has arrived: a trickle still meets the deadline.
            body += inflater.feed(chunk, len(body))
            if time.monotonic() > deadline:
                msg = "the response did not arrive within request_timeout"
                raise RetryableError(msg)
    finally:
        response.close()
    return bytes(body)


def decode_json(body: bytes) -> dict[str, t.Any]:
    """A JSON object; RetryableError for a cut or garbled body, FatalError for another type."""
    try:
        decoded = msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        msg = f"unreadable JSON ({str(exc)[:80]})"
        raise RetryableError(msg) from None
    except RecursionError:
        msg = "the JSON is nested too deeply to be a HubSpot answer"
        raise FatalError(msg) from None
    if not isinstance(decoded, dict):
        msg = "the answer is not a JSON object"
        raise FatalError(msg)
    return decoded
