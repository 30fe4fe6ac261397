"""The ledger-total check type: declared 合计/小计 amounts against the rows they cover.

Implemented in ``fundaudit/engine/checks/totals.py``; tested in ``tests/checks/test_totals.py``.
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
