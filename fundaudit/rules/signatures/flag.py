"""The ``flag`` check type: several reasons in one rule. Implemented in ``fundaudit/engine/checks/flag.py``."""

from __future__ import annotations

from fundaudit.rules.spec import Arg, Signature, signature

__all__ = ["SIGNATURES"]

SIGNATURES: list[Signature] = [
    signature(
        "flag",
        "Does any reason hold? Each reason is {when: condition, problem: catalogue key or {zh, en}, severity?}; "
        "the finding's problem is every applying reason's text, its severity the most severe one's.",
        fields=("problem", "problem_en"),
        reasons=Arg("reasons", True),
        needs=Arg("columns", shape=True, doc="columns the rule cannot run without (skipped when the input lacks one)"),
        report=Arg("columns", shape=True, doc="more value columns for the message (absent ones read as not provided)"),
        values=Arg("operand_map", doc="{name: operand}: computed values for the message, texts and amount"),
        say=Arg("shape", default="all", choices=("all", "first"), doc="every applying reason, or the first"),
        unless=Arg("condition", doc="rows for which this holds are never flagged (may name $parameters)"),
        limits=Arg(
            "limits",
            shape=True,
            doc="{parameter: {items: int|number, low, high, length, ascending}}: bounds the rule's parameters keep",
        ),
    ),
]
