"""A question's SQL building blocks: conditions with bound values, aliased columns."""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from psycopg import sql

if t.TYPE_CHECKING:
    from hubspot_activity_investigate.params import Params

# Every row about an event names when (UTC), the portal, the user and the source record.
EVENT_COLUMNS = (
    ("occurred_at", "occurredAt"),
    ("portal_id", "portalId"),
    ("actor_user_id", "userId"),
    ("actor_email", "email"),
    ("source", "source"),
    ("event_id", "eventId"),
)


@dataclass(frozen=True)
class Query:
    """A question's statement (without order and limit), its order and its values."""

    select: sql.Composed
    order: sql.Composable
    values: dict[str, t.Any]


@dataclass(frozen=True)
class Question:
    """One named question: what it answers, which parameters it takes, its SQL."""

    name: str
    summary: str
    params: tuple[str, ...]
    build: t.Callable[[Params, str], Query]


class Where:
    """Conditions with their bound values (the clauses are the questions' own text)."""

    def __init__(self) -> None:
        """No condition yet."""
        self.clauses: list[sql.Composable] = []
        self.values: dict[str, t.Any] = {}

    def add(self, clause: str | sql.Composable, **values: t.Any) -> None:
        """`clause`, with placeholders %(name)s for `values`."""
        self.clauses.append(sql.SQL(clause) if isinstance(clause, str) else clause)
        self.values.update(values)

    def add_range(self, p: Params, column: str = "occurred_at") -> None:
        """[since, until) on `column`."""
        clause = sql.SQL("{} >= %(since)s and {} < %(until)s").format(
            sql.Identifier(column), sql.Identifier(column)
        )
        self.add(clause, since=p.since, until=p.until)

    def add_portal(self, p: Params) -> None:
        """The portal, if given."""
        if p.portal is not None:
            self.add("portal_id = %(portal)s", portal=p.portal)

    def sql(self) -> sql.Composable:
        """`where ...`, or nothing."""
        if not self.clauses:
            return sql.SQL("")
        return sql.SQL(" where ") + sql.SQL(" and ").join(self.clauses)


def columns(pairs: t.Iterable[tuple[str, str]]) -> sql.Composable:
    """`expression as "alias", ...` (expressions are the questions' own text)."""
    return sql.SQL(", ").join(
        sql.SQL("{} as {}").format(sql.SQL(expr), sql.Identifier(alias)) for expr, alias in pairs
    )


def select(
    pairs: t.Iterable[tuple[str, str]], source: sql.Composable, where: Where, order: str
) -> Query:
    """`select <columns> from <source> <where>`, ordered by `order`."""
    statement = sql.SQL("select {} from {}{}").format(columns(pairs), source, where.sql())
    return Query(statement, sql.SQL(order), where.values)
