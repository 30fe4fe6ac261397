"""REG-* rules, one table-driven test each (the register is read as of the period end, 2016-12-31)."""

from __future__ import annotations

from typing import Any

from tests.rules_aid.helpers import fired, rid, rows_of, values

A = rid("341003", "19800101", "001")
B = rid("341003", "19810202", "002")
C = rid("341004", "19700303", "003")


def reg(who: str = A, **kw: Any) -> dict[str, Any]:
    """A clean active file: disclosed before filing, reviewed in 2016, figures within 深度困难."""
    row = {
        "file_no": "F1",
        "name": "某某",
        "id_no": who,
        "category": "深度困难",
        "household_size": "2",
        "household_income_annual": "12000",
        "hardship_spending": "2000",
        "filed_date": "2015-03-10",
        "reviewed_date": "2016-03-10",
        "status": "在档",
        "disclosure_date": "2015-03-01",
        "address": "黄山区甘棠镇1号",
        "phone": "13800000001",
        "bank_account": "6222020000000001",
    }
    row.update(kw)
    return row


def test_reg_id() -> None:
    rows = [
        reg(A),  # 2
        reg(rid("341003", "19800101", "001", check="7")),  # 3 wrong check character
        reg(rid("341003", "19800230", "001")),  # 4 30 February
        reg(rid("341003", "20001231", "001")),  # 5 16 on 2016-12-31
        reg(rid("341003", "20010101", "001")),  # 6 15 at the period end
        reg(""),  # 7 blank: not a REG-ID finding
        reg("1.10101199003078E+17"),  # 8 stored by Excel as a number: kept as read and reported
    ]
    assert rows_of(fired("REG-ID", {"register": rows})) == [[3], [4], [6], [8]]
    assert rows_of(fired("REG-ID", {"register": rows}, period="2017")) == [[3], [4], [8]]


def test_reg_dup_household() -> None:
    rows = [
        reg(A, file_no="F1", address="黄山区 甘棠镇1号"),  # 2 } husband and wife,
        reg(B, file_no="F2", address="黄山区甘棠镇１号"),  # 3 } one address
        reg(C, file_no="F3", address="黄山区三口镇2号"),  # 4 } same address,
        reg(
            rid("341003", "19900101", "004"),
            file_no="F4",
            address="黄山区三口镇2号",
            status="已脱困",
            exit_date="2016-05-01",
        ),  # 5 } but closed
        reg(rid("341003", "19900101", "005"), file_no="F5", address="甲"),  # 6 } one ID in two active files
        reg(rid("341003", "19900101", "005"), file_no="F6", address="乙"),  # 7 }
        reg(rid("341003", "19900101", "006"), file_no="F7", address="乙"),  # 8 same address as 7: merged
    ]
    assert rows_of(fired("REG-DUP-HOUSEHOLD", {"register": rows})) == [[2, 3], [6, 7, 8]]
    by_id = fired("REG-DUP-HOUSEHOLD", {"register": rows}, params={"household_keys": []})
    assert rows_of(by_id) == [[6, 7]]


def test_reg_eligibility() -> None:
    rows = [
        reg(household_income_annual="19400", hardship_spending="5000", household_size="2"),  # 2 600 > 480
        reg(category="相对困难", household_income_annual="23040", hardship_spending="0", household_size="2"),  # 3 960
        reg(household_income_annual="11520", hardship_spending="0", household_size="2"),  # 4 exactly 480
        reg(category="意外致困", household_income_annual="50000", hardship_spending="25000"),  # 5 50%
        reg(category="意外致困", household_income_annual="50000", hardship_spending="40000"),  # 6 exactly 80%
        reg(category="全国级", household_income_annual="900000"),  # 7 legacy category: no formula
        reg(category="相对困难", household_income_annual="23040.12", hardship_spending="0", household_size="2"),  # 8
        reg(household_income_annual="6000", hardship_spending="", household_size="1"),  # 9 500 > 480, no spending
    ]
    dibao = [{"region_code": "341003", "year": "2016", "monthly_dibao": "480"}]
    inputs = {"register": rows, "dibao": dibao}
    assert rows_of(fired("REG-ELIGIBILITY", inputs)) == [[2], [5], [8], [9]]
    first = values("REG-ELIGIBILITY", inputs)[0]
    assert (first["per_capita_monthly"], first["limit"]) == ("600.00", "480.00")
    # without the 低保 table nothing to compare with
    fired("REG-ELIGIBILITY", {"register": rows}, expect_status="skipped")


def test_reg_review_overdue() -> None:
    rows = [
        reg(reviewed_date="2015-11-20"),  # 2 more than 12 months before 2016-12-31
        reg(reviewed_date="2015-12-31"),  # 3 exactly 12 months
        reg(reviewed_date="", filed_date="2015-06-01"),  # 4 never reviewed, filed long ago
        reg(reviewed_date="", filed_date="2016-06-01"),  # 5 filed this year
        reg(reviewed_date="2014-01-01", status="已脱困", exit_date="2015-01-01"),  # 6 closed
    ]
    assert rows_of(fired("REG-REVIEW-OVERDUE", {"register": rows})) == [[2], [4]]
    assert rows_of(fired("REG-REVIEW-OVERDUE", {"register": rows}, params={"max_months": 6})) == [[2], [3], [4], [5]]


def test_reg_exit_state() -> None:
    rows = [
        reg(),  # 2 active, no exit
        reg(exit_date="2016-08-31"),  # 3 active with an exit date
        reg(status="已撤档", exit_date="2015-03-01", filed_date="2015-05-20"),  # 4 exit before filing
        reg(exit_reason="死亡"),  # 5 death recorded, still active
        reg(status="已脱困", exit_date=""),  # 6 closed without an exit date
        reg(status="已脱困", exit_date="2016-06-30", exit_reason="脱困"),  # 7 closed properly
        reg(status="已撤档", exit_date="2015-03-10", exit_reason="死亡"),  # 8 closed on the filing day
    ]
    assert rows_of(fired("REG-EXIT-STATE", {"register": rows})) == [[3], [4], [5], [6]]


def test_reg_disclosure() -> None:
    rows = [
        reg(),  # 2 disclosed before filing
        reg(disclosure_date=""),  # 3 no disclosure
        reg(disclosure_date="2015-03-13"),  # 4 three days after filing
        reg(disclosure_date="2015-03-10"),  # 5 on the filing day
    ]
    assert rows_of(fired("REG-DISCLOSURE", {"register": rows})) == [[3], [4]]
    assert rows_of(fired("REG-DISCLOSURE", {"register": rows}, params={"require": False})) == [[4]]
