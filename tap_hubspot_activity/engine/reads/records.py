"""HubSpot's raw records made the tap's: id and occurredAt checked, fields fitted to the schema."""

from __future__ import annotations

import hashlib
import json
import threading
import typing as t

from tap_hubspot_activity.engine.redaction import shown
from tap_hubspot_activity.engine.timestamps import normalize_timestamp

if t.TYPE_CHECKING:
    from logging import Logger

_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
}


def event_id(record: t.Mapping[str, t.Any], fields: tuple[str, ...]) -> str:
    """A stable id from the fields that identify an event: SHA-256 of their canonical JSON."""
    identity = {field: record.get(field) for field in fields}
    canonical = json.dumps(identity, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


class RecordShaper:
    """Checks and fits one stream's records; warns once per problem, never crashes.

    A record without a usable id or timestamp is skipped; a field of the wrong type is
    loaded as null so the event is kept; a field the schema does not know is dropped
    (named once, escaped: a field name is HubSpot's text, not ours).
    """

    def __init__(
        self,
        *,
        stream: str,
        schema: t.Mapping[str, t.Any],
        timestamp_field: str,
        identity_fields: tuple[str, ...] | None,
        logger: Logger,
    ) -> None:
        """Learn the Python types each schema property accepts."""
        self.stream = stream
        self.timestamp_field = timestamp_field
        self.identity_fields = identity_fields
        self.logger = logger
        self.types = _python_types(schema)
        self._unknown_seen: set[str] = set()
        self._lock = threading.Lock()

    def shape(self, raw: object, portal_id: int) -> dict[str, t.Any] | None:
        """The record with `id`, `occurredAt` and `portalId`, or None (with a warning)."""
        if not isinstance(raw, dict):
            self.logger.warning("Skipping a %s entry that is not a JSON object", self.stream)
            return None
        if self.identity_fields and "id" not in raw:
            raw["id"] = event_id(raw, self.identity_fields)
        occurred_at = normalize_timestamp(raw.get(self.timestamp_field))
        record_id = raw.get("id")
        if (
            occurred_at is None
            or isinstance(record_id, bool)
            or not isinstance(record_id, str | int)
            or record_id == ""
        ):
            self.logger.warning(
                "Skipping a %s record without a usable id or %s (id=%s, %s=%s)",
                self.stream,
                self.timestamp_field,
                shown(record_id),
                self.timestamp_field,
                shown(raw.get(self.timestamp_field)),
            )
            return None
        raw["id"] = str(record_id)
        raw["occurredAt"] = occurred_at
        raw["portalId"] = portal_id
        self._fit(raw, self.types, "")
        return raw

    def _fit(self, record: dict[str, t.Any], types: dict[str, t.Any], prefix: str) -> None:
        if not prefix:
            # Nested objects keep what they carry (their schemas allow more properties).
            for field in [field for field in record if field not in types]:
                del record[field]
                self._note_unknown(field)
        for field, accepted in types.items():
            value = record.get(field)
            if value is None:
                continue
            if isinstance(accepted, dict):
                if isinstance(value, dict):
                    self._fit(value, accepted, f"{prefix}{field}.")
                    continue
                fits = False
            else:
                # bool is an int to Python, never to the schema.
                fits = isinstance(value, accepted) and (
                    bool in accepted or not isinstance(value, bool)
                )
            if not fits:
                self.logger.warning(
                    "%s record %s: field %s has an unexpected %s value; loaded as null",
                    self.stream,
                    shown(record.get("id")),
                    prefix + field,
                    type(value).__name__,
                )
                record[field] = None

    def _note_unknown(self, field: str) -> None:
        with self._lock:
            if field in self._unknown_seen:
                return
            self._unknown_seen.add(field)
        self.logger.warning(
            "%s: HubSpot sent a field the schema does not know, %s; it is not loaded",
            self.stream,
            shown(field),
        )


def _python_types(schema: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """Python types each property accepts; nested objects map to their own properties."""
    types: dict[str, t.Any] = {}
    for field, spec in schema.get("properties", {}).items():
        declared = spec.get("type", [])
        names = [declared] if isinstance(declared, str) else list(declared)
        if "object" in names and "properties" in spec:
            types[field] = _python_types(spec)
        elif "object" in names:
            types[field] = (dict,)
        else:
            types[field] = tuple(kind for name in names for kind in _JSON_TYPES.get(name, ()))
    return types
