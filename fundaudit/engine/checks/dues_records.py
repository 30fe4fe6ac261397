"""Dues records check types: duplicate payments and refunds.

Rules: DUES-DUP (``dues_duplicate``), DUES-REFUND (``dues_refund``), DUES-SME-REFUND (``dues_sme_refund``).
Signatures: ``fundaudit/rules/signatures/dues_records.py``. Tests: ``tests/checks/test_dues_records.py``.
Readings of ``domain.md`` §7.1: ``docs/rules-dues.md``.
"""

from __future__ import annotations

import sqlglot.expressions as exp

from fundaudit.engine import sql
from fundaudit.engine.checks import implements
from fundaudit.engine.checks.common import (
    amount_column,
    present_columns,
    reportable,
    rule_filter,
)
from fundaudit.engine.checks.dues_arithmetic import UPPER_SHARES, split_basis
from fundaudit.engine.context import CheckContext
from fundaudit.engine.sql import (
    ROW_ID,
    add_days,
    add_months,
    all_of,
    any_of,
    case,
    col,
    eq,
    first_reason,
    flag,
    is_null,
    named,
    not_null,
    number,
    or_zero,
    over_partition,
    select,
    sum_of,
    table,
)
from fundaudit.errors import texts


@implements("dues_duplicate")
def dues_duplicate(ctx: CheckContext) -> exp.Select:
    """Group 1: rows sharing the key whose payments net of reversals exceed one (positive rows minus
    negative rows > 1; without ``ignore_correction_pairs``: more than one positive row). Group 2:
    rows sharing one e-voucher number. Every row of a group is a ref; the engine merges groups that
    share a row. A group is named by its first row id (even for key groups, odd for voucher groups),
    which needs no global sort.

    Money at issue (without an ``amount:``): what was paid again, i.e. every row but the first positive
    payment of its group, reversals netted (a negative row counts negative). A row in two groups counts
    when it repeats an earlier row in either (the maximum over its groups, taken over the result rows)."""
    keys = list(ctx.args["key"] or [])
    ctx.need(*keys, "amount_paid")
    d, g = "d", "g"
    paid = col("amount_paid")

    pos = exp.Sum(this=flag(exp.GT(this=paid, expression=number(0))))
    neg = exp.Sum(this=flag(exp.LT(this=paid, expression=number(0))))
    count = exp.Sub(this=pos, expression=neg) if ctx.args["ignore_correction_pairs"] else pos
    declared = ctx.amount() is not None
    shown = list(dict.fromkeys(["taxpayer_id", "fund_type", "period_start", "period_end", "voucher_no", *keys]))

    def grouped(group_keys: list[str], n: exp.Expression, odd: int) -> exp.Select:
        """Rows of the groups (aggregated first, then joined back: no sort of the whole ledger)."""
        where = all_of([ctx.where() if ctx.rule.where is not None else None, *[not_null(col(k)) for k in group_keys]])
        agg = (
            select(
                *[col(k) for k in group_keys],
                named(exp.cast(n, exp.DataType.build("BIGINT")), "_n"),
                named(exp.Min(this=col(ROW_ID)), "_first"),
            )
            .from_(table(ctx.ledger))
            .where(where)
            .group_by(*[col(k) for k in group_keys])
            .having(exp.GT(this=exp.cast(n, exp.DataType.build("BIGINT")), expression=number(1)))
        )
        fid = exp.Add(this=exp.Mul(this=col("_first", g), expression=number(2)), expression=number(odd))
        money = amount_column(ctx, d) if declared else [named(col("amount_paid", d), "_paid")]
        return (
            select(
                col(ROW_ID, d),
                named(fid, "_finding"),
                *present_columns(ctx, shown, d),
                named(col("_n", g), "payments"),
                *money,
            )
            .from_(table(ctx.ledger, d))
            .join(agg.subquery(g), on=exp.and_(*[eq(col(k, d), col(k, g)) for k in group_keys]))
            .where(rule_filter(ctx, d))
        )

    query: exp.Expression = grouped(keys, count, 0)
    if ctx.has("voucher_no"):
        query = exp.union(query, grouped(["voucher_no"], exp.Count(this=exp.Star()), 1), distinct=False)
    rows = exp.Subquery(this=query, alias=exp.TableAlias(this=exp.to_identifier("u")))
    # a row in a key group and a voucher group shows its key group's values (the engine keeps a row's first
    # result row): ordered by row, then group kind (key groups are even)
    in_order = [col(ROW_ID), exp.Mod(this=col("_finding"), expression=number(2))]
    if declared:
        return select(exp.Star()).from_(rows).order_by(*in_order)
    # windows over the result rows only: the group's first positive payment, then one amount per row (a row
    # in two groups repeats something if it does in either)
    row_paid = col("_paid")
    first_paid = over_partition(exp.Min(this=case([(exp.GT(this=row_paid, expression=number(0)), col(ROW_ID))])),
                                col("_finding"))
    repeated = case(
        [(exp.LT(this=row_paid, expression=number(0)), row_paid), (eq(col(ROW_ID), col("_first_paid")), number(0))],
        row_paid,
    )
    marked = select(exp.Star(), named(first_paid, "_first_paid")).from_(rows)
    return select(
        exp.Star(except_=[col("_paid"), col("_first_paid")]),
        named(over_partition(exp.Max(this=repeated), col(ROW_ID)), "_amount"),
    ).from_(marked.subquery("m")).order_by(*in_order)


@implements("dues_refund")
def dues_refund(ctx: CheckContext) -> exp.Select:
    """A negative payment fires unless a positive row of the same taxpayer, fund type (when the input
    has one) and identical period reached the treasury on or before the refund and within
    ``match_window_months`` of it (when either treasury date is blank the timing is not held against
    the match)."""
    ctx.need("taxpayer_id", "period_start", "period_end", "amount_paid")
    r, x = "r", "x"
    same = ["taxpayer_id", *(["fund_type"] if ctx.has("fund_type") else [])]  # no column: one fund type
    match = [exp.NullSafeEQ(this=col(k, x), expression=col(k, r)) for k in same] + [
        eq(col(k, x), col(k, r)) for k in ("period_start", "period_end")
    ]
    match.append(exp.GT(this=col("amount_paid", x), expression=number(0)))
    if ctx.has("treasury_date"):
        xt, rt = col("treasury_date", x), col("treasury_date", r)
        window = int(ctx.args["match_window_months"])
        match.append(
            any_of(
                is_null(xt),
                is_null(rt),
                exp.and_(
                    exp.LTE(this=xt, expression=rt),
                    exp.GTE(this=xt, expression=add_months(rt, -window)),
                ),
            )
        )
    found = exp.Exists(this=select(number(1)).from_(table(ctx.ledger, x)).where(exp.and_(*match)))
    return (
        select(
            col(ROW_ID, r),
            *present_columns(
                ctx, ["taxpayer_id", "fund_type", "period_start", "period_end", "amount_paid", "treasury_date"], r
            ),
            *amount_column(ctx, r),
        )
        .from_(table(ctx.ledger, r))
        .where(
            all_of(
                [
                    reportable(ctx, r),
                    exp.LT(this=col("amount_paid", r), expression=number(0)),
                    not_null(col("period_start", r)),
                    not_null(col("period_end", r)),
                    exp.Not(this=found),
                ]
            )
        )
    )


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
    paid_back = col("refund_paid", d)
    policy = exp.In(
        this=exp.Year(this=col("period_start", d)),
        expressions=[number(int(y)) for y in ctx.args["policy_years"] or []],
    )
    if not ctx.args["policy_years"]:
        policy = exp.false()
    sme = not_null(col("sme_type", d)) if ctx.has("sme_type") else None
    tol = sql.money_lit(0.01)
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
        due = or_zero(col("refund_due", d))
        eligible = exp.and_(policy, sme, exp.GT(this=col("amount_paid", d), expression=number(0)))
        if ctx.args["refund_share"] == "upper_level":
            parts = [f"{stem}_amount" for stem in UPPER_SHARES if ctx.has(f"{stem}_amount")]
            expected = sum_of([or_zero(col(p, d)) for p in parts]) if parts else None
        else:
            keep = [f"{stem}_amount" for stem in ("share_grassroots", "share_prep_fund") if ctx.has(f"{stem}_amount")]
            expected = (
                exp.Paren(this=exp.Sub(this=split_basis(ctx, d), expression=sum_of([or_zero(col(p, d)) for p in keep])))
                if keep
                else None
            )
        if expected is not None and ctx.has("amount_paid"):
            values.append(named(expected, "refund_expected"))
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
            short = exp.GT(this=exp.Abs(this=exp.Sub(this=or_zero(paid_back), expression=due)), expression=tol)
            overdue: list[exp.Expression] = []
            if ctx.has("treasury_date"):
                deadline = add_days(col("treasury_date", d), deadline_days)
                if ctx.period is not None:
                    overdue.append(exp.LT(this=deadline, expression=sql.date_lit(ctx.period.end.isoformat())))
                if ctx.has("refund_date"):
                    overdue.append(exp.GT(this=col("refund_date", d), expression=deadline))
                    reasons.append(
                        (
                            exp.and_(eligible, exp.GT(this=col("refund_date", d), expression=deadline)),
                            *texts("findings", "dues_sme_refund.late"),
                        )
                    )
                reasons.append(
                    (
                        exp.and_(eligible, short, any_of(*overdue)) if overdue else exp.false(),
                        *texts("findings", "dues_sme_refund.short"),
                    )
                )
    return (
        select(
            col(ROW_ID, d),
            *present_columns(
                ctx,
                ["taxpayer_id", "sme_type", "period_start", "period_end", "refund_due", "refund_paid", "refund_date"],
                d,
            ),
            *values,
            *first_reason(reasons),
            *amount_column(ctx, d),
        )
        .from_(table(ctx.ledger, d))
        .where(all_of([reportable(ctx, d), not_null(col("period_start", d)), any_of(*[r[0] for r in reasons])]))
    )
