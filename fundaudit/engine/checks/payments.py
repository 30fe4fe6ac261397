"""Payment check types: shared accounts, repeats, splits, timing and caps (DISB-CASH and DISB-ACCOUNT-NAME
are ``flag`` rules in rules/disbursements.yaml).

Rules: DISB-ACCOUNT-SHARED (``shared_account``), DISB-DUP (``duplicate_payment``), DISB-SPLIT
(``split_payment``), DISB-YEAR-END (``year_end_share``), DISB-OVER-CAP (``aid_cap``).
Signatures: ``fundaudit/rules/signatures/payments.py``. Tests: ``tests/checks/test_payments.py``.

- IDs as matching keys (duplicates, caps, splits): an invalid ID is matched as written (the same typo
  twice is evidence), except one Excel stored as a number, which matches nothing (``common.matchable``).
- ``split_payment``: payments under the threshold within ``window_days`` *before* each payment are
  summed (so three payments can link); linked sets sharing a payment become one finding.
- ``year_end_share``: per 基层工会 value and calendar year; rows without a union form one group.
- ``aid_cap``: the cap row of the payment's own category before the programme's blank-category row, its
  year before a blank year; 低保 multiples use the ``dibao`` row of the payment's year.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlglot.expressions as exp

from fundaudit.engine import sql
from fundaudit.engine.checks import implements
from fundaudit.engine.checks.common import (
    CAPS,
    DIBAO,
    REG,
    amount_column,
    dibao_by_year,
    matchable,
    need_reference,
    rids_where,
)
from fundaudit.engine.context import CheckContext, Skip
from fundaudit.engine.sql import (
    ROW_ID,
    all_of,
    any_of,
    case,
    cite,
    col,
    days_from,
    dense_rank,
    eq,
    flag,
    from_union,
    is_null,
    month_day,
    named,
    not_null,
    number,
    output_names,
    over_partition,
    paren,
    problem_cols,
    select,
    string,
    table,
    window,
)
from fundaudit.rules.values import WINDOW_FORMS, parse_window


@implements("shared_account")
def shared_account(ctx: CheckContext) -> exp.Select:
    """Accounts paid for ≥ N distinct recipient IDs; every row paid into such an account. With
    ``same_household_downgrade``, an account whose recipients all have register files at one
    address is a warning."""
    ctx.need("bank_account", "recipient_id_no")
    cols = [c for c in (ROW_ID, "bank_account", "recipient_id_no", "recipient_name") if ctx.has(c) or c == ROW_ID]
    base = (
        select(*[col(c) for c in cols], *amount_column(ctx))
        .from_(table(ctx.ledger))
        .where(all_of([ctx.where(), not_null(col("bank_account"))]))
    )
    names = output_names(base)
    household = (
        bool(ctx.args["same_household_downgrade"]) and REG in ctx.present and ctx.has("id_no", "address", table=REG)
    )
    counted = base
    per_account = [named(exp.Count(this=exp.Distinct(expressions=[col("recipient_id_no")])), "recipients")]
    if household:
        homes = (
            select(col("id_no"), named(exp.Min(this=col("address__key")), "_home"))
            .from_(table(REG))
            .where(exp.and_(matchable("id_no"), not_null(col("address__key"))))
            .group_by(col("id_no"))
        )
        counted = (
            select(*[col(c, "b") for c in names], col("_home", "h"))
            .from_(base.subquery("b"))
            .join(homes.subquery("h"), on=eq(col("id_no", "h"), col("recipient_id_no", "b")), join_type="left")
        )
        homeless = case([(is_null(col("_home")), col("recipient_id_no"))])
        per_account += [
            named(exp.Count(this=exp.Distinct(expressions=[col("_home")])), "_homes"),
            named(exp.Count(this=exp.Distinct(expressions=[homeless])), "_homeless"),
        ]
    groups = (
        select(col("bank_account"), *per_account)
        .from_(counted.subquery("c"))
        .group_by(col("bank_account"))
        .having(
            exp.GTE(
                this=exp.Count(this=exp.Distinct(expressions=[col("recipient_id_no")])),
                expression=number(int(ctx.args["min_recipients"])),
            )
        )
    )
    severity: list[exp.Expression] = []
    if household:
        one_home = exp.and_(eq(col("_homes", "g"), number(1)), eq(col("_homeless", "g"), number(0)))
        severity = [named(case([(one_home, string("warning"))]), "_severity")]
    hits = (
        select(
            *[col(c, "b") for c in names],
            named(dense_rank(col("bank_account", "b")), "_finding"),
            col("recipients", "g"),
            *severity,
        )
        .from_(base.subquery("b"))
        .join(groups.subquery("g"), on=eq(col("bank_account", "g"), col("bank_account", "b")))
    )
    if not household:
        return hits
    # the register files whose addresses the household test compared (looked up for the findings only)
    same_person = exp.and_(
        eq(col("id_no", "r"), col("recipient_id_no", "h")), matchable("id_no", "r"), not_null(col("address__key", "r"))
    )
    return select(exp.Star(), cite(rids_where(REG, "r", same_person), REG)).from_(hits.subquery("h"))


def _window_key(spec: Any, d: exp.Expression, default: exp.Expression | None) -> exp.Expression:
    """An integer naming the window ``d`` falls in: the window's first day as YYYYMMDD, times ten,
    plus the kind (so two kinds never share a key)."""
    try:
        kind, start, end = parse_window(spec)
    except ValueError:  # validated on load; a Skip, not a crash, should anything get past it
        raise Skip("skip_bad_args", what=f"window {spec!r} ({WINDOW_FORMS})") from None
    y, md = exp.Year(this=d), month_day(d)

    def key(first_year: exp.Expression, first_md: exp.Expression, tag: int) -> exp.Expression:
        ymd = exp.Add(this=exp.Mul(this=paren(first_year), expression=number(10000)), expression=paren(first_md))
        return exp.Add(this=exp.Mul(this=exp.Paren(this=ymd), expression=number(10)), expression=number(tag))

    if kind == "same_day":
        return key(y, md, 0)
    if kind == "month":
        return key(y, exp.Add(this=exp.Mul(this=exp.Month(this=d), expression=number(100)), expression=number(1)), 2)
    if kind == "year":
        return key(y, number(101), 3)
    wraps = start > end
    inside: exp.Expression = (
        any_of(exp.GTE(this=md, expression=number(start)), exp.LTE(this=md, expression=number(end)))
        if wraps
        else exp.Between(this=md, low=number(start), high=number(end))
    )
    first_year: exp.Expression = (
        exp.Sub(this=y, expression=flag(exp.LT(this=md, expression=number(start)))) if wraps else y
    )
    outside = default if default is not None else key(y, md, 0)
    return case([(inside, key(first_year, number(start), 1))], outside)


@implements("duplicate_payment")
def duplicate_payment(ctx: CheckContext) -> exp.Select:
    """(a) one recipient + programme + window paid more than once; (b) one date + amount + account
    entered more than once. Groups sharing a row become one finding (the engine merges them)."""
    ctx.need("recipient_id_no", "program", "payment_date")
    windows: Mapping[str, Any] = dict(ctx.args["windows"] or {})
    d = col("payment_date")
    default = _window_key(windows.get("default", "same_day"), d, None)
    per_program = [
        (eq(col("program"), string(str(p))), _window_key(spec, d, default))
        for p, spec in windows.items()
        if p != "default"
    ]
    in_window = case(per_program, default) if per_program else default
    value_cols = [c for c in ("recipient_id_no", "program", "payment_date", "amount", "bank_account") if ctx.has(c)]
    a_keys = [col("recipient_id_no"), col("program"), col("_window")]
    a_rows = (
        select(col(ROW_ID), *[col(c) for c in value_cols], named(in_window, "_window"), *amount_column(ctx))
        .from_(table(ctx.ledger))
        .where(all_of([ctx.where(), matchable("recipient_id_no"), not_null(col("program")), not_null(d)]))
    )
    a = select(
        exp.Star(),
        named(over_partition(exp.Count(this=exp.Star()), *a_keys), "_n"),
        named(dense_rank(*a_keys), "_g"),
        named(string("same recipient, programme and window"), "_test"),
    ).from_(a_rows.subquery("a0"))
    parts = [
        select(
            *[col(c) for c in (ROW_ID, *value_cols)],
            *([col("_amount")] if ctx.amount() is not None else []),
            named(exp.Mul(this=col("_g"), expression=number(2)), "_finding"),
            *problem_cols("duplicate_payment.same_window"),
        )
        .from_(a.subquery("a1"))
        .where(exp.GT(this=col("_n"), expression=number(1)))
    ]
    if ctx.has("bank_account", "amount"):
        b_keys = [col("payment_date"), col("amount"), col("bank_account")]
        b_rows = (
            select(col(ROW_ID), *[col(c) for c in value_cols], *amount_column(ctx))
            .from_(table(ctx.ledger))
            .where(all_of([ctx.where(), *[not_null(k) for k in b_keys]]))
        )
        b = select(
            exp.Star(),
            named(over_partition(exp.Count(this=exp.Star()), *b_keys), "_n"),
            named(dense_rank(*b_keys), "_g"),
        ).from_(b_rows.subquery("b0"))
        parts.append(
            select(
                *[col(c) for c in (ROW_ID, *value_cols)],
                *([col("_amount")] if ctx.amount() is not None else []),
                named(exp.Add(this=exp.Mul(this=col("_g"), expression=number(2)), expression=number(1)), "_finding"),
                *problem_cols("duplicate_payment.same_entry"),
            )
            .from_(b.subquery("b1"))
            .where(exp.GT(this=col("_n"), expression=number(1)))
        )
    # a row in both tests' groups says the first test's problem (the engine keeps a row's first result row):
    # ordered by row, then test (the first test's groups are even)
    in_order = [col(ROW_ID), exp.Mod(this=col("_finding"), expression=number(2))]
    if ctx.amount() is None:
        return select(exp.Star()).from_(from_union(parts, "u")).order_by(*in_order)
    # money at issue: what was paid again, every payment of a group but its earliest (windows over the result
    # rows only; a row in two groups repeats something if it does in either)
    first = window(exp.FirstValue(this=col(ROW_ID)), [col("_finding")], [col("payment_date"), col(ROW_ID)])
    marked = select(exp.Star(), named(first, "_first")).from_(from_union(parts, "u"))
    repeated = case([(eq(col(ROW_ID), col("_first")), number(0))], col("_amount"))
    return select(
        exp.Star(except_=[col("_amount"), col("_first")]),
        named(over_partition(exp.Max(this=repeated), col(ROW_ID)), "_amount"),
    ).from_(marked.subquery("m")).order_by(*in_order)


def _caps(ctx: CheckContext, rows: exp.Select, alias: str) -> exp.Select:
    """``rows`` (with ``program``, ``aid_category``, ``payment_date``) plus the cap row that applies
    (the row's own category before the programme's blank-category row; its year before a blank
    year) as ``pay_cap`` and ``year_cap`` in fen (低保 multiples multiplied out), with the row ids of that
    cap row (``_cap_rid``) and of the 低保 row a multiple used (``_dibao_rid``), for findings to cite."""
    need_reference(ctx, CAPS, "program")
    if not (ctx.has("per_payment_cap", table=CAPS) or ctx.has("per_year_cap", table=CAPS)):
        ctx.need("per_payment_cap", table=CAPS)
    c = "c"
    on = [eq(col("program", c), col("program", alias))]
    order: list[exp.Expression] = []
    if ctx.has("category", table=CAPS):
        cat = col("aid_category", alias) if ctx.has("aid_category") else exp.Null()
        on.append(any_of(eq(col("category", c), cat), is_null(col("category", c))))
        order.append(exp.Ordered(this=flag(is_null(col("category", c)))))
    if ctx.has("year", table=CAPS):
        on.append(any_of(eq(col("year", c), exp.Year(this=col("payment_date", alias))), is_null(col("year", c))))
        order.append(exp.Ordered(this=flag(is_null(col("year", c)))))
    dibao = dibao_by_year(ctx)
    basis = col("basis", c) if ctx.has("basis", table=CAPS) else exp.Null()
    monthly = col("monthly_dibao", "db") if dibao is not None else exp.Null()
    dibao_rid = case([(eq(basis, string("dibao_multiple")), col("_dibao", "db"))]) if dibao is not None else exp.Null()

    def cap(name: str) -> exp.Expression:
        if not ctx.has(name, table=CAPS):
            return exp.cast(exp.Null(), exp.DataType.build("DOUBLE"))
        value = col(name, c)
        multiple = exp.Div(this=exp.Mul(this=monthly, expression=value), expression=number(100))
        return case(
            [
                (eq(basis, string("dibao_multiple")), multiple),
                (eq(basis, string("out_of_pocket")), exp.cast(exp.Null(), exp.DataType.build("DOUBLE"))),
            ],
            exp.cast(value, exp.DataType.build("DOUBLE")),
        )

    rank = exp.Window(
        this=exp.Anonymous(this="ROW_NUMBER"),
        partition_by=[col(ROW_ID, alias)],
        order=exp.Order(expressions=order or [exp.Ordered(this=col(ROW_ID, c))]),
    )
    q = (
        select(
            *[col(n, alias) for n in output_names(rows)],
            named(cap("per_payment_cap"), "pay_cap"),
            named(cap("per_year_cap"), "year_cap"),
            named(col(ROW_ID, c), "_cap_rid"),
            named(exp.cast(dibao_rid, exp.DataType.build("BIGINT")), "_dibao_rid"),
            named(rank, "_cap_rank"),
        )
        .from_(rows.subquery(alias))
        .join(table(CAPS, c), on=exp.and_(*on))
    )
    if dibao is not None:
        q = q.join(
            dibao.subquery("db"),
            on=eq(col("year", "db"), exp.Year(this=col("payment_date", alias))),
            join_type="left",
        )
    return select(exp.Star()).from_(q.subquery("cr")).where(eq(col("_cap_rank"), number(1)))


def _cap_cites(alias: str | None = None) -> list[exp.Expression]:
    """The cap row a payment was held against, and the 低保 row a multiple used (``_caps``' row ids)."""
    return [cite(col("_cap_rid", alias), CAPS), cite(col("_dibao_rid", alias), DIBAO)]


@implements("aid_cap")
def aid_cap(ctx: CheckContext) -> exp.Select:
    """Per payment: amount > cap. Per year: the recipient's total in (programme, category, year) >
    the yearly cap, one finding listing those rows."""
    ctx.need("program", "amount", "payment_date")
    ctx.units.update(cap="money", total="money", amount="money", excess="money", pay_cap="money", year_cap="money")
    value_cols = [c for c in ("recipient_id_no", "program", "aid_category", "payment_date", "amount") if ctx.has(c)]
    status = [col("recipient_id_no__status")] if ctx.has("recipient_id_no") else []
    rows = (
        select(col(ROW_ID), *[col(c) for c in value_cols], *status, *amount_column(ctx))
        .from_(table(ctx.ledger))
        .where(all_of([ctx.where(), not_null(col("amount")), not_null(col("payment_date")), not_null(col("program"))]))
    )
    capped = _caps(ctx, rows, "d")
    keep = [c for c in output_names(rows) if c not in ("amount",)]
    amount_col = [col("_amount")] if ctx.amount() is not None else []

    def over_cap(
        rows: exp.Expression, finding: exp.Expression, cap: str, total: exp.Expression, code: str
    ) -> exp.Select:
        """The rows of ``rows`` whose ``total`` exceeds the cap column ``cap``, as findings ``finding``."""
        return (
            select(
                *[col(c) for c in keep if c != "_amount"],
                col("amount"),
                *amount_col,
                named(finding, "_finding"),
                named(col(cap), "cap"),
                col("pay_cap"),
                col("year_cap"),
                named(total, "total"),
                named(exp.Sub(this=total, expression=col(cap)), "excess"),
                *_cap_cites(),
                *problem_cols(code),
            )
            .from_(rows)
            .where(exp.and_(not_null(col(cap)), exp.GT(this=total, expression=col(cap))))
        )

    first_row = exp.Neg(this=paren(exp.Add(this=col(ROW_ID), expression=number(1))))
    parts = [over_cap(capped.subquery("p"), first_row, "pay_cap", col("amount"), "aid_cap.per_payment")]
    if ctx.has("recipient_id_no"):
        keys = [
            col("recipient_id_no"),
            col("program"),
            col("aid_category") if ctx.has("aid_category") else exp.Null(),
            exp.Year(this=col("payment_date")),
        ]
        totals = select(
            exp.Star(),
            named(over_partition(exp.Sum(this=col("amount")), *keys), "_total"),
            named(dense_rank(*keys), "_g"),
        ).from_(select(exp.Star()).from_(capped.subquery("y0")).where(matchable("recipient_id_no")).subquery("y1"))
        parts.append(over_cap(totals.subquery("y"), col("_g"), "year_cap", col("_total"), "aid_cap.per_year"))
    return select(exp.Star()).from_(from_union(parts, "u"))


@implements("split_payment")
def split_payment(ctx: CheckContext) -> exp.Select:
    """For each payment under the threshold, the payments under it to the same recipient and
    programme in the ``window_days`` before it (itself included); two or more summing above the
    threshold form a finding (sets sharing a payment merge)."""
    ctx.need("recipient_id_no", "program", "amount", "payment_date")
    ctx.units.update(threshold="money", total="money")
    value_cols = [c for c in ("recipient_id_no", "program", "aid_category", "payment_date", "amount") if ctx.has(c)]
    present = [not_null(col(c)) for c in ("program", "amount", "payment_date")]
    rows = (
        select(col(ROW_ID), *[col(c) for c in value_cols], *amount_column(ctx))
        .from_(table(ctx.ledger))
        .where(all_of([ctx.where(), matchable("recipient_id_no"), *present]))
    )
    fixed = number(sql.to_fen(ctx.args["threshold_default"]))
    names = output_names(rows)
    if ctx.args["threshold"] == "per_payment_cap" and CAPS in ctx.present and ctx.has("program", table=CAPS):
        capped = select(col(ROW_ID), col("pay_cap"), col("_cap_rid"), col("_dibao_rid")).from_(
            _caps(ctx, rows, "d").subquery("k0")
        )
        from_cap = not_null(col("pay_cap", "k"))  # the threshold is the cap row's (else the fixed default)
        base = (
            select(
                *[col(c, "d") for c in names],
                named(exp.Coalesce(this=col("pay_cap", "k"), expressions=[fixed]), "threshold"),
                named(case([(from_cap, col("_cap_rid", "k"))]), "_cap_rid"),
                named(case([(from_cap, col("_dibao_rid", "k"))]), "_dibao_rid"),
            )
            .from_(rows.subquery("d"))
            .join(capped.subquery("k"), on=eq(col(ROW_ID, "k"), col(ROW_ID, "d")), join_type="left")
        )
    else:
        nothing = exp.cast(exp.Null(), exp.DataType.build("BIGINT"))
        cites = [named(nothing, "_cap_rid"), named(nothing, "_dibao_rid")]
        base = select(*[col(c) for c in names], named(fixed, "threshold"), *cites).from_(rows.subquery("d"))
    under = select(exp.Star()).from_(base.subquery("b")).where(exp.LT(this=col("amount"), expression=col("threshold")))
    days = days_from(col("payment_date", "o"), col("payment_date", "e"))
    linked = exp.and_(
        eq(col("recipient_id_no", "o"), col("recipient_id_no", "e")),
        eq(col("program", "o"), col("program", "e")),
    )
    in_window = exp.Between(this=days, low=number(0), high=number(int(ctx.args["window_days"])))
    pairs = (
        select(
            named(col(ROW_ID, "e"), "_anchor"),
            named(col(ROW_ID, "o"), "_member"),
            col("amount", "o"),
            col("threshold", "e"),
            col("_cap_rid", "o"),
            col("_dibao_rid", "o"),
        )
        .from_(under.subquery("e"))
        .join(under.subquery("o"), on=linked)
        .where(in_window)
    )
    anchors = (
        select(
            col("_anchor"),
            named(exp.Sum(this=col("amount")), "total"),
            named(exp.Max(this=col("threshold")), "threshold"),
        )
        .from_(pairs.subquery("p"))
        .group_by(col("_anchor"))
        .having(
            exp.and_(
                exp.GTE(this=exp.Count(this=exp.Star()), expression=number(2)),
                exp.GT(this=exp.Sum(this=col("amount")), expression=exp.Max(this=col("threshold"))),
            )
        )
    )
    return (
        select(
            *[col(c, "r") for c in output_names(rows)],
            named(col("_anchor", "a"), "_finding"),
            col("total", "a"),
            col("threshold", "a"),
            *_cap_cites("p2"),  # each payment's cap row (the threshold it was under)
        )
        .from_(anchors.subquery("a"))
        .join(pairs.subquery("p2"), on=eq(col("_anchor", "p2"), col("_anchor", "a")))
        .join(rows.subquery("r"), on=eq(col(ROW_ID, "r"), col("_member", "p2")))
    )


@implements("year_end_share")
def year_end_share(ctx: CheckContext) -> exp.Select:
    """Per union and year: money paid in the last ``days`` days of the year ÷ money paid in the year
    > ``share`` ⇒ one finding listing that union's year-end payments."""
    ctx.need("amount", "payment_date")
    ctx.units.update(year_end="money", year_total="money")
    d = col("payment_date")
    year_end = exp.DateFromParts(year=exp.Year(this=d), month=number(12), day=number(31))
    tail = exp.LT(this=days_from(d, year_end), expression=number(int(ctx.args["days"])))
    keys: list[exp.Expression] = [col("grassroots_union")] if ctx.has("grassroots_union") else []
    keys.append(exp.Year(this=d))
    value_cols = [c for c in ("grassroots_union", "payment_date", "amount") if ctx.has(c)]
    scored = (
        select(
            col(ROW_ID),
            *[col(c) for c in value_cols],
            *amount_column(ctx),
            named(flag(tail), "_tail"),
            named(over_partition(exp.Sum(this=col("amount")), *keys), "year_total"),
            named(over_partition(exp.Sum(this=case([(tail, col("amount"))], number(0))), *keys), "year_end"),
            named(dense_rank(*keys), "_finding"),
        )
        .from_(table(ctx.ledger))
        .where(all_of([ctx.where(), not_null(d), not_null(col("amount"))]))
    )
    share = number(ctx.args["share"])
    over = exp.GT(this=col("year_end"), expression=exp.Mul(this=share, expression=col("year_total")))
    pct = exp.Round(
        this=exp.Div(this=exp.Mul(this=number(100.0), expression=col("year_end")), expression=col("year_total")),
        decimals=number(1),
    )
    return (
        select(
            *[col(c) for c in (ROW_ID, *value_cols)],
            *([col("_amount")] if ctx.amount() is not None else []),
            col("_finding"),
            col("year_end"),
            col("year_total"),
            named(pct, "share_pct"),
        )
        .from_(scored.subquery("s"))
        .where(exp.and_(eq(col("_tail"), number(1)), exp.GT(this=col("year_total"), expression=number(0)), over))
    )
