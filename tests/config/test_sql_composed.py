"""SQL is composed, never formatted: no statement text is built from Python strings at run time.

Ruff's S608 catches f-strings and ``%``/``.format`` on text that looks like SQL, and it is
silenced nowhere. What it cannot see: text formatted *before* it becomes a ``psycopg.sql.SQL``
(``sql.SQL(f"... {name}")`` pastes the name as SQL), and text formatted into an ``execute``
call that does not look like a query to it (``f"ANALYZE {table}"``). This walks every module
of the project for both."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ["accounts", "api", "events", "analytics", "reports", "console", "config", "tests"]


def _formatted(node: ast.AST) -> bool:
    """Whether an expression builds text at run time: an f-string with values, ``%``, ``+``
    between strings, or ``str.format``."""
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(part, ast.FormattedValue) for part in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mod, ast.Add)):
        return isinstance(node.left, (ast.Constant, ast.JoinedStr)) or _formatted(node.left)
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "format"
        and isinstance(node.func.value, (ast.Constant, ast.JoinedStr))
    )


def problems_in(source: str, name: str = "<probe>") -> list[str]:
    found = []
    if "noqa: S608" in source:
        found.append(f"{name}: S608 silenced")
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        func = node.func
        called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if called in ("SQL", "execute", "executemany", "RunSQL") and _formatted(node.args[0]):
            found.append(f"{name}:{node.lineno}: {called}() of formatted text")
    return found


def test_no_statement_is_formatted_text():
    problems = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if path.name == "test_sql_composed.py":
                continue
            problems += problems_in(path.read_text(), str(path.relative_to(ROOT)))
    assert problems == []


def test_the_walk_sees_each_way_of_formatting_and_lets_composition_pass():
    assert problems_in('sql.SQL(f"CREATE INDEX {{}} ON {{}} ({columns})")')
    assert problems_in("cursor.execute(f'ANALYZE \"{table}\"')")
    assert problems_in('cursor.execute("SELECT * FROM %s" % table)')
    assert problems_in('cursor.execute("SELECT * FROM {}".format(table))')
    assert problems_in('cursor.execute("SELECT * FROM " + table)')
    assert problems_in("x = 1  # noqa: S608")
    assert problems_in('sql.SQL("SELECT * FROM {}").format(sql.Identifier(table))') == []
    assert problems_in('cursor.execute("SELECT %s", [value])') == []
    assert problems_in('cursor.execute(f"SELECT 1")') == []  # no value pasted in
