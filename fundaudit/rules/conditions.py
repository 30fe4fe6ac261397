"""The closed vocabulary of conditions and operands a rule may use (``where``, ``conditional``,
``compare``). A condition is data, parsed and checked against the canonical columns; nothing is ever
evaluated as code::

    condition := {all: [condition, ...]} | {any: [condition, ...]} | {not: condition}
               | {column: NAME, <op>: VALUE}      op: eq ne lt le gt ge in not_in is_null matches between
               | {compare: {left: operand, op: eq|ne|lt|le|gt|ge, right: operand, tolerance: number}}
               | {compare: {left: operand, op: in|not_in, right: [value, ...]}}
               | {matched: true|false}                 (lookup reasons only: a row of the other input matched)
               | {any_match|no_match: condition}       (lookup reasons only: some / no matched row meets it)
               | {maps_to: {from: NAME, to: NAME, map: {value: value | [value, ...]}}}  (to is one of map[from],
                                                       or equals from when from is no key of map)
               | {optional: condition, absent: true|false}   (``absent``, default false, when the input lacks
                                                              a column the condition reads: no skip)
               | {value: true|false}                   (a true/false parameter: {value: $allow_family_holder})
    operand   := NAME (a column) | number | {value: literal}
               | {add|sub|mul|div|min|max|coalesce: [operand, ...]} | {abs: operand} | {round_fen: operand}
               | {days_between: [date, date], calendar: natural|working, inclusive: bool}   (a number)
               | {add_days|add_months: [date, number]}                                        (a date)
               | {year|month|quarter: date} (a number) | {month_start|month_end: date} (a date)
               | {period: start|end}   (the audit period's bounds; without a period, end is today)
               | {optional: NAME}      (the column, or empty when the input lacks it: a rule still runs)
               | {prefix: [text, n]}   (the first n characters of a text, n ≥ 1)
               | {as_text: operand}    (its value written as text: {as_text: {year: {period: start}}} is '2016')

A NAME is a column of the rule's ledger, a fact the engine derives from one (``recipient_id_no__status``,
``recipient_id_no__birth``, ``handler__key``: ``fundaudit.rules.values.DERIVED``), or in a lookup's
reasons ``match.NAME``, a column of the other input (of the matched rows, taken as the lookup's ``pick`` says).

Values compared with a money column are yuan (``1500`` or ``"1,500.00"``), with a date column
``YYYY-MM-DD``, with a rate ``0.02`` or ``"2%"``: a value that cannot be read as the column's type is
a problem on load, as are a ``matches`` pattern that RE2 cannot compile, a ``between`` whose low is
above its high, and operands of types that cannot meet (a date compared with money, a date in a sum).
"""

from __future__ import annotations

import math
from string import Formatter
from typing import Any

from fundaudit.errors import catalogue as error_catalogue
from fundaudit.rules.located import Locator, Problem
from fundaudit.rules.severity import LEVELS
from fundaudit.rules.values import column_type, is_number, literal_expected, literal_key, re2_error, unit_class, unit_of

__all__ = [
    "COLUMN_OPS",
    "COMBINE_OPS",
    "COMPARE_OPS",
    "DATE_OPS",
    "LIST_OPS",
    "OPTIONAL",
    "UNARY_OPS",
    "compare_problems",
    "inline_values",
    "literal_problems",
    "operand_unit",
    "reason_texts",
    "shown",
    "template_fields",
    "validate_condition",
    "validate_operand",
    "validate_reasons",
]

COLUMN_OPS = ("eq", "ne", "lt", "le", "gt", "ge", "in", "not_in", "is_null", "matches", "between")
COMPARE_OPS = ("eq", "ne", "lt", "le", "gt", "ge")
LIST_OPS = ("in", "not_in")  # compare: {left: operand, op: in, right: [value, ...]}
RANGE_OP = "between"  # compare: {left: operand, op: between, right: [low, high]} (operands; both ends included)
COMBINE_OPS = ("add", "sub", "mul", "div", "min", "max", "coalesce", "mod")
UNARY_OPS = ("abs", "round_fen")
DATE_OPS = (
    "days_between", "add_days", "add_months", "year", "month", "quarter", "month_start", "month_end", "period",
    "months_between", "age",
)
_BETWEEN = ("days_between", "months_between", "age")  # [date, date] → a number (age: full years)
_DATE_UNARY = {"year": "number", "month": "number", "quarter": "number", "month_start": "date", "month_end": "date"}
_CALENDARS = ("natural", "working")
MATCH = "match."  # prefix of the other input's columns in a lookup's reasons
_ARITHMETIC = ("add", "sub", "mul", "div", "abs", "round_fen", "mod")
_LOOSE = ("bare", "literal")  # a bare number or a {value: …}: takes the unit of what it meets


def resolve(name: str, ledger: str | None, other: str | None = None) -> tuple[str | None, str]:
    """The input kind and column a NAME stands for: ``match.X`` is column X of ``other`` (a lookup's
    other input), anything else a column of ``ledger``."""
    if other is not None and name.startswith(MATCH):
        return other, name[len(MATCH) :]
    return ledger, name


def _column_problem(doc: Locator, path: str, name: str, ledger: str | None, other: str | None) -> list[Problem]:
    kind, column = resolve(name, ledger, other)
    if kind and column_type(kind, column) is None:
        return [doc.problem(path, "pack_unknown_column", column=column, ledger=kind, hint="")]
    return []


def _unit(name: str, ledger: str | None, other: str | None) -> str | None:
    kind, column = resolve(name, ledger, other)
    return unit_of(kind, column) if column_type(kind, column) else None


def validate_condition(
    doc: Locator, path: str, cond: Any, ledger: str | None, *, other: str | None = None
) -> list[Problem]:
    """Problems in a condition tree (empty when it is well formed); ``other`` is a lookup's other input,
    whose columns are written ``match.NAME`` and whose ``{matched: …}`` may be asked."""
    if not isinstance(cond, dict) or not cond:
        return [doc.problem(path, "pack_wrong_type", expected="a condition mapping", got=type(cond).__name__)]
    if set(cond) <= {"all"} or set(cond) <= {"any"}:
        key = next(iter(cond))
        items = cond[key]
        if not isinstance(items, list) or not items:
            return [
                doc.problem(
                    f"{path}.{key}", "pack_wrong_type", expected="a list of conditions", got=type(items).__name__
                )
            ]
        return [
            p
            for i, c in enumerate(items)
            for p in validate_condition(doc, f"{path}.{key}[{i}]", c, ledger, other=other)
        ]
    if set(cond) == {"not"}:
        return validate_condition(doc, f"{path}.not", cond["not"], ledger, other=other)
    if "optional" in cond and set(cond) <= {"optional", "absent"}:
        return optional_problems(doc, path, cond, ledger, other)
    if set(cond) == {"value"}:  # a true/false parameter as a condition: {value: $allow_family_holder}
        if isinstance(cond["value"], bool):
            return []
        return [doc.problem(f"{path}.value", "pack_wrong_type", expected="true or false", got=shown(cond["value"]))]
    if set(cond) == {"matched"} and other is not None:
        if not isinstance(cond["matched"], bool):
            return [
                doc.problem(f"{path}.matched", "pack_wrong_type", expected="true or false", got=shown(cond["matched"]))
            ]
        return []
    if set(cond) == {"maps_to"}:
        return maps_to_problems(doc, f"{path}.maps_to", cond["maps_to"], ledger, other)
    if len(cond) == 1 and next(iter(cond)) in ("any_match", "no_match") and other is not None:
        key = next(iter(cond))  # a lookup's reasons: some / no matched row meets the condition
        return validate_condition(doc, f"{path}.{key}", cond[key], ledger, other=other)
    if set(cond) == {"compare"}:
        c = cond["compare"]
        if not isinstance(c, dict):
            return [doc.problem(f"{path}.compare", "pack_wrong_type", expected="mapping", got=type(c).__name__)]
        problems = []
        for key in c:
            if key not in {"left", "op", "right", "tolerance"}:
                problems.append(
                    doc.problem(
                        f"{path}.compare.{key}", "pack_unknown_key", key=key, allowed="left, op, right, tolerance"
                    )
                )
        for key in ("left", "op", "right"):
            if key not in c:
                problems.append(doc.problem(f"{path}.compare", "pack_missing_key", key=key))
        if "op" in c and c["op"] not in (*COMPARE_OPS, *LIST_OPS, RANGE_OP):
            problems.append(
                doc.problem(
                    f"{path}.compare.op",
                    "pack_bad_value",
                    value=c["op"],
                    expected=", ".join((*COMPARE_OPS, *LIST_OPS, RANGE_OP)),
                )
            )
        if c.get("op") == RANGE_OP and not problems:  # an operand within [low, high]
            return between_problems(doc, f"{path}.compare", c, ledger, other)
        if c.get("op") in LIST_OPS:  # an operand in (or not in) a list of values
            return problems + _list_compare_problems(doc, f"{path}.compare", c, ledger, other)
        tolerance = c.get("tolerance")
        if tolerance is not None and not is_number(tolerance):
            problems.append(
                doc.problem(f"{path}.compare.tolerance", "pack_wrong_type", expected="a number", got=shown(tolerance))
            )
        elif tolerance is not None and not (math.isfinite(tolerance) and tolerance >= 0):
            problems.append(
                doc.problem(f"{path}.compare.tolerance", "pack_out_of_range", value=shown(tolerance), expected="≥ 0")
            )
            tolerance = None
        for key in ("left", "right"):
            if key in c:
                problems.extend(validate_operand(doc, f"{path}.compare.{key}", c[key], ledger, other=other))
        if not problems:
            problems.extend(
                compare_problems(
                    doc,
                    f"{path}.compare.left",
                    c["left"],
                    f"{path}.compare.right",
                    c["right"],
                    ledger,
                    tolerance=tolerance,
                    tolerance_path=f"{path}.compare.tolerance",
                    other=other,
                )
            )
        return problems
    if "column" in cond:
        problems = []
        ops = [k for k in cond if k != "column"]
        col = cond["column"]
        if not isinstance(col, str):
            problems.append(doc.problem(f"{path}.column", "pack_wrong_type", expected="a column name", got=shown(col)))
            col = None
        elif found := _column_problem(doc, f"{path}.column", col, ledger, other):
            problems.extend(found)
            col = None
        if len(ops) != 1 or ops[0] not in COLUMN_OPS:
            bad = next((k for k in ops if k not in COLUMN_OPS), ops[0] if ops else "")
            problems.append(
                doc.problem(
                    f"{path}.{bad}" if bad else path,
                    "pack_bad_value",
                    value=bad or "(none)",
                    expected="one of " + ", ".join(COLUMN_OPS),
                )
            )
            return problems
        op, value = ops[0], cond[ops[0]]
        where = f"{path}.{op}"
        ledger, col = resolve(col, ledger, other) if col is not None else (ledger, None)
        if op in ("in", "not_in"):
            if not isinstance(value, list):
                problems.append(doc.problem(where, "pack_wrong_type", expected="a list", got=type(value).__name__))
            else:
                for i, v in enumerate(value):
                    problems.extend(literal_problems(doc, f"{where}[{i}]", v, ledger, col))
        elif op == "between":
            if not (isinstance(value, list) and len(value) == 2):
                problems.append(doc.problem(where, "pack_wrong_type", expected="[low, high]", got=type(value).__name__))
            else:
                found = [p for i, v in enumerate(value) for p in literal_problems(doc, f"{where}[{i}]", v, ledger, col)]
                problems.extend(found)
                if not found and col is not None and ledger:
                    low, high = (literal_key(v, unit_of(ledger, col)) for v in value)
                    if low > high:
                        problems.append(
                            doc.problem(
                                where,
                                "pack_bad_order",
                                low="low",
                                high="high",
                                low_value=shown(value[0]),
                                high_value=shown(value[1]),
                            )
                        )
        elif op == "is_null":
            if not isinstance(value, bool):
                problems.append(
                    doc.problem(where, "pack_wrong_type", expected="true or false", got=type(value).__name__)
                )
        elif op == "matches":
            if not isinstance(value, str):
                problems.append(doc.problem(where, "pack_wrong_type", expected="a pattern", got=type(value).__name__))
            elif (error := re2_error(value)) is not None:
                problems.append(doc.problem(where, "pack_bad_pattern", value=shown(value), what=error))
        else:
            problems.extend(literal_problems(doc, where, value, ledger, col))
        return problems
    key = next(iter(cond))
    lookup_only = ", matched, any_match, no_match" if other is not None else ""
    allowed = "all, any, not, column, compare, maps_to" + lookup_only
    return [doc.problem(f"{path}.{key}", "pack_unknown_key", key=key, allowed=allowed)]


def literal_problems(doc: Locator, path: str, value: Any, ledger: str | None, column: str | None) -> list[Problem]:
    """Problems with a literal compared with ``column`` of ``ledger``: it must be a single value, readable
    as the column's type (money, date, rate, number, true/false), and finite."""
    if isinstance(value, list | dict):
        return [doc.problem(path, "pack_wrong_type", expected="a single value", got=type(value).__name__)]
    if column is None or column_type(ledger, column) is None:
        return []
    unit = unit_of(ledger, column)
    expected = literal_expected(value, unit)
    if expected is None:
        return []
    return [
        doc.problem(
            path,
            "pack_bad_literal",
            value=shown(value),
            target=f"{column} ({column_type(ledger, column)})",
            expected=expected,
        )
    ]


def validate_operand(
    doc: Locator, path: str, op: Any, ledger: str | None, *, other: str | None = None
) -> list[Problem]:
    """Problems in an operand (a column, a number, or an arithmetic mapping), its types included."""
    problems = _operand_shape(doc, path, op, ledger, other)
    if problems:
        return problems
    return operand_unit(doc, path, op, ledger, other=other)[1]


def _date_shape(doc: Locator, path: str, op: dict[str, Any], ledger: str | None, other: str | None) -> list[Problem]:
    """The shape of a date operand (``DATE_OPS``)."""
    key = next(k for k in op if k in DATE_OPS)
    value = op[key]
    extra = {"calendar", "inclusive"} if key == "days_between" else {"inclusive"} if key == "months_between" else set()
    for k in op:
        if k != key and k not in extra:
            return [doc.problem(f"{path}.{k}", "pack_unknown_key", key=k, allowed=", ".join([key, *sorted(extra)]))]
    if key == "period":
        if value not in ("start", "end"):
            return [doc.problem(f"{path}.period", "pack_bad_value", value=shown(value), expected="start, end")]
        return []
    if key in _DATE_UNARY:
        return _operand_shape(doc, f"{path}.{key}", value, ledger, other)
    if not isinstance(value, list) or len(value) != 2:
        expected = "[date, date]" if key in _BETWEEN else "[date, number]"
        return [doc.problem(f"{path}.{key}", "pack_wrong_type", expected=expected, got=shown(value))]
    problems = [p for i, v in enumerate(value) for p in _operand_shape(doc, f"{path}.{key}[{i}]", v, ledger, other)]
    if "calendar" in op and op["calendar"] not in _CALENDARS:
        problems.append(
            doc.problem(f"{path}.calendar", "pack_bad_value", value=shown(op["calendar"]), expected="natural, working")
        )
    if "inclusive" in op and not isinstance(op["inclusive"], bool):
        problems.append(
            doc.problem(f"{path}.inclusive", "pack_wrong_type", expected="true or false", got=shown(op["inclusive"]))
        )
    return problems


OPTIONAL = "optional"  # {optional: NAME}: a column of the ledger, read as empty when the input lacks it


def _optional_shape(doc: Locator, path: str, name: Any, ledger: str | None) -> list[Problem]:
    """``{optional: NAME}`` names one column of the rule's ledger (not ``match.X``: the other input's
    columns are checked when the rule runs)."""
    if not isinstance(name, str):
        return [doc.problem(path, "pack_wrong_type", expected="a column name", got=shown(name))]
    return _column_problem(doc, path, name, ledger, None)


def _operand_shape(doc: Locator, path: str, op: Any, ledger: str | None, other: str | None = None) -> list[Problem]:
    if isinstance(op, bool):
        return [doc.problem(path, "pack_wrong_type", expected="a column, number or expression", got="true/false")]
    if isinstance(op, int | float):
        if not math.isfinite(op):
            return [doc.problem(path, "pack_bad_value", value=shown(op), expected="a finite number")]
        return []
    if isinstance(op, str):
        return _column_problem(doc, path, op, ledger, other)
    if isinstance(op, dict) and any(k in DATE_OPS for k in op):
        return _date_shape(doc, path, op, ledger, other)
    if isinstance(op, dict) and set(op) == {"prefix"}:
        return prefix_problems(doc, path, op["prefix"], ledger, other)
    if isinstance(op, dict) and set(op) == {"as_text"}:
        return _operand_shape(doc, f"{path}.as_text", op["as_text"], ledger, other)
    if isinstance(op, dict) and len(op) == 1:
        key, value = next(iter(op.items()))
        if key == "value":
            if isinstance(value, list | dict):
                return [doc.problem(f"{path}.value", "pack_wrong_type", expected="a single value", got=shown(value))]
            return []
        if key == OPTIONAL:
            return _optional_shape(doc, f"{path}.{key}", value, ledger)
        if key in COMBINE_OPS:
            if not isinstance(value, list) or len(value) < 2:
                return [
                    doc.problem(
                        f"{path}.{key}",
                        "pack_wrong_type",
                        expected="a list of two or more operands",
                        got=type(value).__name__,
                    )
                ]
            return [p for i, v in enumerate(value) for p in _operand_shape(doc, f"{path}.{key}[{i}]", v, ledger, other)]
        if key in UNARY_OPS:
            return _operand_shape(doc, f"{path}.{key}", value, ledger, other)
        return [
            doc.problem(
                f"{path}.{key}",
                "pack_unknown_key",
                key=key,
                allowed=", ".join(("value", *COMBINE_OPS, *UNARY_OPS, *DATE_OPS, OPTIONAL)),
            )
        ]
    return [doc.problem(path, "pack_wrong_type", expected="a column, number or expression", got=type(op).__name__)]


def operand_unit(
    doc: Locator, path: str, op: Any, ledger: str | None, *, other: str | None = None
) -> tuple[str | None, list[Problem]]:
    """The unit a well-formed operand computes in (money, rate, number, date, text, bool; ``bare`` for a
    number and ``literal`` for a ``{value: …}``, which take the unit of what they meet; None when not
    known), and the problems of parts that cannot meet: arithmetic on dates or text, a ``min``/``max``/
    ``coalesce`` of dates and money, a literal that cannot be read as the unit of its neighbours."""
    if isinstance(op, bool) or op is None:
        return None, []
    if isinstance(op, int | float):
        return "bare", []
    if isinstance(op, str):
        return _unit(op, ledger, other), []
    if isinstance(op, dict) and any(k in DATE_OPS for k in op):
        return _date_unit(doc, path, op, ledger, other)
    if isinstance(op, dict) and set(op) & {"prefix", "as_text"} and len(op) == 1:
        return "text", []
    if not isinstance(op, dict) or len(op) != 1:
        return None, []
    key, value = next(iter(op.items()))
    if key == "value":
        return "literal", []
    if key == OPTIONAL:
        return _unit(value, ledger, None), []
    parts = [value] if key in UNARY_OPS else value if isinstance(value, list) else []
    paths = [f"{path}.{key}"] if key in UNARY_OPS else [f"{path}.{key}[{i}]" for i in range(len(parts))]
    units: list[str | None] = []
    problems: list[Problem] = []
    for part, where in zip(parts, paths, strict=True):
        unit, found = operand_unit(doc, where, part, ledger, other=other)
        units.append(unit)
        problems.extend(found)
    concrete = [(u, w, p) for u, w, p in zip(units, paths, parts, strict=True) if u is not None and u not in _LOOSE]
    if key in _ARITHMETIC:
        for unit, where, part in concrete:
            if unit_class(unit) != "number":
                problems.append(doc.problem(where, "pack_operand_type", op=key, what=_name(part), type=unit))
        if key in ("mul", "div"):
            return ("money" if "money" in units else "number"), problems
    elif concrete:  # min, max, coalesce: one class
        first, _, first_part = concrete[0]
        for unit, where, part in concrete[1:]:
            if unit_class(unit) != unit_class(first):
                problems.append(
                    doc.problem(
                        where,
                        "pack_incomparable",
                        left=f"{_name(first_part)} ({first})",
                        right=f"{_name(part)} ({unit})",
                    )
                )
        if unit_class(first) != "number":
            for unit, where, part in zip(units, paths, parts, strict=True):
                if unit == "bare":
                    problems.append(
                        doc.problem(
                            where,
                            "pack_incomparable",
                            left=f"{_name(first_part)} ({first})",
                            right=f"{_name(part)} (number)",
                        )
                    )
    result = next((u for u, _, _ in concrete if u in ("money", "rate")), None) or next(
        (u for u, _, _ in concrete), None
    )
    if result is None:
        return ("bare" if "bare" in units else "literal" if "literal" in units else None), problems
    for unit, where, part in zip(units, paths, parts, strict=True):
        if unit == "literal":
            problems.extend(_literal_of_unit(doc, f"{where}.value", part["value"], result))
    return result, problems


def compare_problems(
    doc: Locator,
    left_path: str,
    left: Any,
    right_path: str,
    right: Any,
    ledger: str | None,
    *,
    tolerance: Any = None,
    tolerance_path: str = "",
    other: str | None = None,
) -> list[Problem]:
    """Problems of ``left op right`` as a whole (each side already well formed): sides whose types
    cannot be compared (a date with money, text with a number), a literal side unreadable as the other
    side's type, a tolerance on something that is not a number."""
    lu = operand_unit(doc, left_path, left, ledger, other=other)[0]
    ru = operand_unit(doc, right_path, right, ledger, other=other)[0]
    problems: list[Problem] = []
    sides = ((lu, left_path, left), (ru, right_path, right))
    concrete = [(u, p, v) for u, p, v in sides if u is not None and u not in _LOOSE]
    if len(concrete) == 2 and unit_class(lu or "") != unit_class(ru or ""):
        problems.append(
            doc.problem(right_path, "pack_incomparable", left=f"{_name(left)} ({lu})", right=f"{_name(right)} ({ru})")
        )
    elif len(concrete) == 1:
        unit, _, known = concrete[0]
        other_unit, other_path, other_side = next(s for s in sides if s[2] is not known)
        if other_unit == "bare" and unit_class(unit) != "number":
            problems.append(
                doc.problem(
                    other_path,
                    "pack_incomparable",
                    left=f"{_name(known)} ({unit})",
                    right=f"{_name(other_side)} (number)",
                )
            )
        elif other_unit == "literal":
            problems.extend(_literal_of_unit(doc, f"{other_path}.value", other_side["value"], unit))
    if tolerance and concrete and unit_class(concrete[0][0]) != "number":
        problems.append(
            doc.problem(tolerance_path, "pack_bad_value", value=shown(tolerance), expected="0: only numbers have one")
        )
    return problems


def _list_compare_problems(
    doc: Locator, path: str, c: dict[str, Any], ledger: str | None, other: str | None
) -> list[Problem]:
    """``{left: operand, op: in|not_in, right: [value, ...]}``: the left a well-formed operand, the right a
    list of single values each readable as the left's type."""
    problems = [p for key in c if key not in {"left", "op", "right"}
                for p in [doc.problem(f"{path}.{key}", "pack_unknown_key", key=key, allowed="left, op, right")]]
    if "left" not in c or "right" not in c:
        return [*problems, doc.problem(path, "pack_missing_key", key="left" if "left" not in c else "right")]
    found = validate_operand(doc, f"{path}.left", c["left"], ledger, other=other)
    right = c["right"]
    if not isinstance(right, list) or not right:
        return problems + found + [doc.problem(f"{path}.right", "pack_wrong_type", expected="a list of values",
                                               got=shown(right))]
    unit = operand_unit(doc, f"{path}.left", c["left"], ledger, other=other)[0] if not found else None
    for i, v in enumerate(right):
        if isinstance(v, list | dict):
            found.append(doc.problem(f"{path}.right[{i}]", "pack_wrong_type", expected="a single value", got=shown(v)))
        elif unit not in (None, "bare", "literal"):
            found.extend(_literal_of_unit(doc, f"{path}.right[{i}]", v, unit))
    return problems + found


def _date_unit(
    doc: Locator, path: str, op: dict[str, Any], ledger: str | None, other: str | None
) -> tuple[str | None, list[Problem]]:
    """The unit of a well-formed date operand, and the problems of parts of the wrong type: each date
    part must be a date (a ``{value: …}`` readable as one), a day or month count a number."""
    key = next(k for k in op if k in DATE_OPS)
    if key == "period":
        return "date", []
    value = op[key]
    if key in _DATE_UNARY:
        parts, wants, paths = [value], ["date"], [f"{path}.{key}"]
    else:
        parts, paths = value, [f"{path}.{key}[0]", f"{path}.{key}[1]"]
        wants = ["date", "date"] if key in _BETWEEN else ["date", "number"]
    problems: list[Problem] = []
    for part, want, where in zip(parts, wants, paths, strict=True):
        unit, found = operand_unit(doc, where, part, ledger, other=other)
        problems.extend(found)
        if unit == "literal":
            problems.extend(_literal_of_unit(doc, f"{where}.value", part["value"], want))
        elif unit == "bare" and want == "date":
            problems.append(
                doc.problem(where, "pack_operand_kind", op=key, expected="a date", what=_name(part), type="number")
            )
        elif unit not in (None, "bare") and unit_class(unit) != unit_class(want):
            problems.append(
                doc.problem(
                    where,
                    "pack_operand_kind",
                    op=key,
                    expected="a date" if want == "date" else "a number",
                    what=_name(part),
                    type=unit,
                )
            )
    return ("number" if key in _BETWEEN else _DATE_UNARY.get(key, "date")), problems


def _literal_of_unit(doc: Locator, path: str, value: Any, unit: str) -> list[Problem]:
    expected = literal_expected(value, unit)
    if expected is None:
        return []
    return [doc.problem(path, "pack_bad_literal", value=shown(value), target=unit, expected=expected)]


def _name(op: Any) -> str:
    return op if isinstance(op, str) else shown(op)


def shown(v: Any) -> str:
    """A value as a problem message quotes it: text in quotes, anything else as written, cut at 60 characters."""
    text = repr(v) if not isinstance(v, str) else f'"{v}"'
    return text if len(text) <= 60 else text[:57] + "…"


# --- reasons (flag, lookup) -------------------------------------------------------------------------

REASON_KEYS = ("when", "problem", "severity")


def reason_texts(problem: Any) -> tuple[str, str]:
    """A reason's ``problem``: a catalogue key (``findings`` section, e.g. ``cash_payment.cash``) or
    ``{zh: …, en: …}`` written inline (en defaults to zh), as its (zh, en) templates."""
    if isinstance(problem, str):
        section = error_catalogue().get("findings", {}).get(problem)
        if section is None:
            raise KeyError(problem)
        return section["zh"], section.get("en", section["zh"])
    return str(problem["zh"]), str(problem.get("en", problem["zh"]))


def template_fields(template: str) -> list[str]:
    """The ``{name}`` fields of a reason's text, in order (raises ValueError for a malformed template)."""
    return [name for _, name, _, _ in Formatter().parse(template) if name is not None]


def validate_reasons(
    doc: Locator, path: str, reasons: Any, ledger: str | None, *, other: str | None = None, fields: tuple[str, ...] = ()
) -> list[Problem]:
    """Problems in a ``reasons:`` list: each ``{when: condition, problem: key | {zh, en}, severity?}``;
    text fields must be columns of ``ledger`` (or ``fields``, e.g. a lookup's reported names)."""
    if not isinstance(reasons, list) or not reasons:
        return [doc.problem(path, "pack_wrong_type", expected="a list of reasons", got=shown(reasons))]
    problems: list[Problem] = []
    for i, reason in enumerate(reasons):
        where = f"{path}[{i}]"
        if not isinstance(reason, dict):
            problems.append(
                doc.problem(where, "pack_wrong_type", expected="{when: …, problem: …}", got=type(reason).__name__)
            )
            continue
        for key in reason:
            if key not in REASON_KEYS:
                problems.append(
                    doc.problem(f"{where}.{key}", "pack_unknown_key", key=key, allowed=", ".join(REASON_KEYS))
                )
        for key in ("when", "problem"):
            if key not in reason:
                problems.append(doc.problem(where, "pack_missing_key", key=key))
        if "when" in reason:
            problems.extend(validate_condition(doc, f"{where}.when", reason["when"], ledger, other=other))
        if "severity" in reason and reason["severity"] not in LEVELS:
            problems.append(
                doc.problem(
                    f"{where}.severity", "pack_bad_value", value=shown(reason["severity"]), expected=", ".join(LEVELS)
                )
            )
        if "problem" in reason:
            problems.extend(_problem_problems(doc, f"{where}.problem", reason["problem"], ledger, fields))
    return problems


def _problem_problems(
    doc: Locator, path: str, problem: Any, ledger: str | None, fields: tuple[str, ...]
) -> list[Problem]:
    if isinstance(problem, dict):
        if "zh" not in problem or set(problem) - {"zh", "en"} or not all(isinstance(v, str) for v in problem.values()):
            return [doc.problem(path, "pack_wrong_type", expected="{zh: text, en: text}", got=shown(problem))]
    elif not isinstance(problem, str):
        return [
            doc.problem(path, "pack_wrong_type", expected="a catalogue key or {zh: text, en: text}", got=shown(problem))
        ]
    try:
        zh, en = reason_texts(problem)
    except KeyError:
        return [doc.problem(path, "pack_bad_value", value=shown(problem), expected="a key of the catalogue's findings")]
    problems: list[Problem] = []
    langs = (("zh", zh), ("en", en)) if not isinstance(problem, dict) or "en" in problem else (("zh", zh),)
    for lang, template in langs:
        where = f"{path}.{lang}" if isinstance(problem, dict) else path
        try:
            names = template_fields(template)
        except ValueError as exc:
            problems.append(doc.problem(where, "pack_bad_template", what=str(exc)))
            continue
        for name in dict.fromkeys(names):
            if name not in fields and (ledger is None or column_type(ledger, name) is None):
                problems.append(
                    doc.problem(
                        where,
                        "pack_unknown_placeholder",
                        name=name,
                        ledger=ledger or "*",
                        fields=", ".join(fields),
                        hint="",
                    )
                )
    return problems


# --- computed values (flag's `values`) -----------------------------------------------------------------


def inline_values(node: Any, values: Any) -> Any:
    """An operand with each NAME that is one of ``values`` (a flag's computed ``{name: operand}``) replaced
    by its operand, so a rule's ``amount: {abs: difference}`` reads a computed value."""
    if not isinstance(values, dict) or not values:
        return node
    if isinstance(node, str):
        return values.get(node, node)
    if isinstance(node, list):
        return [inline_values(v, values) for v in node]
    if isinstance(node, dict):
        return {k: v if k in ("value", "period", "calendar", "inclusive", OPTIONAL) else inline_values(v, values)
                for k, v in node.items()}
    return node
def optional_problems(
    doc: Locator, path: str, cond: dict[str, Any], ledger: str | None, other: str | None
) -> list[Problem]:
    """Problems of ``{optional: condition, absent: true|false}``: the inner condition's, and ``absent``
    must be true or false."""
    problems = validate_condition(doc, f"{path}.optional", cond["optional"], ledger, other=other)
    if "absent" in cond and not isinstance(cond["absent"], bool):
        problems.append(
            doc.problem(f"{path}.absent", "pack_wrong_type", expected="true or false", got=shown(cond["absent"]))
        )
    return problems


def prefix_problems(doc: Locator, path: str, value: Any, ledger: str | None, other: str | None) -> list[Problem]:
    """Problems of ``{prefix: [text, n]}``: a text operand and a whole number n ≥ 1."""
    where = f"{path}.prefix"
    if not (isinstance(value, list) and len(value) == 2):
        return [doc.problem(where, "pack_wrong_type", expected="[text, n]", got=shown(value))]
    problems = _operand_shape(doc, f"{where}[0]", value[0], ledger, other)
    unit = operand_unit(doc, f"{where}[0]", value[0], ledger, other=other)[0] if not problems else None
    if unit is not None and unit != "text":
        got = f"{_name(value[0])} ({unit})"
        problems.append(doc.problem(f"{where}[0]", "pack_wrong_type", expected="a text", got=got))
    n = value[1]
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        problems.append(doc.problem(f"{where}[1]", "pack_bad_value", value=shown(n), expected="a whole number ≥ 1"))
    return problems



def between_problems(
    doc: Locator, path: str, c: dict[str, Any], ledger: str | None, other: str | None
) -> list[Problem]:
    """``{left: operand, op: between, right: [low, high]}``: the right a list of two operands, each
    well formed and comparable with the left (a ``$name`` parameter may stand for the whole list)."""
    right = c["right"]
    if not isinstance(right, list) or len(right) != 2:
        return [doc.problem(f"{path}.right", "pack_wrong_type", expected="[low, high]", got=shown(right))]
    problems = validate_operand(doc, f"{path}.left", c["left"], ledger, other=other)
    problems += [
        p for i, v in enumerate(right) for p in validate_operand(doc, f"{path}.right[{i}]", v, ledger, other=other)
    ]
    if problems:
        return problems
    return [
        p
        for i, v in enumerate(right)
        for p in compare_problems(doc, f"{path}.left", c["left"], f"{path}.right[{i}]", v, ledger, other=other)
    ]


def maps_to_problems(doc: Locator, path: str, node: Any, ledger: str | None, other: str | None) -> list[Problem]:
    """Problems of ``{maps_to: {from: NAME, to: NAME, map: {value: value | [value, ...]}}}``: two text
    names, and a mapping of values to the value (or values) each accepts."""
    if not isinstance(node, dict) or set(node) - {"from", "to", "map"} or not {"from", "to"} <= set(node):
        return [doc.problem(path, "pack_wrong_type", expected="{from: NAME, to: NAME, map: {…}}", got=shown(node))]
    problems = [
        p for key in ("from", "to") for p in validate_operand(doc, f"{path}.{key}", node[key], ledger, other=other)
    ]
    mapping = node.get("map", {})
    good = isinstance(mapping, dict) and all(
        isinstance(v, str | int) or (isinstance(v, list) and all(isinstance(x, str | int) for x in v))
        for v in mapping.values()
    )
    if not good:
        problems.append(
            doc.problem(f"{path}.map", "pack_wrong_type", expected="{value: value | [value, ...]}", got=shown(mapping))
        )
    return problems
