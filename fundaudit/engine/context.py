"""What a check implementation sees: its rule and arguments, which columns and tables exist, the
audit period, and helpers that turn rule data into SQL pieces."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlglot.expressions as exp

from fundaudit.engine import sql
from fundaudit.period import Period
from fundaudit.rules.model import Rule

__all__ = ["CheckContext", "Skip"]


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
        missing = [c for c in columns if c not in self.present[t]]
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

    def where(self, alias: str | None = None) -> exp.Expression | None:
        """The rule's ``where`` filter as SQL (None when it has none); skips if it names absent columns."""
        if self.rule.where is None:
            return None
        self.need(*sorted(_columns_of(self.rule.where)))
        return sql.condition(self.rule.where, self.ledger, alias)

    def amount(self, alias: str | None = None) -> exp.Expression | None:
        """The rule's ``amount`` operand (money at issue, fen), if it declares one and it is present."""
        node = self.rule.amount
        if node is None or not all(self.has(c) for c in _columns_of_operand(node)):
            return None
        return sql.operand(node, self.ledger, alias=alias)[0]


def _columns_of(cond: Any) -> set[str]:
    out: set[str] = set()
    if isinstance(cond, dict):
        if "column" in cond:
            out.add(cond["column"])
        for key in ("all", "any"):
            for c in cond.get(key, []):
                out |= _columns_of(c)
        if "not" in cond:
            out |= _columns_of(cond["not"])
        if "compare" in cond:
            out |= _columns_of_operand(cond["compare"].get("left"))
            out |= _columns_of_operand(cond["compare"].get("right"))
    return out


def _columns_of_operand(node: Any) -> set[str]:
    if isinstance(node, str):
        return {node}
    if isinstance(node, dict):
        out: set[str] = set()
        for key, value in node.items():
            if key == "value":
                continue
            for v in value if isinstance(value, list) else [value]:
                out |= _columns_of_operand(v)
        return out
    return set()


columns_of_condition = _columns_of
columns_of_operand = _columns_of_operand
