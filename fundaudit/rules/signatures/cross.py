"""Cross-ledger check types: one ledger read against another or a reference list.

Implemented in ``fundaudit/engine/checks/cross.py``; tested in ``tests/checks/test_cross.py``.
"""

from __future__ import annotations

from fundaudit.rules.spec import Arg, Signature, signature

__all__ = ["SIGNATURES"]

SIGNATURES: list[Signature] = [
    signature(
        "staff_relative",
        "Does a payment (rule on disbursements: ID, bank account) or a hardship file (rule on the register: "
        "ID, bank account, phone, address) share a value with a union officer, 经审 member, finance clerk, "
        "handler or a listed relative?",
        fields=(
            "bank_account",
            "id_no",
            "matched_on",
            "matched_zh",
            "paid",
            "person",
            "phone",
            "relation_note",
            "relation_note_en",
            "role",
            "staff_name",
        ),
        match_on=Arg(
            "values",
            default=["id_no", "bank_account", "phone", "address"],
            choices=("id_no", "bank_account", "phone", "address"),
            min_items=1,
        ),
        roles=Arg("values", default=["all"]),
    ),
    signature(
        "union_status",
        "Is 工会经费 paid only where a union exists for the period, and 筹备金 only where none was founded before it?",
        fields=("founded_date", "fund_name", "fund_name_en", "problem", "problem_en", "union_name"),
        grace_months=Arg("int", default=0, low=0),
    ),
    signature(
        "fund_overspend",
        "Does the aid paid per programme and year stay within its allocation, and reach a minimum share of it?",
        fields=("allocated", "difference", "problem", "problem_en", "scope", "scope_en", "spent", "spent_pct", "year"),
        min_spend_ratio=Arg("number", default=0.5, low=0, high=1),
    ),
]
