"""The payments check family (engine/checks/payments.py): cash, account holder, shared account, duplicates,
splits, year-end share, caps.

Rules: DISB-CASH, DISB-ACCOUNT-NAME, DISB-ACCOUNT-SHARED, DISB-DUP, DISB-SPLIT, DISB-YEAR-END, DISB-OVER-CAP.
Every test runs ONE shipped rule through tests/checks/harness.py."""

from __future__ import annotations

from typing import Any

import pytest

from fundaudit.errors import RuleError
from tests.checks.harness import (
    A,
    B,
    C,
    D,
    E,
    F,
    G,
    payment,
    register_file,
    resident_id,
    rows_of,
    run,
)

CAPS = [
    {
        "program": "送温暖",
        "category": "相对困难",
        "year": "2016",
        "per_payment_cap": "1500",
        "per_year_cap": "2500",
        "basis": "fixed",
    },
    {
        "program": "送温暖",
        "category": "深度困难",
        "year": "2016",
        "per_payment_cap": "2000",
        "per_year_cap": "3000",
        "basis": "fixed",
    },
    {
        "program": "生活救助",
        "category": "",
        "year": "2016",
        "per_payment_cap": "6",
        "per_year_cap": "12",
        "basis": "dibao_multiple",
    },
    {
        "program": "医疗救助",
        "category": "",
        "year": "2016",
        "per_payment_cap": "5000",
        "per_year_cap": "8000",
        "basis": "fixed",
    },
]


DIBAO = [
    {"region_code": "341003", "year": "2016", "monthly_dibao": "480"},
    {"region_code": "341004", "year": "2016", "monthly_dibao": "520"},
]


def test_invalid_ids_match_only_the_same_text_and_never_a_damaged_one() -> None:
    """An invalid ID is a matching key as written: the same typo on two payments is a duplicate, and it never
    matches a valid ID; an ID Excel stored as a number (digits lost) matches nothing, not even its twin."""
    valid = resident_id("110101", "19900307", "803")
    typo = valid[:15] + "O" + valid[16:]  # the zero of the sequence number typed as the letter O
    damaged = "1.10101199003078E+17"
    rows = [
        payment(typo, program="送温暖", payment_date="2016-01-10", bank_account="1"),  # 2 } the same typo twice
        payment(typo, program="送温暖", payment_date="2016-01-10", bank_account="2"),  # 3 } in one window
        payment(valid, program="送温暖", payment_date="2016-01-10", bank_account="3"),  # 4 the valid ID
        payment(damaged, program="送温暖", payment_date="2016-01-10", bank_account="4"),  # 5 } two damaged IDs:
        payment(damaged, program="送温暖", payment_date="2016-01-10", bank_account="5"),  # 6 } not evidence
    ]
    assert run("DISB-DUP", {"disbursements": rows}).refs == [("error", (("disbursements", 2), ("disbursements", 3)))]
    # the register: a file under the typo finds the payments with the typo, never the valid one; a damaged
    # ID finds nothing (its file number is the only way to it)
    register = [register_file(typo, "F1"), register_file(damaged, "F2")]
    needing = [dict(r, program="生活救助", file_no="") for r in rows]
    assert run("DISB-NOT-FILED", {"disbursements": needing, "register": register}).ref_rows == [[4], [5], [6]]


def test_disb_cash() -> None:
    rows = [
        payment(payment_method="现金", bank_account=""),  # 2 cash
        payment(program="送温暖", payment_method="实物", bank_account=""),  # 3 goods allowed for 送温暖
        payment(payment_method="实物", bank_account=""),  # 4 goods for 生活救助
        payment(payment_method="银行代发", bank_account=""),  # 5 bank payment, no account
        payment(payment_method="打卡"),  # 6 clean
        payment(payment_method="", bank_account=""),  # 7 no method, no account
        payment(payment_method=""),  # 8 no method, an account
        payment(payment_method="现金发放", bank_account="6222020000000009"),  # 9 cash, though an account is given
        payment(program="互助保障", payment_method="现金", bank_account=""),  # 10 pass-through when configured
        payment(bank_account="6.22202E+18"),  # 11 account destroyed by Excel, blanked at load
    ]
    assert run("DISB-CASH", {"disbursements": rows}).ref_rows == [[2], [4], [5], [7], [9], [10], [11]]
    through = run("DISB-CASH", {"disbursements": rows}, params={"pass_through_programs": ["互助保障"]}).refs
    assert rows_of(through) == [[2], [4], [5], [7], [9], [11]]


def test_disb_account_name() -> None:
    rows = [
        payment(recipient_name="汪建英", account_holder="汪建英"),  # 2 same
        payment(recipient_name="汪建英", account_holder="汪　建英"),  # 3 full-width space inside
        payment(recipient_name="徐华", account_holder="汪辉宏"),  # 4 someone else
        payment(recipient_name="徐华", account_holder=""),  # 5 no holder given
        payment(recipient_name="阿依古丽·买买提", account_holder="阿依古丽.买买提"),  # 6 middle dot spellings
        payment(recipient_name="徐华", account_holder="徐明"),  # 7 same surname
    ]
    assert run("DISB-ACCOUNT-NAME", {"disbursements": rows}).ref_rows == [[4], [7]]
    family = run("DISB-ACCOUNT-NAME", {"disbursements": rows}, params={"allow_family_holder": True}).refs
    assert rows_of(family) == [[4]]


def test_disb_account_shared() -> None:
    rows = [
        payment(A, bank_account="6222 0200 0000 0001"),  # 2 } one account, two people
        payment(B, bank_account="6222020000000001"),  # 3 }
        payment(C, bank_account="6222020000000002"),  # 4 one person, twice
        payment(C, bank_account="6222020000000002"),  # 5
        payment(D, bank_account="6222020000000003"),  # 6 } three rows, two IDs and a row without ID
        payment(E, bank_account="6222020000000003"),  # 7 }
        payment("", recipient_name="某", bank_account="6222020000000003"),  # 8 }
        payment(F, bank_account=""),  # 9 no account
        payment(G, bank_account=""),  # 10 no account
    ]
    assert run("DISB-ACCOUNT-SHARED", {"disbursements": rows}).refs == [
        ("error", (("disbursements", 2), ("disbursements", 3))),
        ("error", (("disbursements", 6), ("disbursements", 7), ("disbursements", 8))),
    ]
    register = [register_file(D, "F1", address="黄山区 甘棠镇1号"), register_file(E, "F2", address="黄山区甘棠镇１号")]
    household = run("DISB-ACCOUNT-SHARED", {"disbursements": rows, "register": register}).refs
    assert [sev for sev, _ in household] == ["error", "warning"]
    # the downgrade cites the register files whose addresses it compared (D's and E's)
    assert run("DISB-ACCOUNT-SHARED", {"disbursements": rows, "register": register}).cited == {
        2: [], 6: [("register_file", "register", 2), ("register_file", "register", 3)]}
    off = run(
        "DISB-ACCOUNT-SHARED",
        {"disbursements": rows, "register": register},
        params={"same_household_downgrade": False, "min_recipients": 3},
    ).refs
    assert off == []


def test_disb_dup() -> None:
    rows = [
        payment(A, program="送温暖", payment_date="2016-01-15", bank_account="1"),  # 2 season 2015/16
        payment(A, program="送温暖", payment_date="2016-12-20", bank_account="2"),  # 3 season 2016/17
        payment(B, program="送温暖", payment_date="2016-01-05", bank_account="3"),  # 4 } one season
        payment(B, program="送温暖", payment_date="2016-02-29", bank_account="4"),  # 5 } (end of February)
        payment(C, program="送温暖", payment_date="2016-03-05", bank_account="5"),  # 6 outside the season:
        payment(C, program="送温暖", payment_date="2016-03-06", bank_account="6"),  # 7 same day only
        payment(D, payment_date="2016-06-08", bank_account="7"),  # 8 } same day, same programme
        payment(D, payment_date="2016-06-08", bank_account="8", amount="900"),  # 9 }
        payment(E, payment_date="2016-07-01", bank_account="9"),  # 10 } same date + amount + account,
        payment(F, payment_date="2016-07-01", bank_account="9"),  # 11 } two people
        payment(G, payment_date="2016-08-01", bank_account="10"),  # 12 } both tests: one finding
        payment(G, payment_date="2016-08-01", bank_account="10"),  # 13 }
        payment(G, program="医疗救助", payment_date="2016-08-01", bank_account="11"),  # 14 another programme
        payment(A, program="金秋助学", payment_date="2016-08-01", bank_account="12"),  # 15 } school year
        payment(A, program="金秋助学", payment_date="2016-08-31", bank_account="13"),  # 16 }
        payment(A, program="金秋助学", payment_date="2016-09-01", bank_account="14"),  # 17 next school year
    ]
    found = run("DISB-DUP", {"disbursements": rows})
    assert found.ref_rows == [[4, 5], [8, 9], [10, 11], [12, 13], [15, 16]]
    # money at issue: what was paid again (every payment but the group's earliest; rows 12/13, in both tests'
    # groups, count once), not the group's total
    assert {r: f["amount"] for r, f in found.by_row.items()} == {
        4: "1000.00", 8: "900.00", 10: "1000.00", 12: "1000.00", 15: "1000.00"}
    yearly = run("DISB-DUP", {"disbursements": rows}, params={"windows": {"default": "year"}}).refs
    assert rows_of(yearly)[:3] == [[2, 3], [4, 5], [6, 7]]


def test_disb_dup_bad_window_is_the_users_rule_error() -> None:
    """A window the check does not know is refused by pack validation, with the message a user of
    ``--param`` gets, before anything runs."""
    with pytest.raises(RuleError) as info:
        run("DISB-DUP", {"disbursements": [payment(A)]}, params={"windows": {"送温暖": "winter"}})
    assert [(p.source, p.path, p.code) for p in info.value.problems] == [
        ("--param", "DISB-DUP.windows.送温暖", "pack_bad_value")
    ]
    assert str(info.value) == (
        "规则包有 1 处错误：\n"
        '--param DISB-DUP.windows.送温暖: 取值 "winter" 不合法（应为 same_day | month | year | MM-DD..MM-DD）'
    )


def test_disb_over_cap() -> None:
    rows = [
        payment(A, program="送温暖", aid_category="相对困难", amount="1800"),  # 2 above 1,500 per payment
        payment(B, program="送温暖", aid_category="相对困难", amount="1500"),  # 3 exactly the cap
        payment(C, program="送温暖", aid_category="相对困难", amount="1500", payment_date="2016-01-13"),  # 4 } 2,700
        payment(C, program="送温暖", aid_category="相对困难", amount="1200", payment_date="2016-12-13"),  # 5 } a year
        payment(D, amount="2880", payment_date="2016-03-01"),  # 6 } 6 × 480 twice = 12 × 480
        payment(D, amount="2880", payment_date="2016-09-01"),  # 7 }
        payment(E, amount="2880.01"),  # 8 a fen above 6 × 低保
        payment(F, program="送温暖", aid_category="劳模", amount="9000"),  # 9 no cap row for 劳模
        payment(G, program="送温暖", aid_category="深度困难", amount="2000"),  # 10 exactly 2,000
        payment(A, program="送温暖", aid_category="相对困难", amount="1000", payment_date="2015-12-20"),  # 11 2015
    ]
    inputs = {"disbursements": rows, "caps": CAPS, "dibao": DIBAO}
    assert run("DISB-OVER-CAP", inputs).ref_rows == [[2], [4, 5], [8]]
    found = run("DISB-OVER-CAP", inputs).values
    assert (found[0]["cap"], found[0]["excess"]) == ("1500.00", "300.00")
    assert (found[1]["cap"], found[1]["total"]) == ("2500.00", "2700.00")
    assert found[2]["cap"] == "2880.00"
    # each cites the cap row it was held against; a 低保 multiple also the 低保 row of its year
    assert run("DISB-OVER-CAP", inputs).cited == {
        2: [("cap", "caps", 2)], 4: [("cap", "caps", 2)], 8: [("cap", "caps", 4), ("dibao", "dibao", 2)]}
    # another region's 低保 (520 × 6 = 3,120): 2,880.01 passes
    assert run("DISB-OVER-CAP", inputs, region="341004").ref_rows == [[2], [4, 5]]
    # several regions and none chosen: the 低保 multiples cannot be worked out, fixed caps still apply
    assert run("DISB-OVER-CAP", inputs, region=None).ref_rows == [[2], [4, 5]]
    assert run("DISB-OVER-CAP", {**inputs, "dibao": DIBAO[:1]}, region=None).ref_rows == [[2], [4, 5], [8]]


def test_disb_over_cap_without_caps_is_a_skip() -> None:
    run("DISB-OVER-CAP", {"disbursements": [payment()]}, expect_status="skipped")


def test_disb_split() -> None:
    def med(who: str, amount: str, day: str) -> dict[str, Any]:
        return payment(who, program="医疗救助", amount=amount, payment_date=day, bank_account=f"6222{day}")

    rows = [
        med(A, "3000", "2016-03-01"),  # 2 } 6,000 in 14 days, each under the 5,000 cap
        med(A, "3000", "2016-03-15"),  # 3 }
        med(B, "2500", "2016-04-01"),  # 4 } 5,000: not above
        med(B, "2500", "2016-04-21"),  # 5 }
        med(C, "3000", "2016-05-01"),  # 6 } 41 days apart
        med(C, "3000", "2016-06-11"),  # 7 }
        med(D, "2000", "2016-07-01"),  # 8  } three payments chained within 30 days
        med(D, "2000", "2016-07-20"),  # 9  }
        med(D, "2000", "2016-07-30"),  # 10 }
        payment(E, amount="600", payment_date="2016-08-01"),  # 11 } no cap for 生活救助 here: 1,000 default
        payment(E, amount="600", payment_date="2016-08-31"),  # 12 } (30 days apart)
        med(F, "6000", "2016-09-01"),  # 13 } one payment above the cap is not a split
        med(F, "100", "2016-09-02"),  # 14 }
    ]
    caps = [{"program": "医疗救助", "year": "2016", "per_payment_cap": "5000", "basis": "fixed"}]
    inputs = {"disbursements": rows, "caps": caps}
    assert run("DISB-SPLIT", inputs).ref_rows == [[2, 3], [8, 9, 10], [11, 12]]
    # the cap row whose per-payment cap was the threshold; none where the fixed default was
    assert run("DISB-SPLIT", inputs).cited == {2: [("cap", "caps", 2)], 8: [("cap", "caps", 2)], 11: []}
    assert run("DISB-SPLIT", inputs, params={"window_days": 10}).ref_rows == []  # 2,000 + 2,000 at most
    fixed = run("DISB-SPLIT", inputs, params={"threshold": "fixed", "threshold_default": 4000}).refs
    assert rows_of(fixed) == [[2, 3], [4, 5], [8, 9, 10]]
    assert run("DISB-SPLIT", inputs, params={"threshold": "fixed", "threshold_default": 4000}).cited == {
        2: [], 4: [], 8: []}
    # without a caps table the fixed default applies
    assert run("DISB-SPLIT", {"disbursements": rows}).ref_rows == [[11, 12]]


def test_disb_split_window() -> None:
    rows = [
        payment(A, amount="600", payment_date="2016-08-01"),  # 2 } 11 days
        payment(A, amount="600", payment_date="2016-08-12"),  # 3 }
        payment(B, amount="600", payment_date="2016-08-01"),  # 4 } 31 days
        payment(B, amount="600", payment_date="2016-09-01"),  # 5 }
    ]
    assert run("DISB-SPLIT", {"disbursements": rows}).ref_rows == [[2, 3]]
    assert run("DISB-SPLIT", {"disbursements": rows}, params={"window_days": 10}).ref_rows == []


def test_disb_year_end() -> None:
    rows = [
        payment(grassroots_union="甲", amount="1400", payment_date="2016-06-01"),  # 2
        payment(grassroots_union="甲", amount="2000", payment_date="2016-12-01"),  # 3 } 3,400 of 4,800
        payment(grassroots_union="甲", amount="1400", payment_date="2016-12-31"),  # 4 }
        payment(grassroots_union="乙", amount="3000", payment_date="2016-06-01"),  # 5
        payment(grassroots_union="乙", amount="2000", payment_date="2016-12-10"),  # 6 exactly 40%
        payment(grassroots_union="丙", amount="100", payment_date="2016-01-01"),  # 7
        payment(grassroots_union="丙", amount="900", payment_date="2016-11-30"),  # 8 the day before the last 31
    ]
    assert run("DISB-YEAR-END", {"disbursements": rows}).refs == [
        ("info", (("disbursements", 3), ("disbursements", 4))),
    ]
    [v] = run("DISB-YEAR-END", {"disbursements": rows}).values
    assert (v["year_end"], v["year_total"], v["share_pct"]) == ("3400.00", "4800.00", 70.8)
    assert run("DISB-YEAR-END", {"disbursements": rows}, params={"days": 32}).ref_rows == [[3, 4], [8]]
