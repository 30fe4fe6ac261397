"""The closed vocabulary of conditions and operands a rule may use (``where``, ``conditional``,
``compare``). A condition is data, parsed and checked against the canonical columns; nothing is ever
evaluated as code::

    condition := {all: [condition, ...]} | {any: [condition, ...]} | {not: condition}
               | {column: NAME, <op>: VALUE}      op: eq ne lt le gt ge in not_in is_null matches between
               | {compare: {left: operand, op: eq|ne|lt|le|gt|ge, right: operand, tolerance: number}}
    operand   := NAME (a column) | number | {value: literal}
               | {add|sub|mul|div|min|max|coalesce: [operand, ...]} | {abs: operand} | {round_fen: operand}

Values compared with a money column are yuan (``1500`` or ``"1,500.00"``), with a date column
``YYYY-MM-DD``, with a rate ``0.02`` or ``"2%"``.
"""

from __future__ import annotations

from typing import Any

from fundaudit.columns import catalogue
from fundaudit.rules.located import Located, Problem

__all__ = ["COLUMN_OPS", "COMBINE_OPS", "COMPARE_OPS", "UNARY_OPS", "validate_condition", "validate_operand"]

COLUMN_OPS = ("eq", "ne", "lt", "le", "gt", "ge", "in", "not_in", "is_null", "matches", "between")
COMPARE_OPS = ("eq", "ne", "lt", "le", "gt", "ge")
COMBINE_OPS = ("add", "sub", "mul", "div", "min", "max", "coalesce")
UNARY_OPS = ("abs", "round_fen")


def validate_condition(doc: Located, path: str, cond: Any, ledger: str | None) -> list[Problem]:
    """Problems in a condition tree (empty when it is well formed)."""
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
        return [p for i, c in enumerate(items) for p in validate_condition(doc, f"{path}.{key}[{i}]", c, ledger)]
    if set(cond) == {"not"}:
        return validate_condition(doc, f"{path}.not", cond["not"], ledger)
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
        if "op" in c and c["op"] not in COMPARE_OPS:
            problems.append(
                doc.problem(f"{path}.compare.op", "pack_bad_value", value=c["op"], expected=", ".join(COMPARE_OPS))
            )
        for key in ("left", "right"):
            if key in c:
                problems.extend(validate_operand(doc, f"{path}.compare.{key}", c[key], ledger))
        return problems
    if "column" in cond:
        problems = []
        ops = [k for k in cond if k != "column"]
        col = cond["column"]
        if ledger and col not in catalogue()[ledger].columns:
            problems.append(doc.problem(f"{path}.column", "pack_unknown_column", column=col, ledger=ledger, hint=""))
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
        if op in ("in", "not_in") and not isinstance(value, list):
            problems.append(doc.problem(f"{path}.{op}", "pack_wrong_type", expected="a list", got=type(value).__name__))
        if op == "between" and not (isinstance(value, list) and len(value) == 2):
            problems.append(
                doc.problem(f"{path}.{op}", "pack_wrong_type", expected="[low, high]", got=type(value).__name__)
            )
        if op == "is_null" and not isinstance(value, bool):
            problems.append(
                doc.problem(f"{path}.{op}", "pack_wrong_type", expected="true or false", got=type(value).__name__)
            )
        if op == "matches" and not isinstance(value, str):
            problems.append(
                doc.problem(f"{path}.{op}", "pack_wrong_type", expected="a pattern", got=type(value).__name__)
            )
        return problems
    key = next(iter(cond))
    return [doc.problem(f"{path}.{key}", "pack_unknown_key", key=key, allowed="all, any, not, column, compare")]


def validate_operand(doc: Located, path: str, op: Any, ledger: str | None) -> list[Problem]:
    """Problems in an operand (a column, a number, or an arithmetic mapping)."""
    if isinstance(op, bool):
        return [doc.problem(path, "pack_wrong_type", expected="a column, number or expression", got="true/false")]
    if isinstance(op, int | float):
        return []
    if isinstance(op, str):
        if ledger and op not in catalogue()[ledger].columns:
            return [doc.problem(path, "pack_unknown_column", column=op, ledger=ledger, hint="")]
        return []
    if isinstance(op, dict) and len(op) == 1:
        key, value = next(iter(op.items()))
        if key == "value":
            return []
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
            return [p for i, v in enumerate(value) for p in validate_operand(doc, f"{path}.{key}[{i}]", v, ledger)]
        if key in UNARY_OPS:
            return validate_operand(doc, f"{path}.{key}", value, ledger)
        return [
            doc.problem(
                f"{path}.{key}", "pack_unknown_key", key=key, allowed=", ".join(("value", *COMBINE_OPS, *UNARY_OPS))
            )
        ]
    return [doc.problem(path, "pack_wrong_type", expected="a column, number or expression", got=type(op).__name__)]
