"""Register check types: the hardship register itself (duplicate households, eligibility).

Rules: REG-DUP-HOUSEHOLD (``household_duplicate``), REG-ELIGIBILITY (``hardship_eligibility``).
Signatures: ``fundaudit/rules/signatures/register.py``.
Tests: ``tests/checks/test_register.py``.

- The register is read as of the end of the audit period (``common.as_of_date``).
- ``hardship_eligibility``: a blank hardship spending counts as 0; 低保 is the ``dibao`` row of the
  audit year for the run's region (ambiguous when the table has several regions and none is chosen:
  then the file's own 低保标准, else nothing is compared).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlglot.expressions as exp

from fundaudit.engine.checks import implements
from fundaudit.engine.checks.common import (
    DIBAO,
    as_of_date,
    dibao_by_year,
    matchable,
)
from fundaudit.engine.context import CheckContext, Skip
from fundaudit.engine.sql import (
    ROW_ID,
    all_of,
    any_of,
    case,
    cite,
    col,
    dense_rank,
    eq,
    from_union,
    in_texts,
    named,
    not_null,
    number,
    over_partition,
    paren,
    reason_columns,
    select,
    string,
    table,
)
from fundaudit.errors import texts


@implements("household_duplicate")
def household_duplicate(ctx: CheckContext) -> exp.Select:
    """Active files sharing an ID, or (``normalized_address`` in household_keys) an address key."""
    ctx.need("status", "id_no")
    active = in_texts(col("status"), ctx.args["active_status"])
    value_cols = [c for c in ("file_no", "name", "id_no", "status") if ctx.has(c)]
    tests = [("id_no", col("id_no"), *texts("findings", "household_duplicate.id_no"))]
    usable = {"id_no": matchable("id_no")}
    if "normalized_address" in ctx.args["household_keys"] and ctx.has("address"):
        tests.append(
            (
                "address",
                col("address__key"),
                *texts("findings", "household_duplicate.address"),
            )
        )
    parts = []
    for i, (_name, key, zh, en) in enumerate(tests):
        rows = (
            select(
                col(ROW_ID),
                *[col(c) for c in value_cols],
                named(over_partition(exp.Count(this=exp.Star()), key), "_n"),
                named(dense_rank(key), "_g"),
            )
            .from_(table(ctx.ledger))
            .where(all_of([ctx.where(), active, usable.get(_name, not_null(key))]))
        )
        parts.append(
            select(
                *[col(c) for c in (ROW_ID, *value_cols)],
                named(
                    exp.Add(this=exp.Mul(this=col("_g"), expression=number(len(tests))), expression=number(i)),
                    "_finding",
                ),
                named(string(zh), "problem"),
                named(string(en), "problem_en"),
            )
            .from_(rows.subquery(f"h{i}"))
            .where(exp.GT(this=col("_n"), expression=number(1)))
        )
    return select(exp.Star()).from_(from_union(parts, "u"))


@implements("hardship_eligibility")
def hardship_eligibility(ctx: CheckContext) -> exp.Select:
    """Deep / relative: (income − spending) > 低保 × multiplier × 12 × household size (no division,
    so exactly at the limit passes). Accident: spending < ratio × income."""
    ctx.need("category", "household_income_annual")
    ctx.units.update(per_capita_monthly="money", limit="money", monthly_dibao="money")
    income = col("household_income_annual", "r")
    spending = (
        exp.Coalesce(this=col("hardship_spending", "r"), expressions=[number(0)])
        if ctx.has("hardship_spending")
        else number(0)
    )
    category = col("category", "r")
    multipliers: Mapping[str, Any] = ctx.args["multipliers"] or {}
    dibao = dibao_by_year(ctx)
    year = number(as_of_date(ctx).year)
    row_dibao = col("local_dibao", "r") if ctx.has("local_dibao") else exp.Null()
    monthly = exp.Coalesce(this=col("monthly_dibao", "db"), expressions=[row_dibao]) if dibao is not None else row_dibao
    if dibao is None and not ctx.has("local_dibao"):
        raise Skip("skip_no_reference", table=DIBAO)
    size = col("household_size", "r") if ctx.has("household_size") else exp.Null()
    mult = (
        case([(eq(category, string(str(k))), number(float(v))) for k, v in multipliers.items()])
        if multipliers
        else exp.Null()
    )
    limit = exp.Mul(this=monthly, expression=mult)
    net = exp.Sub(this=income, expression=spending)
    too_rich = exp.and_(
        in_texts(category, list(multipliers)),
        not_null(size),
        exp.GT(this=size, expression=number(0)),
        not_null(monthly),
        exp.GT(this=net, expression=exp.Mul(this=exp.Mul(this=limit, expression=number(12)), expression=size)),
    )
    # the 低保 row the income test used (none when the file's own 低保标准 stood in, or for the accident test)
    dibao_cite = [cite(case([(too_rich, col("_dibao", "db"))]), DIBAO)] if dibao is not None else []
    ratio = number(ctx.args["accident_loss_ratio"])
    accident = exp.and_(
        eq(category, string(str(ctx.args["accident_category"]))),
        exp.GT(this=income, expression=number(0)),
        exp.LT(this=spending, expression=exp.Mul(this=ratio, expression=income)),
    )
    per_capita = case(
        [
            (
                exp.GT(this=size, expression=number(0)),
                exp.Div(this=exp.Div(this=paren(net), expression=number(12.0)), expression=size),
            )
        ]
    )
    loss_pct = case(
        [
            (
                exp.GT(this=income, expression=number(0)),
                exp.Round(
                    this=exp.Div(this=exp.Mul(this=number(100.0), expression=spending), expression=income),
                    decimals=number(1),
                ),
            )
        ]
    )
    reasons = reason_columns(
        [
            (too_rich, *texts("findings", "hardship_eligibility.too_rich")),
            (
                accident,
                *texts("findings", "hardship_eligibility.accident_loss", ratio=f"{ctx.args['accident_loss_ratio']:g}"),
            ),
        ]
    )
    q = select(
        col(ROW_ID, "r"),
        *[
            col(c, "r")
            for c in ("file_no", "name", "category", "household_size", "household_income_annual", "hardship_spending")
            if ctx.has(c)
        ],
        named(per_capita, "per_capita_monthly"),
        named(limit, "limit"),
        named(monthly, "monthly_dibao"),
        named(loss_pct, "loss_pct"),
        *reasons,
        *dibao_cite,
    ).from_(table(ctx.ledger, "r"))
    if dibao is not None:
        q = q.join(dibao.subquery("db"), on=eq(col("year", "db"), year), join_type="left")
    return q.where(all_of([ctx.where("r"), not_null(income), any_of(too_rich, accident)]))
