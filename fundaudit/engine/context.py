"""What a check implementation sees: its rule and arguments, which columns and tables exist, the
audit period, and helpers that turn rule data into SQL pieces."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlglot.expressions as exp

from fundaudit.engine import sql
from fundaudit.period import Period
from fundaudit.rules.conditions import inline_values
from fundaudit.rules.model import Rule

__all__ = ["CheckContext", "Skip", "matched_columns"]


class Skip(Exception):  # noqa: N818 - a control signal, not an error
    """Raised by a check that cannot run on these inputs; becomes ``status: skipped`` with a reason."""

    def __init__(self, code: str, **fields: Any) -> None:
        self.code = code
        self.fields = fields
        super().__init__(code)


@dataclass
class CheckContext:
    """The rule being run and the inputs available to it."""

    rule: Rule
    args: dict[str, Any]
    present: Mapping[str, frozenset[str]]  # registered table -> columns present
    period: Period | None
    region_code: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)  # computed value columns -> unit ('money' = fen)

    @property
    def ledger(self) -> str:
        """The table the rule's findings point at."""
        return self.rule.ledger

    def has(self, *columns: str, table: str | None = None) -> bool:
        """Whether ``table`` (default: the rule's ledger) is present with all ``columns``."""
        t = table or self.ledger
        return t in self.present and all(c in self.present[t] for c in columns)

    def need(self, *columns: str, table: str | None = None) -> None:
        """Skip the rule unless ``table`` (default: the rule's ledger) has every column."""
        t = table or self.ledger
        if t not in self.present:
            raise Skip("skip_no_table", table=t)
        # a derived fact (recipient_name__key) is missing because its column is: name the column
        missing = list(dict.fromkeys(_base(c, self.present[t]) for c in columns if c not in self.present[t]))
        if missing:
            raise Skip("skip_no_columns", table=t, columns=", ".join(missing), missing=tuple(missing))

    def need_any(self, *columns: str, table: str | None = None) -> str:
        """The first of ``columns`` present, or skip."""
        t = table or self.ledger
        for c in columns:
            if self.has(c, table=t):
                return c
        self.need(columns[0], table=t)
        return columns[0]

    def scope(self, **match: Any) -> sql.Scope:
        """What conditions and operands may name besides columns: the audit period (and, given ``other``,
        ``match_alias`` and ``matched``, a lookup's matched rows; see :class:`fundaudit.engine.sql.Scope`)."""
        bounds = (self.period.start, self.period.end) if self.period else None
        return sql.Scope(period=bounds, present=self.present, **match)

    def condition(self, node: Any, alias: str | None = None, scope: sql.Scope | None = None) -> exp.Expression:
        """A condition on the rule's ledger as SQL; skips if it names absent columns."""
        self.need(*sorted(_columns_of(node)))
        return sql.condition(node, self.ledger, alias, scope=scope or self.scope())

    def where(self, alias: str | None = None) -> exp.Expression | None:
        """The rule's ``where`` filter as SQL (None when it has none); skips if it names absent columns."""
        if self.rule.where is None:
            return None
        return self.condition(self.rule.row_filter, alias)

    def amount(self, alias: str | None = None) -> exp.Expression | None:
        """The rule's ``amount`` operand (money at issue, fen), if it declares one and it is present."""
        node = inline_values(self.rule.amount, self.args.get("values"))
        if node is None or not all(self.has(c) for c in _columns_of_operand(node)):
            return None
        return sql.operand(node, self.ledger, alias=alias, scope=self.scope())[0]


# operand keys whose values are not column names a rule needs ({optional: NAME} reads an absent one as empty)
_NOT_NAMES = ("value", "period", "calendar", "inclusive", "optional")
MATCH = "match."


def _columns_of(cond: Any, matched: bool = False) -> set[str]:
    """The ledger's columns a condition reads (``matched``: the other input's, written ``match.NAME``)."""
    out: set[str] = set()
    if isinstance(cond, dict):
        if "column" in cond:
            out.add(cond["column"])
        for key in ("all", "any"):
            for c in cond.get(key, []):
                out |= _columns_of(c, True)
        if "not" in cond:
            out |= _columns_of(cond["not"], True)
        if isinstance(cond.get("maps_to"), dict):
            out |= {v for k, v in cond["maps_to"].items() if k in ("from", "to") and isinstance(v, str)}
        for key in ("any_match", "no_match"):  # a lookup's per-match conditions
            if key in cond:
                out |= _columns_of(cond[key], True)
        if "compare" in cond:
            out |= _columns_of_operand(cond["compare"].get("left"), True)
            out |= _columns_of_operand(cond["compare"].get("right"), True)
    return _split(out, matched)


def _columns_of_operand(node: Any, matched: bool = False) -> set[str]:
    """The ledger's columns an operand reads (``matched``: the other input's, written ``match.NAME``)."""
    out: set[str] = set()
    if isinstance(node, str):
        out.add(node)
    elif isinstance(node, list):  # compare's `between`: [low, high]
        for v in node:
            out |= _columns_of_operand(v, True)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key in _NOT_NAMES:
                continue
            for v in value if isinstance(value, list) else [value]:
                out |= _columns_of_operand(v, True)
    return _split(out, matched)


def _split(names: set[str], keep_all: bool) -> set[str]:
    return names if keep_all else {n for n in names if not n.startswith(MATCH)}


def matched_columns(node: Any, operand: bool = False) -> set[str]:
    """The other input's columns a lookup reason's condition (or operand) reads, without ``match.``."""
    found = _columns_of_operand(node, True) if operand else _columns_of(node, True) | _optional_reads(node)
    return {n.removeprefix(MATCH) for n in found if n.startswith(MATCH)}


columns_of_condition = _columns_of
columns_of_operand = _columns_of_operand


def optional_columns(cond: Any) -> set[str]:
    """The ledger's columns read under a condition's ``{optional: …}`` parts (which never make a rule skip)."""
    return _split(_optional_reads(cond), False)


def _optional_reads(cond: Any) -> set[str]:
    """Every name read under a condition's ``{optional: …}`` parts, ``match.NAME`` included."""
    out: set[str] = set()
    if isinstance(cond, dict):
        if "optional" in cond:
            out |= _columns_of(cond["optional"], True) | _optional_reads(cond["optional"])
        for key in ("all", "any"):
            for c in cond.get(key, []):
                out |= _optional_reads(c)
        if "not" in cond:
            out |= _optional_reads(cond["not"])
    return out


def _base(name: str, present: frozenset[str]) -> str:
    """The column a derived fact ``<col>__x`` comes from when that column is absent too, else ``name``."""
    base = name.split("__", maxsplit=1)[0]
    return base if "__" in name and base not in present else name

