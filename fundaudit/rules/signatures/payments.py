"""Payment check types: shared accounts, repeats, splits, year-end timing and caps.

Implemented in ``fundaudit/engine/checks/payments.py``; tested in ``tests/checks/test_payments.py``.
"""

from __future__ import annotations

from fundaudit.rules.spec import Arg, Signature, signature

__all__ = ["SIGNATURES"]

SIGNATURES: list[Signature] = [
    signature(
        "shared_account",
        "Does one bank account receive payments for several recipients? One finding per account.",
        group=True,
        fields=("recipients",),
        min_recipients=Arg("int", default=2, low=2),
        same_household_downgrade=Arg("bool", default=True),
    ),
    signature(
        "duplicate_payment",
        "Is one recipient paid twice in one programme window, or one date + amount + account entered twice?",
        group=True,
        fields=("problem", "problem_en"),
        windows=Arg(
            "mapping",
            default={"default": "same_day"},
            items="window",
            doc="programme -> same_day | month | year | 'MM-DD..MM-DD' (a season; may wrap the year end)",
        ),
    ),
    signature(
        "aid_cap",
        "Is the payment within the per-payment cap, and the recipient's yearly total within the "
        "per-year cap, for the programme, category and year (caps table; 低保 multiples)?",
        group=True,
        fields=("cap", "excess", "pay_cap", "problem", "problem_en", "total", "year_cap"),
        region_code=Arg("str", doc="region of the 低保 table; default the run's region"),
    ),
    signature(
        "split_payment",
        "Are payments to one recipient in one programme within a few days each under the threshold "
        "but together over it? One finding per linked set of payments.",
        group=True,
        fields=("threshold", "total"),
        window_days=Arg("int", default=30, low=0),
        threshold=Arg("choice", default="per_payment_cap", choices=("per_payment_cap", "fixed")),
        threshold_default=Arg("number", default=1000, low=0),
        region_code=Arg("str"),
    ),
    signature(
        "year_end_share",
        "Is a union's share of the year's aid paid in the last days of the year above the limit?",
        group=True,
        fields=("share_pct", "year_end", "year_total"),
        days=Arg("int", default=31, low=1, high=366),
        share=Arg("number", default=0.4, low=0, high=1),
    ),
]
