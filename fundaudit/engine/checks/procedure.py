"""Procedure check types: 公示 (disclosure) and approval of payments, and the register's disclosure.

Rules: DISB-DISCLOSURE (``disclosure``), DISB-APPROVAL (``approval``).
Signatures: ``fundaudit/rules/signatures/procedure.py``.
Tests: ``tests/checks/test_procedure.py``.

- ``disclosure``: a 公示 with only one of its two dates is a warning (its length cannot be checked);
  ``calendar: working`` counts Monday–Friday (public holidays are not known).
- ``approval``: an approver without an approval date is not a finding.
"""

from __future__ import annotations

import sqlglot.expressions as exp

from fundaudit.engine import sql
from fundaudit.engine.checks import implements
from fundaudit.engine.checks.common import (
    amount_column,
)
from fundaudit.engine.context import CheckContext
from fundaudit.engine.sql import (
    ROW_ID,
    add_days,
    all_of,
    any_of,
    case,
    col,
    days_from,
    eq,
    is_null,
    named,
    not_null,
    number,
    paren,
    reason_columns,
    select,
    string,
    table,
)
from fundaudit.errors import texts

EPOCH_MONDAY = "1900-01-01"  # a Monday: working days are counted from it


def _working_days(start: exp.Expression, end: exp.Expression) -> exp.Expression:
    """Monday–Friday days in [start, end] (public holidays not known)."""

    def before(d: exp.Expression) -> exp.Expression:  # weekdays from the epoch Monday up to d (exclusive)
        n = days_from(sql.date_lit(EPOCH_MONDAY), d)
        weeks = exp.Mul(this=exp.IntDiv(this=n, expression=number(7)), expression=number(5))
        rest = exp.Least(this=exp.Mod(this=n, expression=number(7)), expressions=[number(5)])
        return exp.Add(this=weeks, expression=rest)

    return exp.Sub(this=paren(before(add_days(end, 1))), expression=paren(before(start)))


@implements("disclosure")
def disclosure(ctx: CheckContext) -> exp.Select:
    """No 公示 ⇒ the rule's severity; too short, incomplete or not ended before payment ⇒ warning."""
    ctx.need("disclosure_start", "disclosure_end")
    s, e = col("disclosure_start"), col("disclosure_end")
    pay = col("payment_date") if ctx.has("payment_date") else exp.Null()
    natural = ctx.args["calendar"] == "natural"
    length = exp.Add(this=days_from(s, e), expression=number(1)) if natural else _working_days(s, e)
    missing = exp.and_(is_null(s), is_null(e))
    short = exp.and_(not_null(s), not_null(e), exp.LT(this=length, expression=number(int(ctx.args["min_days"]))))
    late = exp.and_(not_null(e), not_null(pay), exp.GTE(this=e, expression=pay))
    half = any_of(exp.and_(is_null(s), not_null(e)), exp.and_(not_null(s), is_null(e)))
    short_code = "disclosure.too_short_days" if natural else "disclosure.too_short_working_days"
    reasons = reason_columns(
        [
            (missing, *texts("findings", "disclosure.missing")),
            (half, *texts("findings", "disclosure.incomplete")),
            (short, *texts("findings", short_code, min_days=ctx.args["min_days"])),
            (late, *texts("findings", "disclosure.late")),
        ]
    )
    return (
        select(
            col(ROW_ID),
            *[col(c) for c in ("disclosure_start", "disclosure_end", "payment_date") if ctx.has(c)],
            named(case([(exp.and_(not_null(s), not_null(e)), length)]), "days"),
            named(case([(missing, exp.Null())], string("warning")), "_severity"),
            *reasons,
            *amount_column(ctx),
        )
        .from_(table(ctx.ledger))
        .where(all_of([ctx.where(), any_of(missing, half, short, late)]))
    )


@implements("approval")
def approval(ctx: CheckContext) -> exp.Select:
    """No approver ⇒ the rule's severity; approved after payment, or approver = handler or
    recipient ⇒ warning."""
    ctx.need("approver")
    who = col("approver__key")
    missing = is_null(col("approver")) if ctx.args["require_approver"] else exp.false()
    late = (
        exp.and_(
            not_null(col("approval_date")),
            not_null(col("payment_date")),
            exp.GT(this=col("approval_date"), expression=col("payment_date")),
        )
        if ctx.has("approval_date", "payment_date")
        else exp.false()
    )
    is_handler = eq(who, col("handler__key")) if ctx.has("handler") else exp.false()
    is_recipient = eq(who, col("recipient_name__key")) if ctx.has("recipient_name") else exp.false()
    conflicts = [
        (late, *texts("findings", "approval.late")),
        (exp.Coalesce(this=is_handler, expressions=[exp.false()]), *texts("findings", "approval.by_handler")),
        (exp.Coalesce(this=is_recipient, expressions=[exp.false()]), *texts("findings", "approval.by_recipient")),
    ]
    reasons = reason_columns([(missing, *texts("findings", "approval.missing")), *conflicts])
    return (
        select(
            col(ROW_ID),
            *[col(c) for c in ("approver", "approval_date", "handler", "recipient_name", "payment_date") if ctx.has(c)],
            named(case([(missing, exp.Null())], string("warning")), "_severity"),
            *reasons,
            *amount_column(ctx),
        )
        .from_(table(ctx.ledger))
        .where(all_of([ctx.where(), any_of(missing, *[c for c, _, _ in conflicts])]))
    )
