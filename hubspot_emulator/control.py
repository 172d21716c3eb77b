"""The /_emulator/ control API: the Python methods, reachable over HTTP without auth."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from . import errors

if TYPE_CHECKING:
    from .backend import Backend


def _bad(message: str) -> errors.Reply:
    return errors.error(400, "VALIDATION_ERROR", message)


def _json_object(body: bytes) -> dict[str, Any]:
    data = json.loads(body) if body.strip() else {}
    if not isinstance(data, dict):
        msg = "the request body must be a JSON object"
        raise TypeError(msg)
    return data


def _moment(params: dict[str, list[str]], name: str) -> datetime | None:
    values = params.get(name)
    return datetime.fromisoformat(values[0]) if values else None


def handle_control(emu: Backend, method: str, path: str, query: str, body: bytes) -> errors.Reply:
    """Route one control request; bad input answers 400 with the reason."""
    name = path.removeprefix("/_emulator/").strip("/")
    routes = {
        ("GET", "truth"),
        ("GET", "stats"),
        ("POST", "reset-stats"),
        ("POST", "events"),
        ("GET", "config"),
        ("POST", "config"),
        ("POST", "faults"),
        ("GET", "incidents"),
        ("GET", "next-events"),
    }
    if (method, name) not in routes:
        return errors.not_found(path)
    params = parse_qs(query)
    try:
        data = _json_object(body) if method == "POST" else {}
        return errors.Reply(200, _run(emu, name, method, params, data))
    except (ValueError, TypeError) as exc:
        return _bad(str(exc))


def _run(  # noqa: PLR0911 - one return per route
    emu: Backend,
    name: str,
    method: str,
    params: dict[str, list[str]],
    data: dict[str, Any],
) -> Any:
    if name == "truth":
        users = [int(part) for raw in params.get("userId", []) for part in raw.split(",")]
        return emu.truth(
            params.get("stream", [""])[0],
            _moment(params, "since"),
            _moment(params, "until"),
            users or None,
        )
    if name == "stats":
        return emu.stats()
    if name == "reset-stats":
        emu.reset_stats()
        return {"ok": True}
    if name == "events":
        return emu.add_events(
            str(data.get("stream", "")),
            int(data.get("count", 1)),
            float(data.get("late_minutes", 0)),
        )
    if name == "delete":
        ids = data.get("ids", [])
        return {"removed": emu.delete_events(str(data.get("stream", "")), list(ids))}
    if name == "config":
        return (emu.configure(**data) if method == "POST" else emu.config).to_json()
    if name == "faults":
        if data.get("clear"):
            emu.clear_faults()
            return {"ok": True}
        path = data.get("path")
        emu.inject_fault(
            str(data.get("kind", "")),
            int(data.get("count", 1)),
            None if path is None else str(path),
            int(data.get("after", 0)),
        )
        return {"ok": True}
    if name == "next-events":
        return emu.next_events()
    return emu.incidents()
