"""Generic row and group check types: what lets a user write a rule without Python (CONTRACT.md §5).

Several reasons in one rule are ``flag.py``'s, matching another input ``lookup.py``'s. Signatures in
``fundaudit/rules/signatures/generic.py``; tested in ``tests/checks/test_generic.py``.
"""

from __future__ import annotations

import itertools

import sqlglot.expressions as exp

from fundaudit.engine import sql
from fundaudit.engine.checks import implements
from fundaudit.engine.context import (
    CheckContext,
    Skip,
    columns_of_condition,
    columns_of_operand,
)
from fundaudit.engine.sql import ROW_ID, all_of, col, select, table

__all__: list[str] = []


def _row_query(ctx: CheckContext, predicate: exp.Expression, columns: list[str]) -> exp.Select:
    """Rows of the rule's ledger passing its ``where`` and failing the check, with value columns."""
    present = [c for c in dict.fromkeys(columns) if ctx.has(c)]
    cols: list[exp.Expression] = [col(ROW_ID), *[col(c) for c in present]]
    amount = ctx.amount()
    if amount is not None:
        cols.append(exp.alias_(amount, "_amount", quoted=True))
    return select(*cols).from_(table(ctx.ledger)).where(all_of([ctx.where(), predicate]))


def _not_null(name: str) -> exp.Expression:
    return exp.Not(this=exp.Is(this=col(name), expression=exp.Null()))


@implements("not_null")
def not_null(ctx: CheckContext) -> exp.Select:
    cols = ctx.args["columns"]
    ctx.need(*cols)
    nulls = [exp.Is(this=col(c), expression=exp.Null()) for c in cols]
    pred = exp.or_(*nulls) if ctx.args["mode"] == "any" else exp.and_(*nulls)
    return _row_query(ctx, exp.Paren(this=pred), cols)


@implements("in_set")
def in_set(ctx: CheckContext) -> exp.Select:
    name = ctx.args["column"]
    ctx.need(name)
    unit = sql.unit_of(ctx.ledger, name)
    values = ctx.args["values"]
    tol = float(ctx.args["tolerance"] or 0)
    if unit in ("money", "rate", "number") and tol:
        tol_lit = sql.money_lit(tol) if unit == "money" else sql.number(tol)
        member: exp.Expression = (
            exp.or_(
                *[
                    exp.LTE(this=exp.Abs(this=exp.Sub(this=col(name), expression=sql.lit(v, unit))), expression=tol_lit)
                    for v in values
                ]
            )
            if values
            else exp.false()
        )
        member = exp.Paren(this=member)
    else:
        member = exp.In(this=col(name), expressions=[sql.lit(v, unit) for v in values]) if values else exp.false()
    fails = member if ctx.args["negate"] else exp.Not(this=member)
    return _row_query(ctx, exp.and_(_not_null(name), fails), [name])


@implements("range")
def in_range(ctx: CheckContext) -> exp.Select:
    name = ctx.args["column"]
    ctx.need(name)
    unit = sql.unit_of(ctx.ledger, name)
    lo, hi, inclusive = ctx.args["min"], ctx.args["max"], ctx.args["inclusive"]
    outside = []
    if lo is not None:
        cls = exp.LT if inclusive else exp.LTE
        outside.append(cls(this=col(name), expression=sql.lit(lo, unit)))
    if hi is not None:
        cls = exp.GT if inclusive else exp.GTE
        outside.append(cls(this=col(name), expression=sql.lit(hi, unit)))
    pred = exp.Paren(this=exp.or_(*outside)) if outside else exp.false()
    return _row_query(ctx, exp.and_(_not_null(name), pred), [name])


@implements("regex")
def regex(ctx: CheckContext) -> exp.Select:
    name = ctx.args["column"]
    ctx.need(name)
    match = exp.RegexpLike(this=col(name), expression=sql.string(ctx.args["pattern"]))
    fails = match if ctx.args["negate"] else exp.Not(this=match)
    return _row_query(ctx, exp.and_(_not_null(name), fails), [name])


@implements("unique")
def unique(ctx: CheckContext) -> exp.Select:
    keys = ctx.args["columns"]
    ctx.need(*keys)
    n = exp.Window(this=exp.Count(this=exp.Star()), partition_by=[col(k) for k in keys])
    rank = exp.Window(this=exp.Anonymous(this="DENSE_RANK"), order=exp.Order(expressions=[col(k) for k in keys]))
    inner = (
        select(col(ROW_ID), *[col(k) for k in keys], exp.alias_(n, "_n", quoted=True))
        .from_(table(ctx.ledger))
        .where(all_of([ctx.where(), *[_not_null(k) for k in keys]]))
    )
    return (
        select(
            col(ROW_ID),
            exp.alias_(rank, "_finding", quoted=True),
            *[col(k) for k in keys],
            exp.alias_(col("_n"), "count", quoted=True),
        )
        .from_(inner.subquery("g"))
        .where(exp.GT(this=col("_n"), expression=sql.number(1)))
    )


@implements("compare")
def compare(ctx: CheckContext) -> exp.Select:
    left, right = ctx.args["left"], ctx.args["right"]
    cols = sorted(columns_of_operand(left) | columns_of_operand(right))
    ctx.need(*cols)
    holds = sql.compare(
        left, ctx.args["op"], right, ctx.ledger, tolerance=float(ctx.args["tolerance"] or 0), scope=ctx.scope()
    )
    return _row_query(ctx, all_of([*[_not_null(c) for c in cols], exp.Not(this=exp.Paren(this=holds))]), cols)


@implements("conditional")
def conditional(ctx: CheckContext) -> exp.Select:
    when, then = ctx.args["if"], ctx.args["then"]
    cols = sorted(columns_of_condition(when) | columns_of_condition(then))
    ctx.need(*cols)
    pred = exp.and_(ctx.condition(when), exp.Not(this=exp.Paren(this=ctx.condition(then))))
    return _row_query(ctx, pred, cols)


@implements("date_order")
def date_order(ctx: CheckContext) -> exp.Select:
    cols = ctx.args["columns"]
    ctx.need(*cols)
    grace = int(ctx.args["grace_days"] or 0)
    wrong = []
    for a, b in itertools.pairwise(cols):
        later: exp.Expression = col(b)
        if grace:
            later = exp.DateAdd(this=later, expression=sql.number(grace), unit=exp.var("DAY"))
        cls = exp.GTE if ctx.args["strict"] else exp.GT
        wrong.append(exp.and_(_not_null(a), _not_null(b), cls(this=col(a), expression=later)))
    return _row_query(ctx, exp.Paren(this=exp.or_(*wrong)), cols)


def _bucket(ctx: CheckContext, window: str, date: str | None) -> exp.Expression | None:
    if window == "all":
        return None
    if date is None:
        from fundaudit.engine.context import Skip

        raise Skip("skip_bad_args", what="window needs a date column")
    if window == "year":
        return exp.Year(this=col(date))
    unit = "MONTH" if window == "month" else "QUARTER"
    return exp.DateTrunc(unit=exp.var(unit), this=col(date))


@implements("group_cap")
def group_cap(ctx: CheckContext) -> exp.Select:
    keys, measure, column = ctx.args["group_by"], ctx.args["measure"], ctx.args["column"]
    date = ctx.args["date"]
    needed = [*keys, *([column] if column else []), *([date] if date else [])]
    ctx.need(*needed)
    if isinstance(ctx.args["window"], dict):
        return _rolling_cap(ctx, int(ctx.args["window"]["days"]))
    bucket = _bucket(ctx, ctx.args["window"], date)
    unit = sql.unit_of(ctx.ledger, column) if column and measure == "sum" else "number"
    cap = sql.lit(ctx.args["cap"], "money" if unit == "money" else "number")
    ctx.units.update(total=unit, cap=unit)
    if measure == "sum":
        agg: exp.Expression = exp.Sum(this=col(column))
    elif measure == "count":
        agg = exp.Count(this=exp.Star())
    else:
        agg = exp.Count(this=exp.Distinct(expressions=[col(column)]))
    part = [col(k) for k in keys] + ([bucket] if bucket is not None else [])
    total = exp.Window(this=agg, partition_by=part) if measure != "count_distinct" else None
    filters = [
        ctx.where(),
        *[_not_null(k) for k in keys],
        *([_not_null(date)] if date else []),
        *([_not_null(column)] if column else []),
    ]
    base = select(col(ROW_ID), *[col(c) for c in dict.fromkeys(needed)]).from_(table(ctx.ledger)).where(all_of(filters))
    if bucket is not None:
        base = base.select(exp.alias_(bucket, "_bucket", quoted=True))
    gkeys = [col(k) for k in keys] + ([col("_bucket")] if bucket is not None else [])
    if total is None:  # COUNT(DISTINCT …) OVER is not portable: aggregate, then join back
        agg_q = select(*gkeys, exp.alias_(agg, "total", quoted=True)).from_(base.subquery("b")).group_by(*gkeys)
        joined = (
            select(col(ROW_ID, "b"), *[col(c, "b") for c in dict.fromkeys(needed)], col("total", "a"))
            .from_(base.subquery("b"))
            .join(
                agg_q.subquery("a"),
                on=exp.and_(*[exp.EQ(this=col(k.name, "b"), expression=col(k.name, "a")) for k in gkeys]),
            )
        )
        scored = joined
    else:
        scored = base.select(exp.alias_(total, "total", quoted=True))
    rank = exp.Window(this=exp.Anonymous(this="DENSE_RANK"), order=exp.Order(expressions=gkeys))
    return (
        select(
            col(ROW_ID),
            exp.alias_(rank, "_finding", quoted=True),
            *[col(c) for c in dict.fromkeys(needed)],
            col("total"),
            exp.alias_(cap, "cap", quoted=True),
        )
        .from_(scored.subquery("s"))
        .where(exp.GT(this=col("total"), expression=cap))
    )


def _rolling_cap(ctx: CheckContext, days: int) -> exp.Select:
    """group_cap over rolling windows: each row's window is the rows of its group dated within
    [its date − days + 1, its date]; a window over the cap is a finding listing its rows (windows that
    share a row become one finding)."""
    keys, measure, column, date = ctx.args["group_by"], ctx.args["measure"], ctx.args["column"], ctx.args["date"]
    if date is None:
        raise Skip("skip_bad_args", what="window needs a date column")
    needed = list(dict.fromkeys([*keys, *([column] if column else []), date]))
    unit = sql.unit_of(ctx.ledger, column) if column and measure == "sum" else "number"
    cap = sql.lit(ctx.args["cap"], "money" if unit == "money" else "number")
    ctx.units.update(total=unit, cap=unit)
    filters = [ctx.where(), *[_not_null(c) for c in needed]]
    base = select(col(ROW_ID), *[col(c) for c in needed]).from_(table(ctx.ledger)).where(all_of(filters))

    def window(anchor: str, row: str) -> exp.Expression:
        start = exp.DateAdd(this=col(date, anchor), expression=sql.number(1 - days), unit=exp.var("DAY"))
        return exp.and_(
            *[exp.EQ(this=col(k, row), expression=col(k, anchor)) for k in keys],
            exp.Between(this=col(date, row), low=start, high=col(date, anchor)),
        )

    if measure == "sum":
        agg: exp.Expression = exp.Sum(this=col(column, "b"))
    elif measure == "count":
        agg = exp.Count(this=exp.Star())
    else:
        agg = exp.Count(this=exp.Distinct(expressions=[col(column, "b")]))
    over = (
        select(exp.alias_(col(ROW_ID, "a"), "_anchor", quoted=True), exp.alias_(agg, "total", quoted=True))
        .from_(base.subquery("a"))
        .join(base.subquery("b"), on=window("a", "b"))
        .group_by(col(ROW_ID, "a"))
        .having(exp.GT(this=agg, expression=cap))
    )
    return (
        select(
            col(ROW_ID, "b"),
            exp.alias_(col("_anchor", "x"), "_finding", quoted=True),
            *[col(c, "b") for c in needed],
            col("total", "x"),
            exp.alias_(cap, "cap", quoted=True),
        )
        .from_(over.subquery("x"))
        .join(base.subquery("a"), on=exp.EQ(this=col(ROW_ID, "a"), expression=col("_anchor", "x")))
        .join(base.subquery("b"), on=window("a", "b"))
    )
