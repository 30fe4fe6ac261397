"""Dues records check types: duplicates and refunds.

Implemented in ``fundaudit/engine/checks/dues_records.py``; tested in ``tests/checks/test_dues_records.py``.
"""

from __future__ import annotations

from fundaudit.rules.spec import Arg, Signature, signature

__all__ = ["SIGNATURES"]

SIGNATURES: list[Signature] = [
    signature(
        "dues_duplicate",
        "Is one taxpayer, fund type and overlapping period paid more than once (net of "
        "correction pairs), or one e-voucher number used twice?",
        group=True,
        fields=("payments",),
        key=Arg("columns", default=["taxpayer_id", "fund_type", "period_start", "period_end"], min_items=1),
        ignore_correction_pairs=Arg("bool", default=True),
    ),
    signature(
        "dues_refund",
        "Does a refund (negative payment) trace to an earlier payment of the same taxpayer, fund type and period?",
        match_window_months=Arg("int", default=24, low=0),
    ),
    signature(
        "dues_sme_refund",
        "In policy years, is the small/micro refund due and paid in full and on time; are refunds paid only where due?",
        fields=("problem", "problem_en", "refund_expected"),
        policy_years=Arg("values", default=[2020, 2021, 2022], items="int", low=1900, high=2100),
        refund_share=Arg("choice", default="upper_level", choices=("upper_level", "all")),
        refund_deadline_days=Arg("int", default=365, low=0),
    ),
]
