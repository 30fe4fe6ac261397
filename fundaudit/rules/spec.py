"""The vocabulary check-type signatures are written in: :class:`Arg` (one argument) and :class:`Signature`
(a check type). Each family's signature module (``fundaudit/rules/signatures/<family>.py``) imports these from
here, so the families do not import each other; ``fundaudit.rules.signatures`` describes the argument
kinds and joins the families into ``CHECK_TYPES``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Arg", "Signature", "signature"]


@dataclass(frozen=True)
class Arg:
    """One argument of a check type."""

    kind: str
    required: bool = False
    default: Any = None
    choices: tuple[str, ...] = ()  # choice: the allowed values; values: the allowed elements
    doc: str = ""
    low: float | None = None  # numbers (each number of a list or mapping) at least this
    high: float | None = None  # … at most this
    items: str = ""  # values / mapping: the kind of each element or value (int, number, text, window)
    length: int | None = None  # values: exactly this many elements
    min_items: int = 0  # values / columns: at least this many
    ascending: bool = False  # values: elements in non-decreasing order
    typed_by: str = ""  # value / values: the column argument whose type the literals take
    table: str = ""  # column / columns / condition / column_map: the argument naming the other input kind
    types: tuple[str, ...] = ()  # column / columns: the catalogue column types allowed
    shape: bool = False  # how a rule is written (which columns a lookup reads…), never a user-settable parameter


@dataclass(frozen=True)
class Signature:
    """A check type: its name, what it checks, and its arguments."""

    name: str
    doc: str
    args: dict[str, Arg]
    group: bool = False  # one finding per group of rows rather than per row
    relations: tuple[tuple[str, str, str], ...] = ()  # (le | comparable, argument, argument)
    fields: tuple[str, ...] = ()  # message fields its findings offer besides the ledger's columns


def signature(
    name: str,
    doc: str,
    group: bool = False,
    *,
    relations: tuple[tuple[str, str, str], ...] = (),
    fields: tuple[str, ...] = (),
    **args: Arg,
) -> Signature:
    """A :class:`Signature` written as keyword arguments (``if`` and other keywords via ``**{...}``)."""
    return Signature(name, doc, dict(args), group, relations, fields)
