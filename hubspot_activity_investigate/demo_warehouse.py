"""--demo: the demo's embedded warehouse (scripts/warehouse.py), started for the question.

Only in a checkout of the repository, after `make demo` loaded and built it. A server
this starts is stopped again when the question (or the MCP session) is done; one that
was already running (`make warehouse`) is left running.
"""

from __future__ import annotations

import contextlib
import typing as t

from hubspot_activity_investigate.errors import InvestigationError
from hubspot_activity_investigate.settings import Settings, analytics_schema

if t.TYPE_CHECKING:
    from collections.abc import Iterator, Mapping


@contextlib.contextmanager
def demo_settings(env: Mapping[str, str]) -> Iterator[Settings]:
    """Connection values of the demo's warehouse, running while the block runs."""
    try:
        from scripts import warehouse  # noqa: PLC0415 - a checkout's module, not the wheel's
    except ImportError:
        msg = "--demo needs a checkout of the repository (scripts/warehouse.py)"
        raise InvestigationError(msg) from None
    data_dir = warehouse.DEFAULT_DATA_DIR
    if not (data_dir / "PG_VERSION").exists():
        msg = "no demo warehouse yet: run `make demo` first"
        raise InvestigationError(msg)
    started = not warehouse.is_running(data_dir)
    try:
        wh = warehouse.start(data_dir)
    except (RuntimeError, OSError):
        msg = f"the demo warehouse did not start (see {data_dir / 'log'})"
        raise InvestigationError(msg) from None
    try:
        yield Settings(
            host=wh.host,
            port=wh.port,
            user=wh.user,
            password=wh.password,
            dbname=wh.database,
            schema=analytics_schema(env, warehouse.EMULATOR_SCHEMA),
        )
    finally:
        if started:
            warehouse.stop(data_dir)
