"""Meltano's stored state, read from its system database as `meltano state get` answers it.

Starting Meltano for each look costs 2 to 3 CPU-s; the tests that check bookmarks read
the `state` table instead (SQLite or PostgreSQL, any DB-API connection) and merge each
id's partial state over its completed one with Meltano's own MeltanoState.
"""

from __future__ import annotations

import json
import typing as t

from meltano.core.state_store.base import MeltanoState


def _as_dict(value: t.Any) -> dict[str, t.Any]:
    """A state column: JSON text (SQLite), already decoded (PostgreSQL), or NULL."""
    return t.cast("dict[str, t.Any]", json.loads(value) if isinstance(value, str) else value or {})


def stored_states(connection: t.Any) -> dict[str, dict[str, t.Any]]:
    """State id -> the state the next run would start from (completed + partial)."""
    rows = connection.execute(
        "SELECT state_id, completed_state, partial_state FROM state"
    ).fetchall()
    return {
        state_id: json.loads(
            MeltanoState(
                state_id=state_id,
                completed_state=_as_dict(completed),
                partial_state=_as_dict(partial),
            ).json_merged()
        )
        for state_id, completed, partial in rows
    }
