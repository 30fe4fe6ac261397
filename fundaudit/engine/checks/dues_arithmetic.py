"""Dues arithmetic check types: the split of each payment, its fee, and the wage base.

Rules: DUES-SPLIT-RATIO (``dues_split_ratio``), DUES-BASE-MIN
(``dues_base_min``), DUES-BASE-DROP (``dues_base_drop``); DUES-FEE and DUES-SPLIT-SUM are ``flag`` rules in
``rules/dues.yaml``.
Signatures: ``fundaudit/rules/signatures/dues_arithmetic.py``. Tests: ``tests/checks/test_dues_arithmetic.py``.
How each rule reads ``domain.md`` §7.1 is spelled out in ``docs/rules-dues.md``.

Money is integer fen, rates are fractions; products of money and rates are computed in DECIMAL and
rounded half-up to the fen (``sql.round_fen``).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import sqlglot.expressions as exp

from fundaudit.engine.checks import implements
from fundaudit.engine.checks.common import (
    IN_PERIOD,
    MIN_WAGE,
    RATIOS,
    amount_column,
    need_reference,
    positive_payments,
    present_columns,
    reportable,
    rids_where,
)
from fundaudit.engine.context import CheckContext, Skip
from fundaudit.engine.sql import (
    DECIMAL_RATE,
    ROW_ID,
    all_of,
    any_of,
    case,
    cite,
    col,
    decimal,
    eq,
    greatest,
    is_null,
    months_len,
    named,
    not_null,
    number,
    or_zero,
    rate_lit,
    round_fen,
    select,
    string,
    table,
    window,
)
from fundaudit.errors import texts
from fundaudit.rules.signatures.dues_arithmetic import SHARE_STEMS

__all__ = ["SHARES", "UPPER_SHARES", "split_basis"]


# Allocation shares in ledger order: (canonical stem, zh label, en label). The fee is the last share.
SHARES: tuple[tuple[str, str, str], ...] = tuple((s, *texts("values", f"share.{s}")) for s in SHARE_STEMS)


UPPER_SHARES = ("share_county", "share_city", "share_province", "share_acftu", "share_industry", "share_local")


def _share_columns(ctx: CheckContext, suffix: str, other: str | None = None) -> list[tuple[str, str, str]]:
    """(column, zh, en) of the share columns ``<stem>_<suffix>`` the ledger (and ``other``) has."""
    out = []
    for stem, zh, en in SHARES:
        name = f"{stem}_{suffix}"
        if ctx.has(name) and (other is None or ctx.has(name, table=other)):
            out.append((name, zh, en))
    return out


def split_basis(ctx: CheckContext, alias: str) -> exp.Expression:
    """The split basis: ``amount_paid − relief_amount`` (relief blank or absent = 0)."""
    paid = col("amount_paid", alias)
    if not ctx.has("relief_amount"):
        return paid
    return exp.Paren(this=exp.Sub(this=paid, expression=or_zero(col("relief_amount", alias))))


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
        return exp.GT(this=exp.Abs(this=exp.Sub(this=or_zero(a), expression=or_zero(b))), expression=tol)

    if RATIOS not in ctx.present:
        ctx.need("share_grassroots_ratio")
        share = rate_lit(ctx.args["grassroots_share"])
        fund = col("fund_type", d)
        gr = col("share_grassroots_ratio", d)
        is_union, is_prep = eq(fund, string("union_fund")), eq(fund, string("prep_fund"))
        wrong: list[tuple[exp.Expr, str, str]] = [
            (
                any_of(exp.and_(is_union, off(gr, share)), exp.and_(is_prep, off(gr, number(0)))),
                *texts("values", "share.share_grassroots"),
            )
        ]
        recorded = [not_null(gr)]
        if ctx.has("share_prep_fund_ratio"):
            prep = col("share_prep_fund_ratio", d)
            prep_wrong = exp.Paren(this=exp.and_(is_prep, off(prep, share)))
            wrong.append((prep_wrong, *texts("values", "share.share_prep_fund")))
            recorded.append(not_null(prep))
        return (
            select(
                col(ROW_ID, d),
                *present_columns(
                    ctx, ["taxpayer_id", "fund_type", "share_grassroots_ratio", "share_prep_fund_ratio"], d
                ),
                *_mismatch_columns(wrong),
                *amount_column(ctx, d),
            )
            .from_(table(ctx.ledger, d))
            .where(all_of([reportable(ctx, d), any_of(*recorded), any_of(*[w for w, _, _ in wrong])]))
        )

    need_reference(ctx, RATIOS, "fund_type", "effective_from")
    compared = _share_columns(ctx, "ratio", RATIOS)
    if not compared:
        ctx.need("share_grassroots_ratio")
        ctx.need("share_grassroots_ratio", table=RATIOS)
    s = "s"
    in_force = [
        eq(col("fund_type", s), col("fund_type", d)),
        exp.LTE(this=col("effective_from", s), expression=col("period_start", d)),
    ]
    if ctx.has("effective_to", table=RATIOS):
        end = col("period_end", d) if ctx.has("period_end") else col("period_start", d)
        in_force.append(any_of(is_null(col("effective_to", s)), exp.GTE(this=col("effective_to", s), expression=end)))
    picked = (
        select(
            named(col(ROW_ID, d), "rid"),
            named(col("effective_from", s), "effective_from"),
            *[named(col(n, s), f"x_{n}") for n, _, _ in compared],
            named(
                window(exp.RowNumber(), [col(ROW_ID, d)], [(col("effective_from", s), True)]),
                "k",
            ),
        )
        .from_(table(ctx.ledger, d))
        .join(table(RATIOS, s), on=exp.and_(*in_force))
        .where(
            all_of(
                [
                    reportable(ctx, d),
                    not_null(col("fund_type", d)),
                    not_null(col("period_start", d)),
                    any_of(*[not_null(col(n, d)) for n, _, _ in compared]),
                ]
            )
        )
    )
    wrong = [(off(col(n, d), col(f"x_{n}", "p")), zh, en) for n, zh, en in compared]
    schedule_row = exp.and_(*in_force, eq(col("effective_from", s), col("effective_from", "p")))
    for n, _, _ in compared:
        ctx.units[f"expected_{n}"] = "rate"
    return (
        select(
            col(ROW_ID, d),
            *present_columns(ctx, ["taxpayer_id", "fund_type", "period_start", "period_end"], d),
            named(col("effective_from", "p"), "schedule_from"),
            cite(rids_where(RATIOS, "s", schedule_row), RATIOS),  # the schedule row compared with
            *_mismatch_columns(wrong),
            *[named(col(n, d), n) for n, _, _ in compared],
            *[named(col(f"x_{n}", "p"), f"expected_{n}") for n, _, _ in compared],
            *amount_column(ctx, d),
        )
        .from_(picked.subquery("p"))
        .join(table(ctx.ledger, d), on=eq(col(ROW_ID, d), col("rid", "p")))
        .where(exp.and_(eq(col("k", "p"), number(1)), any_of(*[w for w, _, _ in wrong])))
    )


def _mismatch_columns(wrong: Sequence[tuple[exp.Expr, str, str]]) -> list[exp.Expression]:
    """``mismatched`` / ``mismatched_en``: the names of the shares that differ, joined."""
    zh = exp.ConcatWs(expressions=[string("、"), *[case([(w, string(z))]) for w, z, _ in wrong]], coalesce=True)
    en = exp.ConcatWs(expressions=[string(", "), *[case([(w, string(e))]) for w, _, e in wrong]], coalesce=True)
    return [named(zh, "mismatched"), named(en, "mismatched_en")]


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
        return eq(col("region_code", "m"), string(str(chosen)))
    only = (
        select(exp.Min(this=col("region_code")))
        .from_(table(MIN_WAGE))
        .having(eq(exp.Count(this=exp.Distinct(expressions=[col("region_code")])), number(1)))
    )
    return eq(col("region_code", "m"), only.subquery())


def _dues_on(ctx: CheckContext, base_gap: exp.Expression, alias: str) -> exp.Expression | None:
    """The dues a wage-base shortfall ``base_gap`` (fen) leaves uncollected: × the row's ``rate``, exact and
    half-up to the fen; None (no money at issue) when the ledger has no rate."""
    if not ctx.has("rate"):
        return None
    gap = decimal(base_gap, "DECIMAL(38,4)")  # a median of fen may end in .5
    return round_fen(exp.Mul(this=gap, expression=decimal(col("rate", alias), DECIMAL_RATE)))


@implements("dues_base_min")
def dues_base_min(ctx: CheckContext) -> exp.Select:
    """Positive rows with a base: minimum = the minimum wage in force at ``period_start`` (latest
    ``effective_from`` on or before it) × headcount (1 when blank, zero or ``use_headcount`` is off)
    × months in the period; fires when the base is below it (equal passes). Rows before the first
    minimum-wage row are not checked. Money at issue (without an ``amount:``): the dues on the shortfall,
    (minimum − base) × the row's rate, to the fen (:func:`_dues_on`)."""
    ctx.need("wage_base", "period_start", "period_end", "amount_paid")
    need_reference(ctx, MIN_WAGE, "effective_from", "monthly")
    region = _region(ctx)
    m = (
        select(
            named(col("effective_from", "m"), "f"),
            named(window(exp.Lead(this=col("effective_from", "m")), order=[col("effective_from", "m")]), "t"),
            named(col("monthly", "m"), "monthly"),
            named(col(ROW_ID, "m"), "rid"),  # the row to cite (a handful of rows: cheaper than a lookup)
        )
        .from_(table(MIN_WAGE, "m"))
        .where(all_of([region, not_null(col("effective_from", "m")), not_null(col("monthly", "m"))]))
    )
    d = "d"
    s, e = col("period_start", d), col("period_end", d)
    months = greatest(months_len(s, e), number(1))
    heads: exp.Expression = number(1)
    if ctx.args["use_headcount"] and ctx.has("headcount"):
        hc = col("headcount", d)
        heads = case([(exp.GT(this=hc, expression=number(0)), hc)], number(1))
    minimum = exp.Mul(this=exp.Mul(this=col("monthly", "w"), expression=heads), expression=months)
    base = col("wage_base", d)
    ctx.units.update(min_wage="money", minimum="money")
    return (
        select(
            col(ROW_ID, d),
            *present_columns(ctx, ["period_start", "period_end", "wage_base", "headcount"], d),
            named(col("monthly", "w"), "min_wage"),
            cite(col("rid", "w"), MIN_WAGE),  # the minimum-wage row in force
            named(heads, "staff"),
            named(months, "months"),
            named(minimum, "minimum"),
            *amount_column(ctx, d, _dues_on(ctx, exp.Sub(this=minimum, expression=base), d)),
        )
        .from_(table(ctx.ledger, d))
        .join(
            m.subquery("w"),
            on=exp.and_(
                exp.GTE(this=s, expression=col("f", "w")),
                any_of(is_null(col("t", "w")), exp.LT(this=s, expression=col("t", "w"))),
            ),
        )
        .where(
            all_of(
                [
                    reportable(ctx, d),
                    exp.GT(this=col("amount_paid", d), expression=number(0)),
                    not_null(base),
                    not_null(e),
                    exp.LT(this=base, expression=minimum),
                ]
            )
        )
    )


@implements("dues_base_drop")
def dues_base_drop(ctx: CheckContext) -> exp.Select:
    """Per taxpayer (both fund types), positive rows with a base ordered by period start: history =
    up to ``lookback`` rows just before the row with an earlier ``period_start``; with at least
    ``min_history`` of them, fires when base < median(history) × (1 − ``drop_ratio``).

    Money at issue (without an ``amount:``): the dues the drop leaves uncollected, (median − base) × the
    row's rate, to the fen (:func:`_dues_on`)."""
    ctx.need("taxpayer_id", "wage_base", "period_start", "amount_paid")
    lookback = int(ctx.args["lookback"])
    if lookback < 1:
        raise Skip("skip_bad_args", what="lookback must be at least 1")
    d = "d"
    # One sorted pass per taxpayer instead of a self-join: each row's history is the ``lookback`` rows just
    # before it (ordered by period start, then row); rows sharing a period start all take the history of the
    # group's first row, so a same-period row is never history. (A join of every row with its offsets, then a
    # MEDIAN per row, spilled tens of GB at province scale.)
    order = [col("period_start", d), col(ROW_ID, d)]
    before = (lookback, 1)
    pos = (
        select(
            named(col(ROW_ID, d), "rid"),
            named(col("taxpayer_id", d), "tid"),
            named(col("period_start", d), "ps"),
            named(col("wage_base", d), "base"),
            named(window(exp.Median(this=col("wage_base", d)), [col("taxpayer_id", d)], order, before), "wmed"),
            named(window(exp.Count(this=exp.Star()), [col("taxpayer_id", d)], order, before), "wn"),
            named(col(IN_PERIOD, d) if ctx.has(IN_PERIOD) else exp.true(), "inp"),
        )
        .from_(table(ctx.ledger, d))
        .where(positive_payments(ctx, d, "taxpayer_id", "period_start", "wage_base"))
    )
    same_start = [col("tid"), col("ps")]
    agg = select(
        "rid",
        "base",
        "inp",
        named(window(exp.FirstValue(this=col("wn")), same_start, [col("rid")]), "n"),
        named(window(exp.FirstValue(this=col("wmed")), same_start, [col("rid")]), "med"),
    ).from_("pos")
    factor = Decimal(1) - Decimal(str(ctx.args["drop_ratio"]))
    floor = exp.Mul(this=decimal(col("med"), "DECIMAL(38,4)"), expression=number(factor))
    ctx.units.update(median="money", floor="money")
    hits = (
        select(
            named(col("rid"), ROW_ID),
            named(col("base"), "wage_base"),
            named(col("med"), "median"),
            named(floor, "floor"),
            named(col("n"), "history"),
        )
        .from_("agg")
        .where(
            exp.and_(
                # the rows that may be reported are those of the period; their history is every row
                eq(col("inp"), exp.true()),
                exp.GTE(this=col("n"), expression=number(int(ctx.args["min_history"]))),
                exp.LT(this=col("base"), expression=floor),
            )
        )
    )
    drop = exp.Sub(this=col("median", "q"), expression=col("wage_base", "q"))
    query = (
        select(
            *[col(c, "q") for c in (ROW_ID, "wage_base", "median", "floor", "history")],
            *amount_column(ctx, d, _dues_on(ctx, drop, d)),
        )
        .from_(hits.subquery("q"))
        .join(table(ctx.ledger, d), on=eq(col(ROW_ID, d), col(ROW_ID, "q")))
    )
    for name, q in [("pos", pos), ("agg", agg)]:
        query = query.with_(name, as_=q)
    return query
