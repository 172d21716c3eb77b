"""What the emulator's tests share: the base portal, HTTP helpers and fixture bodies."""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pytest
import requests

from hubspot_emulator import EmulatorConfig, HubSpotEmulator
from hubspot_emulator.config import DATA_FIELDS

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

AUTH = {"Authorization": "Bearer test-token"}
TIME_FIELD = {
    "login": "loginAt",
    "audit-logs": "occurredAt",
    "security": "createdAt",
    "cms": "timestamp",
}
USER_OF = {
    "login": lambda r: r["userId"],
    "audit-logs": lambda r: r["actingUser"]["userId"],
    "security": lambda r: r["userId"],
}
STREAMS = ("login", "audit-logs", "security")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
# Small but over 90 days of history, and no rate limit unless a test asks for one.
# 80 users leave enough home-only users that no planted "new country" user repeats.
BASE = EmulatorConfig(
    seed=7,
    users=80,
    logins_per_day=20,
    audits_per_day=30,
    security_per_day=10,
    history_days=100,
    ten_second_max=100_000,
)
BASE_MODES = {
    f.name: getattr(BASE, f.name) for f in dataclasses.fields(BASE) if f.name not in DATA_FIELDS
}
TINY: dict[str, Any] = {
    "users": 10,
    "logins_per_day": 5,
    "audits_per_day": 5,
    "security_per_day": 5,
    "history_days": 5,
}


# The fixtures every module binds: one emulator of BASE per module, one HTTP session, and
# the modes of BASE back after each test, whatever it changed.
def base_emulator() -> Iterator[HubSpotEmulator]:
    with HubSpotEmulator(BASE) as emulator:
        yield emulator


def http_session() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def restore_modes(emu: HubSpotEmulator) -> Iterator[None]:
    yield
    emu.clear_faults()
    emu.configure(**BASE_MODES)


def get(
    http: requests.Session,
    emu: HubSpotEmulator,
    stream: str,
    headers: dict[str, str] | None = None,
    version: str = "v3",
    **params: Any,
) -> requests.Response:
    return http.get(
        f"{emu.url}/account-info/{version}/activity/{stream}",
        params=params,
        headers=AUTH if headers is None else headers,
        timeout=10,
    )


def page_all(
    http: requests.Session, emu: HubSpotEmulator, stream: str, **params: Any
) -> list[dict[str, Any]]:
    return follow_pages(lambda page: get(http, emu, stream, **page), params)


def follow_pages(
    fetch: Callable[[dict[str, Any]], requests.Response], params: dict[str, Any]
) -> list[dict[str, Any]]:
    """Every page's results, each page asked for with the previous one's `after` cursor."""
    out: list[dict[str, Any]] = []
    while True:
        resp = fetch(params)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        out.extend(body["results"])
        if "paging" not in body:
            return out
        params = {**params, "after": body["paging"]["next"]["after"]}


CMS_PATH = "/cms/v3/audit-logs/"
CMS_FIELDS = {
    "event",
    "fullName",
    "meta",
    "objectId",
    "objectName",
    "objectType",
    "timestamp",
    "userId",
}


def cms_get(
    http: requests.Session,
    emu: HubSpotEmulator,
    path: str = CMS_PATH,
    headers: dict[str, str] | None = None,
    **params: Any,
) -> requests.Response:
    return http.get(
        f"{emu.url}{path}", params=params, headers=AUTH if headers is None else headers, timeout=10
    )


def cms_all(http: requests.Session, emu: HubSpotEmulator, **params: Any) -> list[dict[str, Any]]:
    return follow_pages(lambda page: cms_get(http, emu, **page), params)


def when(rec: dict[str, Any], stream: str) -> datetime:
    return datetime.fromisoformat(rec[TIME_FIELD[stream]])


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def oauth_token(
    http: requests.Session, emu: HubSpotEmulator, version: str = "v1", **overrides: str
) -> requests.Response:
    form = {
        "grant_type": "refresh_token",
        "client_id": "emu-client-id",
        "client_secret": "emu-client-secret",
        "refresh_token": "emu-refresh-token",
        **overrides,
    }
    return http.post(f"{emu.url}/oauth/{version}/token", data=form, timeout=10)


def emulator_fixtures() -> tuple[Any, Any, Any]:
    """A module's fixtures: `emu, http, _restore_modes = emulator_fixtures()` binds them."""
    return (
        pytest.fixture(base_emulator, scope="module", name="emu"),
        pytest.fixture(http_session, scope="module", name="http"),
        pytest.fixture(restore_modes, autouse=True, name="_restore_modes"),
    )
