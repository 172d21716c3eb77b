"""The query layer: a named question with its parameters in, a capped answer out."""

from __future__ import annotations

import datetime as dt
import decimal
import typing as t
from dataclasses import dataclass

import psycopg
from psycopg import errors, sql

from hubspot_activity_investigate import settings as connection
from hubspot_activity_investigate.catalog import QUESTIONS
from hubspot_activity_investigate.errors import InvestigationError
from hubspot_activity_investigate.params import Params, User, parse

if t.TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from hubspot_activity_investigate.query import Query
    from hubspot_activity_investigate.settings import Settings

Value = str | int | float | bool | None
Connect = t.Callable[["Settings"], psycopg.Connection[t.Any]]


@dataclass(frozen=True)
class Answer:
    """Rows (values as JSON has them, times in UTC), and how many more the cap left out."""

    question: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Value, ...], ...]
    more_rows: int = 0

    def records(self) -> list[dict[str, Value]]:
        """Each row as a dict of column to value."""
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]

    def as_dict(self) -> dict[str, t.Any]:
        """The answer as the MCP tools and --format json give it."""
        return {
            "question": self.question,
            "rowCount": len(self.rows),
            "moreRows": self.more_rows,
            "rows": self.records(),
        }


def plain(value: object) -> Value:
    """A database value as JSON has it: times in UTC with milliseconds and a Z."""
    if isinstance(value, dt.datetime):
        moment = value.astimezone(dt.UTC) if value.tzinfo else value
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def ask(
    name: str,
    raw: Mapping[str, str | int | None],
    settings: Settings,
    *,
    connect: Connect = connection.connect,
) -> Answer:
    """Answer question `name` with the given parameters (text, as typed), or say why not."""
    question = QUESTIONS.get(name)
    if question is None:
        msg = f"unknown question {name!r}: ask one of {', '.join(QUESTIONS)}"
        raise InvestigationError(msg)
    given = {key for key, value in raw.items() if value is not None and value != ""}
    if extra := given - {*question.params, "as_of", "limit"}:
        msg = f"{name} takes no {', '.join(sorted(extra))}"
        raise InvestigationError(msg)
    params = parse(raw)
    query = question.build(params, settings.schema)
    with connect(settings) as conn:
        _run(conn, _known_checks(params, settings.schema), settings)
        return _answer(name, conn, query, params.limit, settings)


Check = tuple[sql.Composed, dict[str, t.Any], str]


def _known_checks(p: Params, schema: str) -> list[Check]:
    """Lookups that turn an unknown portal or user into a plain line, not an empty answer."""
    checks: list[Check] = []
    if p.portal is not None:
        statement = sql.SQL("select 1 from {} where portal_id = %(portal)s limit 1").format(
            sql.Identifier(schema, "pipeline_health")
        )
        checks.append((statement, {"portal": p.portal}, f"no portal {p.portal} in the warehouse"))
    if p.user is not None:
        checks.append(_user_check(p.user, p.portal, schema))
    return checks


def _user_check(user: User, portal: int | None, schema: str) -> Check:
    where = "portal_id = %(portal)s and " if portal is not None else ""
    if user.user_id is not None:
        table, match = "activity_events", "actor_user_id = %(user_id)s"
    else:
        table, match = "int_user_emails", "lower(email) = %(email)s"
    statement = sql.SQL("select 1 from {} where {}{} limit 1").format(
        sql.Identifier(schema, table), sql.SQL(where), sql.SQL(match)
    )
    values = {"portal": portal, "user_id": user.user_id, "email": user.email}
    return statement, values, f"no user {user} in the warehouse"


def _run(
    conn: psycopg.Connection[t.Any],
    checks: list[Check],
    settings: Settings,
) -> None:
    for statement, values, unknown in checks:
        if not _fetch(conn, statement, values, settings):
            raise InvestigationError(unknown)


def capped(query: Query, limit: int) -> tuple[sql.Composed, dict[str, t.Any]]:
    """The statement a question runs: ordered, one row past the cap (to know it was hit)."""
    statement = sql.SQL("{} order by {} limit %(row_cap)s").format(query.select, query.order)
    return statement, {**query.values, "row_cap": limit + 1}


def _answer(
    name: str, conn: psycopg.Connection[t.Any], query: Query, limit: int, settings: Settings
) -> Answer:
    columns, rows = _described(conn, *capped(query, limit), settings)
    more = 0
    if len(rows) > limit:
        rows = rows[:limit]
        counted = sql.SQL("select count(*) from ({}) as answer").format(query.select)
        total = int(_fetch(conn, counted, query.values, settings)[0][0])
        more = max(total - limit, 0)
    plain_rows = tuple(tuple(plain(value) for value in row) for row in rows)
    return Answer(name, columns, plain_rows, more)


def _fetch(
    conn: psycopg.Connection[t.Any],
    statement: sql.Composed,
    values: dict[str, t.Any],
    settings: Settings,
) -> list[tuple[t.Any, ...]]:
    return _described(conn, statement, values, settings)[1]


def _described(
    conn: psycopg.Connection[t.Any],
    statement: sql.Composed,
    values: dict[str, t.Any],
    settings: Settings,
) -> tuple[tuple[str, ...], list[tuple[t.Any, ...]]]:
    """Execute; a database error becomes a plain line (never its own text)."""
    try:
        with conn.cursor() as cur:
            cur.execute(statement, values)
            names = tuple(column.name for column in cur.description or ())
            return names, cur.fetchall()
    except psycopg.Error as exc:
        raise InvestigationError(_failure(exc, settings)) from None


_FAILURES: tuple[tuple[type[psycopg.Error], Callable[[Settings], str]], ...] = (
    (
        errors.QueryCanceled,
        lambda _: (
            f"the question took longer than {connection.STATEMENT_TIMEOUT_MS // 1000} s "
            "(the statement timeout): narrow the range or name a portal or user"
        ),
    ),
    (
        errors.UndefinedTable,
        lambda s: (
            f"schema {s.schema} lacks the dbt models: run the dbt build "
            "(make demo) or set DBT_POSTGRES_SCHEMA"
        ),
    ),
    (
        errors.UndefinedColumn,
        lambda s: f"the models in {s.schema} are older than this command: run the dbt build",
    ),
    (
        errors.InsufficientPrivilege,
        lambda s: f"user {s.user} may not read the models in {s.schema}",
    ),
    (psycopg.OperationalError, lambda _: "the connection to the warehouse was lost"),
)


def _failure(exc: psycopg.Error, settings: Settings) -> str:
    for kind, say in _FAILURES:
        if isinstance(exc, kind):
            return say(settings)
    return f"the warehouse could not answer (SQLSTATE {exc.sqlstate or 'unknown'})"
