"""Which buckets of which views a change to a record touches: the marks the record tables' triggers
leave in ``analytics_stalebucket`` (analytics.rollups applies them).

A mark is (view, facility, local day): the bucket of the view that a changed row falls in,
before and after the change (a re-dated row leaves both days). A trigger per statement, with the
statement's changed rows as a transition table, so a processing batch that upserts 5,000
applications leaves one insert of its distinct buckets, in the same transaction as the change:
whatever writes a record (processing, re-dating, the console, a script) marks what it touched,
and a change that rolls back leaves no mark.

Like the view definitions, a version here never changes once a migration uses it.
"""

from __future__ import annotations

from typing import LiteralString

from psycopg import sql

Mark = tuple[str, LiteralString, LiteralString, LiteralString]  # view, facility, day, joins and conditions

# base table -> (view, facility expression, day expression, joins and conditions) over the
# changed rows ``c``. A view adding up every facility has no facility in its buckets (NULL).
MARKS_V1: dict[str, list[Mark]] = {
    "events_application": [
        ("pipeline_cohort", "c.facility_id", "c.applied_date", ""),
        ("hires", "c.facility_id", "c.applied_date", "WHERE c.hired_at IS NOT NULL"),
        ("hires_daily", "c.facility_id", "c.hired_date", ""),
        ("hire_histogram", "NULL::bigint", "c.hired_date", ""),
        ("offers", "c.facility_id", "c.offered_date", ""),
        # a job's hires are its applications that reached hired
        ("jobs", "j.facility_id", "j.opened_date", "JOIN events_job j ON j.id = c.job_id WHERE c.furthest_stage = 4"),
        # a move to hired counts the application's time to hire on the day of the move
        ("recruiter_daily", "h.facility_id", "h.occurred_date",
         "JOIN events_applicationstatuschange h ON h.application_id = c.id AND h.status = 'hired'"),
        ("recruiter_totals", "NULL::bigint", "h.occurred_date",
         "JOIN events_applicationstatuschange h ON h.application_id = c.id AND h.status = 'hired'"),
    ],
    "events_applicationstatuschange": [
        ("recruiter_daily", "c.facility_id", "c.occurred_date", ""),
        ("recruiter_totals", "NULL::bigint", "c.occurred_date", ""),
    ],
    "events_job": [
        ("jobs", "c.facility_id", "c.opened_date", ""),
    ],
}  # fmt: skip

# What each kind of statement's changed rows are called in its trigger.
_ROWS: dict[str, LiteralString] = {
    "INSERT": "new_rows",
    "UPDATE": "(SELECT * FROM new_rows UNION ALL SELECT * FROM old_rows)",
    "DELETE": "old_rows",
}
_REFERENCING: dict[str, LiteralString] = {
    "INSERT": "NEW TABLE AS new_rows",
    "UPDATE": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
    "DELETE": "OLD TABLE AS old_rows",
}


def _function(table: str) -> sql.Identifier:
    return sql.Identifier(f"analytics_mark_{table}")


def _trigger(operation: str) -> sql.Identifier:
    return sql.Identifier(f"analytics_mark_{operation.lower()}")


def _marks_insert(marks: list[Mark], rows: LiteralString) -> sql.Composable:
    selects = sql.SQL(" UNION ALL ").join(
        sql.SQL("SELECT {view}::text AS view, {facility} AS facility_id, {day} AS day FROM changed c {more}").format(
            view=sql.Literal(view), facility=sql.SQL(facility), day=sql.SQL(day), more=sql.SQL(more)
        )
        for view, facility, day, more in marks
    )
    return sql.SQL(
        "WITH changed AS MATERIALIZED (SELECT * FROM {rows} AS rows) "
        "INSERT INTO analytics_stalebucket (view, facility_id, day) "
        "SELECT DISTINCT view, facility_id, day FROM ({selects}) marks WHERE day IS NOT NULL;"
    ).format(rows=sql.SQL(rows), selects=selects)


def triggers_create(version: dict[str, list[Mark]]) -> list[sql.Composable]:
    """The functions and statement triggers that mark the buckets ``version`` names (the marks are
    constants of this module, never input)."""
    statements: list[sql.Composable] = []
    for table, marks in version.items():
        branches = sql.SQL(" ").join(
            sql.SQL("IF TG_OP = {operation} THEN {insert} END IF;").format(
                operation=sql.Literal(operation), insert=_marks_insert(marks, rows)
            )
            for operation, rows in _ROWS.items()
        )
        statements.append(
            sql.SQL(
                "CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $body$ "
                "BEGIN {branches} RETURN NULL; END $body$"
            ).format(function=_function(table), branches=branches)
        )
        for operation, referencing in _REFERENCING.items():
            statements.append(
                sql.SQL(
                    "CREATE TRIGGER {trigger} AFTER {operation} ON {table} REFERENCING {referencing} "
                    "FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
                ).format(
                    trigger=_trigger(operation),
                    operation=sql.SQL(operation),
                    table=sql.Identifier(table),
                    referencing=sql.SQL(referencing),
                    function=_function(table),
                )
            )
    return statements


def triggers_drop(version: dict[str, list[Mark]]) -> list[sql.Composable]:
    statements: list[sql.Composable] = []
    for table in version:
        for operation in _REFERENCING:
            statements.append(
                sql.SQL("DROP TRIGGER IF EXISTS {} ON {}").format(_trigger(operation), sql.Identifier(table))
            )
        statements.append(sql.SQL("DROP FUNCTION IF EXISTS {}()").format(_function(table)))
    return statements
