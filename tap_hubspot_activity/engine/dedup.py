"""One record per (stream, portalId, id) in a run: the ids emitted, kept as 128-bit digests."""

from __future__ import annotations

import hashlib
import sys
import threading
import typing as t

if t.TYPE_CHECKING:
    from logging import Logger

DIGEST_BYTES = 16
# The first two bytes of a digest choose its bucket; the bucket holds the other 14.
BUCKETS = 1 << 16
SUFFIX_BYTES = DIGEST_BYTES - 2


class DigestSet:
    """16-byte digests in 65,536 buckets, each one bytearray of the digests' last 14 bytes.

    A Python set of 16-byte `bytes` costs about 100 bytes an entry (the object and its
    slot); here a digest costs its 14 bytes, the bucket's spare room and a share of the
    buckets' own objects (about 20 bytes at a million). The digests are uniform hashes,
    so buckets fill evenly: at a million ids a lookup is one search of about 200 bytes,
    in C.
    """

    def __init__(self) -> None:
        """No digest yet: the buckets are made as digests arrive."""
        self._buckets: list[bytearray | None] = [None] * BUCKETS
        self._count = 0

    def __len__(self) -> int:
        """How many digests the set holds."""
        return self._count

    @property
    def nbytes(self) -> int:
        """The memory the set takes, its buckets' objects and spare room included."""
        buckets = [bucket for bucket in self._buckets if bucket is not None]
        return sys.getsizeof(self._buckets) + sum(map(sys.getsizeof, buckets))

    def add(self, digest: bytes) -> bool:
        """Add a 16-byte digest; False when it was there already."""
        index = digest[0] << 8 | digest[1]
        suffix = digest[2:]
        bucket = self._buckets[index]
        if bucket is None:
            self._buckets[index] = bytearray(suffix)
        else:
            found = bucket.find(suffix)
            while found != -1:
                if found % SUFFIX_BYTES == 0:
                    return False
                found = bucket.find(suffix, found + 1)  # it straddled two digests
            bucket += suffix
        self._count += 1
        return True


class StreamIds:
    """The ids one (stream, portal) emitted in the run, whichever partition read them.

    An id is the string the record carries (RecordShaper makes 123 and "123" the same),
    so that one run never emits one key (portalId, id) twice.
    """

    def __init__(self, run: RunIds, stream: str, label: str | None, where: str) -> None:
        """Ids of `stream` in the portal entry `label` (called `where` in logs)."""
        self._run = run
        # Keyed by the entry, not its portalId: an entry answering the portalId of an
        # earlier one is refused, and its records read ahead must not shadow the other's.
        self._prefix = f"{stream}\0{label!r}\0".encode()
        self.where = where
        self.dropped = 0

    def first(self, record_id: str) -> bool:
        """Whether the id is new to the stream and portal; a repeat is counted."""
        # surrogatepass: JSON may carry a lone surrogate, which strict UTF-8 refuses.
        digest = hashlib.blake2b(
            self._prefix + record_id.encode("utf-8", "surrogatepass"), digest_size=DIGEST_BYTES
        ).digest()
        with self._run.lock:
            if self._run.digests.add(digest):
                return True
            self.dropped += 1
            return False

    def firsts(self, records: list[dict[str, t.Any]]) -> list[dict[str, t.Any]]:
        """The records whose id is new, in order (a repeat within `records` too)."""
        return [record for record in records if self.first(str(record["id"]))]


class RunIds:
    """Every id a run emitted, per stream and portal, in one table shared by its threads."""

    def __init__(self) -> None:
        """No id yet."""
        self.digests = DigestSet()
        self.lock = threading.Lock()
        self._streams: dict[tuple[str, str | None], StreamIds] = {}

    def stream(self, stream: str, label: str | None, where: str) -> StreamIds:
        """The ids of `stream` in the portal labelled `label`, shared by its partitions."""
        with self.lock:
            key = (stream, label)
            if key not in self._streams:
                self._streams[key] = StreamIds(self, stream, label, where)
            return self._streams[key]

    def report(self, stream: str, label: str | None, logger: Logger) -> None:
        """One warning for the repeats dropped in the stream and portal since the last."""
        with self.lock:
            ids = self._streams.get((stream, label))
            dropped = ids.dropped if ids else 0
            if ids:
                ids.dropped = 0
        if ids and dropped:
            logger.warning(
                "%s: dropped %s record%s whose id was emitted already in this run (HubSpot "
                "may send a record again on a later page when events arrive while it pages): "
                "one record per portalId and id",
                ids.where,
                f"{dropped:,}",
                "" if dropped == 1 else "s",
            )
