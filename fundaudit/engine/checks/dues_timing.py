"""Dues timing check types: the period a payment covers, its deadline, gaps, and remittance.

Rules: DUES-LATE (``dues_deadline``), DUES-GAP (``dues_gap``); DUES-PERIOD and DUES-REMIT-LATE are
``flag`` rules in ``rules/dues.yaml``. Signatures: ``fundaudit/rules/signatures/dues_timing.py``.
Tests: ``tests/checks/test_dues_timing.py``. Readings of ``domain.md`` §7.1: ``docs/rules-dues.md``.

History rows outside the audit period are visible (the engine keeps a finding only when one of its
rows is in the period); a test needing a date the row does not have does not fire on that row.
"""

from __future__ import annotations

import calendar
from datetime import date

import sqlglot.expressions as exp

from fundaudit.engine import sql
from fundaudit.engine.checks import implements
from fundaudit.engine.checks.common import (
    amount_column,
    positive_payments,
    present_columns,
    reportable,
)
from fundaudit.engine.context import CheckContext, Skip
from fundaudit.engine.sql import (
    ROW_ID,
    add_days,
    add_months,
    all_of,
    any_of,
    col,
    days_from,
    dense_rank,
    eq,
    months_len,
    named,
    not_null,
    number,
    select,
    table,
    values_table,
    window,
)

__all__ = ["gap_slots"]


@implements("dues_deadline")
def dues_deadline(ctx: CheckContext) -> exp.Select:
    """Deadline = day ``deadline_day`` of the month after ``period_end`` (+ ``grace_days``), no
    holiday shift; fires once per row when any of the date columns present falls after it."""
    ctx.need("period_end")
    dates = [c for c in ctx.args["dates"] or [] if ctx.has(c)]
    if not dates:
        ctx.need(*(ctx.args["dates"] or ["treasury_date"]))
    d = "d"
    first_next = add_months(exp.DateTrunc(unit=exp.var("MONTH"), this=col("period_end", d)), 1)
    offset = int(ctx.args["deadline_day"]) - 1 + int(ctx.args["grace_days"] or 0)
    deadline = add_days(first_next, offset)
    late = [exp.GT(this=col(c, d), expression=deadline) for c in dates]
    latest = sql.greatest(*[exp.Coalesce(this=col(c, d), expressions=[deadline]) for c in dates])
    return (
        select(
            col(ROW_ID, d),
            *present_columns(ctx, ["period_start", "period_end", *(ctx.args["dates"] or [])], d),
            named(deadline, "deadline"),
            named(days_from(deadline, latest), "days_late"),
            *amount_column(ctx, d),
        )
        .from_(table(ctx.ledger, d))
        .where(all_of([reportable(ctx, d), not_null(col("period_end", d)), any_of(*late)]))
    )


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
    s, e = col("period_start", d), col("period_end", d)
    pos = (
        select(
            named(col(ROW_ID, d), "rid"),
            named(col("taxpayer_id", d), "tid"),
            named(s, "ps"),
            named(e, "pe"),
            named(months_len(s, e), "len"),
        )
        .from_(table(ctx.ledger, d))
        .where(positive_payments(ctx, d, "taxpayer_id", "period_start", "period_end"))
    )
    if cadence == "infer":
        lens = select("tid", "len", named(exp.Count(this=exp.Star()), "n")).from_("pos").group_by("tid", "len")
        ranked = select(
            "tid",
            "len",
            named(window(exp.RowNumber(), [col("tid")], [(col("n"), True), col("len")]), "k"),
        ).from_(lens.subquery("l"))
        cad = select("tid", named(col("len"), "cad")).from_(ranked.subquery("r")).where(eq(col("k"), number(1)))
    else:
        months = 1 if cadence == "monthly" else 3
        cad = select("tid", named(number(months), "cad")).from_("pos").group_by("tid")
    rows = [
        (number(i), sql.date_lit(a.isoformat()), sql.date_lit(b.isoformat()), number(months))
        for months in (1, 3)
        for i, a, b in gap_slots(ctx.period.start, ctx.period.end, months)
    ]
    if not rows:
        raise Skip("skip_bad_args", what="the audit period holds no whole month")
    slots = select(exp.Star()).from_(values_table(rows, "v", ["idx", "ss", "se", "cad"]))
    covered = exp.Exists(
        this=select(number(1))
        .from_(table("pos", "p"))
        .where(
            exp.and_(
                eq(col("tid", "p"), col("tid", "c")),
                exp.LTE(this=col("ps", "p"), expression=col("ss", "s")),
                exp.GTE(this=col("pe", "p"), expression=col("se", "s")),
            )
        )
    )
    miss = (
        select(col("tid", "c"), col("idx", "s"), col("ss", "s"), col("se", "s"))
        .from_(table("cad", "c"))
        .join(table("slots", "s"), on=eq(col("cad", "s"), col("cad", "c")))
        .where(exp.Not(this=covered))
    )
    runs = select(
        "tid",
        "ss",
        "se",
        named(exp.Sub(this=col("idx"), expression=window(exp.RowNumber(), [col("tid")], [col("idx")])), "grp"),
    ).from_("miss")
    gaps = (
        select(
            "tid",
            "grp",
            named(exp.Min(this=col("ss")), "gs"),
            named(exp.Max(this=col("se")), "ge"),
            named(exp.Count(this=exp.Star()), "missing"),
        )
        .from_("runs")
        .group_by("tid", "grp")
    )
    gp = [col("tid", "g"), col("grp", "g")]

    def beside(side: exp.Expression, *columns: exp.Expression) -> exp.Select:
        """Each gap (``g``) with the taxpayer's payments (``p``) on one ``side`` of it."""
        on = exp.and_(eq(col("tid", "p"), col("tid", "g")), side)
        return select(*columns).from_(table("gaps", "g")).join(table("pos", "p"), on=on)

    before = beside(
        exp.LT(this=col("pe", "p"), expression=col("gs", "g")),
        col("tid", "g"),
        col("grp", "g"),
        col("gs", "g"),
        col("ge", "g"),
        col("missing", "g"),
        col("rid", "p"),
        named(window(exp.Count(this=exp.Star()), gp), "prior"),
        named(window(exp.RowNumber(), gp, [(col("pe", "p"), True), col("rid", "p")]), "k"),
    )
    after = beside(
        exp.GT(this=col("ps", "p"), expression=col("ge", "g")),
        col("tid", "g"),
        col("grp", "g"),
        col("rid", "p"),
        named(window(exp.RowNumber(), gp, [col("ps", "p"), col("rid", "p")]), "k"),
    )
    fire = (
        select(
            "tid",
            "grp",
            "gs",
            "ge",
            "missing",
            "rid",
            named(dense_rank(col("tid"), col("grp")), "fid"),
        )
        .from_("before")
        .where(
            exp.and_(
                eq(col("k"), number(1)),
                exp.GTE(this=col("prior"), expression=number(int(ctx.args["min_prior_payments"]))),
            )
        )
    )
    out_cols = ["gs", "ge", "missing"]
    first = select(
        named(col("rid", "f"), ROW_ID),
        named(col("fid", "f"), "_finding"),
        *[named(col(c, "f"), {"gs": "gap_start", "ge": "gap_end"}.get(c, c)) for c in out_cols],
    ).from_(table("fire", "f"))
    second = (
        select(
            named(col("rid", "a"), ROW_ID),
            named(col("fid", "f"), "_finding"),
            *[named(col(c, "f"), {"gs": "gap_start", "ge": "gap_end"}.get(c, c)) for c in out_cols],
        )
        .from_(table("fire", "f"))
        .join(
            table("after", "a"),
            on=exp.and_(
                eq(col("tid", "a"), col("tid", "f")),
                eq(col("grp", "a"), col("grp", "f")),
                eq(col("k", "a"), number(1)),
            ),
        )
    )
    union = exp.union(first, second, distinct=False)
    query = (
        select(
            col(ROW_ID, "u"),
            col("_finding", "u"),
            col("gap_start", "u"),
            col("gap_end", "u"),
            col("missing", "u"),
            *present_columns(ctx, ["taxpayer_id", "taxpayer_name"], d),
        )
        .from_(exp.Subquery(this=union, alias=exp.TableAlias(this=exp.to_identifier("u"))))
        .join(table(ctx.ledger, d), on=eq(col(ROW_ID, d), col(ROW_ID, "u")))
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
