"""Cross-ledger check types: one ledger read against another or against a reference list.

Rules: XL-STAFF-RELATIVE and REG-STAFF-RELATIVE (``staff_relative``), XL-UNION-STATUS (``union_status``),
XL-FUND-OVERSPEND (``fund_overspend``); XL-UNION-ACCOUNT and XL-MISSING-EMPLOYER are ``lookup``s in
``rules/cross.yaml``. Signatures: ``fundaudit/rules/signatures/cross.py``.
Tests: ``tests/checks/test_cross.py``.

- ``staff_relative``: names are never a key; addresses are compared through their matching keys.
- ``union_status``: the employer's union is the registry row whose
  ``employer_taxpayer_id`` is the dues row's taxpayer ID; ``grace_months`` widens both tests. A finding
  cites every registry row of the employer (the unions it judged founded late, dissolved or founded before).
- ``staff_relative`` cites the matched staff row and, for a listed relative, the officer it names
  (``relation_of``, role ``officer``).
"""

from __future__ import annotations

from typing import Any

import sqlglot.expressions as exp

from fundaudit.engine.checks import implements
from fundaudit.engine.checks.common import (
    DISB,
    DUES,
    REG,
    STAFF,
    UNIONS,
    amount_column,
    matchable,
    need_reference,
    period_years,
    rids_where,
)
from fundaudit.engine.context import CheckContext, Skip
from fundaudit.engine.sql import (
    PROBLEM_COLS,
    ROW_ID,
    add_months,
    all_of,
    all_reasons,
    any_of,
    case,
    cite,
    col,
    eq,
    from_union,
    in_numbers,
    in_texts,
    is_null,
    named,
    not_null,
    number,
    reason_columns,
    select,
    string,
    table,
    text_sql,
)
from fundaudit.errors import render, texts

# Staff fields and the column each target table holds them in (address through its matching key).
STAFF_FIELDS = {
    DISB: {"id_no": "recipient_id_no", "bank_account": "bank_account"},
    REG: {"id_no": "id_no", "bank_account": "bank_account", "phone": "phone", "address": "address__key"},
}


STAFF_KEY = {"id_no": "id_no", "bank_account": "bank_account", "phone": "phone", "address": "address__key"}


STAFF_FIELD_ZH = {g: render("values", f"matched_on.{g}", "zh") for g in STAFF_KEY}


PERSON = {DISB: "recipient_name", REG: "name"}


def _relation_note(ctx: CheckContext) -> list[exp.Expression]:
    """'，汪建华的姐妹' / ', sister of 汪建华' for a listed relative; empty for staff themselves."""
    if not ctx.has("relation_of", table=STAFF):
        return [named(string(""), "relation_note"), named(string(""), "relation_note_en")]
    of = col("relation_of", "s")
    relative = texts("findings", "staff_relative.relative")

    def rel(lang: int) -> exp.Expression:
        given = exp.Coalesce(this=col("relation", "s"), expressions=[string(relative[lang])])
        return given if ctx.has("relation", table=STAFF) else string(relative[lang])

    zh, en = (
        text_sql(render("findings", "staff_relative.of", lang), of=of, relation=rel(i))
        for i, lang in enumerate(("zh", "en"))
    )
    return [
        named(case([(not_null(of), zh)], string("")), "relation_note"),
        named(case([(not_null(of), en)], string("")), "relation_note_en"),
    ]


def _officer_cite(ctx: CheckContext) -> list[exp.Expression]:
    """The staff row(s) of the officer a listed relative belongs to (its ``relation_of``, staff row ``s``), cited
    as ``officer``; nothing when the list has no such column. ``relation_of`` names a person, so the name is
    the only key there is: every staff row of that name that is not itself a relative is cited."""
    if not ctx.has("relation_of", table=STAFF):
        return []
    named_as = exp.and_(eq(col("name", "o"), col("relation_of", "s")), is_null(col("relation_of", "o")))
    return [cite(rids_where(STAFF, "o", named_as), STAFF, "officer")]


@implements("staff_relative")
def staff_relative(ctx: CheckContext) -> exp.Select:
    """Rows of the rule's ledger sharing a value with anyone on the staff list: payments (ID, account;
    XL-STAFF-RELATIVE) or register files (ID, account, phone, address; REG-STAFF-RELATIVE), so each
    match is one finding of the rule that describes it. A rule on the ``staff`` list itself checks
    both. One finding per payment or file, naming the person and the field."""
    need_reference(ctx, STAFF, "name")
    ctx.units.update(paid="money")
    fields = [f for f in ctx.args["match_on"] if f in STAFF_KEY]
    roles = [str(r) for r in ctx.args["roles"]]
    has_role = ctx.has("role", table=STAFF)
    staff_where = None if "all" in roles or not has_role else in_texts(col("role", "s"), roles)
    targets = {ctx.ledger: STAFF_FIELDS[ctx.ledger]} if ctx.ledger in STAFF_FIELDS else STAFF_FIELDS
    officer_cite = _officer_cite(ctx)
    parts = []
    for target, mapping in targets.items():
        if target not in ctx.present:
            continue
        usable = [
            f
            for f in fields
            if f in mapping
            and ctx.has(mapping[f].removesuffix("__key"), table=target)
            and ctx.has(STAFF_KEY[f].removesuffix("__key"), table=STAFF)
        ]
        if not usable:
            continue
        own_where = ctx.where("t") if target == ctx.ledger else None
        hits = [
            select(
                named(col(ROW_ID, "t"), ROW_ID),
                named(col(ROW_ID, "s"), "_staff"),
                *[named(number(int(f == g)), f"_m_{g}") for g in usable],
            )
            .from_(table(target, "t"))
            .join(table(STAFF, "s"), on=eq(col(STAFF_KEY[f], "s"), col(mapping[f], "t")))
            .where(
                all_of(
                    [
                        matchable(mapping[f], "t") if f == "id_no" else not_null(col(mapping[f], "t")),
                        staff_where,
                        own_where,
                    ]
                )
            )
            for f in usable
        ]
        flags = (
            select(col(ROW_ID), col("_staff"), *[named(exp.Max(this=col(f"_m_{g}")), f"_m_{g}") for g in usable])
            .from_(from_union(hits, "h"))
            .group_by(col(ROW_ID), col("_staff"))
        )
        matched_zh, matched = all_reasons(
            [(eq(col(f"_m_{g}", "f"), number(1)), STAFF_FIELD_ZH[g], g) for g in usable], ("、", ", ")
        )
        values = {
            "id_no": col(mapping["id_no"], "t") if "id_no" in usable else None,
            "bank_account": col("bank_account", "t") if "bank_account" in usable else None,
            "phone": col("phone", "t") if "phone" in usable else None,
        }
        amount = col("amount", "t") if target == DISB and ctx.has("amount", table=DISB) else None
        person = col(PERSON[target], "t") if ctx.has(PERSON[target], table=target) else exp.Null()
        text = exp.DataType.build("VARCHAR")
        part = (
            select(
                col(ROW_ID, "f"),
                named(string(target), "_table"),
                named(exp.cast(person, text), "person"),
                named(col("name", "s"), "staff_name"),
                cite(col(ROW_ID, "s"), STAFF),
                *officer_cite,
                named(exp.cast(col("role", "s") if has_role else exp.Null(), text), "role"),
                *_relation_note(ctx),
                named(matched, "matched_on"),
                named(matched_zh, "matched_zh"),
                *[named(exp.cast(v if v is not None else exp.Null(), text), k) for k, v in values.items()],
                # the payment, as a value: `_amount` would be empty on register files, and the engine
                # renders a finding without money in a rule that has some as NaN, not null
                named(exp.cast(amount if amount is not None else exp.Null(), exp.DataType.build("BIGINT")), "paid"),
            )
            .from_(flags.subquery("f"))
            .join(table(target, "t"), on=eq(col(ROW_ID, "t"), col(ROW_ID, "f")))
            .join(table(STAFF, "s"), on=eq(col(ROW_ID, "s"), col("_staff", "f")))
        )
        parts.append(part)
    if not parts:  # no field both sides have: skip naming what is missing
        for target, mapping in targets.items():
            if target in ctx.present:
                ctx.need(*[mapping[f].removesuffix("__key") for f in fields if f in mapping], table=target)
        ctx.need(*[STAFF_KEY[f].removesuffix("__key") for f in fields], table=STAFF)
        raise Skip("skip_no_table", table=" / ".join(targets))
    return select(exp.Star()).from_(from_union(parts, "u"))


def _union_exists(cond: exp.Expression) -> exp.Expression:
    """Some registry union of the row's employer satisfies ``cond`` (alias ``u``; dues row ``d``)."""
    on = eq(col("employer_taxpayer_id", "u"), col("taxpayer_id", "d"))
    return exp.Exists(this=select(number(1)).from_(table(UNIONS, "u")).where(exp.and_(on, cond)))


@implements("union_status")
def union_status(ctx: CheckContext) -> exp.Select:
    """工会经费 without a union existing for the period ⇒ error; 筹备金 although the union was
    founded before the period started ⇒ warning (``grace_months`` widen both)."""
    ctx.need("taxpayer_id", "fund_type", "period_start", "period_end")
    need_reference(ctx, UNIONS, "employer_taxpayer_id", "founded_date")
    grace = int(ctx.args["grace_months"] or 0)
    start, end = col("period_start", "d"), col("period_end", "d")
    not_dissolved = (
        any_of(is_null(col("dissolved_date", "u")), exp.GTE(this=col("dissolved_date", "u"), expression=end))
        if ctx.has("dissolved_date", table=UNIONS)
        else exp.true()
    )
    exists = _union_exists(
        exp.and_(exp.LTE(this=col("founded_date", "u"), expression=add_months(start, grace)), not_dissolved)
    )
    founded_before = _union_exists(
        exp.and_(exp.LT(this=add_months(col("founded_date", "u"), grace), expression=start), not_dissolved)
    )
    union_fund = exp.and_(eq(col("fund_type", "d"), string("union_fund")), exp.Not(this=exists))
    prep_fund = exp.and_(eq(col("fund_type", "d"), string("prep_fund")), founded_before)
    first = (
        select(
            col("employer_taxpayer_id"),
            named(exp.Min(this=col("founded_date")), "founded_date"),
            *([named(exp.Min(this=col("union_name")), "union_name")] if ctx.has("union_name", table=UNIONS) else []),
        )
        .from_(table(UNIONS))
        .group_by(col("employer_taxpayer_id"))
    )
    reasons = reason_columns(
        [
            (union_fund, *texts("findings", "union_status.no_union")),
            (prep_fund, *texts("findings", "union_status.prep_after_founding")),
        ]
    )
    fund = col("fund_type", "d")
    hits = (
        select(
            col(ROW_ID, "d"),
            *[
                col(c, "d")
                for c in ("taxpayer_id", "taxpayer_name", "fund_type", "period_start", "period_end")
                if ctx.has(c)
            ],
            *[
                named(case([(eq(fund, string("union_fund")), string(u))], string(p)), name)
                for u, p, name in zip(
                    texts("values", "fund_type.union_fund"),
                    texts("values", "fund_type.prep_fund"),
                    ("fund_name", "fund_name_en"),
                    strict=True,
                )
            ],
            col("founded_date", "f"),
            *([col("union_name", "f")] if ctx.has("union_name", table=UNIONS) else []),
            named(case([(union_fund, exp.Null())], string("warning")), "_severity"),
            *reasons,
            *amount_column(ctx, "d"),
        )
        .from_(table(DUES, "d"))
        .join(first.subquery("f"), on=eq(col("employer_taxpayer_id", "f"), col("taxpayer_id", "d")), join_type="left")
        .where(
            all_of(
                [
                    ctx.where("d"),
                    not_null(col("taxpayer_id", "d")),
                    not_null(start),
                    not_null(end),
                    any_of(union_fund, prep_fund),
                ]
            )
        )
    )
    # the employer's registry rows it judged (none: no union at all), joined to the findings only
    registry = (
        select(col("employer_taxpayer_id"), named(exp.ArrayAgg(this=col(ROW_ID)), "_unions"))
        .from_(table(UNIONS))
        .group_by(col("employer_taxpayer_id"))
    )
    return (
        select(exp.Column(this=exp.Star(), table=exp.to_identifier("h")), cite(col("_unions", "r"), UNIONS))
        .from_(hits.subquery("h"))
        .join(
            registry.subquery("r"), on=eq(col("employer_taxpayer_id", "r"), col("taxpayer_id", "h")), join_type="left"
        )
    )


@implements("fund_overspend")
def fund_overspend(ctx: CheckContext) -> exp.Select:
    """Per allocation row (programme, year, and union when given): aid paid > allocation ⇒ the rule's
    severity; paid < ``min_spend_ratio`` × allocation ⇒ info."""
    ctx.need("program", "allocated")
    if DISB not in ctx.present:
        raise Skip("skip_no_table", table=DISB)
    ctx.need("program", "amount", "payment_date", table=DISB)
    ctx.units.update(spent="money", allocated="money", difference="money")
    years = period_years(ctx)
    b = "b"
    year = col("year", b) if ctx.has("year") else (number(ctx.period.end.year) if ctx.period else exp.Null())
    paid_year = exp.Year(this=col("payment_date"))
    by_program = (
        select(col("program"), named(paid_year, "y"), named(exp.Sum(this=col("amount")), "spent"))
        .from_(table(DISB))
        .where(not_null(col("payment_date")))
        .group_by(col("program"), paid_year)
    )
    spent: exp.Expression = col("spent", "p")
    q_joins: list[tuple[Any, Any]] = [
        (by_program.subquery("p"), exp.and_(eq(col("program", "p"), col("program", b)), eq(col("y", "p"), year)))
    ]
    by_union_ok = ctx.has("grassroots_union") and ctx.has("grassroots_union", table=DISB)
    if by_union_ok:
        by_union = (
            select(
                col("program"),
                col("grassroots_union"),
                named(paid_year, "y"),
                named(exp.Sum(this=col("amount")), "spent"),
            )
            .from_(table(DISB))
            .where(not_null(col("payment_date")))
            .group_by(col("program"), col("grassroots_union"), paid_year)
        )
        q_joins.append(
            (
                by_union.subquery("pu"),
                exp.and_(
                    eq(col("program", "pu"), col("program", b)),
                    eq(col("grassroots_union", "pu"), col("grassroots_union", b)),
                    eq(col("y", "pu"), year),
                ),
            )
        )
        spent = case([(is_null(col("grassroots_union", b)), col("spent", "p"))], col("spent", "pu"))
    spent = exp.Coalesce(this=spent, expressions=[number(0)])
    allocated = col("allocated", b)
    over = exp.GT(this=spent, expression=allocated)
    under = exp.LT(this=spent, expression=exp.Mul(this=number(ctx.args["min_spend_ratio"]), expression=allocated))
    union = col("grassroots_union", b) if ctx.has("grassroots_union") else exp.Null()
    scope = case(
        [(not_null(union), exp.DPipe(this=exp.DPipe(this=string("（"), expression=union), expression=string("）")))],
        string(""),
    )
    scope_en = case(
        [(not_null(union), exp.DPipe(this=exp.DPipe(this=string(" ("), expression=union), expression=string(")")))],
        string(""),
    )
    q = select(
        col(ROW_ID, b),
        *[col(c, b) for c in ("program", "grassroots_union") if ctx.has(c)],
        named(scope, "scope"),
        named(scope_en, "scope_en"),
        named(year, "year"),
        named(allocated, "allocated"),
        named(spent, "spent"),
        named(exp.Sub(this=spent, expression=allocated), "difference"),
        named(
            exp.Round(
                this=exp.Div(this=exp.Mul(this=number(100.0), expression=spent), expression=allocated),
                decimals=number(1),
            ),
            "spent_pct",
        ),
        named(case([(over, exp.Null())], string("info")), "_severity"),
        named(
            case([(over, exp.Sub(this=spent, expression=allocated))], exp.Sub(this=allocated, expression=spent)),
            "_amount",
        ),
        *[
            named(case([(over, string(o))], string(u)), name)
            for o, u, name in zip(
                texts("findings", "fund_overspend.over"),
                texts("findings", "fund_overspend.under"),
                PROBLEM_COLS,
                strict=True,
            )
        ],
    ).from_(table(ctx.ledger, b))
    for sub, on in q_joins:
        q = q.join(sub, on=on, join_type="left")
    return q.where(
        all_of(
            [
                ctx.where(b),
                not_null(allocated),
                exp.GT(this=allocated, expression=number(0)),
                in_numbers(year, years) if years and ctx.has("year") else None,
                any_of(over, under),
            ]
        )
    )
