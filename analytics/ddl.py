"""The statements that create and drop the views' storage, composed with psycopg.sql: names and
columns are identifiers, the definition a constant of analytics.viewdefs. The refresh builds
swapped tables with them, and migrations take them as text (``as_text``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import LiteralString

from psycopg import sql


def columns(spec: str) -> sql.Composable:
    """``"facility_id, sent_date"`` as a list of identifiers."""
    return sql.SQL(", ").join(sql.Identifier(name.strip()) for name in spec.split(","))


def index_create(index: str, table: str, spec: str, *, unique: bool = False) -> sql.Composable:
    statement = "CREATE UNIQUE INDEX {} ON {} ({}) NULLS NOT DISTINCT" if unique else "CREATE INDEX {} ON {} ({})"
    return sql.SQL(statement).format(sql.Identifier(index), sql.Identifier(table), columns(spec))


def index_drop(index: str) -> sql.Composable:
    return sql.SQL("DROP INDEX IF EXISTS {}").format(sql.Identifier(index))


def materialized_create(name: str, definition: LiteralString, unique: str, indexes: Iterable[str]) -> list:
    """A materialized view with the unique key REFRESH CONCURRENTLY needs, and its other indexes."""
    return [
        sql.SQL("CREATE MATERIALIZED VIEW {} AS {}").format(sql.Identifier(name), sql.SQL(definition)),
        index_create(f"{name}_key", name, unique, unique=True),
        *(index_create(f"{name}_{number}", name, spec) for number, spec in enumerate(indexes)),
    ]


def table_build(table: str, definition: LiteralString, indexes: Iterable[str], *, order: str = "") -> list:
    """A swapped view's table of one generation, built from the definition, with its indexes; with
    ``order`` (columns) its rows are written in that order, so a range of it is a few pages."""
    rows: sql.Composable = sql.SQL(definition)
    if order:
        rows = sql.SQL("SELECT * FROM ({}) AS built ORDER BY {}").format(rows, columns(order))
    return [
        sql.SQL("CREATE TABLE {} AS {}").format(sql.Identifier(table), rows),
        *(index_create(f"{table}_{number}", table, spec) for number, spec in enumerate(indexes)),
    ]


def view_point(name: str, table: str) -> sql.Composable:
    """(Re)point a swapped view at one generation's table."""
    return sql.SQL("CREATE OR REPLACE VIEW {} AS SELECT * FROM {}").format(sql.Identifier(name), sql.Identifier(table))


def swapped_create(name: str, definition: LiteralString, indexes: Iterable[str]) -> list:
    """A swapped view as the refresh leaves it: generation 1 built, the view reading it."""
    table = f"{name}_1"
    return [*table_build(table, definition, indexes), view_point(name, table)]


def drop(name: str, *, swapped: bool, if_exists: bool = False) -> list:
    """Drop a materialized view, or a swapped view and both generations' tables."""
    exists = sql.SQL("IF EXISTS ") if if_exists else sql.SQL("")
    if not swapped:
        return [sql.SQL("DROP MATERIALIZED VIEW {}{}").format(exists, sql.Identifier(name))]
    return [
        sql.SQL("DROP VIEW {}{}").format(exists, sql.Identifier(name)),
        *(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(f"{name}_{n}")) for n in (1, 2)),
    ]


def as_text(statements: Iterable[sql.Composable]) -> list[str]:
    """The statements as SQL text, for a migration's RunSQL."""
    return [statement.as_string() for statement in statements]
