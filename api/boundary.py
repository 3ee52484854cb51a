"""The input boundary: what PostgreSQL cannot store or a parser cannot take is refused where it
enters, with a message naming the field, instead of failing deep inside as a 500.

PostgreSQL's ``text`` and ``jsonb`` refuse the NUL character, and UTF-8 cannot encode an unpaired
surrogate (JSON can spell both: ``\\u0000``, ``\\ud800``). Python's parsers and encoders recurse,
so a value nested a thousand deep exhausts the stack. Dates, offsets and numbers have ranges.
These checks are shared by every way in (docs/decisions.md, "One boundary for hostile input"):

- ``InputBoundaryMiddleware`` (api.middleware) checks the path, the query string and the
  header values of every request, API and console alike;
- the API's only body parser (api.parsers) checks every string and the depth of every
  JSON body;
- the event validator (events.schema) checks each event on its own, so one bad item of a bulk
  request is that item's rejection and the others are stored;
- filters (api.filters) bring dates into range and into UTC;
- what still gets past them to the database as a data error is a 400, never a 500
  (api.exceptions).
"""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

import orjson

#: The deepest a JSON body (or an event's ``data``) may nest; real payloads need a handful.
MAX_JSON_DEPTH = 32
#: The longest a query parameter's name or value may be.
MAX_QUERY_VALUE_LENGTH = 1000
#: The longest a path may be.
MAX_PATH_LENGTH = 2000

#: The dates a question may ask about: wide enough for any history, narrow enough that a day
#: boundary in any time zone is still a representable moment.
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2199, 12, 31)
DATE_RANGE_MESSAGE = f"Must lie between {EARLIEST_DATE.isoformat()} and {LATEST_DATE.isoformat()}."

NUL_MESSAGE = "Must not contain the NUL character (\\u0000)."
SURROGATE_MESSAGE = "Must not contain an unpaired surrogate (\\ud800-\\udfff): it is not valid Unicode text."
DEPTH_MESSAGE = f"Nested too deeply: at most {MAX_JSON_DEPTH} levels of arrays and objects."
CONTROL_MESSAGE = "Must not contain control characters."

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def date_problem(value: date) -> str | None:
    """Why ``value`` is outside the dates a question may ask about, or None."""
    return None if EARLIEST_DATE <= value <= LATEST_DATE else DATE_RANGE_MESSAGE


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored as text, or None when it can."""
    if "\x00" in value:
        return NUL_MESSAGE
    if value.isascii():
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return SURROGATE_MESSAGE
    return None


def json_problem(value: Any, *, max_depth: int = MAX_JSON_DEPTH) -> tuple[str, str] | None:
    """The first place in parsed JSON ``value`` that cannot be stored, as (path, message), or None.

    The path names the place as a reader would (``options.columns[2]``; empty for the value
    itself). Keys are checked like values. Iterative, so no depth can exhaust the stack."""
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        item, path, depth = stack.pop()
        if isinstance(item, str):
            problem = text_problem(item)
            if problem:
                return path, problem
        elif isinstance(item, dict | list):
            if depth >= max_depth:
                return path, DEPTH_MESSAGE
            if isinstance(item, dict):
                for key, child in item.items():
                    key_text = str(key)
                    problem = text_problem(key_text)
                    if problem:  # name the key as an escaped string, so the answer can show it
                        key_text = key_text.encode("unicode_escape", "backslashreplace").decode("ascii")
                    child_path = f"{path}.{key_text}" if path else key_text
                    if problem:
                        return child_path, f"Key: {problem}"
                    stack.append((child, child_path, depth + 1))
            else:
                stack.extend((child, f"{path}[{index}]", depth + 1) for index, child in enumerate(item))
    return None


# Canonical ASCII JSON (events.schema.canonical_json) spells NUL and surrogates as escapes. An
# escape is a backslash that is not itself escaped: tokens are read left to right.
_ESCAPE = re.compile(r"\\(u[0-9a-f]{4}|.)")
_HIGH = ("ud8", "ud9", "uda", "udb")
_LOW = ("udc", "udd", "ude", "udf")


def canonical_json_problem(text: str) -> str | None:
    """What in ``text`` (ASCII JSON as ``json.dumps(..., ensure_ascii=True)`` writes it) could
    not be stored, or None. The common case costs two substring searches."""
    if "\\u0000" not in text and "\\ud" not in text:
        return _depth_problem(text)
    escapes = [(match.start(), match.group(1)) for match in _ESCAPE.finditer(text)]
    for index, (start, escape) in enumerate(escapes):
        if escape == "u0000":
            return NUL_MESSAGE
        if escape.startswith(_HIGH):  # a low surrogate must follow at once
            following = escapes[index + 1] if index + 1 < len(escapes) else None
            if following is None or following[0] != start + 6 or not following[1].startswith(_LOW):
                return SURROGATE_MESSAGE
        elif escape.startswith(_LOW):  # a high surrogate must precede at once
            previous = escapes[index - 1] if index else None
            if previous is None or previous[0] != start - 6 or not previous[1].startswith(_HIGH):
                return SURROGATE_MESSAGE
    return _depth_problem(text)


def _depth_problem(text: str) -> str | None:
    """Nesting deeper than MAX_JSON_DEPTH in JSON ``text``; counted only when there are enough
    brackets to reach it (brackets inside strings only make the count larger, never smaller)."""
    if text.count("[") + text.count("{") <= MAX_JSON_DEPTH:
        return None
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return DEPTH_MESSAGE if deepest > MAX_JSON_DEPTH else None


def request_problem(path: str, query: dict[str, list[str]], headers: dict[str, str]) -> tuple[str, str] | None:
    """What in a request's path, query or headers cannot be taken, as (where, message)."""
    if len(path) > MAX_PATH_LENGTH:
        return "path", f"At most {MAX_PATH_LENGTH} characters."
    problem = text_problem(path) or (CONTROL_MESSAGE if _CONTROL.search(path) else None)
    if problem:
        return "path", problem
    for name, values in query.items():
        for text in (name, *values):
            problem = text_problem(text)
            if problem is None and len(text) > MAX_QUERY_VALUE_LENGTH:
                problem = f"At most {MAX_QUERY_VALUE_LENGTH} characters."
            if problem:
                return name[:100], problem
    for name, value in headers.items():
        if "\x00" in value:
            return f"header {name}", NUL_MESSAGE
    return None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def json_loads(body: bytes | str) -> Any:
    """RFC 8259 JSON: ``NaN`` and ``Infinity`` are refused, and so is text that is not UTF-8.
    orjson first (fast, strict); a body it refuses only for an unpaired surrogate escape is read
    again by the standard parser, so that the checks above can name the field (and a bulk
    request reject only its item) instead of refusing the whole body. Raises ValueError."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        if "surrogate" not in str(exc):
            raise ValueError(str(exc)) from None
    try:
        return json.loads(body, parse_constant=_refuse_constant)
    except RecursionError:
        raise ValueError("nested too deeply") from None


class UnreadableItem:
    """An element of a JSON array that could not be read on its own (a number out of range,
    nesting past the parser's limit): the element's rejection, not the whole body's."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def __repr__(self) -> str:
        return f"UnreadableItem({self.reason!r})"


def json_array_items(body: bytes) -> Any:
    """A JSON body that should be an array, read so that one unreadable element does not cost
    the others: when the whole body cannot be parsed, its top-level elements are found by a scan
    (strings and brackets), each is parsed on its own, and one that still fails becomes an
    ``UnreadableItem``. A body whose structure cannot be split (not an array, an unterminated
    string, brackets that do not balance) raises the original ValueError."""
    try:
        return json_loads(body)
    except ValueError as exc:
        whole_error = exc
    spans = _top_level_spans(body)
    if spans is None:
        raise whole_error
    items: list[Any] = []
    for start, end in spans:
        try:
            items.append(json_loads(body[start:end]))
        except ValueError as exc:
            items.append(UnreadableItem(str(exc)))
    return items


def _top_level_spans(body: bytes) -> list[tuple[int, int]] | None:
    """(start, end) of each element of the JSON array ``body``, or None when it is not one."""
    text = body.strip()
    offset = len(body) - len(body.lstrip())
    if not text.startswith(b"[") or not text.endswith(b"]"):
        return None
    spans: list[tuple[int, int]] = []
    depth = 0
    in_string = escaped = False
    start = 1
    for index in range(1, len(text) - 1):
        byte = text[index]
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in b"[{":
            depth += 1
        elif byte in b"]}":
            depth -= 1
            if depth < 0:
                return None
        elif byte == 0x2C and depth == 0:  # a comma between elements
            spans.append((offset + start, offset + index))
            start = index + 1
    if in_string or depth != 0:
        return None
    last = text[start:-1]
    if last.strip():
        spans.append((offset + start, offset + len(text) - 1))
    elif spans:  # a trailing comma: not JSON
        return None
    return spans
