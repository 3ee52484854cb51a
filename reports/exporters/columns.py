"""What a report column is, and the rule that keeps text from becoming a formula."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

# A spreadsheet reads a cell starting with one of these as a formula (a tab or a carriage return
# is swallowed first, so they count too).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class Kind(StrEnum):
    TEXT = "text"
    ID = "id"  # codes and identifiers: always text
    INTEGER = "integer"
    MONEY = "money"
    RATE = "rate"
    NUMBER = "number"
    DATE = "date"
    DATETIME = "datetime"


TEXT_KINDS = (Kind.TEXT, Kind.ID)

NUMBER_FORMATS = {
    Kind.INTEGER: "#,##0",
    Kind.MONEY: "#,##0.00",
    Kind.RATE: "0.00%",
    Kind.NUMBER: "#,##0.00",
    Kind.DATE: "yyyy-mm-dd",
    Kind.DATETIME: "yyyy-mm-dd hh:mm",
}


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    kind: Kind = Kind.TEXT
    width: int | None = None


def neutralise(text: str) -> str:
    """For CSV: a text cell a spreadsheet would evaluate gets a leading apostrophe."""
    return f"'{text}" if text.startswith(FORMULA_PREFIXES) else text
