"""What the check families share beyond SQL builders (those are ``fundaudit.engine.sql``): the names of
the tables they read, and the small helpers that read the rule's context (its ``amount:``, its
``where``, the audit period, which reference tables are present). Not a family: it implements no check
type."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import sqlglot.expressions as exp

from fundaudit.engine.context import CheckContext, Skip
from fundaudit.engine.sql import ROW_ID, all_of, case, col, eq, named, not_null, number, select, string, table
from fundaudit.facts import IN_PERIOD

__all__ = [
    "BUDGET",
    "CAPS",
    "DIBAO",
    "DISB",
    "DUES",
    "EMPLOYERS",
    "IN_PERIOD",
    "MIN_WAGE",
    "RATIOS",
    "REG",
    "STAFF",
    "UNIONS",
    "amount_column",
    "as_of_date",
    "dibao_by_year",
    "matchable",
    "need_reference",
    "period_years",
    "positive_payments",
    "present_columns",
    "reportable",
    "rids_where",
    "rule_filter",
]

# The registered tables the check types read: ledgers, and reference tables a profile may ship.
DISB = "disbursements"
REG = "register"
DUES = "dues"
STAFF = "staff"
CAPS = "caps"
DIBAO = "dibao"
BUDGET = "budget"
UNIONS = "unions"
EMPLOYERS = "employers"
MIN_WAGE = "min_wage"
RATIOS = "ratios"


def amount_column(
    ctx: CheckContext, alias: str | None = None, computed: exp.Expression | None = None
) -> list[exp.Expression]:
    """``_amount``: the rule's ``amount:`` operand, else what the check computed, else nothing."""
    declared = ctx.amount(alias)
    chosen = declared if declared is not None else computed
    return [named(chosen, "_amount")] if chosen is not None else []


def need_reference(ctx: CheckContext, name: str, *columns: str) -> None:
    """Skip (naming the reference table) unless reference table ``name`` is present with ``columns``."""
    if name not in ctx.present:
        raise Skip("skip_no_reference", table=name)
    ctx.need(*columns, table=name)


def present_columns(ctx: CheckContext, names: Sequence[str], alias: str | None = None) -> list[exp.Expression]:
    """Ledger columns as value columns of the same name; NULL for those the input lacks, so a message
    naming them shows "—" rather than a placeholder."""
    return [named(col(n, alias) if ctx.has(n) else exp.Null(), n) for n in dict.fromkeys(names)]


def rule_filter(ctx: CheckContext, alias: str | None) -> exp.Expression | None:
    """The rule's ``where`` on the ledger aliased ``alias`` (None when it has none)."""
    return ctx.where(alias) if ctx.rule.where is not None else None


def reportable(ctx: CheckContext, alias: str | None) -> exp.Expression | None:
    """Rows a row rule may report: the rule's ``where`` and the engine's in-period flag (a finding on a
    row outside the period would be dropped anyway; rules reading history use ``rule_filter``)."""
    in_period = eq(col(IN_PERIOD, alias), exp.true()) if ctx.has(IN_PERIOD) else None
    return all_of([rule_filter(ctx, alias), in_period]) if in_period is not None else rule_filter(ctx, alias)


def positive_payments(ctx: CheckContext, alias: str, *columns: str) -> exp.Expression:
    """The rule's rows, history included (its ``where`` only), that paid something (``amount_paid`` > 0)
    and have every one of ``columns``: the payments a dues history is built from."""
    paid = exp.GT(this=col("amount_paid", alias), expression=number(0))
    return all_of([rule_filter(ctx, alias), paid, *[not_null(col(c, alias)) for c in columns]])


def as_of_date(ctx: CheckContext) -> date:
    """The date the register is read at: the end of the audit period (else today)."""
    return ctx.period.end if ctx.period else date.today()


def period_years(ctx: CheckContext) -> list[int] | None:
    """The calendar years the audit period touches (None without a period)."""
    if ctx.period is None:
        return None
    return list(range(ctx.period.start.year, ctx.period.end.year + 1))


def matchable(name: str, alias: str | None = None) -> exp.Expression:
    """An ID usable as a matching key: present, and not one Excel stored as a number (its last digits
    are lost, so two such IDs being equal says nothing). Any other invalid ID is matched as written:
    the same text twice is evidence (the same typo in two places), and it can never equal a valid ID."""
    return exp.and_(
        not_null(col(name, alias)), exp.NEQ(this=col(f"{name}__status", alias), expression=string("excel_number"))
    )


def rids_where(table_name: str, alias: str, cond: exp.Expression) -> exp.Expression:
    """``(SELECT LIST(alias._rid) FROM table_name alias WHERE cond)``: the rows of ``table_name`` a result row
    rests on, for ``sql.cite``. ``cond`` refers to the result row's columns (correlated), so the lookup runs on
    the rows a query returns, not on every ledger row: citing costs per finding."""
    found = select(exp.ArrayAgg(this=col(ROW_ID, alias))).from_(table(table_name, alias))
    return found.where(cond).subquery()


def dibao_by_year(ctx: CheckContext) -> exp.Select | None:
    """Monthly 低保 (fen) per year for the run's region; NULL where the region is ambiguous. ``_dibao`` is
    the row id of the row the value comes from (for a finding to cite; NULL with the value)."""
    if DIBAO not in ctx.present or not ctx.has("monthly_dibao", "year", table=DIBAO):
        return None
    region = ctx.args.get("region_code") or ctx.region_code
    where = []
    if region and ctx.has("region_code", table=DIBAO):
        where.append(eq(col("region_code"), string(str(region))))
    one_region = (
        eq(exp.Count(this=exp.Distinct(expressions=[col("region_code")])), number(1))
        if ctx.has("region_code", table=DIBAO) and not region
        else exp.true()
    )
    value = case([(one_region, exp.Max(this=col("monthly_dibao")))])
    rid = case([(one_region, exp.ArgMax(this=col(ROW_ID), expression=col("monthly_dibao")))])
    return (
        select(col("year"), named(value, "monthly_dibao"), named(rid, "_dibao"))
        .from_(table(DIBAO))
        .where(all_of([*where, not_null(col("monthly_dibao")), not_null(col("year"))]))
        .group_by(col("year"))
    )
