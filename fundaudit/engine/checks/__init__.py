"""Check-type implementations, registered explicitly by name.

Each implementation is a small function ``(ctx) -> sqlglot Select`` that yields the offending rows:
``_rid`` (row id in ``_table``, default the rule's ledger), optionally ``_finding`` (group id: rows with
one id form one finding), ``_table``, ``_severity``, ``_amount`` (fen), and the value columns its
message needs. The engine owns provenance, money formatting, messages and fingerprints.

Check types come in families, one module each (``payments``,
``register``, ``cross``, ``dues_arithmetic``, ``dues_timing``, ``dues_records``,
``totals``, ``generic``), listed once in ``load_builtin``. The spec half (arguments each type accepts)
is ``fundaudit/rules/signatures/<family>.py``, mirrored by name; ``tests/test_architecture.py`` keeps
each pair declaring the same check types. SQL builders they share are in ``fundaudit.engine.sql``,
context helpers and table names in ``common`` (not a family).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlglot.expressions as exp

    from fundaudit.engine.context import CheckContext

Impl = Callable[["CheckContext"], "exp.Select"]
IMPLS: dict[str, Impl] = {}

__all__ = ["FAMILIES", "IMPLS", "family_of", "implements", "load_builtin"]


def implements(name: str) -> Callable[[Impl], Impl]:
    """Register ``fn`` as the implementation of check type ``name`` (a duplicate is a bug)."""

    def deco(fn: Impl) -> Impl:
        if name in IMPLS:
            raise RuntimeError(f"check type {name} implemented twice")
        IMPLS[name] = fn
        return fn

    return deco


FAMILIES = (
    "generic", "flag", "lookup", "payments", "register", "cross",
    "dues_arithmetic", "dues_timing", "dues_records", "totals",
)
"""The family modules of check types (``fundaudit/engine/checks/<family>.py``): the one list of them."""


def load_builtin() -> dict[str, Impl]:
    """Import the built-in family modules (``FAMILIES``) and return the registry."""
    for family in FAMILIES:
        importlib.import_module(f"{__name__}.{family}")  # registration by import
    return IMPLS


def family_of(check_type: str) -> str:
    """The family module a built-in check type is implemented in (``payments``, ``dues_timing`` …)."""
    return load_builtin()[check_type].__module__.rsplit(".", 1)[1]
