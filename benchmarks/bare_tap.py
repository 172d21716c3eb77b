"""The bare singer-sdk baseline: one stream of security-shaped records from memory, no HTTP.

`python benchmarks/bare_tap.py --config cfg.json` with `{"records": N}` emits N records of
the tap's security_activity schema (same schema file, key properties, replication key,
sort flags and message writer class as the tap), so `tap records/s / bare records/s` is the
share of singer-sdk's own speed the tap keeps: everything below 1.0 is HTTP, JSON
decoding and the tap's per-record work.
"""

from __future__ import annotations

import datetime as dt
import random
import typing as t
from importlib import resources

from singer_sdk import SchemaDirectory, Stream, StreamSchema, Tap
from singer_sdk import typing as th

from tap_hubspot_activity import schemas
from tap_hubspot_activity.tap import TapHubspotActivity

if t.TYPE_CHECKING:
    from collections.abc import Iterable

    from singer_sdk.helpers.types import Context

PORTAL_ID = 62515
TEMPLATES = 1024
# The emulator's vocabulary, roughly: record sizes match the tap's output (~420 bytes).
TYPES = (
    "LOGIN_SUCCEEDED",
    "PRIVATE_APP_ACCESS_TOKEN_VIEW",
    "IMPORT",
    "EXPORT",
    "USER_ROLE_UPDATED",
    "REMOVE_TWO_FACTOR_AUTHENTICATION",
    "API_KEY_VIEW",
    "PASSWORD_RESET",
)
PLACES = (
    ("new york, united states", "us", "ny", "74.101"),
    ("california, united states", "us", "ca", "76.21"),
    ("texas, united states", "us", "tx", "99.42"),
    ("dublin, ireland", "ie", "d", "89.101"),
    ("são paulo, brazil", "br", "sp", "177.72"),
    ("東京, japan", "jp", "13", "126.15"),
)
NAMES = ("helly.riggs", "mark.scout", "irving.bailiff", "dylan.george", "soren.dubois")
DOMAINS = ("lumon.example", "agency.example", "corp.example")
PATHS = (
    "settings/{portal}/users/user/{obj}",
    "settings/{portal}/account-defaults/security",
    "contacts/{portal}/objects/0-1/views/all/list",
)


def security_templates(count: int = TEMPLATES) -> list[dict[str, t.Any]]:
    """Security-history records as HubSpot sends them, minus id and timestamps."""
    rng = random.Random(7)
    templates = []
    for _ in range(count):
        place = rng.choice(PLACES)
        object_id = str(rng.randrange(1, 10**8))
        record: dict[str, t.Any] = {
            "type": rng.choice(TYPES),
            "userId": rng.randrange(1_000_000, 2**31 - 1),
            "actingUser": f"{rng.choice(NAMES)}@{rng.choice(DOMAINS)}",
            "objectId": object_id,
            "infoUrl": "app.hubspot.com/"
            + rng.choice(PATHS).format(portal=PORTAL_ID, obj=object_id),
            "ipAddress": f"{place[3]}.{rng.randrange(256)}.{rng.randrange(1, 255)}",
            "location": place[0],
            "countryCode": place[1],
            "regionCode": place[2],
        }
        # Optional fields are sometimes missing and sometimes null, as in the emulator.
        for field in ("actingUser", "objectId", "infoUrl", "location", "regionCode"):
            roll = rng.random()
            if roll < 0.03:
                del record[field]
            elif roll < 0.06:
                record[field] = None
        templates.append(record)
    return templates


class BareSecurityStream(Stream):
    """Emits `records` security-shaped records, ascending, with the tap's stream flags."""

    name = "security_activity"
    schema = StreamSchema(SchemaDirectory(resources.files(schemas)))
    primary_keys: t.ClassVar[list[str]] = ["portalId", "id"]  # type: ignore[misc]
    replication_key = "occurredAt"
    is_sorted = True
    check_sorted = False

    def get_records(self, context: Context | None) -> Iterable[dict[str, t.Any]]:  # noqa: ARG002
        """The same fields the tap emits: the API's own, plus occurredAt and portalId."""
        templates = security_templates()
        count = int(self.config["records"])
        start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        for index in range(count):
            # One event every 7 ms, ascending; the millisecond string HubSpot sends.
            moment = start + dt.timedelta(milliseconds=7 * index)
            created = moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
            record = dict(templates[index % TEMPLATES])
            record["id"] = str(496_296_000_000 + index)
            record["createdAt"] = created
            record["occurredAt"] = f"{created[:-1]}000Z"
            record["portalId"] = PORTAL_ID
            yield record


class BareTap(Tap):
    """A singer-sdk tap with one in-memory stream and the tap's message writer."""

    name = "bare-singer-sdk"
    # Whatever the tap writes with (MsgSpecWriter or a subclass): the ratio is about the
    # tap's own work, not about the writer.
    message_writer_class = TapHubspotActivity.message_writer_class
    config_jsonschema = th.PropertiesList(
        th.Property("records", th.IntegerType, required=True),
    ).to_dict()

    def discover_streams(self) -> list[Stream]:
        """The one stream."""
        return [BareSecurityStream(self)]


if __name__ == "__main__":
    BareTap.cli()
