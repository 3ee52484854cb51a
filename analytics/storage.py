"""Where a view's rows are, and the lock that keeps two writers of them apart."""

from __future__ import annotations

import zlib

from django.db.backends.utils import CursorWrapper

from analytics.registry import View


def view_lock_key(view: View) -> int:
    """The transaction-scoped advisory lock a view's refresh and its rollup step hold while they
    write its rows: one of them at a time."""
    return zlib.crc32(f"analytics.refresh:{view.table}".encode())


def view_generation(cursor: CursorWrapper, view: View) -> int:
    """Which storage table a swapped view reads now (the one that exists: a swap drops the other)."""
    cursor.execute("SELECT relkind FROM pg_class WHERE relname = %s", [view.table])
    found = cursor.fetchone()
    if found is None or found[0] != "v":
        raise LookupError(f"view {view.table} does not exist")
    cursor.execute("SELECT to_regclass(%s) IS NOT NULL, to_regclass(%s) IS NOT NULL",
                   [view.storage(1), view.storage(2)])  # fmt: skip
    first, second = cursor.fetchone()
    if first == second:
        raise LookupError(f"expected exactly one of {view.storage(1)} and {view.storage(2)}")
    return 1 if first else 2
