"""Dues check types (tax-collected 工会经费 / 建会筹备金), named after what each checks.

Every implementation renders one sqlglot query over the registered ``dues`` table (and the reference
tables ``min_wage`` and ``ratios`` where it needs them). Money is integer fen, rates are fractions,
dates are midnight timestamps. Pack values enter as literals; the SQL keeps to functions sqlglot
transpiles to Spark SQL. How each rule reads ``domain.md`` §7.1 is spelled out in ``docs/rules-dues.md``.

Conventions shared by the queries:

- rows are those of the rule's ledger that pass its ``where``; history rows outside the audit period
  are visible (the engine keeps a finding only when one of its rows is in the period);
- a test needing a value the row does not have (blank date, blank base) does not fire on that row;
- where a rule has several reasons, the query returns ``problem`` (zh) and ``problem_en`` (en) for the
  message;
- ``_amount`` is the rule's ``amount:`` operand when it declares one, otherwise the money the check
  itself computes as at issue (a difference), if any.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import sqlglot.expressions as exp

from fundaudit.engine import sql
from fundaudit.engine.checks import implements
from fundaudit.engine.context import CheckContext, Skip
from fundaudit.engine.sql import ROW_ID, all_of, col, number, select, string, table
from fundaudit.errors import texts

__all__ = ["SHARES", "gap_slots"]

DUES = "dues"
MIN_WAGE = "min_wage"
RATIOS = "ratios"
# Allocation shares in ledger order: (canonical stem, zh label, en label). The fee is the last share.
_SHARE_STEMS = (
    "share_grassroots", "share_prep_fund", "share_county", "share_city", "share_province", "share_acftu",
    "share_industry", "share_local", "fee",
)
SHARES: tuple[tuple[str, str, str], ...] = tuple((s, *texts("values", f"share.{s}")) for s in _SHARE_STEMS)
UPPER_SHARES = ("share_county", "share_city", "share_province", "share_acftu", "share_industry", "share_local")
DECIMAL_MONEY = "DECIMAL(38,10)"
DECIMAL_RATE = "DECIMAL(18,10)"
IN_PERIOD = "_in_period"  # registered by the engine: the row belongs to the audit period


# --- small builders -------------------------------------------------------------------------------


def _c(name: str, alias: str | None = None) -> exp.Column:
    return col(name, alias)


def _nn(e: exp.Expression) -> exp.Expression:
    return exp.Not(this=exp.Is(this=e, expression=exp.Null()))


def _null(e: exp.Expression) -> exp.Expression:
    return exp.Is(this=e, expression=exp.Null())


def _or(*parts: exp.Expression | None) -> exp.Expression:
    items = [p for p in parts if p is not None]
    return exp.Paren(this=exp.or_(*items)) if items else exp.false()


def _eq(a: exp.Expression, b: exp.Expression) -> exp.Expression:
    return exp.EQ(this=a, expression=b)


def _as(e: exp.Expression, name: str) -> exp.Expression:
    return exp.alias_(e, name, quoted=True)


def _sum(parts: Sequence[exp.Expression]) -> exp.Expression:
    out = parts[0]
    for p in parts[1:]:
        out = exp.Add(this=out, expression=p)
    return exp.Paren(this=out)


def _coalesce0(e: exp.Expression) -> exp.Expression:
    return exp.Coalesce(this=e, expressions=[number(0)])


def _case(pairs: Sequence[tuple[exp.Expr, exp.Expr]], default: exp.Expr | None = None) -> exp.Case:
    case = exp.case()
    for cond, value in pairs:
        case = case.when(cond, value)
    return case.else_(default if default is not None else exp.Null())


def _reasons(pairs: Sequence[tuple[exp.Expr, str, str]]) -> list[exp.Expression]:
    """``problem`` / ``problem_en`` columns: the first reason that holds, in both languages."""
    zh = _case([(c, string(z)) for c, z, _ in pairs])
    en = _case([(c, string(e)) for c, _, e in pairs])
    return [_as(zh, "problem"), _as(en, "problem_en")]


def _win(
    fn: exp.Expression,
    partition: Sequence[exp.Expression] = (),
    order: Sequence[exp.Expression | tuple[exp.Expression, bool]] = (),
) -> exp.Window:
    """``fn OVER (PARTITION BY … ORDER BY …)``; an order item ``(expr, True)`` is descending."""
    ordered = [
        exp.Ordered(this=o[0], desc=o[1]) if isinstance(o, tuple) else exp.Ordered(this=o, desc=False) for o in order
    ]
    kw: dict[str, Any] = {"this": fn}
    if partition:
        kw["partition_by"] = list(partition)
    if ordered:
        kw["order"] = exp.Order(expressions=ordered)
    return exp.Window(**kw)


def _dense_rank(order: Sequence[exp.Expression]) -> exp.Window:
    return _win(exp.Anonymous(this="DENSE_RANK"), order=order)


def _add(e: exp.Expression, n: int, unit: str) -> exp.Expression:
    return exp.DateAdd(this=e, expression=number(int(n)), unit=exp.var(unit)) if n else e


def _month_index(d: exp.Expression) -> exp.Expression:
    return exp.Paren(
        this=exp.Add(this=exp.Mul(this=exp.Year(this=d), expression=number(12)), expression=exp.Month(this=d))
    )


def _months_len(s: exp.Expression, e: exp.Expression) -> exp.Expression:
    """Calendar months from the month of ``s`` to the month of ``e``, both included."""
    return exp.Paren(this=exp.Add(this=exp.Sub(this=_month_index(e), expression=_month_index(s)), expression=number(1)))


def _diff_days(later: exp.Expression, earlier: exp.Expression) -> exp.Expression:
    return exp.DateDiff(this=later, expression=earlier, unit=exp.var("DAY"))


def _dec(e: exp.Expression, kind: str = DECIMAL_MONEY) -> exp.Expression:
    return exp.cast(e, exp.DataType.build(kind))


def _round_fen(e: exp.Expression) -> exp.Expression:
    """Half-up (away from zero on ties) to whole fen; DECIMAL in, so exact."""
    return exp.Round(this=e, decimals=number(0))


def _fen_times_rate(fen: exp.Expression, rate: exp.Expression) -> exp.Expression:
    return _round_fen(exp.Mul(this=_dec(fen), expression=_dec(rate, DECIMAL_RATE)))


def _tol_fen(yuan: Any) -> exp.Expression:
    return sql.money_lit(yuan)


def _rate_lit(value: Any) -> exp.Expression:
    return number(sql.to_rate(value))


def _values_table(rows: Sequence[Sequence[exp.Expression]], alias: str, columns: Sequence[str]) -> exp.Values:
    """An inline ``VALUES`` table of literal rows."""
    return exp.Values(
        expressions=[exp.Tuple(expressions=list(r)) for r in rows],
        alias=exp.TableAlias(
            this=exp.to_identifier(alias), columns=[exp.to_identifier(c, quoted=True) for c in columns]
        ),
    )


def _base(ctx: CheckContext, alias: str) -> exp.Expression | None:
    """The rule's ``where`` on the ledger aliased ``alias`` (None when it has none)."""
    return ctx.where(alias) if ctx.rule.where is not None else None


def _reported(ctx: CheckContext, alias: str) -> exp.Expression | None:
    """Rows a row rule may report: the rule's ``where`` and the engine's in-period flag (a finding on a
    row outside the period would be dropped anyway; rules reading history use ``_base``)."""
    in_period = _eq(_c(IN_PERIOD, alias), exp.true()) if ctx.has(IN_PERIOD) else None
    return all_of([_base(ctx, alias), in_period]) if in_period is not None else _base(ctx, alias)


def _amount(ctx: CheckContext, alias: str | None, computed: exp.Expression | None = None) -> list[exp.Expression]:
    """``_amount``: the rule's ``amount:`` operand, else what the check computed, else nothing."""
    declared = ctx.amount(alias)
    chosen = declared if declared is not None else computed
    return [_as(chosen, "_amount")] if chosen is not None else []


def _present(ctx: CheckContext, names: Sequence[str], alias: str | None = None) -> list[exp.Expression]:
    """Ledger columns as value columns of the same name; NULL for those the input lacks, so a message
    naming them shows "—" rather than a placeholder."""
    return [_as(_c(n, alias) if ctx.has(n) else exp.Null(), n) for n in dict.fromkeys(names)]


def _need_reference(ctx: CheckContext, name: str, *columns: str) -> None:
    """Skip (with the reference-table reason) unless reference table ``name`` has ``columns``."""
    if name not in ctx.present:
        raise Skip("skip_no_reference", table=name)
    ctx.need(*columns, table=name)


# --- DUES-PERIOD ------------------------------------------------------------------------------------


@implements("dues_period")
def dues_period(ctx: CheckContext) -> exp.Select:
    """Start ≤ end, start on the 1st and end on a month's last day, an allowed length (a 3-, 6- or
    12-month period must be a calendar quarter, half-year or year: lengths dividing 12 must start on a
    multiple of their length), and money not in the treasury before the period starts."""
    ctx.need("period_start", "period_end")
    d = "d"
    s, e = _c("period_start", d), _c("period_end", d)
    n = _months_len(s, e)
    lengths = sorted({int(x) for x in ctx.args["allowed_lengths_months"] or []})
    fits = []
    for length in lengths:
        ok = _eq(n, number(length))
        if length > 1 and 12 % length == 0:
            aligned = _eq(
                exp.Mod(
                    this=exp.Paren(this=exp.Sub(this=exp.Month(this=s), expression=number(1))),
                    expression=number(length),
                ),
                number(0),
            )
            ok = exp.and_(ok, aligned)
        fits.append(ok)
    length_ok = _or(*fits)
    reasons: list[tuple[exp.Expr, str, str]] = [
        (exp.GT(this=s, expression=e), *texts("findings", "dues_period.starts_after_end")),
        (exp.NEQ(this=exp.Day(this=s), expression=number(1)), *texts("findings", "dues_period.not_month_start")),
        (
            exp.NEQ(this=exp.Day(this=_add(e, 1, "DAY")), expression=number(1)),
            *texts("findings", "dues_period.not_month_end"),
        ),
        (
            exp.Not(this=length_ok),
            *texts("findings", "dues_period.bad_length"),
        ),
    ]
    if ctx.has("treasury_date"):
        reasons.append(
            (
                exp.LT(this=_c("treasury_date", d), expression=s),
                *texts("findings", "dues_period.treasury_before_start"),
            )
        )
    fires = _or(*[r[0] for r in reasons])
    return (
        select(
            _c(ROW_ID, d),
            *_present(ctx, ["period_start", "period_end", "treasury_date"], d),
            _as(n, "months"),
            *_reasons(reasons),
            *_amount(ctx, d),
        )
        .from_(table(ctx.ledger, d))
        .where(all_of([_reported(ctx, d), _nn(s), _nn(e), fires]))
    )


# --- DUES-LATE ----------------------------------------------------------------------------------------


@implements("dues_deadline")
def dues_deadline(ctx: CheckContext) -> exp.Select:
    """Deadline = day ``deadline_day`` of the month after ``period_end`` (+ ``grace_days``), no
    holiday shift; fires once per row when any of the date columns present falls after it."""
    ctx.need("period_end")
    dates = [c for c in ctx.args["dates"] or [] if ctx.has(c)]
    if not dates:
        ctx.need(*(ctx.args["dates"] or ["treasury_date"]))
    d = "d"
    first_next = _add(exp.DateTrunc(unit=exp.var("MONTH"), this=_c("period_end", d)), 1, "MONTH")
    offset = int(ctx.args["deadline_day"]) - 1 + int(ctx.args["grace_days"] or 0)
    deadline = _add(first_next, offset, "DAY")
    late = [exp.GT(this=_c(c, d), expression=deadline) for c in dates]
    latest = exp.Greatest(
        this=exp.Coalesce(this=_c(dates[0], d), expressions=[deadline]),
        expressions=[exp.Coalesce(this=_c(c, d), expressions=[deadline]) for c in dates[1:]],
    )
    return (
        select(
            _c(ROW_ID, d),
            *_present(ctx, ["period_start", "period_end", *(ctx.args["dates"] or [])], d),
            _as(deadline, "deadline"),
            _as(_diff_days(latest, deadline), "days_late"),
            *_amount(ctx, d),
        )
        .from_(table(ctx.ledger, d))
        .where(all_of([_reported(ctx, d), _nn(_c("period_end", d)), _or(*late)]))
    )


# --- DUES-DUP -----------------------------------------------------------------------------------------


@implements("dues_duplicate")
def dues_duplicate(ctx: CheckContext) -> exp.Select:
    """Group 1: rows sharing the key whose payments net of reversals exceed one (positive rows minus
    negative rows > 1; without ``ignore_correction_pairs``: more than one positive row). Group 2:
    rows sharing one e-voucher number. Every row of a group is a ref; the engine merges groups that
    share a row. A group is named by its first row id (even for key groups, odd for voucher groups),
    which needs no global sort."""
    keys = list(ctx.args["key"] or [])
    ctx.need(*keys, "amount_paid")
    d, g = "d", "g"
    paid = _c("amount_paid")

    def one_if(cond: exp.Expression) -> exp.Expression:
        return _case([(cond, number(1))], number(0))

    pos = exp.Sum(this=one_if(exp.GT(this=paid, expression=number(0))))
    neg = exp.Sum(this=one_if(exp.LT(this=paid, expression=number(0))))
    count = exp.Sub(this=pos, expression=neg) if ctx.args["ignore_correction_pairs"] else pos
    shown = list(dict.fromkeys(["taxpayer_id", "fund_type", "period_start", "period_end", "voucher_no", *keys]))

    def grouped(group_keys: list[str], n: exp.Expression, odd: int) -> exp.Select:
        """Rows of the groups (aggregated first, then joined back: no sort of the whole ledger)."""
        where = all_of([ctx.where() if ctx.rule.where is not None else None, *[_nn(_c(k)) for k in group_keys]])
        agg = (
            select(
                *[_c(k) for k in group_keys],
                _as(exp.cast(n, exp.DataType.build("BIGINT")), "_n"),
                _as(exp.Min(this=_c(ROW_ID)), "_first"),
            )
            .from_(table(ctx.ledger))
            .where(where)
            .group_by(*[_c(k) for k in group_keys])
            .having(exp.GT(this=exp.cast(n, exp.DataType.build("BIGINT")), expression=number(1)))
        )
        fid = exp.Add(this=exp.Mul(this=_c("_first", g), expression=number(2)), expression=number(odd))
        return (
            select(_c(ROW_ID, d), _as(fid, "_finding"), *_present(ctx, shown, d), _as(_c("_n", g), "payments"))
            .from_(table(ctx.ledger, d))
            .join(agg.subquery(g), on=exp.and_(*[_eq(_c(k, d), _c(k, g)) for k in group_keys]))
            .where(_base(ctx, d))
        )

    query = grouped(keys, count, 0)
    if ctx.has("voucher_no"):
        union = exp.union(query, grouped(["voucher_no"], exp.Count(this=exp.Star()), 1), distinct=False)
        query = select(exp.Star()).from_(exp.Subquery(this=union, alias=exp.TableAlias(this=exp.to_identifier("u"))))
    return query


# --- DUES-GAP -----------------------------------------------------------------------------------------


def gap_slots(start: date, end: date, months: int) -> list[tuple[int, date, date]]:
    """Calendar months (``months`` = 1) or quarters (3) lying wholly inside [start, end], each with a
    running index (consecutive slots have consecutive indexes)."""
    out = []
    y, m = start.year, start.month
    while (y, m) <= (end.year, end.month):
        if (m - 1) % months == 0:
            ey, em = y, m + months - 1
            s, e = date(y, m, 1), date(ey, em, calendar.monthrange(ey, em)[1])
            if s >= start and e <= end:
                out.append(((y * 12 + m - 1) // months, s, e))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


@implements("dues_gap")
def dues_gap(ctx: CheckContext) -> exp.Select:
    """Per taxpayer (both fund types), positive rows: cadence = the most common period length (ties →
    the shorter) unless fixed; the expected slots are the calendar months or quarters of the audit
    period; a slot is covered when one row's period contains it. Each run of consecutive missing slots
    with at least ``min_prior_payments`` rows ending before it is one finding whose refs are the last
    payment before the run and the first after it (if any)."""
    ctx.need("taxpayer_id", "period_start", "period_end", "amount_paid")
    if ctx.period is None:
        raise Skip("skip_bad_args", what="DUES-GAP needs an audit period (--period)")
    cadence = ctx.args["cadence"]
    d = "d"
    s, e = _c("period_start", d), _c("period_end", d)
    pos = (
        select(
            _as(_c(ROW_ID, d), "rid"),
            _as(_c("taxpayer_id", d), "tid"),
            _as(s, "ps"),
            _as(e, "pe"),
            _as(_months_len(s, e), "len"),
        )
        .from_(table(ctx.ledger, d))
        .where(
            all_of(
                [
                    _base(ctx, d),
                    exp.GT(this=_c("amount_paid", d), expression=number(0)),
                    _nn(_c("taxpayer_id", d)),
                    _nn(s),
                    _nn(e),
                ]
            )
        )
    )
    if cadence == "infer":
        lens = select("tid", "len", _as(exp.Count(this=exp.Star()), "n")).from_("pos").group_by("tid", "len")
        ranked = select(
            "tid",
            "len",
            _as(_win(exp.RowNumber(), [_c("tid")], [(_c("n"), True), _c("len")]), "k"),
        ).from_(lens.subquery("l"))
        cad = select("tid", _as(_c("len"), "cad")).from_(ranked.subquery("r")).where(_eq(_c("k"), number(1)))
    else:
        months = 1 if cadence == "monthly" else 3
        cad = select("tid", _as(number(months), "cad")).from_("pos").group_by("tid")
    rows = [
        (number(i), sql.date_lit(a.isoformat()), sql.date_lit(b.isoformat()), number(months))
        for months in (1, 3)
        for i, a, b in gap_slots(ctx.period.start, ctx.period.end, months)
    ]
    if not rows:
        raise Skip("skip_bad_args", what="the audit period holds no whole month")
    slots = select(exp.Star()).from_(_values_table(rows, "v", ["idx", "ss", "se", "cad"]))
    covered = exp.Exists(
        this=select(number(1))
        .from_(table("pos", "p"))
        .where(
            exp.and_(
                _eq(_c("tid", "p"), _c("tid", "c")),
                exp.LTE(this=_c("ps", "p"), expression=_c("ss", "s")),
                exp.GTE(this=_c("pe", "p"), expression=_c("se", "s")),
            )
        )
    )
    miss = (
        select(_c("tid", "c"), _c("idx", "s"), _c("ss", "s"), _c("se", "s"))
        .from_(table("cad", "c"))
        .join(table("slots", "s"), on=_eq(_c("cad", "s"), _c("cad", "c")))
        .where(exp.Not(this=covered))
    )
    runs = select(
        "tid",
        "ss",
        "se",
        _as(exp.Sub(this=_c("idx"), expression=_win(exp.RowNumber(), [_c("tid")], [_c("idx")])), "grp"),
    ).from_("miss")
    gaps = (
        select(
            "tid",
            "grp",
            _as(exp.Min(this=_c("ss")), "gs"),
            _as(exp.Max(this=_c("se")), "ge"),
            _as(exp.Count(this=exp.Star()), "missing"),
        )
        .from_("runs")
        .group_by("tid", "grp")
    )
    gp = [_c("tid", "g"), _c("grp", "g")]
    before = (
        select(
            _c("tid", "g"),
            _c("grp", "g"),
            _c("gs", "g"),
            _c("ge", "g"),
            _c("missing", "g"),
            _c("rid", "p"),
            _as(_win(exp.Count(this=exp.Star()), gp), "prior"),
            _as(_win(exp.RowNumber(), gp, [(_c("pe", "p"), True), _c("rid", "p")]), "k"),
        )
        .from_(table("gaps", "g"))
        .join(
            table("pos", "p"),
            on=exp.and_(_eq(_c("tid", "p"), _c("tid", "g")), exp.LT(this=_c("pe", "p"), expression=_c("gs", "g"))),
        )
    )
    after = (
        select(
            _c("tid", "g"),
            _c("grp", "g"),
            _c("rid", "p"),
            _as(_win(exp.RowNumber(), gp, [_c("ps", "p"), _c("rid", "p")]), "k"),
        )
        .from_(table("gaps", "g"))
        .join(
            table("pos", "p"),
            on=exp.and_(_eq(_c("tid", "p"), _c("tid", "g")), exp.GT(this=_c("ps", "p"), expression=_c("ge", "g"))),
        )
    )
    fire = (
        select(
            "tid",
            "grp",
            "gs",
            "ge",
            "missing",
            "rid",
            _as(_dense_rank([_c("tid"), _c("grp")]), "fid"),
        )
        .from_("before")
        .where(
            exp.and_(
                _eq(_c("k"), number(1)),
                exp.GTE(this=_c("prior"), expression=number(int(ctx.args["min_prior_payments"]))),
            )
        )
    )
    out_cols = ["gs", "ge", "missing"]
    first = select(
        _as(_c("rid", "f"), ROW_ID),
        _as(_c("fid", "f"), "_finding"),
        *[_as(_c(c, "f"), {"gs": "gap_start", "ge": "gap_end"}.get(c, c)) for c in out_cols],
    ).from_(table("fire", "f"))
    second = (
        select(
            _as(_c("rid", "a"), ROW_ID),
            _as(_c("fid", "f"), "_finding"),
            *[_as(_c(c, "f"), {"gs": "gap_start", "ge": "gap_end"}.get(c, c)) for c in out_cols],
        )
        .from_(table("fire", "f"))
        .join(
            table("after", "a"),
            on=exp.and_(
                _eq(_c("tid", "a"), _c("tid", "f")),
                _eq(_c("grp", "a"), _c("grp", "f")),
                _eq(_c("k", "a"), number(1)),
            ),
        )
    )
    union = exp.union(first, second, distinct=False)
    query = (
        select(
            _c(ROW_ID, "u"),
            _c("_finding", "u"),
            _c("gap_start", "u"),
            _c("gap_end", "u"),
            _c("missing", "u"),
            *_present(ctx, ["taxpayer_id", "taxpayer_name"], d),
        )
        .from_(exp.Subquery(this=union, alias=exp.TableAlias(this=exp.to_identifier("u"))))
        .join(table(ctx.ledger, d), on=_eq(_c(ROW_ID, d), _c(ROW_ID, "u")))
    )
    for name, q in [
        ("pos", pos),
        ("cad", cad),
        ("slots", slots),
        ("miss", miss),
        ("runs", runs),
        ("gaps", gaps),
        ("before", before),
        ("after", after),
        ("fire", fire),
    ]:
        query = query.with_(name, as_=q)
    return query


# --- DUES-BASE-MIN ------------------------------------------------------------------------------------


def _region(ctx: CheckContext) -> exp.Expression | None:
    """The region filter on ``min_wage`` (alias ``m``): the rule's ``region_code``, else the run's, else
    the table's only region. When the engine lists the table's regions in ``ctx.extra['region_codes']``
    an ambiguous table is a skip; otherwise the query itself takes the only region and finds nothing
    when there are several."""
    if not ctx.has("region_code", table=MIN_WAGE):
        return None
    chosen = ctx.args.get("region_code") or ctx.region_code
    if chosen is None:
        known = (ctx.extra.get("region_codes") or {}).get(MIN_WAGE)
        if known is not None:
            codes = sorted({str(c) for c in known if c is not None})
            if len(codes) != 1:
                raise Skip("skip_ambiguous_region", table=MIN_WAGE)
            chosen = codes[0]
    if chosen is not None:
        return _eq(_c("region_code", "m"), string(str(chosen)))
    only = (
        select(exp.Min(this=_c("region_code")))
        .from_(table(MIN_WAGE))
        .having(_eq(exp.Count(this=exp.Distinct(expressions=[_c("region_code")])), number(1)))
    )
    return _eq(_c("region_code", "m"), only.subquery())


@implements("dues_base_min")
def dues_base_min(ctx: CheckContext) -> exp.Select:
    """Positive rows with a base: minimum = the minimum wage in force at ``period_start`` (latest
    ``effective_from`` on or before it) × headcount (1 when blank, zero or ``use_headcount`` is off)
    × months in the period; fires when the base is below it (equal passes). Rows before the first
    minimum-wage row are not checked."""
    ctx.need("wage_base", "period_start", "period_end", "amount_paid")
    _need_reference(ctx, MIN_WAGE, "effective_from", "monthly")
    region = _region(ctx)
    m = (
        select(
            _as(_c("effective_from", "m"), "f"),
            _as(_win(exp.Lead(this=_c("effective_from", "m")), order=[_c("effective_from", "m")]), "t"),
            _as(_c("monthly", "m"), "monthly"),
        )
        .from_(table(MIN_WAGE, "m"))
        .where(all_of([region, _nn(_c("effective_from", "m")), _nn(_c("monthly", "m"))]))
    )
    d = "d"
    s, e = _c("period_start", d), _c("period_end", d)
    months = exp.Greatest(this=_months_len(s, e), expressions=[number(1)])
    heads: exp.Expression = number(1)
    if ctx.args["use_headcount"] and ctx.has("headcount"):
        hc = _c("headcount", d)
        heads = _case([(exp.GT(this=hc, expression=number(0)), hc)], number(1))
    minimum = exp.Mul(this=exp.Mul(this=_c("monthly", "w"), expression=heads), expression=months)
    base = _c("wage_base", d)
    ctx.units.update(min_wage="money", minimum="money")
    return (
        select(
            _c(ROW_ID, d),
            *_present(ctx, ["period_start", "period_end", "wage_base", "headcount"], d),
            _as(_c("monthly", "w"), "min_wage"),
            _as(heads, "staff"),
            _as(months, "months"),
            _as(minimum, "minimum"),
            *_amount(ctx, d, exp.Sub(this=minimum, expression=base)),
        )
        .from_(table(ctx.ledger, d))
        .join(
            m.subquery("w"),
            on=exp.and_(
                exp.GTE(this=s, expression=_c("f", "w")),
                _or(_null(_c("t", "w")), exp.LT(this=s, expression=_c("t", "w"))),
            ),
        )
        .where(
            all_of(
                [
                    _reported(ctx, d),
                    exp.GT(this=_c("amount_paid", d), expression=number(0)),
                    _nn(base),
                    _nn(e),
                    exp.LT(this=base, expression=minimum),
                ]
            )
        )
    )


# --- DUES-BASE-DROP -----------------------------------------------------------------------------------


@implements("dues_base_drop")
def dues_base_drop(ctx: CheckContext) -> exp.Select:
    """Per taxpayer (both fund types), positive rows with a base ordered by period start: history =
    up to ``lookback`` rows just before the row with an earlier ``period_start``; with at least
    ``min_history`` of them, fires when base < median(history) × (1 − ``drop_ratio``)."""
    ctx.need("taxpayer_id", "wage_base", "period_start", "amount_paid")
    lookback = int(ctx.args["lookback"])
    if lookback < 1:
        raise Skip("skip_bad_args", what="lookback must be at least 1")
    d = "d"
    pos = (
        select(
            _as(_c(ROW_ID, d), "rid"),
            _as(_c("taxpayer_id", d), "tid"),
            _as(_c("period_start", d), "ps"),
            _as(_c("wage_base", d), "base"),
            _as(
                _win(exp.RowNumber(), [_c("taxpayer_id", d)], [_c("period_start", d), _c(ROW_ID, d)]),
                "rn",
            ),
            # 1 + the number of the taxpayer's rows with an earlier period start
            _as(_win(exp.Anonymous(this="RANK"), [_c("taxpayer_id", d)], [_c("period_start", d)]), "f"),
            _as(_c(IN_PERIOD, d) if ctx.has(IN_PERIOD) else exp.true(), "inp"),
        )
        .from_(table(ctx.ledger, d))
        .where(
            all_of(
                [
                    _base(ctx, d),
                    exp.GT(this=_c("amount_paid", d), expression=number(0)),
                    _nn(_c("taxpayer_id", d)),
                    _nn(_c("period_start", d)),
                    _nn(_c("wage_base", d)),
                ]
            )
        )
    )
    # the rows that may be reported (those of the period); their history is every row
    firsts = select("rid", "tid", "base", "f").from_("pos").where(_eq(_c("inp"), exp.true()))
    offsets = _values_table([(number(i),) for i in range(1, lookback + 1)], "o", ["off"])
    hist = (
        select(_c("rid", "r"), _c("base", "r"), _as(_c("base", "h"), "hb"))
        .from_(table("firsts", "r"))
        .join(offsets, join_type="cross")
        .join(
            table("pos", "h"),
            on=exp.and_(
                _eq(_c("tid", "h"), _c("tid", "r")),
                _eq(_c("rn", "h"), exp.Sub(this=_c("f", "r"), expression=_c("off", "o"))),
            ),
        )
    )
    agg = (
        select(
            "rid",
            "base",
            _as(exp.Count(this=exp.Star()), "n"),
            _as(exp.Median(this=_c("hb")), "med"),
        )
        .from_("hist")
        .group_by("rid", "base")
    )
    factor = Decimal(1) - Decimal(str(ctx.args["drop_ratio"]))
    floor = exp.Mul(this=_dec(_c("med"), "DECIMAL(38,4)"), expression=number(factor))
    ctx.units.update(median="money", floor="money")
    hits = (
        select(
            _as(_c("rid"), ROW_ID),
            _as(_c("base"), "wage_base"),
            _as(_c("med"), "median"),
            _as(floor, "floor"),
            _as(_c("n"), "history"),
        )
        .from_("agg")
        .where(
            exp.and_(
                exp.GTE(this=_c("n"), expression=number(int(ctx.args["min_history"]))),
                exp.LT(this=_c("base"), expression=floor),
            )
        )
    )
    query = (
        select(*[_c(c, "q") for c in (ROW_ID, "wage_base", "median", "floor", "history")], *_amount(ctx, d))
        .from_(hits.subquery("q"))
        .join(table(ctx.ledger, d), on=_eq(_c(ROW_ID, d), _c(ROW_ID, "q")))
    )
    for name, q in [("pos", pos), ("firsts", firsts), ("hist", hist), ("agg", agg)]:
        query = query.with_(name, as_=q)
    return query


# --- DUES-TAXPAYER-ID ---------------------------------------------------------------------------------


@implements("taxpayer_id")
def taxpayer_id(ctx: CheckContext) -> exp.Select:
    """GB 32100 on 18 characters (alphabet and 18th character ⇒ error; a wrong embedded GB 11714
    organisation code ⇒ ``check_embedded_org_code`` severity); 15 characters = legacy region +
    organisation code (a wrong organisation code check ⇒ the embedded-code severity), 20 = legacy
    individual (resident ID + 2 digits, its check ⇒ error); legacy forms are an error unless
    ``accept_legacy``. Blank IDs are not this rule's business (the loader rejects rows without one)."""
    name = ctx.args["column"]
    status_name, org_name = f"{name}__status", f"{name}__org_ok"
    ctx.need(name, status_name)
    d = "d"
    status = _c(status_name, d)
    length = exp.Length(this=_c(name, d))
    org_mode = ctx.args["check_embedded_org_code"]
    org_severity = "error" if org_mode == "error" else "warning"

    def st(*values: str) -> exp.Expression:
        return exp.In(this=status, expressions=[string(v) for v in values])

    reasons: list[tuple[exp.Expr, str, str, str]] = [
        (
            st("bad_length"),
            *texts("findings", "taxpayer_id.bad_length"),
            "error",
        ),
        (st("bad_chars"), *texts("findings", "taxpayer_id.bad_chars"), "error"),
    ]
    if not ctx.args["accept_legacy"]:
        legacy = _or(
            st("legacy15", "legacy20"),
            exp.and_(st("bad_checksum"), exp.In(this=length, expressions=[number(15), number(20)])),
        )
        reasons.append((legacy, *texts("findings", "taxpayer_id.legacy_refused"), "error"))
    reasons += [
        (
            exp.and_(st("bad_checksum"), exp.NEQ(this=length, expression=number(15))),
            *texts("findings", "taxpayer_id.bad_checksum"),
            "error",
        ),
    ]
    if org_mode != "off":
        reasons.append(
            (
                exp.and_(st("bad_checksum"), _eq(length, number(15))),
                *texts("findings", "taxpayer_id.legacy_org_code"),
                org_severity,
            )
        )
        if ctx.has(org_name):
            reasons.append(
                (
                    exp.and_(st("ok"), _eq(_c(org_name, d), exp.false())),
                    *texts("findings", "taxpayer_id.embedded_org_code"),
                    org_severity,
                )
            )
    severity = _case([(c, string(sev)) for c, _, _, sev in reasons])
    return (
        select(
            _c(ROW_ID, d),
            _as(_c(name, d), name),
            *(_present(ctx, ["taxpayer_name"], d) if ctx.ledger == DUES else []),
            *_reasons([(c, z, e) for c, z, e, _ in reasons]),
            _as(severity, "_severity"),
            *_amount(ctx, d),
        )
        .from_(table(ctx.ledger, d))
        .where(all_of([_reported(ctx, d), _nn(_c(name, d)), _or(*[r[0] for r in reasons])]))
    )


# --- DUES-REFUND --------------------------------------------------------------------------------------


@implements("dues_refund")
def dues_refund(ctx: CheckContext) -> exp.Select:
    """A negative payment fires unless a positive row of the same taxpayer, fund type (when the input
    has one) and identical period reached the treasury on or before the refund and within
    ``match_window_months`` of it (when either treasury date is blank the timing is not held against
    the match)."""
    ctx.need("taxpayer_id", "period_start", "period_end", "amount_paid")
    r, x = "r", "x"
    same = ["taxpayer_id", *(["fund_type"] if ctx.has("fund_type") else [])]  # no column: one fund type
    match = [exp.NullSafeEQ(this=_c(k, x), expression=_c(k, r)) for k in same] + [
        _eq(_c(k, x), _c(k, r)) for k in ("period_start", "period_end")
    ]
    match.append(exp.GT(this=_c("amount_paid", x), expression=number(0)))
    if ctx.has("treasury_date"):
        xt, rt = _c("treasury_date", x), _c("treasury_date", r)
        window = int(ctx.args["match_window_months"])
        match.append(
            _or(
                _null(xt),
                _null(rt),
                exp.and_(
                    exp.LTE(this=xt, expression=rt),
                    exp.GTE(this=xt, expression=_add(rt, -window, "MONTH")),
                ),
            )
        )
    found = exp.Exists(this=select(number(1)).from_(table(ctx.ledger, x)).where(exp.and_(*match)))
    return (
        select(
            _c(ROW_ID, r),
            *_present(
                ctx, ["taxpayer_id", "fund_type", "period_start", "period_end", "amount_paid", "treasury_date"], r
            ),
            *_amount(ctx, r),
        )
        .from_(table(ctx.ledger, r))
        .where(
            all_of(
                [
                    _reported(ctx, r),
                    exp.LT(this=_c("amount_paid", r), expression=number(0)),
                    _nn(_c("period_start", r)),
                    _nn(_c("period_end", r)),
                    exp.Not(this=found),
                ]
            )
        )
    )


# --- the split: DUES-SPLIT-SUM, DUES-SPLIT-RATIO, DUES-FEE ---------------------------------------------


def _share_columns(ctx: CheckContext, suffix: str, other: str | None = None) -> list[tuple[str, str, str]]:
    """(column, zh, en) of the share columns ``<stem>_<suffix>`` the ledger (and ``other``) has."""
    out = []
    for stem, zh, en in SHARES:
        name = f"{stem}_{suffix}"
        if ctx.has(name) and (other is None or ctx.has(name, table=other)):
            out.append((name, zh, en))
    return out


def _basis(ctx: CheckContext, alias: str) -> exp.Expression:
    """The split basis: ``amount_paid − relief_amount`` (relief blank or absent = 0)."""
    paid = _c("amount_paid", alias)
    if not ctx.has("relief_amount"):
        return paid
    return exp.Paren(this=exp.Sub(this=paid, expression=_coalesce0(_c("relief_amount", alias))))


@implements("dues_split_sum")
def dues_split_sum(ctx: CheckContext) -> exp.Select:
    """The ratios present (every share and the fee) add up to 1 within ``ratio_tol`` (rows with no
    ratio at all are not checked), and the amounts present add up to the basis within
    ``tol_yuan_per_share`` (rows with no amount at all are not checked)."""
    ctx.need("amount_paid")
    ratios = _share_columns(ctx, "ratio")
    amounts = _share_columns(ctx, "amount")
    if not ratios and not amounts:
        ctx.need("share_grassroots_ratio", "share_grassroots_amount")
    d = "d"
    fires: list[exp.Expression] = []
    values: list[exp.Expression] = []
    reasons: list[tuple[exp.Expr, str, str]] = []
    if ratios:
        total = _sum([_coalesce0(_c(n, d)) for n, _, _ in ratios])
        any_ratio = _or(*[_nn(_c(n, d)) for n, _, _ in ratios])
        wrong = exp.and_(
            any_ratio,
            exp.GT(
                this=exp.Abs(this=exp.Sub(this=total, expression=number(1))),
                expression=number(float(ctx.args["ratio_tol"])),
            ),
        )
        fires.append(wrong)
        values.append(_as(total, "ratio_sum"))
        reasons.append((wrong, *texts("findings", "dues_split_sum.ratio_sum")))
        ctx.units["ratio_sum"] = "rate"
    else:
        values.append(_as(exp.Null(), "ratio_sum"))
    diff: exp.Expression | None = None
    if amounts:
        total_amt = _sum([_coalesce0(_c(n, d)) for n, _, _ in amounts])
        any_amount = _or(*[_nn(_c(n, d)) for n, _, _ in amounts])
        diff = exp.Sub(this=total_amt, expression=_basis(ctx, d))
        wrong = exp.and_(
            any_amount,
            exp.GT(this=exp.Abs(this=diff), expression=_tol_fen(ctx.args["tol_yuan_per_share"])),
        )
        fires.append(wrong)
        values += [_as(total_amt, "share_total"), _as(_basis(ctx, d), "basis"), _as(diff, "difference")]
        reasons.append((wrong, *texts("findings", "dues_split_sum.amount_sum")))
        ctx.units.update(share_total="money", basis="money", difference="money")
    else:
        values += [_as(exp.Null(), n) for n in ("share_total", "basis", "difference")]
    return (
        select(
            _c(ROW_ID, d),
            *_present(ctx, ["taxpayer_id", "period_start", "period_end", "amount_paid"], d),
            *values,
            *_reasons(reasons),
            *_amount(ctx, d, exp.Abs(this=diff) if diff is not None else None),
        )
        .from_(table(ctx.ledger, d))
        .where(all_of([_reported(ctx, d), _or(*fires)]))
    )


@implements("dues_split_ratio")
def dues_split_ratio(ctx: CheckContext) -> exp.Select:
    """With a ``ratios`` table: the row's ratio columns (those in both tables; blank = 0) equal, within
    ``ratio_tol``, the schedule row for its fund type whose window covers the period (latest
    ``effective_from`` if several); rows no schedule row covers are not checked. Without one: the
    grassroots share is ``grassroots_share`` for 工会经费 and 0 for 筹备金, whose 筹备金 share is
    ``grassroots_share``."""
    ctx.need("fund_type", "period_start")
    d = "d"
    tol = number(float(ctx.args["ratio_tol"]))

    def off(a: exp.Expression, b: exp.Expression) -> exp.Expression:
        return exp.GT(this=exp.Abs(this=exp.Sub(this=_coalesce0(a), expression=_coalesce0(b))), expression=tol)

    if RATIOS not in ctx.present:
        ctx.need("share_grassroots_ratio")
        share = _rate_lit(ctx.args["grassroots_share"])
        fund = _c("fund_type", d)
        gr = _c("share_grassroots_ratio", d)
        is_union, is_prep = _eq(fund, string("union_fund")), _eq(fund, string("prep_fund"))
        wrong: list[tuple[exp.Expr, str, str]] = [
            (
                _or(exp.and_(is_union, off(gr, share)), exp.and_(is_prep, off(gr, number(0)))),
                *texts("values", "share.share_grassroots"),
            )
        ]
        recorded = [_nn(gr)]
        if ctx.has("share_prep_fund_ratio"):
            prep = _c("share_prep_fund_ratio", d)
            prep_wrong = exp.Paren(this=exp.and_(is_prep, off(prep, share)))
            wrong.append((prep_wrong, *texts("values", "share.share_prep_fund")))
            recorded.append(_nn(prep))
        return (
            select(
                _c(ROW_ID, d),
                *_present(ctx, ["taxpayer_id", "fund_type", "share_grassroots_ratio", "share_prep_fund_ratio"], d),
                *_mismatch_columns(wrong),
                *_amount(ctx, d),
            )
            .from_(table(ctx.ledger, d))
            .where(all_of([_reported(ctx, d), _or(*recorded), _or(*[w for w, _, _ in wrong])]))
        )

    _need_reference(ctx, RATIOS, "fund_type", "effective_from")
    compared = _share_columns(ctx, "ratio", RATIOS)
    if not compared:
        ctx.need("share_grassroots_ratio")
        ctx.need("share_grassroots_ratio", table=RATIOS)
    s = "s"
    in_force = [
        _eq(_c("fund_type", s), _c("fund_type", d)),
        exp.LTE(this=_c("effective_from", s), expression=_c("period_start", d)),
    ]
    if ctx.has("effective_to", table=RATIOS):
        end = _c("period_end", d) if ctx.has("period_end") else _c("period_start", d)
        in_force.append(_or(_null(_c("effective_to", s)), exp.GTE(this=_c("effective_to", s), expression=end)))
    picked = (
        select(
            _as(_c(ROW_ID, d), "rid"),
            _as(_c("effective_from", s), "effective_from"),
            *[_as(_c(n, s), f"x_{n}") for n, _, _ in compared],
            _as(
                _win(exp.RowNumber(), [_c(ROW_ID, d)], [(_c("effective_from", s), True)]),
                "k",
            ),
        )
        .from_(table(ctx.ledger, d))
        .join(table(RATIOS, s), on=exp.and_(*in_force))
        .where(
            all_of(
                [
                    _reported(ctx, d),
                    _nn(_c("fund_type", d)),
                    _nn(_c("period_start", d)),
                    _or(*[_nn(_c(n, d)) for n, _, _ in compared]),
                ]
            )
        )
    )
    wrong = [(off(_c(n, d), _c(f"x_{n}", "p")), zh, en) for n, zh, en in compared]
    for n, _, _ in compared:
        ctx.units[f"expected_{n}"] = "rate"
    return (
        select(
            _c(ROW_ID, d),
            *_present(ctx, ["taxpayer_id", "fund_type", "period_start", "period_end"], d),
            _as(_c("effective_from", "p"), "schedule_from"),
            *_mismatch_columns(wrong),
            *[_as(_c(n, d), n) for n, _, _ in compared],
            *[_as(_c(f"x_{n}", "p"), f"expected_{n}") for n, _, _ in compared],
            *_amount(ctx, d),
        )
        .from_(picked.subquery("p"))
        .join(table(ctx.ledger, d), on=_eq(_c(ROW_ID, d), _c("rid", "p")))
        .where(exp.and_(_eq(_c("k", "p"), number(1)), _or(*[w for w, _, _ in wrong])))
    )


def _mismatch_columns(wrong: Sequence[tuple[exp.Expr, str, str]]) -> list[exp.Expression]:
    """``mismatched`` / ``mismatched_en``: the names of the shares that differ, joined."""
    zh = exp.ConcatWs(expressions=[string("、"), *[_case([(w, string(z))]) for w, z, _ in wrong]], coalesce=True)
    en = exp.ConcatWs(expressions=[string(", "), *[_case([(w, string(e))]) for w, _, e in wrong]], coalesce=True)
    return [_as(zh, "mismatched"), _as(en, "mismatched_en")]


@implements("dues_fee")
def dues_fee(ctx: CheckContext) -> exp.Select:
    """The recorded fee equals basis × ``fee_ratio`` rounded half-up to the fen, within ``tol_yuan``;
    refunds (negative bases) must give the fee back by the same formula."""
    ctx.need("fee_amount", "amount_paid")
    d = "d"
    expected = _fen_times_rate(_basis(ctx, d), _rate_lit(ctx.args["fee_ratio"]))
    diff = exp.Sub(this=_c("fee_amount", d), expression=expected)
    ctx.units.update(expected_fee="money", basis="money", difference="money")
    return (
        select(
            _c(ROW_ID, d),
            *_present(ctx, ["taxpayer_id", "period_start", "period_end", "fee_ratio", "fee_amount"], d),
            _as(_basis(ctx, d), "basis"),
            _as(expected, "expected_fee"),
            _as(diff, "difference"),
            *_amount(ctx, d, exp.Abs(this=diff)),
        )
        .from_(table(ctx.ledger, d))
        .where(
            all_of(
                [
                    _reported(ctx, d),
                    _nn(_c("fee_amount", d)),
                    exp.GT(this=exp.Abs(this=diff), expression=_tol_fen(ctx.args["tol_yuan"])),
                ]
            )
        )
    )


# --- DUES-REMIT-LATE ----------------------------------------------------------------------------------


@implements("dues_remittance")
def dues_remittance(ctx: CheckContext) -> exp.Select:
    """Fires when ``settlement_flag`` is E (stuck in error), when settlement came more than
    ``max_days_to_settle`` days after the treasury date, or when a row still flagged as in custody
    (``custody_flag`` in ``custody_values``) has been so for more than ``max_days_in_custody`` days from
    its treasury date to the end of the audit period. Each test runs when its columns exist."""
    d = "d"
    reasons: list[tuple[exp.Expr, str, str]] = []
    if ctx.has("settlement_flag"):
        reasons.append(
            (
                _eq(exp.Upper(this=exp.Trim(this=_c("settlement_flag", d))), string("E")),
                *texts("findings", "dues_remittance.flag_e"),
            )
        )
    if ctx.has("settlement_date", "treasury_date"):
        reasons.append(
            (
                exp.GT(
                    this=_diff_days(_c("settlement_date", d), _c("treasury_date", d)),
                    expression=number(int(ctx.args["max_days_to_settle"])),
                ),
                *texts("findings", "dues_remittance.late"),
            )
        )
    values = list(ctx.args["custody_values"] or [])
    if ctx.has("custody_flag", "treasury_date") and ctx.period is not None and values:
        held = exp.In(this=exp.Trim(this=_c("custody_flag", d)), expressions=[string(str(v)) for v in values])
        days = _diff_days(sql.date_lit(ctx.period.end.isoformat()), _c("treasury_date", d))
        reasons.append(
            (
                exp.and_(held, exp.GT(this=days, expression=number(int(ctx.args["max_days_in_custody"])))),
                *texts("findings", "dues_remittance.custody"),
            )
        )
    if not reasons:
        ctx.need("settlement_flag", "settlement_date", "treasury_date")
    extra: list[exp.Expression] = []
    if ctx.has("settlement_date", "treasury_date"):
        extra.append(_as(_diff_days(_c("settlement_date", d), _c("treasury_date", d)), "days_to_settle"))
    return (
        select(
            _c(ROW_ID, d),
            *_present(
                ctx,
                ["taxpayer_id", "period_start", "period_end", "treasury_date", "settlement_date", "settlement_flag"],
                d,
            ),
            *extra,
            *_reasons(reasons),
            *_amount(ctx, d),
        )
        .from_(table(ctx.ledger, d))
        .where(all_of([_reported(ctx, d), _or(*[r[0] for r in reasons])]))
    )


# --- DUES-SME-REFUND ----------------------------------------------------------------------------------


@implements("dues_sme_refund")
def dues_sme_refund(ctx: CheckContext) -> exp.Select:
    """A refund paid (``refund_paid`` > 0) for a period outside the policy years, or to an employer with
    no 小微类型, fires. In policy years a small/micro row's ``refund_due`` must equal the refundable
    share (``upper_level``: county + city + province + ACFTU + industry + local amounts; ``all``: the
    basis less the grassroots and 筹备金 shares, i.e. the fee too), and ``refund_paid`` must equal
    ``refund_due`` no later than ``refund_deadline_days`` after the treasury date (unpaid refunds fire
    once that deadline has passed by the end of the audit period)."""
    ctx.need("refund_paid", "period_start")
    d = "d"
    paid_back = _c("refund_paid", d)
    policy = exp.In(
        this=exp.Year(this=_c("period_start", d)),
        expressions=[number(int(y)) for y in ctx.args["policy_years"] or []],
    )
    if not ctx.args["policy_years"]:
        policy = exp.false()
    sme = _nn(_c("sme_type", d)) if ctx.has("sme_type") else None
    tol = _tol_fen(0.01)
    reasons: list[tuple[exp.Expr, str, str]] = [
        (
            exp.and_(exp.GT(this=paid_back, expression=number(0)), exp.Not(this=policy)),
            *texts("findings", "dues_sme_refund.outside_policy"),
        )
    ]
    if sme is not None:
        reasons.append(
            (
                exp.and_(exp.GT(this=paid_back, expression=number(0)), policy, exp.Not(this=sme)),
                *texts("findings", "dues_sme_refund.not_sme"),
            )
        )
    values: list[exp.Expression] = []
    if sme is not None and ctx.has("refund_due"):
        due = _coalesce0(_c("refund_due", d))
        eligible = exp.and_(policy, sme, exp.GT(this=_c("amount_paid", d), expression=number(0)))
        if ctx.args["refund_share"] == "upper_level":
            parts = [f"{stem}_amount" for stem in UPPER_SHARES if ctx.has(f"{stem}_amount")]
            expected = _sum([_coalesce0(_c(p, d)) for p in parts]) if parts else None
        else:
            keep = [f"{stem}_amount" for stem in ("share_grassroots", "share_prep_fund") if ctx.has(f"{stem}_amount")]
            expected = (
                exp.Paren(this=exp.Sub(this=_basis(ctx, d), expression=_sum([_coalesce0(_c(p, d)) for p in keep])))
                if keep
                else None
            )
        if expected is not None and ctx.has("amount_paid"):
            values.append(_as(expected, "refund_expected"))
            ctx.units["refund_expected"] = "money"
            reasons.append(
                (
                    exp.and_(
                        eligible, exp.GT(this=exp.Abs(this=exp.Sub(this=due, expression=expected)), expression=tol)
                    ),
                    *texts("findings", "dues_sme_refund.due_mismatch"),
                )
            )
            deadline_days = int(ctx.args["refund_deadline_days"])
            short = exp.GT(this=exp.Abs(this=exp.Sub(this=_coalesce0(paid_back), expression=due)), expression=tol)
            overdue: list[exp.Expression] = []
            if ctx.has("treasury_date"):
                deadline = _add(_c("treasury_date", d), deadline_days, "DAY")
                if ctx.period is not None:
                    overdue.append(exp.LT(this=deadline, expression=sql.date_lit(ctx.period.end.isoformat())))
                if ctx.has("refund_date"):
                    overdue.append(exp.GT(this=_c("refund_date", d), expression=deadline))
                    reasons.append(
                        (
                            exp.and_(eligible, exp.GT(this=_c("refund_date", d), expression=deadline)),
                            *texts("findings", "dues_sme_refund.late"),
                        )
                    )
                reasons.append(
                    (
                        exp.and_(eligible, short, _or(*overdue)) if overdue else exp.false(),
                        *texts("findings", "dues_sme_refund.short"),
                    )
                )
    return (
        select(
            _c(ROW_ID, d),
            *_present(
                ctx,
                ["taxpayer_id", "sme_type", "period_start", "period_end", "refund_due", "refund_paid", "refund_date"],
                d,
            ),
            *values,
            *_reasons(reasons),
            *_amount(ctx, d),
        )
        .from_(table(ctx.ledger, d))
        .where(all_of([_reported(ctx, d), _nn(_c("period_start", d)), _or(*[r[0] for r in reasons])]))
    )
