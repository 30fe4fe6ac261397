"""What each check type accepts: the argument schema a rule's ``check:`` block is validated against.

This is the *spec* half of every check type (what a rule may say); the engine's
``fundaudit/engine/checks/`` holds the *impl* half (how it runs, as SQL), registered under the same
names. ``tests/test_architecture.py`` keeps the two registries equal, family by family.

Argument kinds: ``column`` / ``columns`` (canonical columns of the rule's ledger), ``kind`` (an input
kind), ``value`` / ``values`` (literals, typed by the column they are compared with: money in yuan,
dates as YYYY-MM-DD, rates as 0.02 or "2%"), ``number``, ``int``, ``bool``, ``str``, ``pattern`` (an
RE2 regular expression), ``condition`` (see ``conditions``), ``operand`` (a column, a number, or
``{add|sub|mul|div|min|max: [..]}``, ``{abs: x}``, ``{round_fen: x}``, ``{value: literal}``),
``mapping`` (free-form, checked by the check type), ``column_map`` (``{local column: column of the
input named by table}``), and ``choice`` (one of ``choices``).

Constraints on values are declared with the argument, as data, and checked on load and on every
override (user pack ``override``, profile, ``--param``, ``params=``): ``low``/``high`` bound numbers
(each number of a list or mapping), ``items`` types the elements of a list or the values of a mapping,
``length``/``min_items``/``ascending`` shape lists (``[low, high]`` pairs), ``typed_by`` names the
column argument whose catalogue type a literal must be readable as, ``table`` the argument naming the
input kind whose columns a column argument names, ``types`` the catalogue types a column may have.
A signature's ``relations`` tie two arguments (``le``: first ≤ second; ``comparable``: operands of
compatible types) and its ``fields`` are the values, beyond the ledger's columns, that its findings
offer to message templates.
"""

from __future__ import annotations

from fundaudit.rules.signatures import (
    cross,
    dues_arithmetic,
    dues_records,
    dues_timing,
    flag,
    generic,
    lookup,
    payments,
    register,
    totals,
)
from fundaudit.rules.spec import Arg, Signature

__all__ = ["CHECK_TYPES", "FAMILIES", "Arg", "Signature"]

# One module per family of check types, named as its implementation in fundaudit/engine/checks/.
FAMILIES = (
    generic,
    flag,
    lookup,
    payments,
    register,
    cross,
    dues_arithmetic,
    dues_timing,
    dues_records,
    totals,
)
CHECK_TYPES: dict[str, Signature] = {s.name: s for family in FAMILIES for s in family.SIGNATURES}
