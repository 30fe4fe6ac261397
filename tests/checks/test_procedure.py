"""Procedure rules: 公示 (disclosure) and approval. They are ``flag`` rules of the generic vocabulary
(rules/disbursements.yaml, rules/register.yaml; the procedure family of check types is gone), so these tests
keep guarding them by id.

Rules: DISB-DISCLOSURE, DISB-APPROVAL, REG-DISCLOSURE. Every test runs ONE shipped rule through
tests/checks/harness.py."""

from __future__ import annotations

from tests.checks.harness import (
    hardship_file,
    payment,
    rows_of,
    run,
)


def test_disb_disclosure() -> None:
    rows = [
        payment(disclosure_start="", disclosure_end=""),  # 2 none: error
        payment(disclosure_start="2016-04-06", disclosure_end="2016-04-10", payment_date="2016-04-11"),  # 3 5 days
        payment(disclosure_start="2016-04-08", disclosure_end="2016-04-10", payment_date="2016-04-14"),  # 4 3 days
        payment(disclosure_start="2016-03-05", disclosure_end="2016-03-12", payment_date="2016-03-10"),  # 5 ends late
        # 6 ends on the day
        payment(disclosure_start="2016-03-05", disclosure_end="2016-03-10", payment_date="2016-03-10"),
        payment(disclosure_start="2016-03-05", disclosure_end="", payment_date="2016-03-20"),  # 7 no end date
        payment(disclosure_start="2016-04-08", disclosure_end="2016-04-12", payment_date="2016-04-20"),  # 8 Fri–Tue
    ]
    assert run("DISB-DISCLOSURE", {"disbursements": rows}).refs == [
        ("error", (("disbursements", 2),)),
        ("warning", (("disbursements", 4),)),
        ("warning", (("disbursements", 5),)),
        ("warning", (("disbursements", 6),)),
        ("warning", (("disbursements", 7),)),
    ]
    working = run("DISB-DISCLOSURE", {"disbursements": rows}, params={"calendar": "working"}).refs
    assert rows_of(working) == [[2], [3], [4], [5], [6], [7], [8]]  # 04-06..04-10 is Wed–Sun: 3 working days
    days = run("DISB-DISCLOSURE", {"disbursements": rows}, params={"calendar": "working"}).values
    assert days[-1]["days"] == 3 and days[1]["days"] == 3


def test_disb_approval() -> None:
    rows = [
        payment(approver="", approval_date=""),  # 2 no approver: error
        payment(approval_date="2016-05-12"),  # 3 after payment
        payment(approver="吴斌", handler="吴 斌"),  # 4 approver is the handler
        payment(approver="张三", recipient_name="张　三"),  # 5 approver is the recipient
        payment(approval_date="2016-05-10"),  # 6 on the payment day
        payment(approval_date=""),  # 7 approver without a date
        payment(approver="", approval_date="2016-05-12"),  # 8 no approver, and late: one error
    ]
    assert run("DISB-APPROVAL", {"disbursements": rows}).refs == [
        ("error", (("disbursements", 2),)),
        ("error", (("disbursements", 8),)),
        ("warning", (("disbursements", 3),)),
        ("warning", (("disbursements", 4),)),
        ("warning", (("disbursements", 5),)),
    ]
    assert run("DISB-APPROVAL", {"disbursements": rows}, params={"require_approver": False}).ref_rows == [
        [3],
        [4],
        [5],
        [8],
    ]


def test_reg_disclosure() -> None:
    rows = [
        hardship_file(),  # 2 disclosed before filing
        hardship_file(disclosure_date=""),  # 3 no disclosure
        hardship_file(disclosure_date="2015-03-13"),  # 4 three days after filing
        hardship_file(disclosure_date="2015-03-10"),  # 5 on the filing day
    ]
    assert run("REG-DISCLOSURE", {"register": rows}).ref_rows == [[3], [4]]
    assert run("REG-DISCLOSURE", {"register": rows}, params={"require": False}).ref_rows == [[4]]
