"""Register check types: the hardship register itself.

Implemented in ``fundaudit/engine/checks/register.py``; tested in ``tests/checks/test_register.py``.
"""

from __future__ import annotations

from fundaudit.rules.spec import Arg, Signature, signature

__all__ = ["SIGNATURES"]

SIGNATURES: list[Signature] = [
    signature(
        "household_duplicate",
        "Is one person, or one household (same address), in more than one active file?",
        group=True,
        fields=("problem", "problem_en"),
        household_keys=Arg(
            "values",
            default=["normalized_address"],
            choices=("normalized_address", "family_member_id"),
            doc="household keys besides the ID; family_member_id awaits a family-member ID column",
        ),
        active_status=Arg("values", default=["在档"]),
    ),
    signature(
        "hardship_eligibility",
        "Do the file's own figures support its category: (income − hardship spending) ÷ 12 ÷ household "
        "size against 低保 × multiplier; accident files a loss of at least the ratio of income?",
        fields=("limit", "loss_pct", "monthly_dibao", "per_capita_monthly", "problem", "problem_en"),
        multipliers=Arg("mapping", default={"深度困难": 1.0, "相对困难": 2.0}, items="number", low=0),
        accident_category=Arg("str", default="意外致困"),
        accident_loss_ratio=Arg("number", default=0.8, low=0, high=1),
        region_code=Arg("str"),
    ),
]
