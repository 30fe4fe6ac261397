"""Check-type implementations, registered explicitly by name.

Each implementation is a small function ``(ctx) -> sqlglot Select`` that yields the offending rows:
``_rid`` (row id in ``_table``, default the rule's ledger), optionally ``_finding`` (group id: rows with
one id form one finding), ``_table``, ``_severity``, ``_amount`` (fen), and the value columns its
message needs. The engine owns provenance, money formatting, messages and fingerprints.

The spec half (arguments each type accepts) is ``fundaudit/rules/signatures.py``; a test keeps the
two registries equal.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlglot.expressions as exp

    from fundaudit.engine.context import CheckContext

Impl = Callable[["CheckContext"], "exp.Select"]
IMPLS: dict[str, Impl] = {}

__all__ = ["IMPLS", "implements", "load_builtin"]


def implements(name: str) -> Callable[[Impl], Impl]:
    """Register ``fn`` as the implementation of check type ``name`` (a duplicate is a bug)."""

    def deco(fn: Impl) -> Impl:
        if name in IMPLS:
            raise RuntimeError(f"check type {name} implemented twice")
        IMPLS[name] = fn
        return fn

    return deco


def load_builtin() -> dict[str, Impl]:
    """Import the built-in check modules (the one place they are listed) and return the registry."""
    from fundaudit.engine.checks import aid, dues, generic, totals  # noqa: F401 - registration by import

    return IMPLS
