"""What a literal in a rule pack may be, judged by what it meets: a value compared with a catalogue
column must be readable as that column's type (money in yuan, a ``YYYY-MM-DD`` date, a rate), numbers
must be finite, and patterns must compile as RE2 (the regex engine DuckDB runs them with).

These are the *load-time* halves of the conversions the engine makes when it renders SQL
(``fundaudit.engine.sql.lit``): anything accepted here converts there without error.
"""

from __future__ import annotations

import calendar
import functools
import math
import re
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from fundaudit.columns import catalogue

__all__ = [
    "DERIVED",
    "WINDOW_FORMS",
    "column_type",
    "is_number",
    "literal_expected",
    "literal_key",
    "non_finite",
    "parse_window",
    "re2_error",
    "unit_class",
    "unit_of",
]

# catalogue column type -> unit the engine computes in (fundaudit.engine.sql renders literals in it)
_UNITS = {"money": "money", "date": "date", "rate": "rate", "int": "number", "bool": "bool"}
# units that can meet in one comparison or expression
_CLASSES = {"money": "number", "rate": "number", "number": "number", "date": "date", "bool": "bool", "text": "text"}
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_FEN_LIMIT = 2**63 - 1  # money is BIGINT fen in the engine

_EXPECTED = {
    "money": 'an amount in yuan (1500 or "1,500.00")',
    "rate": 'a rate (0.02 or "2%")',
    "number": "a number",
    "date": 'a date ("2016-03-01")',
    "bool": "true or false",
}


#: The facts the engine derives at registration (``fundaudit.engine._register``), by the catalogue type of
#: the column they are derived from: ``<column>__<fact>`` is a column of this type. ``address`` (a text
#: column by name) has ``__key`` too. Statuses are the closed sets of ``fundaudit.normalize.ids``.
DERIVED: dict[str, dict[str, str]] = {
    "resident_id": {"status": "text", "birth": "date"},
    "taxpayer_id": {"status": "text", "org_ok": "bool"},
    "name": {"key": "text"},
}


def column_type(kind: str | None, column: str) -> str | None:
    """The catalogue type of ``column`` of ``kind`` (None when either is unknown); a derived fact
    ``<column>__<fact>`` (:data:`DERIVED`) has the type of the fact."""
    if not kind or kind not in catalogue():
        return None
    columns = catalogue()[kind].columns
    spec = columns.get(column)
    if spec is not None:
        return spec.type
    base, sep, fact = column.rpartition("__")
    if not sep or base not in columns:
        return None
    if base == "address" and fact == "key":
        return "text"
    return DERIVED.get(columns[base].type, {}).get(fact)


def unit_of(kind: str | None, column: str) -> str:
    """The unit a column is computed in: money, date, rate, number, bool or text."""
    ctype = column_type(kind, column)
    return _UNITS.get(ctype, "text") if ctype else "text"


def unit_class(unit: str) -> str:
    """Which units can be compared: number (money, rate, number), date, bool, text."""
    return _CLASSES.get(unit, "text")


def literal_key(value: Any, unit: str) -> Any:
    """``value`` as the engine will compare it next to a column of ``unit`` (fen, date, rate…);
    raises ValueError when it cannot be read so."""
    if unit in ("money", "rate", "number", "bool") and isinstance(value, bool) != (unit == "bool"):
        raise ValueError(value)
    if unit == "bool":
        return value
    if unit == "money":
        text = str(value).replace(",", "").replace("¥", "").replace("￥", "").strip()
        try:
            fen = (Decimal(text) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        except InvalidOperation as exc:
            raise ValueError(value) from exc
        if not fen.is_finite() or abs(fen) > _FEN_LIMIT:
            raise ValueError(value)
        return int(fen)
    if unit == "rate":
        text = str(value).strip()
        try:
            rate = Decimal(text[:-1]) / 100 if text.endswith(("%", "％")) else Decimal(text)
        except InvalidOperation as exc:
            raise ValueError(value) from exc
        if not rate.is_finite():
            raise ValueError(value)
        return rate if text.endswith(("%", "％")) or rate <= 1 else rate / 100
    if unit == "number":
        try:
            number = float(value) if isinstance(value, int | float) else float(Decimal(str(value).strip()))
        except (InvalidOperation, ValueError, OverflowError) as exc:
            raise ValueError(value) from exc
        if not math.isfinite(number):
            raise ValueError(value)
        return number
    if unit == "date":
        text = str(value)
        if isinstance(value, bool) or not _ISO_DATE.match(text):
            raise ValueError(value)
        return date.fromisoformat(text)
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(value)
    return str(value)


def literal_expected(value: Any, unit: str) -> str | None:
    """None when ``value`` can be compared with a column of ``unit``, else what is expected."""
    try:
        literal_key(value, unit)
    except ValueError:
        return _EXPECTED.get(unit, "text or a number")
    return None


def non_finite(value: Any) -> bool:
    """Whether ``value`` is, or holds, an infinite or NaN number (``1e400`` reads as infinity)."""
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, list):
        return any(non_finite(v) for v in value)
    if isinstance(value, dict):
        return any(non_finite(v) for v in value.values())
    return False


@functools.cache
def re2_error(pattern: str) -> str | None:
    """None when ``pattern`` compiles in DuckDB's RE2 (the engine that runs it), else RE2's complaint
    (look-arounds, back-references and unbalanced groups are refused)."""
    import duckdb

    con = duckdb.connect(config={"enable_external_access": False})
    try:
        con.execute("SELECT regexp_matches('', ?)", [pattern]).fetchall()
    except duckdb.Error as exc:
        return str(exc).removeprefix("Invalid Input Error: ")
    finally:
        con.close()
    return None


#: What a DISB-DUP window may be, as error messages say it.
WINDOW_FORMS = "same_day | month | year | MM-DD..MM-DD"  # values as typed, in any language
_SEASON = re.compile(r"(\d{1,2})-(\d{1,2})\s*\.\.\s*(\d{1,2})-(\d{1,2})")


def parse_window(spec: Any) -> tuple[str, int, int]:
    """A DISB-DUP window (``duplicate_payment``'s ``windows`` values): ``same_day``, ``month``, ``year``
    or a season ``MM-DD..MM-DD`` of real days (leap year; it may wrap the year end, ``12-01..02-29`` is
    December to the end of February) → (kind, start MMDD, end MMDD), ``(kind, 0, 0)`` for the named
    ones. Raises ValueError for anything else. Pack validation and the engine both read windows here."""
    if not isinstance(spec, str):
        raise ValueError(spec)
    text = spec.strip()
    if text in ("same_day", "month", "year"):
        return text, 0, 0
    m = _SEASON.fullmatch(text)
    if not m:
        raise ValueError(spec)
    a, b, c, d = (int(g) for g in m.groups())
    if not all(1 <= mo <= 12 and 1 <= day <= calendar.monthrange(2000, mo)[1] for mo, day in ((a, b), (c, d))):
        raise ValueError(spec)
    return "season", a * 100 + b, c * 100 + d


def is_number(v: Any) -> bool:
    """A bare YAML number (an int or a float, never a bool): it takes the unit of what it meets."""
    return isinstance(v, int | float) and not isinstance(v, bool)
