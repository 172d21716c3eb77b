"""Planted security incidents: one deterministic set per 3-day period of history."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import catalog
from .data import HOUR_MS, ID_SPACE, PLANTED_BASE, Event, User, iso_ms, seeded

# A set per 3 days, placed in the first 2 days of its period, means the newest fully
# materialized set is always less than 6 days old, and incidents are a pure function of
# (seed, hour) like the rest of the data, so a restart does not move them.
PERIOD_HOURS = 72
PLACEMENT_HOURS = 48
BRUTE_FORCE_COUNT = 12
BRUTE_FORCE_SPAN_MS = 230_000  # under the 4 minutes the brief promises
REMOVE_2FA = "REMOVE_TWO_FACTOR_AUTHENTICATION"


@dataclass
class IncidentPlan:
    """One period's incidents: the planted events and a JSON description of them."""

    period: int
    hour: int
    login: list[Event] = field(default_factory=list)
    security: list[Event] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def last_ms(self) -> int:
        return max(ev[0] for ev in self.login + self.security)


class Planner:
    """Chooses who is involved in each period's incidents and builds their events."""

    def __init__(self, seed: int, users: list[User], portal_id: int, history_days: int) -> None:
        self.seed, self.users, self.portal_id = seed, users, portal_id
        self.phase = seeded(seed, "incident-phase").randrange(PERIOD_HOURS)
        # Home-only US users never log in from abroad, so a foreign login is provably new.
        self.homebodies = [
            i for i, u in enumerate(users) if u.home[1] == "us" and not u.traveler and not u.admin
        ]
        homebody_set = set(self.homebodies)
        self.brute_targets = [
            i for i, u in enumerate(users) if i not in homebody_set and not u.admin
        ]
        self.admins = [i for i, u in enumerate(users) if u.admin]
        self.non_admins = [i for i, u in enumerate(users) if not u.admin]
        # Enough home-only users that none repeats within the history: every planted
        # foreign login can be Brazil. Otherwise a repeat gets the next foreign country.
        self.rotate = len(self.homebodies) * PERIOD_HOURS < (history_days + 3) * 24
        self._cache: dict[int, IncidentPlan] = {}

    def period_of(self, hour: int) -> int:
        return (hour - self.phase) // PERIOD_HOURS

    def events_for(self, stream: str, hour: int) -> list[Event]:
        """Planted events of one stream inside one epoch hour (usually none)."""
        plan = self.plan(self.period_of(hour))
        if plan.hour != hour:
            return []
        return list(
            plan.login if stream == "login" else plan.security if stream == "security" else []
        )

    def plan(self, period: int) -> IncidentPlan:
        if period not in self._cache:
            self._cache[period] = self._build(period)
        return self._cache[period]

    def _build(self, period: int) -> IncidentPlan:
        rng = seeded(self.seed, "incident", period)
        hour = self.phase + period * PERIOD_HOURS + rng.randrange(PLACEMENT_HOURS)
        base = hour * HOUR_MS
        next_id = iter(range(hour * ID_SPACE + PLANTED_BASE, (hour + 1) * ID_SPACE))
        plan = IncidentPlan(period, hour)

        victim = self.brute_targets[rng.randrange(len(self.brute_targets))]
        attacker_ip = f"185.220.{rng.randrange(100, 110)}.{rng.randrange(1, 255)}"
        start = base + rng.randrange(40 * 60_000)
        times = sorted(
            [start]
            + [start + rng.randrange(1, BRUTE_FORCE_SPAN_MS) for _ in range(BRUTE_FORCE_COUNT - 1)]
        )
        loc = catalog.ATTACKER_LOCATION
        failed = {
            "loginSucceeded": False,
            "ipAddress": attacker_ip,
            "location": loc[0],
            "userAgent": catalog.ATTACKER_USER_AGENT,
            "countryCode": loc[1],
            "regionCode": loc[2],
        }
        brute = [
            (ms, str(next(next_id)), victim, rng.getrandbits(128), dict(failed)) for ms in times
        ]
        plan.login.extend(brute)

        traveler_idx = self.homebodies[period % len(self.homebodies)]
        traveler = self.users[traveler_idx]
        turn = period // len(self.homebodies) if self.rotate else 0
        foreign = catalog.FOREIGN_LOCATIONS[turn % len(catalog.FOREIGN_LOCATIONS)]
        home = {
            "loginSucceeded": True,
            "ipAddress": traveler.ip,
            "location": traveler.home[0],
            "userAgent": catalog.USER_AGENTS[0],
            "countryCode": traveler.home[1],
            "regionCode": traveler.home[2],
        }
        prior = [
            (
                base + minute * 60_000 + rng.randrange(60_000),
                str(next(next_id)),
                traveler_idx,
                rng.getrandbits(128),
                dict(home),
            )
            for minute in (42, 47)
        ]
        abroad_ip = f"{foreign[3]}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        abroad = (
            base + 50 * 60_000 + rng.randrange(9 * 60_000),
            str(next(next_id)),
            traveler_idx,
            rng.getrandbits(128),
            {
                "loginSucceeded": True,
                "ipAddress": abroad_ip,
                "location": foreign[0],
                "userAgent": catalog.USER_AGENTS[1],
                "countryCode": foreign[1],
                "regionCode": foreign[2],
            },
        )
        plan.login.extend([*prior, abroad])

        admin_idx = self.admins[period % len(self.admins)]
        admin = self.users[admin_idx]
        target = self.users[self.non_admins[rng.randrange(len(self.non_admins))]]
        removal = (
            base + rng.randrange(HOUR_MS),
            str(next(next_id)),
            admin_idx,
            rng.getrandbits(128),
            {
                "type": REMOVE_2FA,
                "actingUser": admin.email,
                "objectId": str(target.id),
                "infoUrl": f"app.hubspot.com/settings/{self.portal_id}/users/user/{target.id}",
                "ipAddress": admin.ip,
                "location": admin.home[0],
                "countryCode": admin.home[1],
                "regionCode": admin.home[2],
            },
        )
        plan.security.append(removal)

        plan.info = {
            "period_start": iso_ms((self.phase + period * PERIOD_HOURS) * HOUR_MS),
            "brute_force": {
                "user_id": self.users[victim].id,
                "email": self.users[victim].email,
                "ip_address": attacker_ip,
                "count": BRUTE_FORCE_COUNT,
                "event_ids": [ev[1] for ev in brute],
                "first_at": iso_ms(times[0]),
                "last_at": iso_ms(times[-1]),
            },
            "new_country": {
                "user_id": traveler.id,
                "email": traveler.email,
                "country_code": foreign[1],
                "location": foreign[0],
                "ip_address": abroad_ip,
                "event_id": abroad[1],
                "occurred_at": iso_ms(abroad[0]),
                "prior_event_ids": [ev[1] for ev in prior],
            },
            "admin_2fa_removal": {
                "type": REMOVE_2FA,
                "admin_user_id": admin.id,
                "admin_email": admin.email,
                "target_user_id": target.id,
                "event_id": removal[1],
                "occurred_at": iso_ms(removal[0]),
            },
        }
        return plan
