"""The CMS content audit log (GET /cms/v3/audit-logs/): vocabulary, seeded data, records."""

from __future__ import annotations

import bisect
import itertools
import json
import zlib
from typing import TYPE_CHECKING, Any

from .data import (
    HOUR_MS,
    ID_SPACE,
    MAX_PER_HOUR,
    Event,
    User,
    iso_ms,
    pick_user,
    poisson,
    rhythm_at,
    seeded,
)
from .records import Bits

if TYPE_CHECKING:
    import random
    from collections.abc import Iterator

    from .config import EmulatorConfig

EVENT_TYPES: tuple[str, ...] = (
    "CREATED",
    "DELETED",
    "PUBLISHED",
    "RESTORE",
    "UNPUBLISHED",
    "UPDATED",
)
# Object names per type (the spec's 24-value enum, in its order). The names of an
# object type's pool; an object id is a function of (type, index) alone.
OBJECT_NAMES: dict[str, tuple[str, ...]] = {
    "BLOG": ("Company Blog", "Engineering Blog", "Customer Stories"),
    "BLOG_POST": (
        "10 Ways to Improve Your Funnel",
        "Q1 Product Update",
        "How We Cut Churn in Half",
        "Announcing Our Series B",
        "Café culture at the Berlin office",
    ),
    "CASE_STUDY": ("Acme Corp Case Study", "Globex Rollout Story"),
    "CONTENT_SETTINGS": ("Website settings", "Blog settings", "System pages", "Navigation menus"),
    "CSS": ("main.css", "theme-overrides.css"),
    "CTA": ("Book a demo", "Download the ebook", "Start free trial"),
    "DOMAIN": ("www.example.com", "blog.example.com", "info.example.com"),
    "EMAIL": ("March Newsletter", "Welcome series #1", "Webinar reminder"),
    "FILE": ("pricing-sheet-2026.pdf", "hero-banner.jpg", "team-photo.png", "logo.svg"),
    "GLOBAL_MODULE": ("Site header", "Site footer"),
    "HUBDB_TABLE": ("office_locations", "team_members", "events_calendar"),
    "JS": ("main.js", "analytics.js"),
    "KNOWLEDGE_BASE": ("Help Center",),
    "KNOWLEDGE_BASE_ARTICLE": ("Resetting your password", "Setting up SSO", "Billing FAQ"),
    "LANDING_PAGE": ("My Landing Page", "Spring Webinar Registration", "Ebook download"),
    "MODULE": ("Pricing table", "Testimonial slider"),
    "PODCAST": ("The Growth Show",),
    "QUOTE": ("Acme renewal 2026", "Globex expansion"),
    "SERVERLESS_FUNCTION": ("contact-form.js", "lead-score.js"),
    "TEMPLATE": ("templates/home.html", "templates/blog-post.html"),
    "THEME": ("Growth", "Growth child"),
    "URL_MAPPING": ("/old-pricing -> /pricing", "/blog/feed -> /blog/rss"),
    "WEB_INTERACTIVE": ("Exit-intent pop-up", "Newsletter banner"),
    "WEBSITE_PAGE": ("Home", "About us", "Pricing", "Über uns"),
}
OBJECT_TYPES: tuple[str, ...] = tuple(OBJECT_NAMES)
# How often each type is touched, relative to each other.
_TYPE_WEIGHTS = {
    "BLOG_POST": 14,
    "LANDING_PAGE": 10,
    "WEBSITE_PAGE": 10,
    "EMAIL": 8,
    "FILE": 8,
    "HUBDB_TABLE": 6,
    "CONTENT_SETTINGS": 4,
    "KNOWLEDGE_BASE_ARTICLE": 4,
    "MODULE": 4,
}
_TYPE_TABLE = [(t, _TYPE_WEIGHTS.get(t, 2)) for t in OBJECT_TYPES]
# One-of-a-kind objects; other types also have copies, named "Home (2)" and so on.
_SINGLE = frozenset({"BLOG", "DOMAIN", "KNOWLEDGE_BASE", "PODCAST", "THEME", "CONTENT_SETTINGS"})
_PUBLISHABLE = frozenset(
    {
        "BLOG_POST",
        "LANDING_PAGE",
        "WEBSITE_PAGE",
        "EMAIL",
        "CASE_STUDY",
        "KNOWLEDGE_BASE_ARTICLE",
        "PODCAST",
        "HUBDB_TABLE",
        "QUOTE",
        "CTA",
        "WEB_INTERACTIVE",
    }
)
_PAGE_EVENTS = [
    ("UPDATED", 50),
    ("PUBLISHED", 18),
    ("CREATED", 12),
    ("DELETED", 8),
    ("UNPUBLISHED", 6),
    ("RESTORE", 6),
]
_ASSET_EVENTS = [("UPDATED", 60), ("CREATED", 20), ("DELETED", 14), ("RESTORE", 6)]
_PAGE_FIELDS = ("title", "htmlTitle", "metaDescription", "slug", "featuredImage", "widgets")
_SETTINGS_FIELDS = ("siteName", "faviconUrl", "headHtml", "footerHtml", "defaultDomain")
# Bulk actions (several objects, one millisecond) come from these types' pools.
_BULK = (("FILE", "DELETED"), ("BLOG_POST", "PUBLISHED"), ("WEBSITE_PAGE", "UPDATED"))


def pool_size(object_type: str) -> int:
    names = len(OBJECT_NAMES[object_type])
    return names if object_type in _SINGLE else 3 * names


_MAX_POOL = max(pool_size(t) for t in OBJECT_TYPES)


def object_id(object_type: str, index: int) -> str:
    """A stable 10-digit id per object, like "4065364319"."""
    return str(4_000_000_000 + zlib.crc32(f"{object_type}:{index}".encode()) % 1_000_000_000)


def object_name(object_type: str, index: int) -> str:
    names = OBJECT_NAMES[object_type]
    copy, base = divmod(index, len(names))
    return names[base] if copy == 0 else f"{names[base]} ({copy + 1})"


def _weighted(bits: Bits, table: list[tuple[str, int]]) -> str:
    cumulative = list(itertools.accumulate(w for _, w in table))
    return table[bisect.bisect_right(cumulative, bits.take(cumulative[-1]))][0]


def _meta(object_type: str, event: str, bits: Bits) -> dict[str, Any]:
    # Every draw happens whatever the branch, so overrides never shift other fields.
    roll, rows = bits.percent(), bits.take(40) + 1
    one, two = bits.take(len(_PAGE_FIELDS)), bits.take(len(_SETTINGS_FIELDS))
    if object_type == "HUBDB_TABLE" and event in ("UPDATED", "PUBLISHED"):
        if roll < 50:
            return {"rowsUpdated": rows}
        return {"rowsDeleted": rows} if roll < 80 else {}
    if object_type == "CONTENT_SETTINGS":
        fields = [_SETTINGS_FIELDS[two]]
        if roll < 30:
            fields.append(_SETTINGS_FIELDS[(two + 1) % len(_SETTINGS_FIELDS)])
        return {"changedFields": fields}
    if object_type in _PUBLISHABLE and event == "UPDATED" and roll < 35:
        return {"changedFields": [_PAGE_FIELDS[one]]}
    return {}


def render(ev: Event, user: User) -> dict[str, Any]:
    """A `PublicAuditLog` record: no id, `userId` a string, meta always an object."""
    bits, forced = Bits(ev[3]), ev[4] or {}
    drawn_type = _weighted(bits, _TYPE_TABLE)
    object_type = forced.get("objectType", drawn_type)
    drawn_index = bits.take(_MAX_POOL)
    index = forced.get("index", drawn_index % pool_size(object_type))
    table = _PAGE_EVENTS if object_type in _PUBLISHABLE else _ASSET_EVENTS
    drawn_event = "UPDATED" if object_type == "CONTENT_SETTINGS" else _weighted(bits, table)
    event = forced.get("event", drawn_event)
    meta = _meta(object_type, event, bits)
    return {
        "objectId": object_id(object_type, index),
        "objectName": object_name(object_type, index),
        "objectType": object_type,
        "event": event,
        "userId": str(user.id),
        "fullName": user.name,
        "timestamp": iso_ms(ev[0]),
        "meta": forced.get("meta", meta),
    }


def identity(ev: Event, users: list[User]) -> str:
    """The whole served record: two events with equal identities would be indistinguishable."""
    return json.dumps(render(ev, users[ev[2]]), sort_keys=True)


def generate_bucket(config: EmulatorConfig, hour: int, users: list[User]) -> list[Event]:
    """All CMS events of one epoch hour, a pure function of (seed, hour, users)."""
    rng = seeded(config.seed, "cms", hour)
    base = hour * HOUR_MS
    count = min(poisson(rng, config.cms_per_day / 24 * rhythm_at(hour)), MAX_PER_HOUR)
    ids = (str(hour * ID_SPACE + n) for n in itertools.count())
    out: list[Event] = [
        (
            base + rng.randrange(HOUR_MS),
            next(ids),
            pick_user(rng, len(users)),
            rng.getrandbits(128),
            None,
        )
        for _ in range(count)
    ]
    # A bulk action: 3-7 distinct objects of one type, one user, one millisecond.
    if rng.random() < config.bursts_per_week / 168:
        ms, uidx = base + rng.randrange(HOUR_MS), pick_user(rng, len(users))
        object_type, event = _BULK[rng.randrange(len(_BULK))]
        for index in rng.sample(range(pool_size(object_type)), rng.randint(3, 7)):
            forced = {"objectType": object_type, "event": event, "index": index}
            out.append((ms, next(ids), uidx, rng.getrandbits(128), forced))
    # Two events equal in every field but meta: consumers must derive distinct ids.
    if rng.random() < config.bursts_per_week / 168:
        out.extend(_meta_pair(rng, base + rng.randrange(HOUR_MS), len(users), ids))
    return distinct(out, users, rng)


def _meta_pair(rng: random.Random, ms: int, n_users: int, ids: Iterator[str]) -> list[Event]:
    uidx, bits = pick_user(rng, n_users), rng.getrandbits(128)
    metas: tuple[dict[str, Any], dict[str, Any]]
    if rng.random() < 0.5:
        object_type = "HUBDB_TABLE"
        metas = ({"rowsUpdated": rng.randint(1, 40)}, {"rowsDeleted": rng.randint(1, 40)})
    else:
        object_type = "CONTENT_SETTINGS"
        first, second = rng.sample(_SETTINGS_FIELDS, 2)
        metas = ({"changedFields": [first]}, {"changedFields": [second]})
    index = rng.randrange(pool_size(object_type))
    return [
        (
            ms,
            next(ids),
            uidx,
            bits,
            {"objectType": object_type, "index": index, "event": "UPDATED", "meta": meta},
        )
        for meta in metas
    ]


def distinct(events: list[Event], users: list[User], rng: random.Random) -> list[Event]:
    """Redraw (or, when fully forced, drop) any event identical to an earlier one."""
    seen: set[str] = set()
    out: list[Event] = []
    # Forced events are distinct among themselves by construction, so they go first.
    for ev in sorted(events, key=lambda e: e[4] is None):
        current = ev
        while (key := identity(current, users)) in seen and current[4] is None:
            current = (ev[0], ev[1], ev[2], rng.getrandbits(128), None)
        if key not in seen:
            seen.add(key)
            out.append(current)
    return out
