"""Argument schemas of the hardship-aid (disbursements), register and cross-ledger check types.

The implementations are in ``fundaudit/engine/checks/aid.py``, registered under the same names.
Reference tables are found by their kind names (``register``, ``staff``, ``caps``, ``dibao``,
``budget``, ``unions``, ``employers``, ``dues``), so no argument names a table.
"""

from __future__ import annotations

from fundaudit.rules.spec import Arg, Signature, signature

__all__ = ["HARDSHIP_CATEGORIES", "SIGNATURES"]

HARDSHIP_CATEGORIES = ["深度困难", "相对困难", "意外致困"]

_MATCH = ("id_no", "file_no")
_FALLBACK = ("file_no", "id_no", "none")


def _sig_match(name: str, doc: str, *, fields: tuple[str, ...] = (), **args: Arg) -> Signature:
    """A check that reads payments against the register: ``args`` plus the two matching keys."""
    return Signature(name, doc, {**args, **_match_args()}, fields=("matched_on", "register_file_no", *fields))


def _match_args() -> dict[str, Arg]:
    """How a payment finds its register files: the key, and the key tried when the first finds none."""
    return {
        "match_on": Arg("choice", default="id_no", choices=_MATCH, doc="register key tried first"),
        "fallback_on": Arg(
            "choice",
            default="file_no",
            choices=_FALLBACK,
            doc="key tried when the first finds no file (file_no only where the IDs cannot disagree)",
        ),
    }


SIGNATURES: list[Signature] = [
    # --- identity -------------------------------------------------------------------------------
    signature(
        "resident_id",
        "Does the resident ID pass GB 11643 (18 characters, check character, real birth date), "
        "and is the person's age on the date (default: the end of the audit period) in range?",
        fields=("age", "birth", "id_status", "problem", "problem_en"),
        column=Arg("column", True, types=("resident_id",)),
        date=Arg("column", types=("date",), doc="age at this date; default the end of the audit period"),
        age_range=Arg("values", default=[16, 100], items="int", low=0, high=150, length=2, ascending=True),
        allow_15_digit=Arg("bool", default=False),
    ),
    # --- disbursements against the register, as of the payment date ----------------------------
    _sig_match(
        "filed_before_payment",
        "For programmes that need a hardship file, was the recipient on file on the payment date?",
        fields=("filed_date", "problem", "problem_en"),
        programs=Arg("values", True, doc="programmes needing a file; 'X(困难职工)' = X for hardship categories"),
        hardship_categories=Arg("values", default=HARDSHIP_CATEGORIES),
    ),
    _sig_match(
        "paid_after_exit",
        "Was the recipient paid after every one of their files was closed (脱困, 撤档, death)?",
        fields=("exit_date", "exit_reason", "status"),
        grace_days=Arg("int", default=0, low=0),
    ),
    _sig_match(
        "category_matches_file",
        "Does the paid hardship category match the category of the file in force on the payment date?",
        fields=("file_category",),
        category_map=Arg("mapping", default={}, doc="paid category -> register categories accepted for it"),
        hardship_categories=Arg("values", default=HARDSHIP_CATEGORIES),
    ),
    # --- payment itself -------------------------------------------------------------------------
    signature(
        "cash_payment",
        "Was the payment made in cash, in kind where goods are not allowed, or without a bank account?",
        fields=("problem", "problem_en"),
        bank_methods=Arg("values", default=["银行转账", "打卡", "银行代发", "社保卡"]),
        cash_words=Arg("values", default=["现金", "现付", "现款"]),
        in_kind_words=Arg("values", default=["实物"]),
        in_kind_allowed=Arg("values", default=[]),
        pass_through_programs=Arg("values", default=[]),
    ),
    signature(
        "account_holder",
        "Is the bank account held by the recipient (names compared after normalisation)?",
        allow_family_holder=Arg("bool", default=False, doc="accept a holder with the recipient's surname"),
    ),
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
    # --- register -------------------------------------------------------------------------------
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
    signature(
        "review_overdue",
        "Was each active file reviewed (or filed) within the last N months before the end of the period?",
        fields=("as_of", "due_by", "last_review"),
        max_months=Arg("int", default=12, low=0),
        active_status=Arg("values", default=["在档"]),
    ),
    signature(
        "disclosed_before_filing",
        "Was the file disclosed (公示) on or before the date it was filed?",
        fields=("problem", "problem_en"),
        require=Arg("bool", default=True),
    ),
    # --- cross-ledger -----------------------------------------------------------------------------
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
        "employer_without_dues",
        "Does an employer on the roster with staff have no dues row in the audit period?",
        min_headcount=Arg("int", default=1, low=0),
        exclude_status=Arg("values", default=["注销"]),
    ),
    signature(
        "union_status",
        "Is 工会经费 paid only where a union exists for the period, and 筹备金 only where none was founded before it?",
        fields=("founded_date", "fund_name", "fund_name_en", "problem", "problem_en", "union_name"),
        grace_months=Arg("int", default=0, low=0),
    ),
    signature(
        "union_account",
        "Was the grassroots share sent to the account the union registry holds for that union?",
        fields=("registry_account",),
    ),
    signature(
        "fund_overspend",
        "Does the aid paid per programme and year stay within its allocation, and reach a minimum share of it?",
        fields=("allocated", "difference", "problem", "problem_en", "scope", "scope_en", "spent", "spent_pct", "year"),
        min_spend_ratio=Arg("number", default=0.5, low=0, high=1),
    ),
]
