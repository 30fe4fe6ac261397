"""Building queries with sqlglot: column names go in as quoted identifiers and pack values as typed
literals, never by string formatting, so no rule pack can change a query's shape or reach a file.

Values are typed by the column they meet: money columns hold integer fen, so ``1500`` (yuan) next to
a money column becomes ``150000``; dates become ``CAST('2016-03-01' AS TIMESTAMP)``; rates accept
``"2%"``. The SQL is DuckDB's dialect, kept to functions sqlglot transpiles to Spark SQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import sqlglot
import sqlglot.expressions as exp

from fundaudit.rules.values import unit_of

__all__ = [
    "ROW_ID",
    "Unit",
    "col",
    "condition",
    "date_lit",
    "lit",
    "money_lit",
    "number",
    "operand",
    "select",
    "string",
    "table",
    "unit_of",
]

ROW_ID = "_rid"
Unit = str  # 'money' | 'date' | 'rate' | 'number' | 'text' | 'bool'



def col(name: str, table: str | None = None) -> exp.Column:
    """A quoted column reference."""
    return exp.column(name, table=table, quoted=True)


def table(name: str, alias: str | None = None) -> exp.Table:
    """A table reference (registered input names are fixed identifiers such as ``dues``)."""
    t = exp.to_table(name, quoted=True)
    return t.as_(alias, quoted=True) if alias else t


def select(*columns: exp.Expression | str) -> exp.Select:
    """``SELECT …`` with string arguments taken as quoted column names."""
    return sqlglot.select(*[col(c) if isinstance(c, str) else c for c in columns])


def number(value: float | int | Decimal) -> exp.Literal:
    """A numeric literal."""
    return exp.Literal.number(str(value))


def string(value: str) -> exp.Literal:
    """A string literal (escaped by sqlglot)."""
    return exp.Literal.string(str(value))


def money_lit(value: Any) -> exp.Expression:
    """Yuan (number or text such as ``"1,500.00"``) as an integer-fen literal, rounded half-up."""
    return number(to_fen(value))


def to_fen(value: Any) -> int:
    """Yuan → integer fen, exactly (half-up)."""
    text = str(value).replace(",", "").replace("¥", "").replace("￥", "").strip()
    try:
        return int((Decimal(text) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    except InvalidOperation as exc:
        raise ValueError(f"not an amount: {value!r}") from exc


def to_rate(value: Any) -> float:
    """``0.02``, ``"2%"`` or ``2`` (percent when above one) → 0.02."""
    text = str(value).strip()
    if text.endswith(("%", "％")):
        return float(Decimal(text[:-1]) / 100)
    v = float(Decimal(text))
    return v / 100 if v > 1 else v


def date_lit(value: Any) -> exp.Expression:
    """``YYYY-MM-DD`` as a timestamp literal (canonical dates are midnight timestamps)."""
    return exp.cast(string(str(value)[:10]), exp.DataType.build("TIMESTAMP"))


def lit(value: Any, unit: Unit) -> exp.Expression:
    """A pack value as a literal of ``unit``."""
    if value is None:
        return exp.Null()
    if unit == "money":
        return money_lit(value)
    if unit == "date":
        return date_lit(value)
    if unit == "rate":
        return number(to_rate(value))
    if unit == "bool":
        return exp.true() if bool(value) else exp.false()
    if unit == "number" and isinstance(value, int | float) and not isinstance(value, bool):
        return number(value)
    if isinstance(value, bool):
        return exp.true() if value else exp.false()
    if isinstance(value, int | float) and unit != "text":
        return number(value)
    return string(str(value))


# --- operands -------------------------------------------------------------------------------------


def operand(
    node: Any, kind: str, *, unit_hint: Unit | None = None, alias: str | None = None
) -> tuple[exp.Expression, Unit]:
    """An operand (column, number, or arithmetic mapping) as an expression and its unit.

    A bare number adopts the unit of what it is added to or compared with (``unit_hint``), so yuan
    become fen next to money; in ``mul``/``div`` numbers are plain factors.
    """
    if isinstance(node, str):
        return col(node, alias), unit_of(kind, node)
    if isinstance(node, int | float) and not isinstance(node, bool):
        u = unit_hint or "number"
        return lit(node, u if u in ("money", "rate") else "number"), u
    if isinstance(node, dict) and len(node) == 1:
        op, value = next(iter(node.items()))
        if op == "value":
            u = unit_hint or ("number" if isinstance(value, int | float) else "text")
            return lit(value, u), u
        if op in ("abs", "round_fen"):
            inner, u = operand(value, kind, unit_hint=unit_hint, alias=alias)
            if op == "abs":
                return exp.Abs(this=inner), u
            return exp.Round(this=inner, decimals=number(0)), u
        if op in ("add", "sub", "min", "max", "coalesce"):
            parts = [operand(v, kind, alias=alias) for v in value if not _is_bare_number(v)]
            u = next((pu for _, pu in parts if pu not in ("number",)), unit_hint or "number")
            exprs = [operand(v, kind, unit_hint=u, alias=alias)[0] for v in value]
            if op == "coalesce":
                return exp.Coalesce(this=exprs[0], expressions=exprs[1:]), u
            if op in ("min", "max"):
                cls = exp.Least if op == "min" else exp.Greatest
                return cls(this=exprs[0], expressions=exprs[1:]), u
            out = exprs[0]
            for e in exprs[1:]:
                out = exp.Add(this=out, expression=e) if op == "add" else exp.Sub(this=out, expression=e)
            return exp.Paren(this=out), u
        if op in ("mul", "div"):
            parts = [operand(v, kind, unit_hint="number", alias=alias) for v in value]
            u = next((pu for _, pu in parts if pu == "money"), "number")
            exprs = [_exact(e, pu) for e, pu in parts]
            out = exprs[0]
            for e in exprs[1:]:
                out = exp.Mul(this=out, expression=e) if op == "mul" else exp.Div(this=out, expression=e)
            return exp.Paren(this=out), u
    raise ValueError(f"not an operand: {node!r}")


def _exact(e: exp.Expression, unit: Unit) -> exp.Expression:
    """Rates are stored as doubles; multiply money by them in DECIMAL so 123102.37 × 0.02 is exact."""
    if unit == "rate":
        return exp.cast(e, exp.DataType.build("DECIMAL(18,10)"))
    if unit == "money":
        return exp.cast(e, exp.DataType.build("DECIMAL(38,10)"))
    return e


def _is_bare_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


# --- conditions -----------------------------------------------------------------------------------

_CMP = {"eq": exp.EQ, "ne": exp.NEQ, "lt": exp.LT, "le": exp.LTE, "gt": exp.GT, "ge": exp.GTE}


def condition(node: Any, kind: str, alias: str | None = None) -> exp.Expression:
    """A condition tree (``fundaudit.rules.conditions``) as a boolean expression."""
    if "all" in node:
        return exp.and_(*[condition(c, kind, alias) for c in node["all"]])
    if "any" in node:
        return exp.Paren(this=exp.or_(*[condition(c, kind, alias) for c in node["any"]]))
    if "not" in node:
        return exp.Not(this=exp.Paren(this=condition(node["not"], kind, alias)))
    if "compare" in node:
        c = node["compare"]
        return compare(c["left"], c["op"], c["right"], kind, tolerance=c.get("tolerance", 0), alias=alias)
    name = node["column"]
    op, value = next((k, v) for k, v in node.items() if k != "column")
    c = col(name, alias)
    u = unit_of(kind, name)
    if op == "is_null":
        return exp.Is(this=c, expression=exp.Null()) if value else exp.Not(this=exp.Is(this=c, expression=exp.Null()))
    if op in ("in", "not_in"):
        inside = exp.In(this=c, expressions=[lit(v, u) for v in value])
        return inside if op == "in" else exp.Not(this=inside)
    if op == "between":
        return exp.Between(this=c, low=lit(value[0], u), high=lit(value[1], u))
    if op == "matches":
        return exp.RegexpLike(this=c, expression=string(value))
    return _CMP[op](this=c, expression=lit(value, u))


def compare(
    left: Any, op: str, right: Any, kind: str, *, tolerance: float = 0, alias: str | None = None
) -> exp.Expression:
    """``left op right`` with a tolerance (in the unit of the comparison: yuan for money)."""
    l_expr, l_unit = operand(left, kind, alias=alias) if not _is_bare_number(left) else (None, None)
    r_expr, r_unit = operand(right, kind, alias=alias) if not _is_bare_number(right) else (None, None)
    unit = l_unit if l_unit not in (None, "number") else (r_unit or "number")
    if l_expr is None:
        l_expr = operand(left, kind, unit_hint=unit, alias=alias)[0]
    if r_expr is None:
        r_expr = operand(right, kind, unit_hint=unit, alias=alias)[0]
    tol: exp.Expression = money_lit(tolerance) if unit == "money" else number(tolerance)
    if tolerance and op in ("eq", "ne"):
        diff = exp.Abs(this=exp.Sub(this=l_expr, expression=r_expr))
        return exp.LTE(this=diff, expression=tol) if op == "eq" else exp.GT(this=diff, expression=tol)
    if tolerance and op in ("lt", "le"):
        r_expr = exp.Add(this=r_expr, expression=tol)
    if tolerance and op in ("gt", "ge"):
        r_expr = exp.Sub(this=r_expr, expression=tol)
    return _CMP[op](this=l_expr, expression=r_expr)


def all_of(parts: Iterable[exp.Expression | None]) -> exp.Expression:
    """AND of the non-empty parts (TRUE when there are none)."""
    items = [p for p in parts if p is not None]
    return exp.and_(*items) if items else exp.true()


def mapping_columns(m: Mapping[str, str]) -> list[tuple[str, str]]:
    """A ``{local: remote}`` mapping as pairs, in order."""
    return [(str(k), str(v)) for k, v in m.items()]
