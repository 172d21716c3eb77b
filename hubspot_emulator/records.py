"""API-shaped records of the account-activity streams, rendered from a stored event's bits."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import catalog
from .data import iso_ms
from .security_types import (
    COMMON_SECURITY_TYPES,
    INFO_URL_PATHS,
    SECURITY_TYPES,
    USER_TARGET_TYPES,
)

if TYPE_CHECKING:
    from .data import Event, User


class Bits:
    """Consumes a big random integer in mixed-radix digits, one field decision each."""

    __slots__ = ("value",)

    def __init__(self, value: int) -> None:
        self.value = value

    def take(self, n: int) -> int:
        self.value, digit = divmod(self.value, n)
        return digit

    def percent(self) -> int:
        return self.take(100)


def _put(rec: dict[str, Any], key: str, value: Any, bits: Bits, odds: tuple[int, int]) -> None:
    # Optional fields are sometimes absent and sometimes an explicit null, as both occur;
    # odds are the percentages (missing, null).
    missing, null = odds
    roll = bits.percent()
    if roll < missing:
        return
    rec[key] = None if roll < missing + null else value


# Travellers roam within their home country (another region, another IP address), so
# a login from a country new to its user only ever comes from a planted incident.
_DOMESTIC: dict[str, tuple[tuple[str, str, str, str], ...]] = {}
for _loc in catalog.US_LOCATIONS + catalog.WORLD_LOCATIONS:
    _DOMESTIC[_loc[1]] = (*_DOMESTIC.get(_loc[1], ()), _loc)


def _place(user: User, bits: Bits) -> tuple[tuple[str, str, str, str], str]:
    if user.traveler and bits.take(8) == 0:
        nearby = _DOMESTIC[user.home[1]]
        loc = nearby[bits.take(len(nearby))]
        return loc, f"{loc[3]}.{bits.take(256)}.{bits.take(254) + 1}"
    return user.home, user.ip


def _login(ev: Event, user: User, bits: Bits) -> dict[str, Any]:
    failed = bits.percent() < 8
    loc, ip = _place(user, bits)
    if bits.percent() < 12:
        agent = catalog.ODD_USER_AGENTS[bits.take(len(catalog.ODD_USER_AGENTS))]
    else:
        agent = catalog.USER_AGENTS[bits.take(len(catalog.USER_AGENTS))]
    rec: dict[str, Any] = {
        "id": ev[1],
        "loginAt": iso_ms(ev[0]),
        "userId": user.id,
        "email": user.email,
        "loginSucceeded": not failed,
        "ipAddress": ip,
    }
    _put(rec, "location", loc[0], bits, (3, 2))
    _put(rec, "userAgent", agent, bits, (2, 2))
    rec["countryCode"] = loc[1]
    _put(rec, "regionCode", loc[2], bits, (3, 4))
    return rec


def _audit(ev: Event, user: User, bits: Bits) -> dict[str, Any]:
    category, sub, action, target = catalog.AUDIT_ACTIONS[bits.take(len(catalog.AUDIT_ACTIONS))]
    rec: dict[str, Any] = {"id": ev[1], "category": category}
    _put(rec, "subCategory", sub, bits, (4, 3))
    rec["action"] = action
    object_id = target if target is not None else str(bits.take(10**8) + 1)
    _put(rec, "targetObjectId", object_id, bits, (5, 3))
    rec["occurredAt"] = iso_ms(ev[0])
    acting: dict[str, Any] = {"userId": user.id}
    if bits.percent() >= 2:
        acting["userEmail"] = user.email
    rec["actingUser"] = acting
    return rec


def _security(ev: Event, user: User, bits: Bits, portal_id: int) -> dict[str, Any]:
    if bits.percent() < 65:
        kind = COMMON_SECURITY_TYPES[bits.take(len(COMMON_SECURITY_TYPES))]
    else:
        kind = SECURITY_TYPES[bits.take(len(SECURITY_TYPES))]
    rec: dict[str, Any] = {"id": ev[1], "createdAt": iso_ms(ev[0]), "type": kind, "userId": user.id}
    _put(rec, "actingUser", user.email, bits, (3, 2))
    # User-management types act on the acting user's own account; only a planted
    # incident targets someone else.
    object_id = str(user.id) if kind in USER_TARGET_TYPES else str(bits.take(10**8) + 1)
    _put(rec, "objectId", object_id, bits, (10, 5))
    path = INFO_URL_PATHS[bits.take(len(INFO_URL_PATHS))]
    _put(
        rec,
        "infoUrl",
        "app.hubspot.com/" + path.format(portal=portal_id, obj=object_id),
        bits,
        (8, 4),
    )
    loc, ip = _place(user, bits)
    rec["ipAddress"] = ip
    _put(rec, "location", loc[0], bits, (6, 4))
    _put(rec, "countryCode", loc[1], bits, (2, 2))
    _put(rec, "regionCode", loc[2], bits, (4, 4))
    return rec


def render(
    stream: str, ev: Event, users: list[User], *, portal_id: int, extra_fields: bool
) -> dict[str, Any]:
    """The API-shaped record of one stored event."""
    user, bits = users[ev[2]], Bits(ev[3])
    if stream == "login":
        rec = _login(ev, user, bits)
    elif stream == "audit-logs":
        rec = _audit(ev, user, bits)
    else:
        rec = _security(ev, user, bits, portal_id)
    if extra_fields:
        # Fields HubSpot might add one day; consumers must pass them through or drop them.
        roll = bits.take(10)
        if roll < 2:
            rec["riskScore"] = round(bits.take(101) / 100, 2)
        elif roll == 2:
            rec["newNested"] = {"a": 1, "tags": ["beta"]}
    if ev[4]:
        rec.update(ev[4])
    return rec
