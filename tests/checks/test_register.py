"""The register check family (engine/checks/register.py): the hardship register on its own.

Rules: REG-DUP-HOUSEHOLD, REG-ELIGIBILITY, REG-REVIEW-OVERDUE. Every test runs ONE shipped rule through
tests/checks/harness.py."""

from __future__ import annotations

from tests.checks.harness import (
    A,
    B,
    C,
    hardship_file,
    resident_id,
    rows_of,
    run,
)


def test_reg_dup_household() -> None:
    rows = [
        hardship_file(A, file_no="F1", address="黄山区 甘棠镇1号"),  # 2 } husband and wife,
        hardship_file(B, file_no="F2", address="黄山区甘棠镇１号"),  # 3 } one address
        hardship_file(C, file_no="F3", address="黄山区三口镇2号"),  # 4 } same address,
        hardship_file(
            resident_id("341003", "19900101", "004"),
            file_no="F4",
            address="黄山区三口镇2号",
            status="已脱困",
            exit_date="2016-05-01",
        ),  # 5 } but closed
        # 6 } one ID in two active files
        hardship_file(resident_id("341003", "19900101", "005"), file_no="F5", address="甲"),
        hardship_file(resident_id("341003", "19900101", "005"), file_no="F6", address="乙"),  # 7 }
        # 8 same address as 7: merged
        hardship_file(resident_id("341003", "19900101", "006"), file_no="F7", address="乙"),
    ]
    assert run("REG-DUP-HOUSEHOLD", {"register": rows}).ref_rows == [[2, 3], [6, 7, 8]]
    by_id = run("REG-DUP-HOUSEHOLD", {"register": rows}, params={"household_keys": []}).refs
    assert rows_of(by_id) == [[6, 7]]


def test_reg_eligibility() -> None:
    rows = [
        hardship_file(household_income_annual="19400", hardship_spending="5000", household_size="2"),  # 2 600 > 480
        # 3 960
        hardship_file(category="相对困难", household_income_annual="23040", hardship_spending="0", household_size="2"),
        hardship_file(household_income_annual="11520", hardship_spending="0", household_size="2"),  # 4 exactly 480
        hardship_file(category="意外致困", household_income_annual="50000", hardship_spending="25000"),  # 5 50%
        hardship_file(category="意外致困", household_income_annual="50000", hardship_spending="40000"),  # 6 exactly 80%
        hardship_file(category="全国级", household_income_annual="900000"),  # 7 legacy category: no formula
        # 8
        hardship_file(
            category="相对困难", household_income_annual="23040.12", hardship_spending="0", household_size="2"
        ),
        # 9 500 > 480, no spending
        hardship_file(household_income_annual="6000", hardship_spending="", household_size="1"),
    ]
    dibao = [{"region_code": "341003", "year": "2016", "monthly_dibao": "480"}]
    inputs = {"register": rows, "dibao": dibao}
    assert run("REG-ELIGIBILITY", inputs).ref_rows == [[2], [5], [8], [9]]
    first = run("REG-ELIGIBILITY", inputs).values[0]
    assert (first["per_capita_monthly"], first["limit"]) == ("600.00", "480.00")
    # the income test cites the 低保 row its limit used; the accident test (row 5) reads no 低保
    assert run("REG-ELIGIBILITY", inputs).cited == {
        2: [("dibao", "dibao", 2)], 5: [], 8: [("dibao", "dibao", 2)], 9: [("dibao", "dibao", 2)]}
    # without the 低保 table nothing to compare with
    run("REG-ELIGIBILITY", {"register": rows}, expect_status="skipped")


def test_reg_review_overdue() -> None:
    rows = [
        hardship_file(reviewed_date="2015-11-20"),  # 2 more than 12 months before 2016-12-31
        hardship_file(reviewed_date="2015-12-31"),  # 3 exactly 12 months
        hardship_file(reviewed_date="", filed_date="2015-06-01"),  # 4 never reviewed, filed long ago
        hardship_file(reviewed_date="", filed_date="2016-06-01"),  # 5 filed this year
        hardship_file(reviewed_date="2014-01-01", status="已脱困", exit_date="2015-01-01"),  # 6 closed
    ]
    assert run("REG-REVIEW-OVERDUE", {"register": rows}).ref_rows == [[2], [4]]
    assert run("REG-REVIEW-OVERDUE", {"register": rows}, params={"max_months": 6}).ref_rows == [[2], [3], [4], [5]]
