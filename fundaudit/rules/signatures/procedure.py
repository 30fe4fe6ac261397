"""Argument schemas of the procedure check types (公示 and approval).

The implementations are in ``fundaudit/engine/checks/procedure.py``, registered under the same names (a test
keeps the two modules declaring the same check types). Reference tables are found by their kind names,
so no argument names a table.
"""

from __future__ import annotations

from fundaudit.rules.spec import Arg, Signature, signature

__all__ = ["SIGNATURES"]

SIGNATURES: list[Signature] = [
    signature(
        "disclosure",
        "Was the payment disclosed (公示), for long enough, and did the disclosure end before payment?",
        fields=("days", "problem", "problem_en"),
        min_days=Arg("int", default=5, low=0),
        calendar=Arg("choice", default="natural", choices=("natural", "working")),
    ),
    signature(
        "approval",
        "Is there an approver, approving on or before payment, who is neither the handler nor the recipient?",
        fields=("problem", "problem_en"),
        require_approver=Arg("bool", default=True),
    ),
    signature(
        "disclosed_before_filing",
        "Was the file disclosed (公示) on or before the date it was filed?",
        fields=("problem", "problem_en"),
        require=Arg("bool", default=True),
    ),
]
