"""Ages a benchmark warehouse: its loads and builds moved into the past.

Every load time of the warehouse (the loader's `_sdc_batched_at`, the models'
`loaded_at`, the watermarks) is moved back by the same interval, then the tables are
vacuumed, as if the backfill had been loaded and built long ago. Staging's cutoff is its
newest load less the 60-minute lookback: aged two hours, the backfill lies before the
cutoff of the hour after next (benchmarks/warehouse.py loads and builds two hours: in the
first staging re-reads the backfill, as after a real one; the second is the steady state).
"""

from __future__ import annotations

import typing as t

import psycopg
from psycopg import sql

if t.TYPE_CHECKING:
    import datetime as dt

# Load-time columns, in the loader's tables, the models and the watermarks.
LOAD_TIME_COLUMNS = ("_sdc_batched_at", "loaded_at", "loaded_through", "previous_loaded_through")


def age(uri: str, schemas: tuple[str, ...], by: dt.timedelta) -> int:
    """Move every load time in `schemas` back by `by`; the number of tables changed."""
    with psycopg.connect(uri, autocommit=True) as conn:
        found = conn.execute(
            "select c.table_schema, c.table_name, c.column_name"
            " from information_schema.columns c"
            " join information_schema.tables t"
            " on t.table_schema = c.table_schema and t.table_name = c.table_name"
            " where t.table_type = 'BASE TABLE' and c.table_schema = any(%s)"
            " and c.column_name = any(%s)",
            (list(schemas), list(LOAD_TIME_COLUMNS)),
        ).fetchall()
        columns: dict[tuple[str, str], list[str]] = {}
        for schema, table, column in found:
            columns.setdefault((schema, table), []).append(column)
        for (schema, table), names in sorted(columns.items()):
            relation = sql.Identifier(schema, table)
            moves = sql.SQL(", ").join(
                sql.SQL("{0} = {0} - {1}").format(sql.Identifier(name), sql.Literal(by))
                for name in names
            )
            conn.execute(sql.SQL("update {} set {}").format(relation, moves))
            conn.execute(sql.SQL("vacuum analyze {}").format(relation))
    return len(columns)
