"""Payments matched to the hardship register: DISB-NOT-FILED, DISB-AFTER-EXIT, DISB-CATEGORY, YAML `lookup` rules
(rules/disbursements.yaml; the register_match family is gone, its tests keep the name of what they are about).
Every test runs ONE shipped rule through
tests/checks/harness.py."""

from __future__ import annotations

import pytest

from tests.checks.harness import (
    A,
    B,
    C,
    D,
    payment,
    register_file,
    resident_id,
    rows_of,
    run,
    shipped_pack,
)


def test_disb_not_filed() -> None:
    register = [
        register_file(A, "F1", filed_date="2016-03-20"),
        register_file(B, "F2", filed_date="2015-01-01", status="已撤档", exit_date="2015-12-01", exit_reason="调离"),
        register_file(D, "F4", filed_date="2015-01-01"),
        register_file(resident_id("341003", "19800101", "010"), "F5"),
    ]
    x = resident_id("341003", "19900101", "021")
    y = resident_id("341003", "19900101", "022")
    payments = [
        payment(A, payment_date="2016-03-01"),  # 2 filed later
        payment(A, payment_date="2016-03-20"),  # 3 paid on the filing day
        payment(x),  # 4 no file at all
        payment(x, program="送温暖", aid_category="深度困难"),  # 5 送温暖 to a hardship category
        payment(x, program="送温暖", aid_category="劳模"),  # 6 劳模 need no file
        payment(x, program="金秋助学"),  # 7 not in the list
        payment(B, program="医疗救助"),  # 8 a closed file still counts as filed
        payment("", file_no="F4"),  # 9 no ID: found by file number
        payment(y, file_no="F4"),  # 10 a valid other ID: the file number does not join it
        payment(resident_id("341003", "19800101", "010").lower()),  # 11 lower-case x matches the register's X
        payment("", file_no="F1", payment_date="2016-03-01"),  # 12 found by file number, filed later
    ]
    assert run("DISB-NOT-FILED", {"disbursements": payments, "register": register}).ref_rows == [
        [2],
        [4],
        [5],
        [10],
        [12],
    ]
    found = run("DISB-NOT-FILED", {"disbursements": payments, "register": register}).values
    assert [v["matched_on"] for v in found] == ["id_no", "none", "none", "none", "file_no"]
    assert found[0]["filed_date"] == "2016-03-20" and found[4]["register_file_no"] == "F1"
    # payments without a 档案编号 column: the fallback key is not tried (the rule still runs on the ID)
    without_file_no = [{k: v for k, v in p.items() if k != "file_no"} for p in payments]
    only_id = run("DISB-NOT-FILED", {"disbursements": without_file_no, "register": register}).refs
    assert rows_of(only_id) == [[2], [4], [5], [9], [10], [12]]


def test_disb_not_filed_without_a_category_column_still_checks_the_unconditional_programmes() -> None:
    """送温暖 (hardship_programs) needs 困难类别 to decide; 生活救助/医疗救助/助学救助 do not, so they still run;
    with only hardship programmes and no 困难类别 column, the rule runs and no payment needs a file."""
    x = resident_id("341003", "19900101", "021")
    payments = [
        payment(x),
        payment(x, program="送温暖"),
        payment(A, payment_date="2016-03-01"),
        payment(x, program="医疗救助"),
    ]
    for p in payments:
        del p["aid_category"]
    register = [register_file(A, "F1", filed_date="2016-03-20")]
    assert run("DISB-NOT-FILED", {"disbursements": payments, "register": register}).ref_rows == [[2], [4], [5]]
    only_conditional = {"programs_requiring_file": []}
    ledgers = {"disbursements": payments, "register": register}
    assert run("DISB-NOT-FILED", ledgers, params=only_conditional).ref_rows == []


def test_disb_after_exit() -> None:
    register = [
        register_file(A, "F1", status="已撤档", exit_date="2016-03-15", exit_reason="死亡"),
        register_file(B, "F2", status="已脱困", exit_date="2016-06-30", exit_reason="脱困"),
        register_file(B, "F3", filed_date="2016-09-01"),  # filed again
        register_file(C, "F4"),
    ]
    payments = [
        payment(A, payment_date="2016-04-12"),  # 2 after death
        payment(A, payment_date="2016-03-15"),  # 3 on the exit date itself
        payment(B, payment_date="2016-07-10"),  # 4 between the two files
        payment(B, payment_date="2016-09-05"),  # 5 the new file is in force
        payment(C, payment_date="2016-12-30"),  # 6 active file
        payment(D, payment_date="2016-12-30"),  # 7 no file: DISB-NOT-FILED's business
        payment("", file_no="F1", payment_date="2016-05-01"),  # 8 by file number
    ]
    inputs = {"disbursements": payments, "register": register}
    assert run("DISB-AFTER-EXIT", inputs).ref_rows == [[2], [4], [8]]
    found = run("DISB-AFTER-EXIT", inputs).values
    assert found[0]["exit_reason"] == "死亡" and found[0]["exit_date"] == "2016-03-15"
    assert [v["matched_on"] for v in found] == ["id_no", "id_no", "file_no"]
    assert run("DISB-AFTER-EXIT", inputs, params={"grace_days": 30}).ref_rows == [[8]]  # 47 days after death


def test_disb_category() -> None:
    register = [
        register_file(A, "F1", category="相对困难"),
        register_file(B, "F2", category="深度困难", status="已脱困", exit_date="2016-03-01"),
        register_file(B, "F3", category="相对困难", filed_date="2016-03-02"),
        register_file(C, "F4", category="全国级"),
    ]
    payments = [
        payment(A, program="送温暖", aid_category="深度困难"),  # 2 paid as deep, file says relative
        payment(A, program="送温暖", aid_category="相对困难"),  # 3 agrees
        payment(A, program="送温暖", aid_category="劳模"),  # 4 not a hardship category
        payment(B, aid_category="深度困难", payment_date="2016-02-01"),  # 5 the old file was in force
        payment(B, aid_category="深度困难", payment_date="2016-04-01"),  # 6 the new file says relative
        payment(D, aid_category="深度困难"),  # 7 no file
        payment(C, aid_category="深度困难"),  # 8 legacy category
    ]
    inputs = {"disbursements": payments, "register": register}
    assert run("DISB-CATEGORY", inputs).ref_rows == [[2], [6], [8]]
    assert [v["file_category"] for v in run("DISB-CATEGORY", inputs).values] == ["相对困难", "相对困难", "全国级"]
    mapped = run("DISB-CATEGORY", inputs, params={"category_map": {"深度困难": ["深度困难", "全国级"]}}).refs
    assert rows_of(mapped) == [[2], [6]]


@pytest.mark.parametrize("rule_id", ["DISB-NOT-FILED", "DISB-AFTER-EXIT", "DISB-CATEGORY"])
def test_register_rules_skip_without_a_register(rule_id: str) -> None:
    run(rule_id, {"disbursements": [payment()]}, expect_status="skipped")


def test_a_missing_register_is_reported_as_a_missing_input_not_a_profile_table() -> None:
    from tests.checks.harness import run

    status = run("DISB-NOT-FILED", {"disbursements": [payment()]}, expect_status="skipped").status
    assert status.reason_en == "input register is missing (give --ledger register=FILE)"


# --- what a finding cites: the register file(s) it matched, as register_file (issue 15) ----------------------
# register rows are numbered from 2 (row 1 is the header), in the order of the list


def test_disb_not_filed_cites_the_files_filed_later_and_nothing_without_a_file() -> None:
    x = resident_id("341003", "19900101", "021")
    register = [
        register_file(A, "F1", filed_date="2016-03-20"),  # 2
        register_file(B, "F2", filed_date="2016-04-01"),  # 3
        register_file(B, "F3", filed_date="2016-05-01"),  # 4 B's second file, also later than the payment
    ]
    payments = [
        payment(A, payment_date="2016-03-01"),  # 2 filed later: F1
        payment(x),  # 3 no file: nothing to cite
        payment(B, payment_date="2016-03-01"),  # 4 two files, both later: both
        payment("", file_no="F1", payment_date="2016-03-01"),  # 5 by file number: F1
    ]
    found = run("DISB-NOT-FILED", {"disbursements": payments, "register": register})
    assert found.cited == {
        2: [("register_file", "register", 2)],
        3: [],
        4: [("register_file", "register", 3), ("register_file", "register", 4)],
        5: [("register_file", "register", 2)],
    }


def test_disb_after_exit_cites_the_latest_file_closed_before_the_payment() -> None:
    register = [
        register_file(A, "F1", status="已撤档", exit_date="2016-03-15", exit_reason="死亡"),  # 2
        register_file(B, "F2", status="已脱困", exit_date="2016-06-30", exit_reason="脱困"),  # 3
        register_file(B, "F3", filed_date="2016-09-01"),  # 4 filed after the payment: not cited
        register_file(C, "F4", status="已撤档", filed_date="2014-01-01", exit_date="2015-06-30"),  # 5
        register_file(C, "F5", status="已撤档", filed_date="2015-07-01", exit_date="2016-02-01"),  # 6 latest
    ]
    payments = [
        payment(A, payment_date="2016-04-12"),  # 2 after death: F1
        payment(B, payment_date="2016-07-10"),  # 3 between the two files: F2
        payment(C, payment_date="2016-05-01"),  # 4 both closed: the latest, F5
        payment("", file_no="F1", payment_date="2016-05-01"),  # 5 by file number: F1
    ]
    found = run("DISB-AFTER-EXIT", {"disbursements": payments, "register": register})
    assert found.cited == {
        2: [("register_file", "register", 2)],
        3: [("register_file", "register", 3)],
        4: [("register_file", "register", 6)],
        5: [("register_file", "register", 2)],
    }
    assert [v["register_file_no"] for v in found.values] == ["F1", "F2", "F5", "F1"]


def test_disb_category_cites_the_files_in_force_with_a_category() -> None:
    register = [
        register_file(A, "F1", category="相对困难"),  # 2
        register_file(B, "F2", category="深度困难", status="已脱困", exit_date="2016-03-01"),  # 3
        register_file(B, "F3", category="相对困难", filed_date="2016-03-02"),  # 4
        register_file(C, "F4", category="相对困难"),  # 5
        register_file(C, "F5", category="意外致困"),  # 6 C's second file in force
        register_file(C, "F6", category=""),  # 7 no category: not matched, not cited
    ]
    payments = [
        payment(A, program="送温暖", aid_category="深度困难"),  # 2 F1
        payment(B, aid_category="深度困难", payment_date="2016-04-01"),  # 3 F3 (F2 closed by then)
        payment(C, aid_category="深度困难"),  # 4 two files in force, neither deep: both
    ]
    found = run("DISB-CATEGORY", {"disbursements": payments, "register": register})
    assert found.cited == {
        2: [("register_file", "register", 2)],
        3: [("register_file", "register", 4)],
        4: [("register_file", "register", 5), ("register_file", "register", 6)],
    }


# --- money at issue: every rule of the disbursements and register packs says what its amount is (issue 15) ---


def test_disbursement_and_register_rules_state_their_money_at_issue() -> None:
    """A payment rule's amount is the payment's (or its group's sum); a register rule has none, and says
    why, naming where the money paid on the file is counted instead."""
    pays, files = shipped_pack("disbursements").rules, shipped_pack("register").rules
    assert [(r.id, r.amount is not None, sorted(r.amount_basis)) for r in files] == [
        (r.id, False, ["en", "zh"]) for r in files
    ]
    assert all(r.amount_basis["en"].startswith("none: ") and r.amount_basis["zh"].startswith("无：") for r in files)
    assert [(r.id, r.amount is not None, sorted(r.amount_basis)) for r in pays] == [
        (r.id, True, ["en", "zh"]) for r in pays
    ]
    sums = {r.id for r in pays if "sum of" in r.amount_basis["en"]}
    assert sums == {"DISB-ACCOUNT-SHARED", "DISB-OVER-CAP", "DISB-SPLIT", "DISB-YEAR-END"}
    # a duplicate's money is what was paid again (as DUES-DUP's), not the group's sum
    assert shipped_pack("disbursements").rules[[r.id for r in pays].index("DISB-DUP")].amount_basis["en"] == (
        "what was paid again: the group's payments but its earliest")
    assert len(pays) == 13 and len(files) == 7
