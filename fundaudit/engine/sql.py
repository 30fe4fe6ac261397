"""Building queries with sqlglot: column names go in as quoted identifiers and pack values as typed
literals, never by string formatting, so no rule pack can change a query's shape or reach a file.

Values are typed by the column they meet: money columns hold integer fen, so ``1500`` (yuan) next to
a money column becomes ``150000``; dates become ``CAST('2016-03-01' AS TIMESTAMP)``; rates accept
``"2%"``. The SQL is DuckDB's dialect, kept to functions sqlglot transpiles to Spark SQL.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from string import Formatter
from typing import Any

import sqlglot
import sqlglot.expressions as exp

from fundaudit.errors import texts
from fundaudit.facts import ROW_ID
from fundaudit.rules.values import is_number, unit_of

__all__ = [
    "BIRTH_FACT",
    "BIRTH_UNIT",
    "MATCHED",
    "REF",
    "ROLE",
    "ROW_ID",
    "TOTALS",
    "Scope",
    "Unit",
    "cite",
    "col",
    "condition",
    "date_lit",
    "greatest",
    "least",
    "lit",
    "money_lit",
    "number",
    "operand",
    "select",
    "string",
    "table",
    "to_sql",
    "unit_of",
    "working_days",
]

TOTALS = "ledger_totals"  # the registered table of every ledger's declared 合计/小计 amounts
REF = "_ref:"  # a result column "_ref:<table>:<role>": row id(s) of <table> a finding also cites, as <role>
ROLE = "_role"  # a result column: the role of the result row's own ref (default: its table's role)
Unit = str  # 'money' | 'date' | 'rate' | 'number' | 'text' | 'bool'
BIRTH_FACT = "__birth"  # the birth date the engine reads from a resident ID column (<col>__birth)
BIRTH_UNIT = "birth"  # the unit of a finding value holding such a date: personal, shown as its year when masked
MATCHED = "m_"  # a lookup's matched values of the other input's column X are selected as m_X
EPOCH_MONDAY = "1900-01-01"  # a Monday: working days are counted from it


@dataclass(frozen=True)
class Scope:
    """What a condition or operand may name beyond the ledger's columns: the audit period's bounds
    (``{period: start|end}``; None: no period, so start is empty and end is today) and, in a lookup's
    reasons, the other input (``match.NAME`` is the column ``m_NAME`` of ``match_alias``; ``{matched: …}``
    asks whether ``matched`` is true)."""

    period: tuple[date, date] | None = None
    other: str | None = None
    match_alias: str | None = None
    matched: exp.Expression | None = None
    present: Mapping[str, frozenset[str]] | None = None  # input -> columns present (``{optional: …}``)
    match_prefix: str = MATCHED  # ``match.X`` is column ``match_prefix + X`` (``""``: the other input's own row)
    match_flags: Mapping[str, exp.Expression] | None = None  # {any_match/no_match: cond} -> its aggregated flag


def to_sql(query: exp.Expression, dialect: str = "duckdb") -> str:
    """The SQL text of ``query`` in ``dialect`` (``duckdb`` or ``spark``): the one place a query becomes text.

    The queries are written with DuckDB's meaning; for another dialect three things sqlglot (30) does not do
    for a built (not parsed) query are done here: an ORDER BY key given bare (no ASC/DESC) is sorted as DuckDB
    sorts it, NULLs last (Spark sorts them first); a CTE's ``AS MATERIALIZED``, a DuckDB planning hint that
    Spark cannot parse, is left out (results are the same); and a MEDIAN over a window frame, which Spark's
    ``median`` refuses, is written ``PERCENTILE(x, 0.5)``, the same exact interpolated median."""
    if dialect != "duckdb":
        query = query.transform(_as_duckdb_means)
    return query.sql(dialect=dialect)


def _as_duckdb_means(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Window) and isinstance(node.this, exp.Median) and node.args.get("spec") is not None:
        node = node.copy()
        node.set("this", exp.Anonymous(this="PERCENTILE", expressions=[node.this.this, number(0.5)]))
    elif isinstance(node, exp.CTE) and node.args.get("materialized") is not None:
        node = node.copy()
        node.set("materialized", None)
    elif isinstance(node, exp.Order) and not all(isinstance(e, exp.Ordered) for e in node.expressions):
        keys = [e if isinstance(e, exp.Ordered) else exp.Ordered(this=e.copy(), desc=False, nulls_first=False)
                for e in node.expressions]
        node = node.copy()
        node.set("expressions", keys)
    return node


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


def name_ref(name: str, kind: str, alias: str | None, scope: Scope | None) -> tuple[exp.Expression, Unit]:
    """A NAME of a condition or operand: a column of ``kind`` (derived facts included), or in a lookup's
    reasons ``match.X``, the matched value of the other input's column X."""
    if scope is not None and scope.other is not None and name.startswith("match."):
        column = name.removeprefix("match.")
        return col(scope.match_prefix + column, scope.match_alias), unit_of(scope.other, column)
    return col(name, alias), unit_of(kind, name)


def working_days(start: exp.Expression, end: exp.Expression) -> exp.Expression:
    """Monday–Friday days in [start, end] (public holidays not known)."""

    def before(d: exp.Expression) -> exp.Expression:  # weekdays from the epoch Monday up to d (exclusive)
        n = exp.DateDiff(this=d, expression=date_lit(EPOCH_MONDAY), unit=exp.var("DAY"))
        weeks = exp.Mul(this=exp.IntDiv(this=n, expression=number(7)), expression=number(5))
        rest = least(exp.Mod(this=n, expression=number(7)), number(5))
        return exp.Paren(this=exp.Add(this=weeks, expression=rest))

    return exp.Sub(this=before(_shift(end, 1, "DAY")), expression=before(start))


def least(*args: exp.Expression) -> exp.Expression:
    """The smallest of ``args``, NULL when any is NULL, on every engine. (DuckDB's and Spark's LEAST both skip
    NULLs; sqlglot writes a NULL guard for DuckDB but not for Spark, so the guard is written here.)"""
    return _null_if_any(exp.Least, args)


def greatest(*args: exp.Expression) -> exp.Expression:
    """The largest of ``args``, NULL when any is NULL, on every engine (see :func:`least`)."""
    return _null_if_any(exp.Greatest, args)


def _null_if_any(cls: type[exp.Least | exp.Greatest], args: Sequence[exp.Expression]) -> exp.Expression:
    guard = exp.or_(*[a.copy().is_(exp.null()) for a in args], copy=False)
    call = cls(this=args[0], expressions=list(args[1:]), ignore_nulls=True)
    return exp.case().when(guard, exp.null(), copy=False).else_(call, copy=False)


def _shift(d: exp.Expression, n: exp.Expression | int, unit: str) -> exp.Expression:
    # INT: Spark's date_add/add_months take an INT count (a BIGINT one cannot resolve)
    amount = number(n) if isinstance(n, int) else exp.cast(n, exp.DataType.build("INT"))
    return exp.DateAdd(this=d, expression=amount, unit=exp.var(unit))


def _date_operand(
    node: dict[str, Any], kind: str, alias: str | None, scope: Scope | None
) -> tuple[exp.Expression, Unit]:
    """A date operand (``fundaudit.rules.conditions.DATE_OPS``) as an expression and its unit."""
    op = next(k for k in node if k in _DATE_OPS)
    value = node[op]
    if op == "period":
        bounds = scope.period if scope is not None else None
        if bounds is None:
            empty = exp.cast(exp.Null(), exp.DataType.build("DATE"))  # typed: YEAR(NULL) cannot bind
            return (date_lit(date.today().isoformat()) if value == "end" else empty), "date"
        return date_lit(bounds[0 if value == "start" else 1].isoformat()), "date"
    if op in _DATE_UNARY:
        d = operand(value, kind, unit_hint="date", alias=alias, scope=scope)[0]
        return _DATE_UNARY[op](d), "date" if op in ("month_start", "month_end") else "number"
    a = operand(value[0], kind, unit_hint="date", alias=alias, scope=scope)[0]
    b = operand(value[1], kind, unit_hint="number" if op.startswith("add_") else "date", alias=alias, scope=scope)[0]
    if op == "add_days":
        return _shift(a, b, "DAY"), "date"
    if op == "add_months":
        return _shift(a, b, "MONTH"), "date"
    if op == "age":
        return age(a, b), "number"
    inclusive = bool(node.get("inclusive", False))
    if op == "months_between":  # calendar months from a's month to b's (inclusive: both counted)
        months = exp.Sub(this=month_index(b), expression=month_index(a))
        return exp.Paren(this=exp.Add(this=months, expression=number(1)) if inclusive else months), "number"
    if node.get("calendar", "natural") == "working":  # weekdays in (a, b], or [a, b] when inclusive
        return working_days(a if inclusive else _shift(a, 1, "DAY"), b), "number"
    days = exp.DateDiff(this=b, expression=a, unit=exp.var("DAY"))
    return (exp.Paren(this=exp.Add(this=days, expression=number(1))) if inclusive else days), "number"


_DATE_UNARY = {
    "year": lambda d: exp.Year(this=d),
    "month": lambda d: exp.Month(this=d),
    "quarter": lambda d: exp.Quarter(this=d),
    "month_start": lambda d: exp.DateTrunc(unit=exp.var("MONTH"), this=d),
    "month_end": lambda d: _shift(_shift(exp.DateTrunc(unit=exp.var("MONTH"), this=d), 1, "MONTH"), -1, "DAY"),
}


_DATE_OPS = ("days_between", "months_between", "add_days", "add_months", "period", "age", *_DATE_UNARY)


def age(birth: exp.Expression, on: exp.Expression) -> exp.Expression:
    """Full years from ``birth`` to ``on`` (a person is 100 on their 100th birthday)."""
    before_birthday = exp.LT(this=month_day(on), expression=month_day(birth))
    years = exp.Sub(this=exp.Year(this=on), expression=exp.Year(this=birth))
    return exp.Paren(this=exp.Sub(this=years, expression=flag(before_birthday)))


def operand(
    node: Any,
    kind: str,
    *,
    unit_hint: Unit | None = None,
    alias: str | None = None,
    scope: Scope | None = None,
) -> tuple[exp.Expression, Unit]:
    """An operand (column, number, or arithmetic mapping) as an expression and its unit.

    A bare number adopts the unit of what it is added to or compared with (``unit_hint``), so yuan
    become fen next to money; in ``mul``/``div`` numbers are plain factors.
    """
    if isinstance(node, str):
        return name_ref(node, kind, alias, scope)
    if isinstance(node, dict) and any(
        k in _DATE_OPS for k in node
    ):
        return _date_operand(node, kind, alias, scope)
    if isinstance(node, dict) and set(node) == {"prefix"}:  # the first n characters of a text
        text, n = node["prefix"]
        inner = operand(text, kind, alias=alias, scope=scope)[0]
        return exp.Substring(this=inner, start=number(1), length=number(int(n))), "text"
    if isinstance(node, dict) and set(node) == {"as_text"}:  # a value written as text (2016 -> '2016')
        inner = operand(node["as_text"], kind, alias=alias, scope=scope)[0]
        return exp.cast(inner, exp.DataType.build("VARCHAR")), "text"
    if isinstance(node, int | float) and not isinstance(node, bool):
        u = unit_hint or "number"
        return lit(node, u if u in ("money", "rate") else "number"), u
    if isinstance(node, dict) and len(node) == 1:
        op, value = next(iter(node.items()))
        if op == "optional":
            return _optional(value, kind, alias, scope)
        if op == "value":
            u = unit_hint or ("number" if isinstance(value, int | float) else "text")
            return lit(value, u), u
        if op in ("abs", "round_fen"):
            inner, u = operand(value, kind, unit_hint=unit_hint, alias=alias, scope=scope)
            if op == "abs":
                return exp.Abs(this=inner), u
            return exp.Round(this=inner, decimals=number(0)), u
        if op in ("add", "sub", "min", "max", "coalesce"):
            parts = [operand(v, kind, alias=alias, scope=scope) for v in value if not is_number(v)]
            u = next((pu for _, pu in parts if pu not in ("number",)), unit_hint or "number")
            exprs = [operand(v, kind, unit_hint=u, alias=alias, scope=scope)[0] for v in value]
            if op == "coalesce":
                return exp.Coalesce(this=exprs[0], expressions=exprs[1:]), u
            if op in ("min", "max"):
                return (least if op == "min" else greatest)(*exprs), u
            out = exprs[0]
            for e in exprs[1:]:
                out = exp.Add(this=out, expression=e) if op == "add" else exp.Sub(this=out, expression=e)
            return exp.Paren(this=out), u
        if op == "mod":  # a mod b …, empty where a divisor is 0
            exprs = [operand(v, kind, unit_hint="number", alias=alias, scope=scope)[0] for v in value]
            out = exprs[0]
            for e in exprs[1:]:
                out = exp.Mod(this=out, expression=exp.Nullif(this=e, expression=number(0)))
            return exp.Paren(this=out), "number"
        if op in ("mul", "div"):
            parts = [operand(v, kind, unit_hint="number", alias=alias, scope=scope) for v in value]
            u = next((pu for _, pu in parts if pu == "money"), "number")
            exprs = [_exact(e, pu) for e, pu in parts]
            out = exprs[0]
            for e in exprs[1:]:
                out = exp.Mul(this=out, expression=e) if op == "mul" else exp.Div(this=out, expression=e)
            return exp.Paren(this=out), u
    raise ValueError(f"not an operand: {node!r}")


def _optional(name: str, kind: str, alias: str | None, scope: Scope | None) -> tuple[exp.Expression, Unit]:
    """``{optional: NAME}``: the column, or empty (NULL) when the input lacks it (``scope.present``)."""
    present = scope.present.get(kind) if scope is not None and scope.present is not None else None
    if present is not None and name not in present:
        return exp.Null(), unit_of(kind, name)
    return name_ref(name, kind, alias, scope)


def _exact(e: exp.Expression, unit: Unit) -> exp.Expression:
    """Rates are stored as doubles; multiply money by them in DECIMAL so 123102.37 × 0.02 is exact."""
    if unit == "rate":
        return exp.cast(e, exp.DataType.build("DECIMAL(18,10)"))
    if unit == "money":
        return exp.cast(e, exp.DataType.build("DECIMAL(38,10)"))
    return e


# --- conditions -----------------------------------------------------------------------------------

_CMP = {"eq": exp.EQ, "ne": exp.NEQ, "lt": exp.LT, "le": exp.LTE, "gt": exp.GT, "ge": exp.GTE}


def condition(node: Any, kind: str, alias: str | None = None, *, scope: Scope | None = None) -> exp.Expression:
    """A condition tree (``fundaudit.rules.conditions``) as a boolean expression."""
    if "all" in node:
        return exp.and_(*[condition(c, kind, alias, scope=scope) for c in node["all"]])
    if "any" in node:
        return exp.Paren(this=exp.or_(*[condition(c, kind, alias, scope=scope) for c in node["any"]]))
    if "not" in node:
        return exp.Not(this=exp.Paren(this=condition(node["not"], kind, alias, scope=scope)))
    if "optional" in node:
        return optional_condition(node, kind, alias, scope)
    if set(node) == {"value"}:  # a true/false parameter
        return exp.true() if node["value"] else exp.false()
    if "matched" in node:
        if scope is None or scope.matched is None:
            raise ValueError("{matched: …} outside a lookup's reasons")
        return scope.matched if node["matched"] else exp.Not(this=exp.Paren(this=scope.matched))
    if "maps_to" in node:
        return maps_to(node["maps_to"], kind, alias, scope)
    if "any_match" in node or "no_match" in node:
        return match_flag(node, scope)
    if "compare" in node:
        c = node["compare"]
        return compare(c["left"], c["op"], c["right"], kind, tolerance=c.get("tolerance", 0), alias=alias, scope=scope)
    name = node["column"]
    op, value = next((k, v) for k, v in node.items() if k != "column")
    c, u = name_ref(name, kind, alias, scope)
    if op == "is_null":
        return exp.Is(this=c, expression=exp.Null()) if value else exp.Not(this=exp.Is(this=c, expression=exp.Null()))
    if op in ("in", "not_in") and not value:  # an empty list: nothing is in it; every filled value is not
        return exp.false() if op == "in" else exp.Not(this=exp.Is(this=c, expression=exp.Null()))
    if op in ("in", "not_in"):
        inside = exp.In(this=c, expressions=[lit(v, u) for v in value])
        return inside if op == "in" else exp.Not(this=inside)
    if op == "between":
        return exp.Between(this=c, low=lit(value[0], u), high=lit(value[1], u))
    if op == "matches":
        return exp.RegexpLike(this=c, expression=string(value))
    return _CMP[op](this=c, expression=lit(value, u))


def maps_to(node: Mapping[str, Any], kind: str, alias: str | None, scope: Scope | None) -> exp.Expression:
    """``{maps_to: {from, to, map}}``: ``to`` is one of the values ``map`` gives ``from``, or, for a
    ``from`` that is no key of ``map``, equal to it (e.g. a paid category and the file categories it accepts)."""
    src = name_ref(node["from"], kind, alias, scope)[0]
    dst = name_ref(node["to"], kind, alias, scope)[0]
    mapping: Mapping[Any, Any] = node.get("map") or {}
    same: exp.Expression = exp.EQ(this=dst, expression=src)
    if not mapping:
        return same
    parts: list[exp.Expression] = [
        paren(exp.and_(eq(src, string(str(k))), in_texts(dst, v if isinstance(v, list) else [v])))
        for k, v in mapping.items()
    ]
    parts.append(exp.and_(negate(in_texts(src, list(mapping))), same))
    return exp.Paren(this=exp.or_(*parts))


def match_key(cond: Any) -> str:
    """The key naming a lookup's per-match condition (``{any_match: cond}``) among its aggregated flags."""
    return json.dumps(cond, sort_keys=True, ensure_ascii=False, default=str)


def match_flag(node: Mapping[str, Any], scope: Scope | None) -> exp.Expression:
    """``{any_match: cond}``: some matched row of the other input meets ``cond``; ``{no_match: cond}``:
    none does (true when nothing matched). Read from the flag the lookup aggregated over its matches."""
    which = "any_match" if "any_match" in node else "no_match"
    if scope is None or scope.match_flags is None:
        raise ValueError(f"{{{which}: …}} outside a lookup's reasons")
    some = exp.Coalesce(this=scope.match_flags[match_key(node[which])], expressions=[exp.false()])
    return some if which == "any_match" else exp.Not(this=exp.Paren(this=some))


def compare(
    left: Any,
    op: str,
    right: Any,
    kind: str,
    *,
    tolerance: float = 0,
    alias: str | None = None,
    scope: Scope | None = None,
) -> exp.Expression:
    """``left op right`` with a tolerance (in the unit of the comparison: yuan for money)."""
    if op == "between":  # right: [low, high], both ends included
        return _compare_between(left, right, kind, alias=alias, scope=scope)
    if op in ("in", "not_in"):  # right: a list of values of the left's unit
        l_expr, l_unit = operand(left, kind, alias=alias, scope=scope)
        inside = exp.In(this=l_expr, expressions=[lit(v, l_unit) for v in right])
        return inside if op == "in" else exp.Not(this=inside)
    l_expr, l_unit = operand(left, kind, alias=alias, scope=scope) if not is_number(left) else (None, None)
    r_expr, r_unit = operand(right, kind, alias=alias, scope=scope) if not is_number(right) else (None, None)
    unit = l_unit if l_unit not in (None, "number") else (r_unit or "number")
    if l_expr is None:
        l_expr = operand(left, kind, unit_hint=unit, alias=alias, scope=scope)[0]
    if r_expr is None:
        r_expr = operand(right, kind, unit_hint=unit, alias=alias, scope=scope)[0]
    tol: exp.Expression = money_lit(tolerance) if unit == "money" else number(tolerance)
    if tolerance and op in ("eq", "ne"):
        diff = exp.Abs(this=exp.Sub(this=l_expr, expression=r_expr))
        return exp.LTE(this=diff, expression=tol) if op == "eq" else exp.GT(this=diff, expression=tol)
    if tolerance and op in ("lt", "le"):
        r_expr = exp.Add(this=r_expr, expression=tol)
    if tolerance and op in ("gt", "ge"):
        r_expr = exp.Sub(this=r_expr, expression=tol)
    return _CMP[op](this=l_expr, expression=r_expr)


def _compare_between(
    left: Any, right: Sequence[Any], kind: str, *, alias: str | None, scope: Scope | None
) -> exp.Expression:
    """``low <= left <= high`` for compare's ``op: between`` (``right: [low, high]``, each an operand; a bare
    number takes the unit of the left)."""
    l_expr, l_unit = operand(left, kind, alias=alias, scope=scope)
    low, high = (operand(v, kind, unit_hint=l_unit, alias=alias, scope=scope)[0] for v in right)
    return exp.Between(this=l_expr, low=low, high=high)


def all_of(parts: Iterable[exp.Expression | None]) -> exp.Expression:
    """AND of the non-empty parts (TRUE when there are none)."""
    items = [p for p in parts if p is not None]
    return exp.and_(*items) if items else exp.true()


def mapping_columns(m: Mapping[str, str]) -> list[tuple[str, str]]:
    """A ``{local: remote}`` mapping as pairs, in order."""
    return [(str(k), str(v)) for k, v in m.items()]


# --- builders shared by the check types -----------------------------------------------------------
# Small sqlglot pieces every family of check types (fundaudit/engine/checks/) composes its queries from;
# one definition each, so two families never spell the same SQL two ways.

PROBLEM_COLS = ("problem", "problem_en")
"""The two text columns a check's query gives a finding: the zh and the en problem (catalogue ``findings``)."""


def not_null(e: exp.Expression) -> exp.Expression:
    """``e IS NOT NULL`` (as ``NOT e IS NULL``)."""
    return exp.Not(this=exp.Is(this=e, expression=exp.Null()))


def is_null(e: exp.Expression) -> exp.Expression:
    """``e IS NULL``."""
    return exp.Is(this=e, expression=exp.Null())


def eq(a: exp.Expression, b: exp.Expression) -> exp.Expression:
    """``a = b``."""
    return exp.EQ(this=a, expression=b)


def named(e: exp.Expression, name: str) -> exp.Expression:
    """``e AS "name"`` (the output column ``name``)."""
    return exp.alias_(e, name, quoted=True)


def cite(rid: exp.Expression, table: str, role: str | None = None) -> exp.Expression:
    """The output column by which a finding also cites row(s) of ``table``: ``rid`` is a row id (``_rid``)
    of that table or a list of them (``LIST(m._rid)``); ``role`` defaults to the table's (the catalogue's
    ``role``: ``register_file``, ``staff``, ``cap``…). The engine adds each as a ref with its provenance."""
    from fundaudit.columns import catalogue

    return named(rid, f"{REF}{table}:{role or catalogue()[table].role}")


def any_of(*parts: exp.Expression | None) -> exp.Expression:
    """OR of the non-empty parts, in parentheses (FALSE when there are none)."""
    items = [p for p in parts if p is not None]
    return exp.Paren(this=exp.or_(*items)) if items else exp.false()


def negate(e: exp.Expression) -> exp.Expression:
    """``NOT (e)``."""
    return exp.Not(this=exp.Paren(this=e))


def in_texts(e: exp.Expression, values: Iterable[Any]) -> exp.Expression:
    """``e IN ('a', 'b')`` (FALSE for an empty list)."""
    items = [string(str(v)) for v in values]
    return exp.In(this=e, expressions=items) if items else exp.false()


def in_numbers(e: exp.Expression, values: Iterable[int]) -> exp.Expression:
    """``e IN (1, 2)`` (FALSE for an empty list)."""
    items = [number(int(v)) for v in values]
    return exp.In(this=e, expressions=items) if items else exp.false()


def case(whens: Sequence[tuple[Any, Any]], default: exp.Expression | None = None) -> exp.Case:
    """``CASE WHEN c THEN v … [ELSE default] END`` (NULL when nothing holds and there is no default)."""
    out = exp.Case()
    for cond, value in whens:
        out = out.when(cond, value)
    return out.else_(default) if default is not None else out


def paren(e: exp.Expression) -> exp.Expression:
    """``e`` in parentheses when it is an operator expression (sqlglot does not add them)."""
    return exp.Paren(this=e) if isinstance(e, exp.Binary) else e


def flag(cond: exp.Expression) -> exp.Expression:
    """1 when ``cond`` holds, else 0."""
    return case([(cond, number(1))], number(0))


def or_zero(e: exp.Expression) -> exp.Expression:
    """``COALESCE(e, 0)``: a blank amount or ratio counts as 0."""
    return exp.Coalesce(this=e, expressions=[number(0)])


def sum_of(parts: Sequence[exp.Expression]) -> exp.Expression:
    """``(a + b + …)``."""
    out = parts[0]
    for p in parts[1:]:
        out = exp.Add(this=out, expression=p)
    return exp.Paren(this=out)


def days_from(start: exp.Expression, end: exp.Expression) -> exp.Expression:
    """Whole days from ``start`` to ``end`` (negative when ``end`` is earlier)."""
    return exp.DateDiff(this=end, expression=start, unit=exp.var("DAY"))


def add_days(d: exp.Expression, n: int) -> exp.Expression:
    """``d`` plus ``n`` days (``d`` itself for 0)."""
    return d if not n else exp.DateAdd(this=d, expression=number(int(n)), unit=exp.var("DAY"))


def add_months(d: exp.Expression, n: int) -> exp.Expression:
    """``d`` plus ``n`` calendar months (``d`` itself for 0)."""
    return d if not n else exp.DateAdd(this=d, expression=number(int(n)), unit=exp.var("MONTH"))


def month_day(d: exp.Expression) -> exp.Expression:
    """``MMDD`` as a number (1201 for 1 December)."""
    return exp.Add(this=exp.Mul(this=exp.Month(this=d), expression=number(100)), expression=exp.Day(this=d))


def month_index(d: exp.Expression) -> exp.Expression:
    """``year × 12 + month``: consecutive months have consecutive numbers."""
    return exp.Paren(
        this=exp.Add(this=exp.Mul(this=exp.Year(this=d), expression=number(12)), expression=exp.Month(this=d))
    )


def months_len(s: exp.Expression, e: exp.Expression) -> exp.Expression:
    """Calendar months from the month of ``s`` to the month of ``e``, both included."""
    return exp.Paren(this=exp.Add(this=exp.Sub(this=month_index(e), expression=month_index(s)), expression=number(1)))


def window(
    fn: exp.Expression,
    partition: Sequence[exp.Expression] = (),
    order: Sequence[exp.Expression | tuple[exp.Expression, bool]] = (),
    preceding: tuple[int, int] | None = None,
) -> exp.Window:
    """``fn OVER (PARTITION BY … ORDER BY …)``; an order item ``(expr, True)`` is descending.

    ``preceding=(a, b)`` frames the window ``ROWS BETWEEN a PRECEDING AND b PRECEDING``: the ``a`` … ``b`` rows
    just before the current one (a sliding history, read in one sorted pass instead of a self-join)."""
    ordered = [
        exp.Ordered(this=o[0], desc=o[1]) if isinstance(o, tuple) else exp.Ordered(this=o, desc=False) for o in order
    ]
    kw: dict[str, Any] = {"this": fn}
    if partition:
        kw["partition_by"] = list(partition)
    if ordered:
        kw["order"] = exp.Order(expressions=ordered)
    if preceding is not None:
        kw["spec"] = exp.WindowSpec(
            kind="ROWS",
            start=number(preceding[0]),
            start_side="PRECEDING",
            end=number(preceding[1]),
            end_side="PRECEDING",
        )
    return exp.Window(**kw)


def over_partition(agg: exp.Expression, *partition: exp.Expression) -> exp.Expression:
    """``agg OVER (PARTITION BY …)``: a group's aggregate on each of its rows."""
    return exp.Window(this=agg, partition_by=list(partition))


def dense_rank(*keys: exp.Expression) -> exp.Expression:
    """A dense group number over ``keys`` (one finding per distinct key)."""
    return exp.Window(this=exp.Anonymous(this="DENSE_RANK"), order=exp.Order(expressions=list(keys)))


def union_all(parts: Sequence[exp.Select]) -> exp.Expression:
    """``a UNION ALL b UNION ALL …``."""
    out: exp.Expression = parts[0]
    for p in parts[1:]:
        out = exp.union(out, p, distinct=False)
    return out


def from_union(parts: Sequence[exp.Select], alias: str) -> exp.Expression:
    """The union of ``parts`` as a subquery named ``alias`` (one part is its own subquery)."""
    if len(parts) == 1:
        return parts[0].subquery(alias)
    return exp.Subquery(this=union_all(parts), alias=exp.TableAlias(this=exp.to_identifier(alias)))


def output_names(q: exp.Select) -> list[str]:
    """The names of a query's output columns, in order."""
    return [e.alias_or_name for e in q.expressions]


def values_table(rows: Sequence[Sequence[exp.Expression]], alias: str, columns: Sequence[str]) -> exp.Values:
    """An inline ``VALUES`` table of literal rows named ``alias`` with ``columns``."""
    return exp.Values(
        expressions=[exp.Tuple(expressions=list(r)) for r in rows],
        alias=exp.TableAlias(
            this=exp.to_identifier(alias), columns=[exp.to_identifier(c, quoted=True) for c in columns]
        ),
    )


DECIMAL_MONEY = "DECIMAL(38,10)"
DECIMAL_RATE = "DECIMAL(18,10)"


def decimal(e: exp.Expression, kind: str = DECIMAL_MONEY) -> exp.Expression:
    """``CAST(e AS DECIMAL…)``: exact arithmetic on fen and rates."""
    return exp.cast(e, exp.DataType.build(kind))


def round_fen(e: exp.Expression) -> exp.Expression:
    """Half-up (away from zero on ties) to whole fen; DECIMAL in, so exact."""
    return exp.Round(this=e, decimals=number(0))


def rate_lit(value: Any) -> exp.Expression:
    """A pack rate (``0.02``, ``"2%"``) as a numeric literal fraction."""
    return number(to_rate(value))


def text_sql(template: str, **values: exp.Expression) -> exp.Expression:
    """A catalogue text whose ``{name}`` fields are SQL expressions, as literals and values joined by ``||``."""
    out: exp.Expression | None = None
    for literal, name, _spec, _conv in Formatter().parse(template):
        for piece in ([string(literal)] if literal else []) + ([values[name]] if name is not None else []):
            out = piece if out is None else exp.DPipe(this=out, expression=piece)
    return out if out is not None else string("")


def problem_cols(code: str) -> list[exp.Expression]:
    """``problem`` and ``problem_en`` of a finding as the catalogue's ``findings.code`` texts."""
    return [named(string(t), n) for t, n in zip(texts("findings", code), PROBLEM_COLS, strict=True)]


def all_reasons(
    parts: Sequence[tuple[Any, str | exp.Expression, str | exp.Expression]], seps: tuple[str, str] = ("；", "; ")
) -> tuple[exp.Expression, exp.Expression]:
    """Every applying reason ``(condition, zh, en)``, joined (zh with '；', en with '; '), as two text
    expressions. A text is a literal or a text expression (a reason's template filled with the row's values)."""
    out = []
    for lang, sep in enumerate(seps, start=1):
        text: exp.Expression | None = None
        for cond, *words in parts:
            word = words[lang - 1]
            said = string(sep + word) if isinstance(word, str) else exp.DPipe(this=string(sep), expression=word)
            piece = case([(cond, said)], string(""))
            text = piece if text is None else exp.DPipe(this=text, expression=piece)
        assert text is not None
        out.append(exp.Substring(this=exp.Paren(this=text), start=number(len(sep) + 1)))
    return out[0], out[1]


def reason_columns(parts: Sequence[tuple[Any, str | exp.Expression, str | exp.Expression]]) -> list[exp.Expression]:
    """``problem`` / ``problem_en`` columns: every applying reason ``(condition, zh, en)``, joined."""
    return [named(e, n) for e, n in zip(all_reasons(parts), PROBLEM_COLS, strict=True)]


def first_reason(pairs: Sequence[tuple[Any, str | exp.Expression, str | exp.Expression]]) -> list[exp.Expression]:
    """``problem`` / ``problem_en`` columns: the first reason ``(condition, zh, en)`` that holds (a text is a
    literal or a text expression)."""

    def text(t: str | exp.Expression) -> exp.Expression:
        return string(t) if isinstance(t, str) else t

    zh = case([(c, text(z)) for c, z, _ in pairs])
    en = case([(c, text(e)) for c, _, e in pairs])
    return [named(zh, "problem"), named(en, "problem_en")]


__all__ += [
    "DECIMAL_MONEY", "DECIMAL_RATE", "PROBLEM_COLS", "add_days", "add_months", "all_reasons", "any_of", "case",
    "days_from", "decimal", "dense_rank", "eq", "first_reason", "flag", "from_union", "in_numbers",
    "in_texts", "is_null", "month_day", "month_index", "months_len", "named", "negate", "not_null", "or_zero",
    "output_names", "over_partition", "paren", "problem_cols", "rate_lit", "reason_columns", "round_fen", "sum_of",
    "text_sql", "union_all", "values_table", "window",
]


# --- conditions on optional columns ---------------------------------------------------------------


def optional_condition(node: Mapping[str, Any], kind: str, alias: str | None, scope: Scope | None) -> exp.Expression:
    """``{optional: condition, absent: true|false}``: the condition, or ``absent`` (default false) when the
    input lacks a column of ``kind`` it reads, so an optional column never makes the rule skip."""
    from fundaudit.engine.context import columns_of_condition  # the one walker of condition trees

    present = scope.present.get(kind) if scope is not None and scope.present is not None else None
    if present is None or columns_of_condition(node["optional"]) <= present:
        return exp.Paren(this=condition(node["optional"], kind, alias, scope=scope))
    return exp.true() if node.get("absent", False) else exp.false()

