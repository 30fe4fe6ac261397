"""The ``lookup`` check type: does a row match one of another input (as of a date, with a fallback key,
reporting the matched values and giving reasons over the match)?

A finding cites the rows of the other input it matched (:func:`_cited_rows`), with that input's role.
Signature in ``fundaudit/rules/signatures/lookup.py``; tested in ``tests/checks/test_generic.py`` and
``tests/checks/test_generic_vocabulary.py`` (the shipped rules in ``tests/checks/test_register_match.py``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlglot.expressions as exp

from fundaudit.engine import sql
from fundaudit.engine.checks import implements
from fundaudit.engine.checks.common import IN_PERIOD, reportable
from fundaudit.engine.checks.flag import read_by, reason_exprs
from fundaudit.engine.context import (
    CheckContext,
    Skip,
    columns_of_condition,
    matched_columns,
)
from fundaudit.engine.sql import ROW_ID, all_of, col, select, table
from fundaudit.rules.values import column_type

__all__: list[str] = []


@implements("lookup")
def lookup(ctx: CheckContext) -> exp.Select:
    """Does a matching row exist in another input? With ``fallback_on``, ``report`` or ``reasons``: the
    as-of match (:func:`_lookup_match`) and the reasons over it."""
    if ctx.args["reasons"] or ctx.args["report"] or ctx.args["fallback_on"]:
        return _lookup_match(ctx)
    other, on = ctx.args["table"], ctx.args["on"]
    pairs = sql.mapping_columns(on)
    ctx.need(*[loc for loc, _ in pairs])
    ctx.need(*[rem for _, rem in pairs], table=other)
    match = [exp.EQ(this=col(rem, "r"), expression=col(loc, "l")) for loc, rem in pairs]
    date = ctx.args["date"]
    match.extend(_validity(ctx))
    if ctx.args["where"] is not None:
        ctx.need(*sorted(columns_of_condition(ctx.args["where"])), table=other)
        match.append(sql.condition(ctx.args["where"], other, alias="r"))
    match.extend(_period_rows(ctx, "r"))
    exists = exp.Exists(this=select(sql.number(1)).from_(table(other, "r")).where(exp.and_(*match)))
    fires = exp.Not(this=exists) if ctx.args["mode"] == "exists" else exists
    local = [loc for loc, _ in pairs] + ([date] if date else [])
    where = all_of(
        [
            ctx.rule.where and ctx.where("l"),
            *[exp.Not(this=exp.Is(this=col(c, "l"), expression=exp.Null())) for c in local],
            fires,
        ]
    )
    cited = []
    if ctx.args["mode"] == "not_exists":  # a finding is a match: cite the rows it matched
        rids = select(exp.ArrayAgg(this=col(ROW_ID, "r"))).from_(table(other, "r")).where(exp.and_(*match))
        cited.append(sql.cite(exp.Subquery(this=rids), other, ctx.args["cite"]))
    return (
        select(col(ROW_ID, "l"), *[col(c, "l") for c in dict.fromkeys(local)], *cited)
        .from_(table(ctx.ledger, "l"))
        .where(where)
    )


# --- lookup with a fallback key, reported values and reasons over the match ------------------------------


def _usable(kind: str, name: str, alias: str) -> exp.Expression:
    """A key column can match: present, and when it holds a resident ID, not one Excel stored as a number
    (its last digits are lost, so two such IDs being equal says nothing)."""
    present = exp.Not(this=exp.Is(this=col(name, alias), expression=exp.Null()))
    if column_type(kind, name) != "resident_id":
        return present
    return exp.and_(present, exp.NEQ(this=col(f"{name}__status", alias), expression=sql.string("excel_number")))


def _id_pairs(ledger: str, other: str, on: Mapping[str, str]) -> list[tuple[str, str]]:
    return [
        (loc, rem)
        for loc, rem in sql.mapping_columns(on)
        if column_type(ledger, loc) == "resident_id" and column_type(other, rem) == "resident_id"
    ]


def _lookup_match(ctx: CheckContext) -> exp.Select:
    """Each row of the ledger with the rows of ``table`` it matches as of its ``date``: on ``on``, else
    (rows whose ``on`` key found no row at all) on ``fallback_on``, which may not join two valid resident
    IDs that ``on`` compares. ``matched_on`` names the key (the other input's columns, or ``none``), the
    ``report``ed columns are the matched rows' least (or the earliest/latest row's by ``by``), and the
    reasons may read them as ``match.NAME``; without reasons, ``mode`` decides (exists: no match fires)."""
    other, ledger = ctx.args["table"], ctx.ledger
    reasons = ctx.args["reasons"] or []
    read = sorted(set().union(*(matched_columns(r["when"]) for r in reasons)))
    report = _present_report(ctx, dict(ctx.args["report"] or {}), read)
    keys = [ctx.args["on"], *_present_fallback(ctx)]
    for key in keys:
        ctx.need(*key)
        ctx.need(*key.values(), table=other)
    wanted = [*report.values(), *read]
    pick, by = ctx.args["pick"], ctx.args["by"]
    if pick != "min" and not by:
        raise Skip("skip_bad_args", what="pick earliest/latest needs by")
    ctx.need(*wanted, *([by] if by else []), table=other)
    wanted = list(dict.fromkeys(wanted))
    valid = _validity(ctx)
    if ctx.args["where"] is not None:
        ctx.need(*sorted(columns_of_condition(ctx.args["where"])), table=other)
        valid.append(sql.condition(ctx.args["where"], other, alias="r", scope=ctx.scope()))
    valid.extend(_period_rows(ctx, "r"))
    per_match = _per_match(ctx, reasons, other)
    cites = bool(reasons) or ctx.args["mode"] == "not_exists"  # else every finding is a row that matched nothing
    parts = []
    guard = _id_pairs(ledger, other, keys[0])
    for i, key in enumerate(keys):
        pairs = sql.mapping_columns(key)
        conds = [_usable(ledger, loc, "l") for loc, _ in pairs]
        reported = reportable(ctx, "l")  # match only the rows the rule may report: its where, in the period
        if reported is not None:
            conds.append(reported)
        if i:  # only rows the first key found no row for; a fallback may not join two valid IDs
            first = sql.mapping_columns(keys[0])
            earlier = (
                select(sql.number(1))
                .from_(table(other, "r2"))
                .where(
                    exp.and_(
                        *[exp.EQ(this=col(rem, "r2"), expression=col(loc, "l")) for loc, rem in first],
                        *_fallback_blockers(ctx, valid),
                    )
                )
            )
            conds.append(exp.Not(this=exp.Exists(this=earlier)))
            for loc, rem in guard:
                conds.append(
                    exp.Paren(
                        this=exp.or_(
                            exp.Is(this=col(loc, "l"), expression=exp.Null()),
                            exp.NEQ(this=col(f"{loc}__status", "l"), expression=sql.string("ok")),
                            exp.Is(this=col(rem, "r"), expression=exp.Null()),
                            exp.NEQ(this=col(f"{rem}__status", "r"), expression=sql.string("ok")),
                        )
                    )
                )
        label = "+".join(rem for _, rem in pairs)
        on = exp.and_(*[exp.EQ(this=col(rem, "r"), expression=col(loc, "l")) for loc, rem in pairs], *valid)
        values = list(dict.fromkeys([*wanted, *([by] if by else [])]))
        parts.append(
            _semi_part(ledger, other, label, on, conds)
            if not values and not per_match and not cites
            else select(
                exp.alias_(col(ROW_ID, "l"), ROW_ID, quoted=True),
                exp.alias_(sql.string(label), "matched_on", quoted=True),
                *([exp.alias_(col(ROW_ID, "r"), _MATCH_ROW, quoted=True)] if cites else []),
                *[exp.alias_(col(c, "r"), sql.MATCHED + c, quoted=True) for c in values],
                *[exp.alias_(sql.flag(e), name, quoted=True) for name, e in per_match.items()],
            )
            .from_(table(ledger, "l"))
            .join(table(other, "r"), on=on)
            .where(exp.and_(*conds))
        )
    union: exp.Expression = parts[0]
    for p in parts[1:]:
        union = exp.union(union, p, distinct=False)
    matches = (  # the matches, materialised once when the findings' cited rows are listed from them too
        table(_MATCHES, "m") if cites else exp.Subquery(this=union, alias=exp.TableAlias(this=exp.to_identifier("m")))
    )

    def agg(c: str) -> exp.Expression:
        out: exp.Expression
        if pick == "min":
            out = exp.Min(this=col(sql.MATCHED + c))
        else:
            cls = exp.ArgMin if pick == "earliest" else exp.ArgMax
            out = cls(this=col(sql.MATCHED + c), expression=col(sql.MATCHED + by))
        if "_report_when" in per_match and c in report.values():  # only the matches report_when chooses
            chosen = exp.EQ(this=col("_report_when"), expression=sql.number(1))
            out = exp.Filter(this=out, expression=exp.Where(this=chosen))
        return out

    grouped = (
        select(
            col(ROW_ID),
            exp.alias_(exp.Min(this=col("matched_on")), "matched_on", quoted=True),
            *[exp.alias_(agg(c), sql.MATCHED + c, quoted=True) for c in wanted],
            *[exp.alias_(exp.Max(this=col(n)), n, quoted=True) for n in per_match if n != "_report_when"],
        )
        .from_(matches)
        .group_by(col(ROW_ID))
    )
    matched = exp.Not(this=exp.Is(this=col(ROW_ID, "a"), expression=exp.Null()))
    flags = {
        sql.match_key(c): exp.EQ(this=col(f"_match{i}", "a"), expression=sql.number(1))
        for i, c in enumerate(_match_conditions(reasons))
    }
    scope = ctx.scope(other=other, match_alias="a", matched=matched, match_flags=flags)
    fields = {name: (col(sql.MATCHED + c, "a"), sql.unit_of(other, c)) for name, c in report.items()}
    fields["matched_on"] = (exp.Coalesce(this=col("matched_on", "a"), expressions=[sql.string("none")]), "text")
    if reasons:
        conds, texts = reason_exprs(ctx, reasons, alias="l", scope=scope, fields=fields)
        fires: exp.Expression = exp.Paren(this=exp.or_(*conds))
    else:
        texts = _no_reason_texts()
        fires = exp.Not(this=matched) if ctx.args["mode"] == "exists" else matched
    shown = [c for c in read_by(reasons, ctx) if "__" not in c]
    amount = ctx.amount("l")
    found = (
        select(
            col(ROW_ID, "l"),
            *[col(c, "l") for c in shown],
            exp.alias_(fields["matched_on"][0], "matched_on", quoted=True),
            *[exp.alias_(e, name, quoted=True) for name, (e, _) in fields.items() if name != "matched_on"],
            *texts,
            *([exp.alias_(amount, "_amount", quoted=True)] if amount is not None else []),
        )
        .from_(table(ledger, "l"))
        .join(grouped.subquery("a"), on=exp.EQ(this=col(ROW_ID, "a"), expression=col(ROW_ID, "l")), join_type="left")
        .where(all_of([reportable(ctx, "l"), fires]))
    )
    if not cites:
        return found
    cited = _cited_rows(pick, by, "_report_when" in per_match)
    return _with_cited(found, union, cited, sql.cite(col(_MATCH_ROW, "c"), other, ctx.args["cite"]))


_MATCH_ROW = "_match_rid"  # the matched row's id (``_rid`` of the other input), which a finding cites
_MATCHES, _FOUND = "_lookup_matches", "_lookup_found"  # the query's CTEs when its findings cite matches


def _with_cited(found: exp.Select, matches: exp.Expression, cited: exp.Expression, cite: exp.Expression) -> exp.Select:
    """The findings (``found``) with the rows each cites (``cited``, over the finding's rows of
    ``matches``, alias ``m``) as the column ``cite``: listed in a second pass over the materialised
    matches, for the findings' rows only (a ledger's many matched rows that are no finding list nothing)."""
    on = exp.EQ(this=col(ROW_ID, "f"), expression=col(ROW_ID, "m"))
    per_finding = (
        select(col(ROW_ID, "m"), sql.named(cited, _MATCH_ROW))
        .from_(table(_MATCHES, "m"))
        .join(table(_FOUND, "f"), on=on, join_type="semi")
        .group_by(col(ROW_ID, "m"))
    )
    return (
        select(exp.Column(this=exp.Star(), table=exp.to_identifier("f")), cite)
        .from_(table(_FOUND, "f"))
        .join(
            per_finding.subquery("c"),
            on=exp.EQ(this=col(ROW_ID, "c"), expression=col(ROW_ID, "f")),
            join_type="left",
        )
        .with_(_MATCHES, as_=matches, materialized=True)
        .with_(_FOUND, as_=found)
    )


def _cited_rows(pick: str, by: str | None, chosen: bool) -> exp.Expression:
    """The matched rows a finding cites (an aggregate over its matches, alias ``m``), as a list of their
    ids: the rows ``report`` is taken from (every match for ``pick: min``, the earliest/latest one by
    ``by``), among those ``report_when`` chooses when given; when it chooses none (or no match has a
    ``by``), every match."""
    rid = col(_MATCH_ROW, "m")
    every: exp.Expression = exp.ArrayAgg(this=rid)
    if pick == "min":
        picked: exp.Expression = every.copy()
    else:
        cls = exp.ArgMin if pick == "earliest" else exp.ArgMax
        picked = cls(this=rid, expression=col(sql.MATCHED + str(by), "m"))
    if chosen:
        picked = exp.Filter(
            this=picked, expression=exp.Where(this=exp.EQ(this=col("_report_when", "m"), expression=sql.number(1)))
        )
    if pick != "min":
        picked = exp.If(
            this=exp.Is(this=picked, expression=exp.Null()),
            true=exp.Null(),
            false=exp.Array(expressions=[picked.copy()]),
        )
    return exp.Coalesce(this=picked, expressions=[every]) if chosen or pick != "min" else picked


def _validity(ctx: CheckContext) -> list[exp.Expression]:
    """The other input's row is valid on the ledger row's ``date``: valid_from ≤ date ≤ valid_to (empty: open)."""
    date, other = ctx.args["date"], ctx.args["table"]
    if not date:
        return []
    ctx.need(date)
    out: list[exp.Expression] = []
    if ctx.args["valid_from"]:
        ctx.need(ctx.args["valid_from"], table=other)
        out.append(exp.LTE(this=col(ctx.args["valid_from"], "r"), expression=col(date, "l")))
    if ctx.args["valid_to"]:
        ctx.need(ctx.args["valid_to"], table=other)
        vt = col(ctx.args["valid_to"], "r")
        out.append(
            exp.Paren(this=exp.or_(exp.Is(this=vt, expression=exp.Null()), exp.GTE(this=vt, expression=col(date, "l"))))
        )
    return out


def _present_fallback(ctx: CheckContext) -> list[dict[str, str]]:
    """``fallback_on`` when both inputs have its columns (an optional key is not tried, never a skip)."""
    fallback = ctx.args["fallback_on"]
    if not fallback or not (ctx.has(*fallback) and ctx.has(*fallback.values(), table=ctx.args["table"])):
        return []
    return [fallback]


def _present_report(ctx: CheckContext, report: dict[str, str], read: list[str]) -> dict[str, str]:
    """The ``report``ed names whose column the other input has (an absent one reads as not provided in
    messages), and those the reasons read, which the rule needs."""
    return {name: c for name, c in report.items() if c in read or ctx.has(c, table=ctx.args["table"])}


def _match_conditions(reasons: Sequence[Mapping[str, Any]]) -> list[Any]:
    """The conditions of the reasons' ``{any_match: …}`` / ``{no_match: …}``, each once, in order."""
    found: dict[str, Any] = {}

    def walk(node: Any) -> None:
        if not isinstance(node, dict):
            return
        for key in ("any_match", "no_match"):
            if key in node:
                found.setdefault(sql.match_key(node[key]), node[key])
        for key in ("all", "any"):
            for c in node.get(key, []):
                walk(c)
        for key in ("not", "optional"):
            if key in node:
                walk(node[key])

    for r in reasons:
        walk(r["when"])
    return list(found.values())


def _per_match(ctx: CheckContext, reasons: Sequence[Mapping[str, Any]], other: str) -> dict[str, exp.Expression]:
    """Conditions evaluated on each (row, matched row) pair, named: ``_match<i>`` for the reasons'
    ``{any_match|no_match: cond}`` (aggregated per row into whether any match meets it), ``_report_when``
    for ``report_when`` (which matches feed ``report``). ``match.X`` reads the other input's row itself."""
    scope = ctx.scope(other=other, match_alias="r", match_prefix="")
    out: dict[str, exp.Expression] = {}
    conds = [(f"_match{i}", c) for i, c in enumerate(_match_conditions(reasons))]
    if ctx.args.get("report_when") is not None:
        conds.append(("_report_when", ctx.args["report_when"]))
    for name, c in conds:
        ctx.need(*sorted(columns_of_condition(c)))
        ctx.need(*sorted(matched_columns(c)), table=other)
        out[name] = sql.condition(c, ctx.ledger, "l", scope=scope)
    return out


# --- in_period and fallback_when (XL-MISSING-EMPLOYER) ------------------------------------------------------


def _period_rows(ctx: CheckContext, alias: str) -> list[exp.Expression]:
    """``in_period: true``: only the other input's rows of the audit period (the engine's ``_in_period``
    fact: dues whose 所属期 overlaps it, disbursements paid in it; other inputs always) can match."""
    if not ctx.args.get("in_period"):
        return []
    return [sql.eq(col(IN_PERIOD, alias), exp.true())]


def _fallback_blockers(ctx: CheckContext, valid: list[exp.Expression]) -> list[exp.Expression]:
    """What a row ``on`` finds must also satisfy to keep the fallback from being tried: nothing
    (``fallback_when: no_row``, any row at all), or the match's own conditions (``no_match``: where,
    in_period, date validity), rewritten onto the alias ``r2`` of that subquery."""
    if ctx.args.get("fallback_when") != "no_match":
        return []
    return [c.copy().transform(_realias) for c in valid]


def _realias(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Column) and node.table == "r":
        return col(node.name, "r2")
    return node


def _no_reason_texts() -> list[exp.Expression]:
    """A lookup without reasons still carries its declared fields ``problem``/``problem_en`` (empty)."""
    text = exp.DataType.build("VARCHAR")
    names = ("problem", "problem_en")
    return [exp.Alias(this=exp.cast(exp.Null(), text), alias=exp.to_identifier(n, quoted=True)) for n in names]


def _semi_part(
    ledger: str, other: str, label: str, on: exp.Expression, conds: list[exp.Expression]
) -> exp.Select:
    """One key's matches when no matched value is wanted: each ledger row once (a semi-join), not once per
    matching row of ``table`` (XL-MISSING-EMPLOYER: an employer has many dues rows). Conditions on the
    ledger row alone stay outside the EXISTS, so it is not nested in the fallback's NOT EXISTS."""
    reads_r = [c for c in conds if any(x.table == "r" for x in c.find_all(exp.Column))]
    outside = [c for c in conds if not any(x.table == "r" for x in c.find_all(exp.Column))]
    found = exp.Exists(this=select(sql.number(1)).from_(table(other, "r")).where(exp.and_(on, *reads_r)))
    return (
        select(
            exp.alias_(col(ROW_ID, "l"), ROW_ID, quoted=True),
            exp.alias_(sql.string(label), "matched_on", quoted=True),
        )
        .from_(table(ledger, "l"))
        .where(exp.and_(*outside, found))
    )
