"""Seeded synthetic portal: users and per-hour event buckets (records.py renders them)."""

from __future__ import annotations

import base64
import math
import random
import time
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import catalog

if TYPE_CHECKING:
    from .config import EmulatorConfig

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
# Numeric ids are hour * ID_SPACE + n: unique, increasing over time like HubSpot's, and
# derived only from (hour, n). Generated events use n < PLANTED_BASE, planted incidents
# PLANTED_BASE.., events added at run time ADDED_BASE..
ID_SPACE = 1_000_000
PLANTED_BASE = 500_000
ADDED_BASE = 600_000
MAX_PER_HOUR = PLANTED_BASE - 1
RATE_FIELD = {
    "login": "logins_per_day",
    "audit-logs": "audits_per_day",
    "security": "security_per_day",
    "cms": "cms_per_day",
}

# An event is kept compact so a million of them stay cheap: (occurred_ms, id, user index,
# random bits that decide every other field at render time, explicit field overrides).
Event = tuple[int, str, int, int, dict[str, Any] | None]


@dataclass(frozen=True)
class User:
    """A portal user; `home` is a catalog location tuple."""

    id: int
    email: str
    name: str
    home: tuple[str, str, str, str]
    ip: str
    traveler: bool
    admin: bool


# Letters NFKD does not decompose into an ASCII base.
_TRANSLIT = str.maketrans({"ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "ß": "ss", "đ": "d"})


def seeded(*parts: object) -> random.Random:
    """A generator seeded by a string key, so draws never depend on hash randomization."""
    return random.Random(":".join(map(str, parts)))  # noqa: S311 - synthetic data, not secrets


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text.translate(_TRANSLIT))
    folded = folded.encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())


def build_users(seed: int, count: int) -> list[User]:
    """Deterministic users; index 0-1 are admins, 2 a home-only US user, 3 a traveler."""
    rng = seeded(seed, "users")
    ids: set[int] = set()
    emails: set[str] = set()
    users = []
    for idx in range(count):
        uid = rng.randrange(1_000_000, 2**31 - 1)
        while uid in ids:
            uid = rng.randrange(1_000_000, 2**31 - 1)
        ids.add(uid)
        first, last = rng.choice(catalog.FIRST_NAMES), rng.choice(catalog.LAST_NAMES)
        local = f"{_ascii(first)}.{_ascii(last)}"
        email = f"{local}@{rng.choice(catalog.EMAIL_DOMAINS)}"
        while email in emails:
            email = f"{local}{rng.randrange(2, 999)}@{email.split('@')[1]}"
        emails.add(email)
        # Forced roles keep the planted incidents possible even for tiny portals.
        us_home = idx == 2 or (idx != 3 and rng.random() < 0.75)
        home = rng.choice(catalog.US_LOCATIONS if us_home else catalog.WORLD_LOCATIONS)
        traveler = idx == 3 or (idx != 2 and rng.random() < 0.2)
        if rng.random() < 0.1:
            ip = f"2001:db8:{rng.randrange(0x10000):x}::{rng.randrange(1, 0x10000):x}"
        else:
            ip = f"{home[3]}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        admin = idx < 2 or (idx > 3 and rng.random() < 0.03)
        users.append(User(uid, email, f"{first} {last}", home, ip, traveler, admin))
    return users


def _rhythm() -> list[float]:
    # Business hours in the portal's US/Eastern time zone, quiet weekends; mean 1.0 so
    # the configured per-day rate holds on average.
    weights = []
    for week_hour in range(168):
        day, hour = divmod(week_hour, 24)
        base = 1.8 if 9 <= hour < 18 else (0.8 if 7 <= hour < 21 else 0.2)
        weights.append(base * (0.35 if day >= 5 else 1.0))
    mean = sum(weights) / len(weights)
    return [w / mean for w in weights]


RHYTHM = _rhythm()


def rhythm_at(hour: int) -> float:
    """Activity weight of an epoch hour (epoch day 0 was a Thursday, UTC-5 local)."""
    local = hour - 5
    weekday = (local // 24 + 3) % 7
    return RHYTHM[weekday * 24 + local % 24]


def poisson(rng: random.Random, lam: float) -> int:
    """Poisson draw; normal approximation once lam is large enough for it to be exact-ish."""
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def opaque_id(rng: random.Random) -> str:
    """An audit-log style id: 27 letters/digits, like "jAzNiQgaEZUTlJISRtESldLGFNM"."""
    raw = base64.b64encode(rng.getrandbits(160).to_bytes(20, "big")).decode()
    return raw.rstrip("=").replace("+", "x").replace("/", "Q")


def pick_user(rng: random.Random, count: int) -> int:
    """A user index, skewed so a few users are much more active than most."""
    return int(count * rng.random() ** 1.6)


def generate_bucket(config: EmulatorConfig, stream: str, hour: int, n_users: int) -> list[Event]:
    """All ordinary events of one stream in one epoch hour, a pure function of its inputs."""
    rng = seeded(config.seed, stream, hour)
    base = hour * HOUR_MS
    per_day = float(getattr(config, RATE_FIELD[stream]))
    count = min(poisson(rng, per_day / 24 * rhythm_at(hour)), MAX_PER_HOUR)
    numeric = stream != "audit-logs"
    out: list[Event] = []
    for n in range(count):
        eid = str(hour * ID_SPACE + n) if numeric else opaque_id(rng)
        out.append(
            (
                base + rng.randrange(HOUR_MS),
                eid,
                pick_user(rng, n_users),
                rng.getrandbits(128),
                None,
            )
        )
    # Several events in one exact millisecond (bulk edits, double submits) test tie order.
    if rng.random() < config.bursts_per_week / 168:
        ms, uidx = base + rng.randrange(HOUR_MS), pick_user(rng, n_users)
        for n in range(count, count + rng.randint(3, 7)):
            eid = str(hour * ID_SPACE + n) if numeric else opaque_id(rng)
            out.append((ms, eid, uidx, rng.getrandbits(128), None))
    return out


def iso_ms(ms: int) -> str:
    """Epoch ms to the API's format, e.g. 2025-02-07T14:12:13.544Z."""
    secs, frac = divmod(ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{frac:03d}Z"
