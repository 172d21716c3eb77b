"""One record per (stream, portalId, id) in a run: the ids emitted, kept as 128-bit digests."""

from __future__ import annotations

import hashlib
import threading
import typing as t

if t.TYPE_CHECKING:
    from logging import Logger

DIGEST_BYTES = 16
_EMPTY = bytes(DIGEST_BYTES)
FIRST_SLOTS = 1024


class DigestSet:
    """16-byte digests in one flat table (open addressing, linear probing), at most 2/3 full.

    A Python set of 16-byte `bytes` costs about 100 bytes an entry (the object and its
    slot); this table costs 16 bytes a slot, 24 to 48 bytes a digest (34 at a million).
    The digests are uniform hashes, so the slot is their first 8 bytes and probes stay short.
    """

    def __init__(self, slots: int = FIRST_SLOTS) -> None:
        """An empty table of `slots` slots (a power of two)."""
        self._slots = slots
        self._table = bytearray(slots * DIGEST_BYTES)
        self._count = 0
        self._zero = False  # the all-zero digest marks an empty slot: it is kept aside

    def __len__(self) -> int:
        """How many digests the table holds."""
        return self._count + self._zero

    @property
    def nbytes(self) -> int:
        """The table's size in bytes."""
        return len(self._table)

    def add(self, digest: bytes) -> bool:
        """Add a 16-byte digest; False when it was there already."""
        if digest == _EMPTY:
            new, self._zero = not self._zero, True
            return new
        if 3 * (self._count + 1) > 2 * self._slots:
            self._grow()
        return self._insert(digest)

    def _insert(self, digest: bytes) -> bool:
        table, mask = self._table, self._slots - 1
        slot = int.from_bytes(digest[:8], "little") & mask
        while True:
            start = slot * DIGEST_BYTES
            held = table[start : start + DIGEST_BYTES]
            if held == _EMPTY:
                table[start : start + DIGEST_BYTES] = digest
                self._count += 1
                return True
            if held == digest:
                return False
            slot = (slot + 1) & mask

    def _grow(self) -> None:
        old = self._table
        self._slots *= 2
        self._table = bytearray(self._slots * DIGEST_BYTES)
        self._count = 0
        for start in range(0, len(old), DIGEST_BYTES):
            held = bytes(old[start : start + DIGEST_BYTES])
            if held != _EMPTY:
                self._insert(held)


class StreamIds:
    """The ids one (stream, portal) emitted in the run, whichever partition read them.

    An id is the string the record carries (RecordShaper makes 123 and "123" the same),
    so that one run never emits one key (portalId, id) twice.
    """

    def __init__(self, run: RunIds, stream: str, portal_id: int, where: str) -> None:
        """Ids of `stream` in portal `portal_id` (called `where` in logs) among the run's."""
        self._run = run
        self._prefix = f"{stream}\0{portal_id}\0".encode()
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

    def stream(self, stream: str, label: str | None, portal_id: int, where: str) -> StreamIds:
        """The ids of `stream` in the portal labelled `label`, shared by its partitions."""
        with self.lock:
            key = (stream, label)
            if key not in self._streams:
                self._streams[key] = StreamIds(self, stream, portal_id, where)
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
                "%s: dropped %s record%s whose id had been emitted already in this run "
                "(HubSpot repeats a record across pages when events arrive while paging): "
                "one record per portalId and id",
                ids.where,
                f"{dropped:,}",
                "" if dropped == 1 else "s",
            )
