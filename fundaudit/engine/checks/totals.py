"""``ledger_total``: each 合计/小计 row's declared amounts against the sum of the loaded rows it covers."""

from __future__ import annotations

import sqlglot.expressions as exp

from fundaudit.engine import sql
from fundaudit.engine.checks import implements
from fundaudit.engine.context import CheckContext, Skip
from fundaudit.engine.sql import ROW_ID, TOTALS, col, select, table


@implements("ledger_total")
def ledger_total(ctx: CheckContext) -> exp.Select:
    """Declared vs loaded, per total row and money column, for every ledger that has totals."""
    if TOTALS not in ctx.present:
        raise Skip("skip_no_totals")
    kinds = sorted(ctx.extra.get("total_kinds", ()))
    columns: dict[str, list[str]] = ctx.extra.get("total_columns", {})
    parts = []
    for kind in kinds:
        for name in columns.get(kind, []):
            if not ctx.has(name, table=kind):
                continue
            loaded = (
                select(
                    exp.alias_(
                        exp.Coalesce(this=exp.Sum(this=col(name, "d")), expressions=[sql.number(0)]), "s", quoted=True
                    )
                )
                .from_(table(kind, "d"))
                .where(
                    exp.and_(
                        exp.EQ(this=col("file", "d"), expression=col("file", "t")),
                        exp.NullSafeEQ(this=col("sheet", "d"), expression=col("sheet", "t")),
                        exp.Between(this=col("row", "d"), low=col("covers_from", "t"), high=col("covers_to", "t")),
                    )
                )
            )
            parts.append(
                select(
                    col(ROW_ID, "t"),
                    exp.alias_(sql.string(TOTALS), "_table", quoted=True),
                    exp.alias_(col(ROW_ID, "t"), "_finding", quoted=True),
                    col("kind", "t"),
                    col("label", "t"),
                    exp.alias_(col("column", "t"), "column", quoted=True),
                    exp.alias_(col("declared", "t"), "declared", quoted=True),
                    exp.alias_(loaded.subquery(), "loaded", quoted=True),
                )
                .from_(table(TOTALS, "t"))
                .where(
                    exp.and_(
                        exp.EQ(this=col("kind", "t"), expression=sql.string(kind)),
                        exp.EQ(this=col("column", "t"), expression=sql.string(name)),
                    )
                )
            )
    if not parts:
        raise Skip("skip_no_totals")
    union: exp.Expression = parts[0]
    for p in parts[1:]:
        union = exp.union(union, p, distinct=False)
    ctx.units.update(declared="money", loaded="money", difference="money")
    tol = sql.money_lit(ctx.args["tol_yuan"])
    diff = exp.Sub(this=col("declared"), expression=col("loaded"))
    return (
        select(
            col(ROW_ID),
            col("_table"),
            col("_finding"),
            col("kind"),
            col("label"),
            col("column"),
            col("declared"),
            col("loaded"),
            exp.alias_(diff, "difference", quoted=True),
            exp.alias_(exp.Abs(this=diff), "_amount", quoted=True),
        )
        .from_(exp.Subquery(this=union, alias=exp.TableAlias(this=exp.to_identifier("u"))))
        .where(exp.GT(this=exp.Abs(this=diff), expression=tol))
    )
