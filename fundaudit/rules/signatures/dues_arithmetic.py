"""Dues arithmetic check types: split, fee and wage base.

Implemented in ``fundaudit/engine/checks/dues_arithmetic.py``; tested in ``tests/checks/test_dues_arithmetic.py``.
"""

from __future__ import annotations

from fundaudit.rules.spec import Arg, Signature, signature

__all__ = ["SHARE_STEMS", "SIGNATURES"]

RATIO_TOL = Arg("number", default=0.0001, low=0, high=1)  # how far two rates may differ and still agree
# the split's parts, each a `<stem>_ratio` and `<stem>_amount` column of dues (and of the ratio schedule)
SHARE_STEMS: tuple[str, ...] = (
    "share_grassroots",
    "share_prep_fund",
    "share_county",
    "share_city",
    "share_province",
    "share_acftu",
    "share_industry",
    "share_local",
    "fee",
)

FEN_TOL = Arg("number", default=0.01, low=0)  # yuan: how far two amounts may differ (one fen)

SIGNATURES: list[Signature] = [
    signature(
        "dues_base_min",
        "Is the wage base at least the minimum wage × headcount for the period?",
        fields=("min_wage", "minimum", "months", "staff"),
        use_headcount=Arg("bool", default=True),
        region_code=Arg("str"),
    ),
    signature(
        "dues_base_drop",
        "Does the wage base fall far below the employer's recent median?",
        fields=("floor", "history", "median"),
        drop_ratio=Arg("number", default=0.5, low=0, high=1),
        lookback=Arg("int", default=6, low=1),
        min_history=Arg("int", default=3, low=1),
    ),
    signature(
        "dues_split_ratio",
        "Are the applied shares those of the ratio schedule in force for the period?",
        fields=("mismatched", "mismatched_en", "schedule_from", *(f"expected_{s}_ratio" for s in SHARE_STEMS)),
        grassroots_share=Arg("number", default=0.6, low=0, high=1),
        ratio_tol=RATIO_TOL,
    ),
]
