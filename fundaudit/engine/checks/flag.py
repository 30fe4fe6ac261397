"""The ``flag`` check type: several reasons in one rule, each with its condition, text and severity.

The reasons' SQL (:func:`reason_exprs`) serves ``lookup`` too. Signature in
``fundaudit/rules/signatures/flag.py``; tested in ``tests/checks/test_generic_vocabulary.py``; the shipped
rules it serves are listed by ``fundaudit rules list`` (check type flag).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlglot.expressions as exp

from fundaudit.engine import sql
from fundaudit.engine.checks import implements
from fundaudit.engine.checks.common import reportable
from fundaudit.engine.context import (
    CheckContext,
    columns_of_condition,
    columns_of_operand,
    optional_columns,
)
from fundaudit.engine.findings import param_text
from fundaudit.engine.sql import BIRTH_FACT, BIRTH_UNIT, ROW_ID, all_of, col, select, table
from fundaudit.rules.conditions import reason_texts, template_fields
from fundaudit.rules.severity import LEVELS

__all__ = ["read_by", "reason_exprs"]


# --- reasons: several problems in one rule (flag, lookup) -----------------------------------------------


def _as_text(e: exp.Expression, unit: str) -> exp.Expression:
    """A value as message text: dates ``YYYY-MM-DD``, money in yuan with two decimals, empty for nothing."""
    if unit == "date":
        text: exp.Expression = exp.TimeToStr(this=e, format=sql.string("%Y-%m-%d"))
    elif unit == "money":
        text = exp.Anonymous(
            this="printf", expressions=[sql.string("%.2f"), exp.Div(this=e, expression=sql.number(100.0))]
        )
    else:
        text = exp.cast(e, exp.DataType.build("VARCHAR"))
    return exp.Coalesce(this=text, expressions=[sql.string("")])


def reason_exprs(
    ctx: CheckContext,
    reasons: Sequence[Mapping[str, Any]],
    *,
    alias: str | None = None,
    scope: sql.Scope | None = None,
    fields: Mapping[str, tuple[exp.Expression, str]] | None = None,
    first: bool = False,
) -> tuple[list[exp.Expression], list[exp.Expression]]:
    """Each reason's condition, and the finding's columns: ``problem``/``problem_en`` (every applying
    reason's text, in declared order, joined by '；' and '; ') and ``_severity`` (the most severe applying
    reason's, when any reason names one). ``fields`` are values a text may name besides the row's columns
    and the rule's parameters (said as a message says them: lists joined by '、' or ', ')."""
    fields = fields or {}
    conds = [exp.Coalesce(this=ctx.condition(r["when"], alias, scope), expressions=[exp.false()]) for r in reasons]
    templates = [reason_texts(r["problem"]) for r in reasons]
    names = [n for pair in templates for t in pair for n in template_fields(t) if n not in fields]
    params = ctx.rule.params
    names = [n for n in names if n not in params]
    ctx.need(*dict.fromkeys(names))
    values = {n: _as_text(col(n, alias), sql.unit_of(ctx.ledger, n)) for n in names}
    values.update({n: _as_text(e, unit) for n, (e, unit) in fields.items()})
    said = [{p: sql.string(param_text(v, sep)) for p, v in params.items()} for sep in ("、", ", ")]
    parts = [
        (cond, *[sql.text_sql(pair[lang], **{**said[lang], **values}) for lang in (0, 1)])
        for cond, pair in zip(conds, templates, strict=True)
    ]
    out: list[exp.Expression] = sql.first_reason(parts) if first else sql.reason_columns(parts)
    if any(r.get("severity") for r in reasons):
        levels = [r.get("severity") or ctx.rule.severity for r in reasons]
        severity = exp.Case()
        for level in LEVELS:
            applying = [c for c, lv in zip(conds, levels, strict=True) if lv == level]
            if applying:
                severity = severity.when(exp.Paren(this=exp.or_(*applying)), sql.string(level))
        out.append(exp.alias_(severity, "_severity", quoted=True))
    return conds, out


def read_by(reasons: Sequence[Mapping[str, Any]], ctx: CheckContext | None = None) -> list[str]:
    """The ledger's columns the reasons' conditions read (derived facts included), sorted; given ``ctx``,
    also the present ones their ``{optional: …}`` parts read."""
    read = set().union(*(columns_of_condition(r["when"]) for r in reasons))
    if ctx is not None:
        read |= {c for r in reasons for c in optional_columns(r["when"]) if ctx.has(c)}
    return sorted(read)


@implements("flag")
def flag(ctx: CheckContext) -> exp.Select:
    """Rows for which any reason holds; the finding says every applying reason (or the first, with
    ``say: first``). The rule skips without its ``needs`` columns; reasons naming other columns the input
    lacks are left out (the rule skips only when no reason is left), as are ``report`` columns and ``values``
    it lacks."""
    required = ctx.args["needs"] or []
    ctx.need(*required)
    computed = _computed_values(ctx, ctx.args["values"] or {})
    reasons = _runnable_reasons(ctx, ctx.args["reasons"], computed)
    report = [*required, *[c for c in ctx.args["report"] or [] if ctx.has(c)]]
    conds, texts = reason_exprs(ctx, reasons, fields=computed, first=ctx.args["say"] == "first")
    shown = [c for c in dict.fromkeys([*read_by(reasons, ctx), *report]) if "__" not in c and c not in computed]
    amount = ctx.amount()
    return (
        select(
            col(ROW_ID),
            *[col(c) for c in shown],
            *[exp.alias_(e, name, quoted=True) for name, (e, _) in computed.items()],
            *texts,
            *([exp.alias_(amount, "_amount", quoted=True)] if amount is not None else []),
        )
        .from_(table(ctx.ledger))
        .where(all_of([reportable(ctx, None), exp.Paren(this=exp.or_(*conds)), _unless(ctx)]))
    )


def _computed_values(ctx: CheckContext, values: Mapping[str, Any]) -> dict[str, tuple[exp.Expression, str]]:
    """flag's ``values``: each ``{name: operand}`` the input has the columns of, as an expression and its
    unit (recorded in ``ctx.units`` so the finding shows money in yuan)."""
    out: dict[str, tuple[exp.Expression, str]] = {}
    for name, node in values.items():
        if all(ctx.has(c) for c in columns_of_operand(node)):
            e, unit = sql.operand(node, ctx.ledger, scope=ctx.scope())
            out[name] = (e, unit)
            # a birth date read from a resident ID is the ID's masked middle: personal (findings show its year)
            birth = isinstance(node, str) and node.endswith(BIRTH_FACT)
            ctx.units[name] = BIRTH_UNIT if birth else unit
    return out


def _runnable_reasons(
    ctx: CheckContext, reasons: Sequence[Mapping[str, Any]], computed: Mapping[str, Any]
) -> list[Mapping[str, Any]]:
    """The reasons whose condition and texts name only columns the input has (``computed`` values and
    parameters aside); when none is left, skip naming every missing column."""
    declared = ctx.args.get("values") or {}
    kept, missing = [], []
    for r in reasons:
        names = [
            c
            for t in reason_texts(r["problem"])
            for n in template_fields(t)
            if n not in computed and n not in ctx.rule.params
            for c in (sorted(columns_of_operand(declared[n])) if n in declared else [n])
        ]
        lacking = [c for c in [*sorted(columns_of_condition(r["when"])), *names] if not ctx.has(c)]
        if lacking:
            missing.extend(lacking)
        else:
            kept.append(r)
    if not kept:  # a derived fact (approver__key) is there when its column is: name the column
        ctx.need(*dict.fromkeys(c.partition("__")[0] for c in missing))
    return kept


def _unless(ctx: CheckContext) -> exp.Expression | None:
    """``NOT unless`` (an unknown ``unless`` does not exempt the row), or None when the check has none."""
    if ctx.args.get("unless") is None:
        return None
    return exp.Not(this=exp.Coalesce(this=ctx.condition(ctx.args["unless"]), expressions=[exp.false()]))
