"""Where the warehouse is (the dbt profile's variables) and a read-only connection to it."""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

import psycopg

from hubspot_activity_investigate.errors import InvestigationError

# Every statement of a question must finish within this (a question that needs longer
# reads too much: narrow its range); connecting may take this long.
STATEMENT_TIMEOUT_MS = 10_000
CONNECT_TIMEOUT_S = 10
APPLICATION_NAME = "hubspot-activity-investigate"
NOT_CONFIGURED = (
    "no warehouse configured: set DBT_POSTGRES_HOST (or TARGET_POSTGRES_HOST) and the other "
    "DBT_POSTGRES_* / TARGET_POSTGRES_* variables, or run `make warehouse` and pass --demo"
)


@dataclass(frozen=True)
class Settings:
    """Connection values as transform/profiles/profiles.yml reads them."""

    host: str
    port: int
    user: str
    dbname: str
    schema: str
    sslmode: str = "prefer"
    password: str = field(default="", repr=False)

    def describe(self) -> str:
        """Where, without the password."""
        return f"{self.user}@{self.host}:{self.port}/{self.dbname}, schema {self.schema}"


def analytics_schema(env: t.Mapping[str, str], source: str = "hubspot_activity") -> str:
    """The models' schema: DBT_POSTGRES_SCHEMA, or <DBT_SOURCE_SCHEMA or source>_analytics."""
    return env.get("DBT_POSTGRES_SCHEMA") or f"{env.get('DBT_SOURCE_SCHEMA') or source}_analytics"


def _first(env: t.Mapping[str, str], *names: str) -> str:
    return next((env[name] for name in names if env.get(name)), "")


def from_env(env: t.Mapping[str, str]) -> Settings:
    """DBT_POSTGRES_* falling back to TARGET_POSTGRES_*, as the dbt profile does.

    The schema is DBT_POSTGRES_SCHEMA, or (DBT_SOURCE_SCHEMA or hubspot_activity) +
    _analytics. Without a host in either set of variables nothing is configured: the
    profile's localhost default would only fail later, less plainly.
    """
    host = _first(env, "DBT_POSTGRES_HOST", "TARGET_POSTGRES_HOST")
    if not host:
        raise InvestigationError(NOT_CONFIGURED)
    port = _first(env, "DBT_POSTGRES_PORT", "TARGET_POSTGRES_PORT") or "5432"
    if not (port.isascii() and port.isdigit()):
        msg = "DBT_POSTGRES_PORT / TARGET_POSTGRES_PORT is not a port number"
        raise InvestigationError(msg)
    return Settings(
        host=host,
        port=int(port),
        user=_first(env, "DBT_POSTGRES_USER", "TARGET_POSTGRES_USER") or "postgres",
        password=_first(env, "DBT_POSTGRES_PASSWORD", "TARGET_POSTGRES_PASSWORD"),
        dbname=_first(env, "DBT_POSTGRES_DBNAME", "TARGET_POSTGRES_DATABASE") or "postgres",
        schema=analytics_schema(env),
        sslmode=env.get("DBT_POSTGRES_SSLMODE") or "prefer",
    )


def connect(settings: Settings) -> psycopg.Connection[t.Any]:
    """A connection whose every transaction is read-only, each statement time-limited.

    Both are session settings given at connect time (libpq `options`), so they hold
    before the first statement; autocommit makes each question its own read-only
    transaction.
    """
    options = (
        "-c default_transaction_read_only=on "
        f"-c statement_timeout={STATEMENT_TIMEOUT_MS} "
        "-c idle_in_transaction_session_timeout=60000"
    )
    try:
        return psycopg.connect(
            host=settings.host,
            port=settings.port,
            user=settings.user,
            password=settings.password,
            dbname=settings.dbname,
            sslmode=settings.sslmode,
            connect_timeout=CONNECT_TIMEOUT_S,
            application_name=APPLICATION_NAME,
            options=options,
            autocommit=True,
        )
    except psycopg.Error as exc:
        raise InvestigationError(connection_failure(settings, exc)) from None


_REASONS = (
    ("password authentication failed", "the user name or password was refused"),
    ("no password supplied", "the server asks for a password (DBT_POSTGRES_PASSWORD)"),
    ("does not exist", "the database or user does not exist"),
    ("connection refused", "nothing listens there (is the warehouse running?)"),
    ("timeout expired", "no answer within the connect timeout"),
    ("could not translate host name", "the host name does not resolve"),
    ("no pg_hba.conf entry", "the server does not accept this client"),
    ("ssl", "the SSL negotiation failed (DBT_POSTGRES_SSLMODE)"),
)


def connection_failure(settings: Settings, exc: BaseException) -> str:
    """One line on why connecting failed: a known reason, never the server's text."""
    text = str(exc).lower()
    reason = next((said for key, said in _REASONS if key in text), "the connection failed")
    return f"cannot connect to the warehouse ({settings.describe()}): {reason}"
