"""Argument schema of the ledger-total check type.

The implementations are in ``fundaudit/engine/checks/totals.py``, registered under the same names (a test
keeps the two modules declaring the same check types). Reference tables are found by their kind names,
so no argument names a table.
"""

from __future__ import annotations

from fundaudit.rules.spec import Arg, Signature, signature

__all__ = ["SIGNATURES"]

SIGNATURES: list[Signature] = [
    signature(
        "ledger_total",
        "Does each 合计/小计 row's declared amount equal the sum of the rows it covers?",
        fields=("column", "declared", "difference", "label", "loaded"),
        tol_yuan=Arg("number", default=0.01, low=0),
    ),
]
