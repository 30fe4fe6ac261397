"""Generic check types: what lets a user write a rule without Python (CONTRACT.md §5)."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from string import Formatter
from typing import Any

import sqlglot.expressions as exp

from fundaudit.engine import sql
from fundaudit.engine.checks import implements
from fundaudit.engine.checks.common import IN_PERIOD
from fundaudit.engine.context import CheckContext, Skip, columns_of_condition, columns_of_operand, matched_columns
from fundaudit.engine.findings import _param_text as param_text  # how a message says a parameter
from fundaudit.engine.sql import ROW_ID, all_of, col, select, table
from fundaudit.rules.conditions import reason_texts, template_fields
from fundaudit.rules.severity import LEVELS
from fundaudit.rules.values import column_type

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


@implements("lookup")
def lookup(ctx: CheckContext) -> exp.Select:
    """Does a matching row exist in another input? With ``fallback_on``, ``report`` or ``reasons``: the
    as-of match (:func:`_lookup_match`) and the reasons over it."""
    if ctx.args["reasons"] or ctx.args["report"] or ctx.args["fallback_on"]:
        return _lookup_match(ctx)
    other, on = ctx.args["table"], ctx.args["on"]
    pairs = sql.mapping_columns(on)
    ctx.need(*[loc for loc, _ in pairs])
    ctx.need(*[rem for _, rem in pairs], table=other)
    match = [exp.EQ(this=col(rem, "r"), expression=col(loc, "l")) for loc, rem in pairs]
    date = ctx.args["date"]
    if date:
        ctx.need(date)
        if ctx.args["valid_from"]:
            ctx.need(ctx.args["valid_from"], table=other)
            match.append(exp.LTE(this=col(ctx.args["valid_from"], "r"), expression=col(date, "l")))
        if ctx.args["valid_to"]:
            ctx.need(ctx.args["valid_to"], table=other)
            vt = col(ctx.args["valid_to"], "r")
            match.append(
                exp.Paren(
                    this=exp.or_(exp.Is(this=vt, expression=exp.Null()), exp.GTE(this=vt, expression=col(date, "l")))
                )
            )
    if ctx.args["where"] is not None:
        ctx.need(*sorted(columns_of_condition(ctx.args["where"])), table=other)
        match.append(sql.condition(ctx.args["where"], other, alias="r"))
    exists = exp.Exists(this=select(sql.number(1)).from_(table(other, "r")).where(exp.and_(*match)))
    fires = exp.Not(this=exists) if ctx.args["mode"] == "exists" else exists
    local = [loc for loc, _ in pairs] + ([date] if date else [])
    where = all_of(
        [
            ctx.rule.where and ctx.where("l"),
            *[exp.Not(this=exp.Is(this=col(c, "l"), expression=exp.Null())) for c in local],
            fires,
        ]
    )
    return (
        select(col(ROW_ID, "l"), *[col(c, "l") for c in dict.fromkeys(local)])
        .from_(table(ctx.ledger, "l"))
        .where(where)
    )


# --- reasons: several problems in one rule (flag, lookup) -----------------------------------------------

_SEPS = ("；", "; ")  # how the texts of several applying reasons are joined: zh, en


def _as_text(e: exp.Expression, unit: str) -> exp.Expression:
    """A value as message text: dates ``YYYY-MM-DD``, money in yuan with two decimals, empty for nothing."""
    if unit == "date":
        text: exp.Expression = exp.TimeToStr(this=e, format=sql.string("%Y-%m-%d"))
    elif unit == "money":
        text = exp.Anonymous(
            this="printf", expressions=[sql.string("%.2f"), exp.Div(this=e, expression=sql.number(100.0))]
        )
    else:
        text = exp.cast(e, exp.DataType.build("VARCHAR"))
    return exp.Coalesce(this=text, expressions=[sql.string("")])


def _template(text: str, values: Mapping[str, exp.Expression]) -> exp.Expression:
    """A reason's text with its ``{name}`` fields as SQL values, joined by ``||``."""
    out: exp.Expression | None = None
    for literal, name, _spec, _conv in Formatter().parse(text):
        for piece in ([sql.string(literal)] if literal else []) + ([values[name]] if name is not None else []):
            out = piece if out is None else exp.DPipe(this=out, expression=piece)
    return out if out is not None else sql.string("")


def _reasons(
    ctx: CheckContext,
    reasons: Sequence[Mapping[str, Any]],
    *,
    alias: str | None = None,
    scope: sql.Scope | None = None,
    fields: Mapping[str, tuple[exp.Expression, str]] | None = None,
    first: bool = False,
) -> tuple[list[exp.Expression], list[exp.Expression]]:
    """Each reason's condition, and the finding's columns: ``problem``/``problem_en`` (every applying
    reason's text, in declared order, joined by '；' and '; ') and ``_severity`` (the most severe applying
    reason's, when any reason names one). ``fields`` are values a text may name besides the row's columns
    and the rule's parameters (said as a message says them: lists joined by '、' or ', ')."""
    fields = fields or {}
    conds = [exp.Coalesce(this=ctx.condition(r["when"], alias, scope), expressions=[exp.false()]) for r in reasons]
    templates = [reason_texts(r["problem"]) for r in reasons]
    names = [n for pair in templates for t in pair for n in template_fields(t) if n not in fields]
    params = ctx.rule.params
    names = [n for n in names if n not in params]
    ctx.need(*dict.fromkeys(names))
    values = {n: _as_text(col(n, alias), sql.unit_of(ctx.ledger, n)) for n in names}
    values.update({n: _as_text(e, unit) for n, (e, unit) in fields.items()})
    out: list[exp.Expression] = []
    for lang, (name, sep) in enumerate(zip(("problem", "problem_en"), _SEPS, strict=True)):
        said = {p: sql.string(param_text(v, "、" if lang == 0 else ", ")) for p, v in params.items()}
        text: exp.Expression | None = None
        if first:  # only the first applying reason's text
            whens = [(c, _template(pair[lang], {**said, **values})) for c, pair in zip(conds, templates, strict=True)]
            out.append(exp.alias_(sql.case(whens), name, quoted=True))
            continue
        for cond, pair in zip(conds, templates, strict=True):
            body = exp.DPipe(this=sql.string(sep), expression=_template(pair[lang], {**said, **values}))
            piece = exp.Case().when(cond, body).else_(sql.string(""))
            text = piece if text is None else exp.DPipe(this=text, expression=piece)
        assert text is not None
        cut = exp.Substring(this=exp.Paren(this=text), start=sql.number(len(sep) + 1))
        out.append(exp.alias_(cut, name, quoted=True))
    if any(r.get("severity") for r in reasons):
        levels = [r.get("severity") or ctx.rule.severity for r in reasons]
        severity = exp.Case()
        for level in LEVELS:
            applying = [c for c, lv in zip(conds, levels, strict=True) if lv == level]
            if applying:
                severity = severity.when(exp.Paren(this=exp.or_(*applying)), sql.string(level))
        out.append(exp.alias_(severity, "_severity", quoted=True))
    return conds, out


def _read_by(reasons: Sequence[Mapping[str, Any]]) -> list[str]:
    """The ledger's columns the reasons' conditions read (derived facts included), sorted."""
    return sorted(set().union(*(columns_of_condition(r["when"]) for r in reasons)))


@implements("flag")
def flag(ctx: CheckContext) -> exp.Select:
    """Rows for which any reason holds; the finding says every applying reason (or the first, with
    ``say: first``). Reasons naming columns the input lacks are left out (the rule skips only when no
    reason is left), as are ``report`` columns and ``values`` it lacks."""
    computed = _computed_values(ctx, ctx.args["values"] or {})
    reasons = _runnable_reasons(ctx, ctx.args["reasons"], computed)
    report = [c for c in ctx.args["report"] or [] if ctx.has(c)]
    conds, texts = _reasons(ctx, reasons, fields=computed, first=ctx.args["say"] == "first")
    shown = [c for c in dict.fromkeys([*_read_by(reasons), *report]) if "__" not in c and c not in computed]
    amount = ctx.amount()
    # only rows of the audit period: a one-row finding outside it would be dropped anyway
    in_period = sql.eq(col(IN_PERIOD), exp.true()) if ctx.has(IN_PERIOD) else None
    return (
        select(
            col(ROW_ID),
            *[col(c) for c in shown],
            *[exp.alias_(e, name, quoted=True) for name, (e, _) in computed.items()],
            *texts,
            *([exp.alias_(amount, "_amount", quoted=True)] if amount is not None else []),
        )
        .from_(table(ctx.ledger))
        .where(all_of([ctx.where(), in_period, exp.Paren(this=exp.or_(*conds))]))
    )


def _computed_values(ctx: CheckContext, values: Mapping[str, Any]) -> dict[str, tuple[exp.Expression, str]]:
    """flag's ``values``: each ``{name: operand}`` the input has the columns of, as an expression and its
    unit (recorded in ``ctx.units`` so the finding shows money in yuan)."""
    present = [n for n, node in values.items() if all(ctx.has(c) for c in columns_of_operand(node))]
    out = {n: sql.operand(values[n], ctx.ledger, scope=ctx.scope()) for n in present}
    ctx.units.update({n: unit for n, (_, unit) in out.items()})
    return out


def _runnable_reasons(
    ctx: CheckContext, reasons: Sequence[Mapping[str, Any]], computed: Mapping[str, Any]
) -> list[Mapping[str, Any]]:
    """The reasons whose condition and texts name only columns the input has (``computed`` values and
    parameters aside); when none is left, skip naming every missing column."""
    declared = ctx.args.get("values") or {}
    kept, missing = [], []
    for r in reasons:
        texts = [n for t in reason_texts(r["problem"]) for n in template_fields(t) if n not in ctx.rule.params]
        names = [c for n in texts for c in (sorted(columns_of_operand(declared[n])) if n in declared else [n])]
        lacking = [c for c in [*sorted(columns_of_condition(r["when"])), *names] if not ctx.has(c)]
        missing.extend(lacking)
        kept.extend([] if lacking else [r])
    if not kept:
        ctx.need(*dict.fromkeys(missing))
    return kept


# --- lookup with a fallback key, reported values and reasons over the match ------------------------------


def _usable(kind: str, name: str, alias: str) -> exp.Expression:
    """A key column can match: present, and when it holds a resident ID, not one Excel stored as a number
    (its last digits are lost, so two such IDs being equal says nothing)."""
    present = exp.Not(this=exp.Is(this=col(name, alias), expression=exp.Null()))
    if column_type(kind, name) != "resident_id":
        return present
    return exp.and_(present, exp.NEQ(this=col(f"{name}__status", alias), expression=sql.string("excel_number")))


def _id_pairs(ledger: str, other: str, on: Mapping[str, str]) -> list[tuple[str, str]]:
    return [
        (loc, rem)
        for loc, rem in sql.mapping_columns(on)
        if column_type(ledger, loc) == "resident_id" and column_type(other, rem) == "resident_id"
    ]


def _lookup_match(ctx: CheckContext) -> exp.Select:
    """Each row of the ledger with the rows of ``table`` it matches as of its ``date``: on ``on``, else
    (rows whose ``on`` key found no row at all) on ``fallback_on``, which may not join two valid resident
    IDs that ``on`` compares. ``matched_on`` names the key (the other input's columns, or ``none``), the
    ``report``ed columns are the matched rows' least (or the earliest/latest row's by ``by``), and the
    reasons may read them as ``match.NAME``; without reasons, ``mode`` decides (exists: no match fires)."""
    other, ledger = ctx.args["table"], ctx.ledger
    reasons = ctx.args["reasons"] or []
    report: dict[str, str] = dict(ctx.args["report"] or {})
    keys = [ctx.args["on"], *([ctx.args["fallback_on"]] if ctx.args["fallback_on"] else [])]
    for key in keys:
        ctx.need(*key)
        ctx.need(*key.values(), table=other)
    wanted = [*report.values(), *sorted(set().union(*(matched_columns(r["when"]) for r in reasons)))]
    pick, by = ctx.args["pick"], ctx.args["by"]
    if pick != "min" and not by:
        raise Skip("skip_bad_args", what="pick earliest/latest needs by")
    ctx.need(*wanted, *([by] if by else []), table=other)
    wanted = list(dict.fromkeys(wanted))
    valid = _validity(ctx)
    if ctx.args["where"] is not None:
        ctx.need(*sorted(columns_of_condition(ctx.args["where"])), table=other)
        valid.append(sql.condition(ctx.args["where"], other, alias="r", scope=ctx.scope()))
    parts = []
    guard = _id_pairs(ledger, other, keys[0])
    for i, key in enumerate(keys):
        pairs = sql.mapping_columns(key)
        conds = [_usable(ledger, loc, "l") for loc, _ in pairs]
        if i:  # only rows the first key found no row for; a fallback may not join two valid IDs
            first = sql.mapping_columns(keys[0])
            earlier = (
                select(sql.number(1))
                .from_(table(other, "r2"))
                .where(exp.and_(*[exp.EQ(this=col(rem, "r2"), expression=col(loc, "l")) for loc, rem in first]))
            )
            conds.append(exp.Not(this=exp.Exists(this=earlier)))
            for loc, rem in guard:
                conds.append(
                    exp.Paren(
                        this=exp.or_(
                            exp.Is(this=col(loc, "l"), expression=exp.Null()),
                            exp.NEQ(this=col(f"{loc}__status", "l"), expression=sql.string("ok")),
                            exp.Is(this=col(rem, "r"), expression=exp.Null()),
                            exp.NEQ(this=col(f"{rem}__status", "r"), expression=sql.string("ok")),
                        )
                    )
                )
        label = "+".join(rem for _, rem in pairs)
        on = exp.and_(*[exp.EQ(this=col(rem, "r"), expression=col(loc, "l")) for loc, rem in pairs], *valid)
        parts.append(
            select(
                exp.alias_(col(ROW_ID, "l"), ROW_ID, quoted=True),
                exp.alias_(sql.string(label), "matched_on", quoted=True),
                *[
                    exp.alias_(col(c, "r"), sql.MATCHED + c, quoted=True)
                    for c in dict.fromkeys([*wanted, *([by] if by else [])])
                ],
            )
            .from_(table(ledger, "l"))
            .join(table(other, "r"), on=on)
            .where(exp.and_(*conds))
        )
    union: exp.Expression = parts[0]
    for p in parts[1:]:
        union = exp.union(union, p, distinct=False)
    matches = exp.Subquery(this=union, alias=exp.TableAlias(this=exp.to_identifier("m")))

    def agg(c: str) -> exp.Expression:
        if pick == "min":
            return exp.Min(this=col(sql.MATCHED + c))
        cls = exp.ArgMin if pick == "earliest" else exp.ArgMax
        return cls(this=col(sql.MATCHED + c), expression=col(sql.MATCHED + by))

    grouped = (
        select(
            col(ROW_ID),
            exp.alias_(exp.Min(this=col("matched_on")), "matched_on", quoted=True),
            *[exp.alias_(agg(c), sql.MATCHED + c, quoted=True) for c in wanted],
        )
        .from_(matches)
        .group_by(col(ROW_ID))
    )
    matched = exp.Not(this=exp.Is(this=col(ROW_ID, "a"), expression=exp.Null()))
    scope = ctx.scope(other=other, match_alias="a", matched=matched)
    fields = {name: (col(sql.MATCHED + c, "a"), sql.unit_of(other, c)) for name, c in report.items()}
    fields["matched_on"] = (exp.Coalesce(this=col("matched_on", "a"), expressions=[sql.string("none")]), "text")
    if reasons:
        conds, texts = _reasons(ctx, reasons, alias="l", scope=scope, fields=fields)
        fires: exp.Expression = exp.Paren(this=exp.or_(*conds))
    else:
        texts = []
        fires = exp.Not(this=matched) if ctx.args["mode"] == "exists" else matched
    shown = [c for c in _read_by(reasons) if "__" not in c]
    amount = ctx.amount("l")
    return (
        select(
            col(ROW_ID, "l"),
            *[col(c, "l") for c in shown],
            exp.alias_(fields["matched_on"][0], "matched_on", quoted=True),
            *[exp.alias_(e, name, quoted=True) for name, (e, _) in fields.items() if name != "matched_on"],
            *texts,
            *([exp.alias_(amount, "_amount", quoted=True)] if amount is not None else []),
        )
        .from_(table(ledger, "l"))
        .join(grouped.subquery("a"), on=exp.EQ(this=col(ROW_ID, "a"), expression=col(ROW_ID, "l")), join_type="left")
        .where(all_of([ctx.rule.where and ctx.where("l"), fires]))
    )


def _validity(ctx: CheckContext) -> list[exp.Expression]:
    """The other input's row is valid on the ledger row's ``date``: valid_from ≤ date ≤ valid_to (empty: open)."""
    date, other = ctx.args["date"], ctx.args["table"]
    if not date:
        return []
    ctx.need(date)
    out: list[exp.Expression] = []
    if ctx.args["valid_from"]:
        ctx.need(ctx.args["valid_from"], table=other)
        out.append(exp.LTE(this=col(ctx.args["valid_from"], "r"), expression=col(date, "l")))
    if ctx.args["valid_to"]:
        ctx.need(ctx.args["valid_to"], table=other)
        vt = col(ctx.args["valid_to"], "r")
        out.append(
            exp.Paren(this=exp.or_(exp.Is(this=vt, expression=exp.Null()), exp.GTE(this=vt, expression=col(date, "l"))))
        )
    return out
