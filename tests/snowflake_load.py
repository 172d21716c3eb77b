"""fakesnow on loopback, and the raw HubSpot tables in it as target-snowflake has them.

fakesnow (a Snowflake emulator on DuckDB) runs in server mode as its own process, so
dbt-snowflake, in Meltano's utility virtualenv, talks to it over Snowflake's HTTP API
like to an account. The loader's own stage commands (PUT, REMOVE, SELECT from @stage)
are beyond fakesnow, so the tables are created and filled here through the Snowflake
connector, in target-snowflake's shape: table and column names upper case as the
stream names them (portalId -> PORTALID, no underscores added), objects as VARIANT,
arrays as ARRAY, times as TIMESTAMP_NTZ in UTC, integers as NUMBER.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import socket
import subprocess
import sys
import time
import typing as t
from pathlib import Path

import psycopg
import snowflake.connector
from psycopg import sql

FAKESNOW = Path(sys.executable).parent / "fakesnow"
LOOPBACK = "127.0.0.1"
# fakesnow accepts any credentials; these are what its own server() hands out.
ACCOUNT, USER, PASSWORD = "fakesnow", "fake", "snow"
# PostgreSQL type (information_schema.columns.data_type) -> target-snowflake's type.
SNOWFLAKE_TYPES = {
    "bigint": "NUMBER",
    "integer": "NUMBER",
    "smallint": "NUMBER",
    "numeric": "NUMBER",
    "double precision": "FLOAT",
    "boolean": "BOOLEAN",
    "text": "VARCHAR",
    "character varying": "VARCHAR",
    "timestamp without time zone": "TIMESTAMP_NTZ",
    "jsonb": "VARIANT",
    "json": "VARIANT",
    "ARRAY": "ARRAY",  # sync_manifests.ids, text[] in PostgreSQL
}
BATCH_ROWS = 5000


def free_port() -> int:
    with contextlib.closing(socket.socket()) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


class FakeSnowServer:
    """`fakesnow -s` on a free loopback port; in-memory databases, gone when it stops."""

    def __init__(self, log: Path) -> None:
        self.port = free_port()
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> t.Self:
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [str(FAKESNOW), "-s", "--host", LOOPBACK, "-p", str(self.port)],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                msg = f"fakesnow exited {self.process.returncode}: {self.log.read_text()[-2000:]}"
                raise RuntimeError(msg)
            with contextlib.suppress(OSError), socket.create_connection((LOOPBACK, self.port), 1):
                return self
            time.sleep(0.2)
        msg = "fakesnow did not start listening within 60 s"
        raise RuntimeError(msg)

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def connect(self, database: str | None = None, schema: str | None = None) -> t.Any:
        """A Snowflake connector connection to the server, loopback only, no telemetry."""
        return snowflake.connector.connect(
            account=ACCOUNT,
            user=USER,
            password=PASSWORD,
            host=LOOPBACK,
            port=self.port,
            protocol="http",
            database=database,
            schema=schema,
            session_parameters={"CLIENT_OUT_OF_BAND_TELEMETRY_ENABLED": False},
            platform_detection_timeout_seconds=0.0,
            network_timeout=120,
        )

    def dbt_env(self, database: str) -> dict[str, str]:
        """What the dbt-snowflake utility needs to reach this server (see profiles.yml)."""
        return {
            "DBT_SNOWFLAKE_ACCOUNT": ACCOUNT,
            "DBT_SNOWFLAKE_USER": USER,
            "DBT_SNOWFLAKE_PASSWORD": PASSWORD,
            "DBT_SNOWFLAKE_DATABASE": database,
            "DBT_SNOWFLAKE_HOST": LOOPBACK,
            "DBT_SNOWFLAKE_PORT": str(self.port),
            "DBT_SNOWFLAKE_PROTOCOL": "http",
        }


def pg_columns(conn: psycopg.Connection[t.Any], schema: str, table: str) -> list[tuple[str, str]]:
    rows = conn.execute(
        "SELECT column_name, data_type FROM information_schema.columns"
        " WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
        (schema, table),
    ).fetchall()
    return [(str(name), str(kind)) for name, kind in rows]


def snowflake_value(value: t.Any, kind: str, *, nested: bool = False) -> t.Any:
    if value is None:
        return None
    if kind in {"jsonb", "json"}:
        return value if nested else json.dumps(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="microseconds")
    return value


def copy_table(pg_uri: str, pg_schema: str, table: str, snow: t.Any, sf_schema: str) -> int:
    """Create `table` in Snowflake's shape and copy PostgreSQL's rows into it."""
    with psycopg.connect(pg_uri) as pg:
        columns = pg_columns(pg, pg_schema, table)
        names = sql.SQL(", ").join(sql.Identifier(name) for name, _ in columns)
        rows = pg.execute(
            sql.SQL("SELECT {} FROM {}").format(names, sql.Identifier(pg_schema, table))
        ).fetchall()
    target = f"{sf_schema.upper()}.{table.upper()}"
    ddl = ", ".join(f"{name.upper()} {SNOWFLAKE_TYPES[kind]}" for name, kind in columns)
    cursor = snow.cursor()
    cursor.execute(f"CREATE OR REPLACE TABLE {target} ({ddl})")
    # One statement per batch: the rows as one JSON array, flattened into typed columns
    # (a literal per value makes fakesnow's SQL translation the slow part).
    select = ", ".join(
        f'value:"{name}"'
        if kind in {"jsonb", "json"}
        else f'value:"{name}"::{SNOWFLAKE_TYPES[kind]}'
        for name, kind in columns
    )
    for start in range(0, len(rows), BATCH_ROWS):
        batch = [
            {
                name: snowflake_value(value, kind, nested=True)
                for value, (name, kind) in zip(row, columns, strict=True)
            }
            for row in rows[start : start + BATCH_ROWS]
        ]
        cursor.execute(
            f"INSERT INTO {target} ({', '.join(n.upper() for n, _ in columns)})"  # noqa: S608
            f" SELECT {select} FROM TABLE(FLATTEN(INPUT => PARSE_JSON(%s)))",
            (json.dumps(batch),),
        )
    return len(rows)
