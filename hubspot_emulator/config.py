"""EmulatorConfig: every knob of the HubSpot emulator, validated in one place."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# "cms" is the older CMS content audit log (GET /cms/v3/audit-logs/).
STREAMS: tuple[str, ...] = ("login", "audit-logs", "security", "cms")
FAULT_KINDS: tuple[str, ...] = (
    "500",
    "502",
    "503",
    "504",
    "423",
    "477",
    "429",
    "429-daily",
    "401-expired",
    "reset",
    "truncated",
    "slow",
    "html",
)
SORT_ORDERS: tuple[str, ...] = ("asc", "desc")
BOUNDS: tuple[str, ...] = ("inclusive", "exclusive")

# These shape the generated data set (or the socket), so they are fixed at construction;
# everything else is a "mode" that configure() may change while serving.
DATA_FIELDS: frozenset[str] = frozenset(
    {
        "seed",
        "host",
        "port",
        "portal_id",
        "users",
        "logins_per_day",
        "audits_per_day",
        "security_per_day",
        "cms_per_day",
        "history_days",
        "login_retention_days",
        "now",
        "bursts_per_week",
    }
)

_BOOL = {
    "reject_over_limit",
    "rate_limit_headers",
    "require_oauth",
    "enterprise",
    "missing_scopes",
    "cms_enterprise",
    "cms_scope",
    "extra_fields",
    "log_requests",
}
_INT = {
    "seed",
    "port",
    "portal_id",
    "users",
    "history_days",
    "login_retention_days",
    "default_limit",
    "max_limit",
    "ten_second_max",
    "rate_limit_interval_ms",
    "daily_max",
    "token_lifetime_s",
    "arrivals_per_request",
}
_FLOAT = {
    "logins_per_day",
    "audits_per_day",
    "security_per_day",
    "cms_per_day",
    "bursts_per_week",
    "latency_ms",
    "fault_rate",
    "slow_seconds",
}
_OPT_STR = {"access_token"}
TOKEN_CASES = frozenset({"", "snake", "camel"})
_STR = {
    "host",
    "after_bound",
    "before_bound",
    "oauth_client_id",
    "oauth_client_secret",
    "oauth_refresh_token",
    "token_case",
}


def default_sort() -> dict[str, str]:
    """Per-endpoint default order, following the API doc's evidence."""
    # login: the guide's example is newest first; audit-logs: the spec says oldest first;
    # security: undocumented, so newest first like login; cms: undocumented, newest first.
    return {"login": "desc", "audit-logs": "asc", "security": "desc", "cms": "desc"}


@dataclass
class EmulatorConfig:
    """All emulator settings; see hubspot_emulator/README.md for what each mode does."""

    seed: int = 7
    host: str = "127.0.0.1"
    port: int = 0
    portal_id: int = 62515
    users: int = 300
    logins_per_day: float = 40.0
    audits_per_day: float = 60.0
    security_per_day: float = 6.0
    cms_per_day: float = 20.0
    history_days: int = 120
    login_retention_days: int = 90
    bursts_per_week: float = 3.0
    # None means the real clock; a fixed instant makes two emulators byte-identical.
    now: datetime | None = None
    default_limit: int = 20
    max_limit: int = 200
    reject_over_limit: bool = False
    sort: dict[str, str] = field(default_factory=default_sort)
    after_bound: str = "exclusive"
    before_bound: str = "exclusive"
    latency_ms: float = 0.0
    ten_second_max: int = 190
    # HubSpot's rolling window is 10 s; tests shrink it to prove throttling quickly.
    rate_limit_interval_ms: int = 10_000
    daily_max: int = 1_000_000
    rate_limit_headers: bool = True
    access_token: str | None = None
    require_oauth: bool = False
    oauth_client_id: str = "emu-client-id"
    # The emulator's own OAuth client, documented in its README: no HubSpot secret.
    oauth_client_secret: str = "emu-client-secret"  # noqa: S105
    oauth_refresh_token: str = "emu-refresh-token"  # noqa: S105
    token_lifetime_s: int = 1800
    # Field names of token answers: "" answers /oauth/v1/token in snake_case (its long
    # documented form) and /oauth/2026-03/token in camelCase (as some of HubSpot's 2026 doc
    # pages show it); "snake" or "camel" forces one on both.
    token_case: str = ""
    enterprise: bool = True
    missing_scopes: bool = False
    # The CMS content audit log: False answers 403 (no CMS Hub Enterprise / no `content` scope).
    cms_enterprise: bool = True
    cms_scope: bool = True
    extra_fields: bool = False
    fault_rate: float = 0.0
    fault_kinds: tuple[str, ...] = ("500", "502", "503", "504", "429")
    slow_seconds: float = 5.0
    arrivals_per_request: int = 0
    log_requests: bool = False

    def __post_init__(self) -> None:
        self.sort = {**default_sort(), **self.sort}
        self.fault_kinds = tuple(self.fault_kinds)
        if self.now is not None and self.now.tzinfo is None:
            self.now = self.now.replace(tzinfo=UTC)
        self.validate()

    def validate(self) -> None:
        """Raise ValueError naming the first bad field."""
        for f in dataclasses.fields(self):
            _check_type(f.name, getattr(self, f.name))
        if set(self.sort) != set(STREAMS) or not set(self.sort.values()) <= set(SORT_ORDERS):
            msg = f"sort must map {STREAMS} to one of {SORT_ORDERS}"
            raise ValueError(msg)
        for name in ("after_bound", "before_bound"):
            if getattr(self, name) not in BOUNDS:
                msg = f"{name} must be one of {BOUNDS}"
                raise ValueError(msg)
        bad = [k for k in self.fault_kinds if k not in FAULT_KINDS]
        if bad:
            msg = f"unknown fault kinds {bad}; known: {FAULT_KINDS}"
            raise ValueError(msg)
        if not 0.0 <= self.fault_rate <= 1.0:
            msg = "fault_rate must be within [0, 1]"
            raise ValueError(msg)
        self._check_ranges()

    def _check_ranges(self) -> None:
        if self.users < 4:
            msg = "users must be >= 4 (the planted incidents need distinct users)"
            raise ValueError(msg)
        positive = (
            "history_days",
            "login_retention_days",
            "default_limit",
            "max_limit",
            "ten_second_max",
            "rate_limit_interval_ms",
            "daily_max",
        )
        for name in positive:
            if getattr(self, name) < 1:
                msg = f"{name} must be >= 1"
                raise ValueError(msg)
        if self.token_case not in TOKEN_CASES:
            msg = f"token_case must be one of {sorted(TOKEN_CASES)}"
            raise ValueError(msg)
        negative = [
            name
            for name in _FLOAT | {"token_lifetime_s", "arrivals_per_request"}
            if getattr(self, name) < 0
        ]
        if negative:
            msg = f"{negative[0]} must be >= 0"
            raise ValueError(msg)

    def with_modes(self, modes: dict[str, Any]) -> EmulatorConfig:
        """A copy with some mode fields changed; data-shaping fields are refused."""
        names = {f.name for f in dataclasses.fields(self)}
        unknown = set(modes) - names
        if unknown:
            msg = f"unknown config fields: {sorted(unknown)}"
            raise ValueError(msg)
        fixed = set(modes) & DATA_FIELDS
        if fixed:
            msg = f"fields fixed at construction: {sorted(fixed)}"
            raise ValueError(msg)
        changes = dict(modes)
        if "sort" in changes:
            if not isinstance(changes["sort"], dict):
                msg = "sort must be an object"
                raise ValueError(msg)
            changes["sort"] = {**self.sort, **changes["sort"]}
        if isinstance(changes.get("fault_kinds"), list):
            changes["fault_kinds"] = tuple(changes["fault_kinds"])
        return dataclasses.replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        """JSON-safe view for /_emulator/config; the access token is masked."""
        out = dataclasses.asdict(self)
        out["now"] = self.now.isoformat() if self.now else None
        out["fault_kinds"] = list(self.fault_kinds)
        for secret in ("access_token", "oauth_client_secret", "oauth_refresh_token"):
            if out[secret] is not None:
                out[secret] = "***"
        return out


def _check_type(name: str, value: Any) -> None:
    # bool is an int subclass, so check it first and keep it out of numeric fields.
    ok = True
    if name in _BOOL:
        ok = isinstance(value, bool)
    elif name in _INT:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif name in _FLOAT:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif name in _STR:
        ok = isinstance(value, str)
    elif name in _OPT_STR:
        ok = value is None or isinstance(value, str)
    if not ok:
        msg = f"{name} has the wrong type: {type(value).__name__}"
        raise ValueError(msg)
