"""Procedure check types: 公示 (disclosure) and approval.

Implemented in ``fundaudit/engine/checks/procedure.py``; tested in ``tests/checks/test_procedure.py``.
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
]
