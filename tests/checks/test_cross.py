"""The cross check family (engine/checks/cross.py): staff relatives, employers without dues, union status
and account, fund overspend.

Rules: XL-STAFF-RELATIVE, REG-STAFF-RELATIVE, XL-MISSING-EMPLOYER, XL-UNION-STATUS, XL-UNION-ACCOUNT,
XL-FUND-OVERSPEND; one table-driven test each, findings point at the row of the table named in refs."""

from __future__ import annotations

from typing import Any

import fundaudit
from fundaudit.engine import run_rules
from fundaudit.errors import render
from fundaudit.period import parse_period
from tests.checks.harness import resident_id, rule, run, sheet

CHAIR = resident_id("341002", "19820216", "897")
SISTER = resident_id("341023", "19831230", "474")
A = resident_id("341003", "19800101", "001")
B = resident_id("341003", "19810202", "002")

STAFF = [
    {
        "name": "汪建华",
        "id_no": CHAIR,
        "role": "主席",
        "bank_account": "6222021421771422539",
        "phone": "18227957754",
        "address": "黄山区太平湖镇平湖东路182号",
    },
    {
        "name": "吴斌",
        "id_no": resident_id("341024", "19800902", "167"),
        "role": "经办",
        "bank_account": "6210987522769340257",
        "phone": "17763363115",
        "address": "黄山区甘棠镇太平路134号",
    },
    {
        "name": "汪建英",
        "id_no": SISTER,
        "role": "亲属",
        "bank_account": "6222027045199384353",
        "phone": "18391450617",
        "address": "黄山区耿城镇桃源村4组41号",
        "relation_of": "汪建华",
        "relation": "姐妹",
    },
    {
        "name": "程敏",
        "id_no": resident_id("341004", "19641010", "748"),
        "role": "经审",
        "bank_account": "6230590978243878907",
    },
]


def xl_payment(who: str, name: str, account: str, **kw: Any) -> dict[str, Any]:
    row = {
        "recipient_name": name,
        "recipient_id_no": who,
        "program": "送温暖",
        "amount": "500",
        "payment_date": "2016-01-20",
        "bank_account": account,
    }
    row.update(kw)
    return row


def xl_file(who: str, name: str, **kw: Any) -> dict[str, Any]:
    row = {
        "file_no": "F",
        "name": name,
        "id_no": who,
        "phone": "13900000000",
        "address": "黄山区某地",
        "bank_account": "6222000000000000",
        "status": "在档",
        "filed_date": "2015-01-01",
    }
    row.update(kw)
    return row


STAFF_PAYMENTS = [
    xl_payment(SISTER, "汪建英", "6222027045199384353"),  # 2 the chairman's sister: ID and card
    xl_payment(A, "甲", "6210987522769340257"),  # 3 paid into the handler's card
    xl_payment(B, "程敏", "6222000000000001"),  # 4 shares the 经审 member's name only
    xl_payment(A, "甲", "6222000000000002", payment_date="2015-12-20"),  # 5 (no match anyway)
]
STAFF_REGISTER = [
    xl_file(A, "舒琳月", phone="17763363115"),  # 2 the handler's phone
    xl_file(SISTER, "汪建英"),  # 3 the sister's file
    xl_file(B, "乙", address="黄山区 太平湖镇 平湖东路182号"),  # 4 the chairman's address, spaced
    xl_file(resident_id("341003", "19900101", "004"), "程敏"),  # 5 name only
]


def _matched(rule: str, inputs: dict[str, Any]) -> dict[tuple[str, int], dict[str, Any]]:
    return {
        (f["refs"][0]["kind"], f["refs"][0]["row"]): f["values"] for f in run(rule, inputs).findings.to_dict("records")
    }


def test_xl_staff_relative() -> None:
    """Payments only: a register file matching staff is REG-STAFF-RELATIVE's finding, not this rule's."""
    inputs = {"staff": STAFF, "disbursements": STAFF_PAYMENTS, "register": STAFF_REGISTER}
    assert run("XL-STAFF-RELATIVE", inputs).refs == [
        ("warning", (("disbursements", 2),)),
        ("warning", (("disbursements", 3),)),
    ]
    # each finding cites the staff row it matched (the sister's row 4, the handler's row 3) and, for a
    # relative, the officer she is listed under (the chair, row 2)
    assert run("XL-STAFF-RELATIVE", inputs).cited == {
        2: [("staff", "staff", 4), ("officer", "staff", 2)], 3: [("staff", "staff", 3)]}
    found = _matched("XL-STAFF-RELATIVE", inputs)
    assert {k: v["matched_on"] for k, v in found.items()} == {
        ("disbursements", 2): "id_no, bank_account",
        ("disbursements", 3): "bank_account",
    }
    sister = found[("disbursements", 2)]
    assert sister["staff_name"] == "汪建英" and sister["relation_note"] == "，汪建华的姐妹"
    assert sister["paid"] == "500.00"
    assert sister["id_no"] == "341023********4741"  # masked
    only_officers = run("XL-STAFF-RELATIVE", inputs, params={"roles": ["主席", "经审"]}).refs
    assert only_officers == []
    by_id = run("XL-STAFF-RELATIVE", inputs, params={"match_on": ["id_no"]}).refs
    assert by_id == [("warning", (("disbursements", 2),))]
    # without payments the rule is skipped (its findings point at payments), not fired on the register
    res = run("XL-STAFF-RELATIVE", {"staff": STAFF, "register": STAFF_REGISTER}, expect_status="skipped")
    assert res.findings.empty


def test_officer_role_has_labels() -> None:
    """The officer a relative belongs to is cited as its own role (told apart from the matched staff row), with
    a label in both languages for the reports and working papers."""
    assert [render("roles", r, lang) for r in ("staff", "officer") for lang in ("zh", "en")] == [
        "工作人员或亲属", "staff or relative", "亲属所属工作人员", "officer the relative belongs to"]


def test_reg_staff_relative() -> None:
    """Register files only: a payment matching staff is XL-STAFF-RELATIVE's finding, not this rule's."""
    inputs = {"staff": STAFF, "disbursements": STAFF_PAYMENTS, "register": STAFF_REGISTER}
    assert run("REG-STAFF-RELATIVE", inputs).refs == [
        ("warning", (("register", 2),)),
        ("warning", (("register", 3),)),
        ("warning", (("register", 4),)),
    ]
    assert run("REG-STAFF-RELATIVE", inputs).cited == {
        2: [("staff", "staff", 3)], 3: [("staff", "staff", 4), ("officer", "staff", 2)], 4: [("staff", "staff", 2)]}
    found = _matched("REG-STAFF-RELATIVE", inputs)
    assert {k: v["matched_on"] for k, v in found.items()} == {
        ("register", 2): "phone",
        ("register", 3): "id_no",
        ("register", 4): "address",
    }
    assert found[("register", 3)]["paid"] is None and found[("register", 3)]["staff_name"] == "汪建英"
    assert found[("register", 2)]["phone"] == "*******3115"  # masked
    chair_and_audit = run("REG-STAFF-RELATIVE", inputs, params={"roles": ["主席", "经审"]})
    assert chair_and_audit.refs == [("warning", (("register", 4),))]
    assert run("REG-STAFF-RELATIVE", inputs, params={"match_on": ["id_no"]}).refs == [("warning", (("register", 3),))]
    # the register alone is enough; without a staff list the rule is skipped, naming it
    assert len(run("REG-STAFF-RELATIVE", {"staff": STAFF, "register": STAFF_REGISTER}).refs) == 3
    skipped = run("REG-STAFF-RELATIVE", {"register": STAFF_REGISTER}, expect_status="skipped")
    assert skipped.status.skip_code == "skip_no_reference"
    assert skipped.status.skip_fields == {"table": "staff"}


def test_staff_match_is_one_finding_under_the_rule_that_describes_it() -> None:
    """A register row matching staff: exactly one REG-STAFF-RELATIVE finding and no XL-STAFF-RELATIVE one;
    a payment row: the reverse (both rules run together, as in a real audit)."""
    inputs = {"staff": STAFF, "disbursements": [STAFF_PAYMENTS[0]], "register": [STAFF_REGISTER[1]]}
    ledgers = {kind: fundaudit.load(kind, sheet(rows)) for kind, rows in inputs.items()}
    rules = [rule("XL-STAFF-RELATIVE"), rule("REG-STAFF-RELATIVE")]
    found = run_rules(ledgers, rules, period=parse_period("2016")).findings
    got = sorted((f["rule"], f["refs"][0]["kind"], f["refs"][0]["row"]) for f in found.to_dict("records"))
    assert got == [("REG-STAFF-RELATIVE", "register", 2), ("XL-STAFF-RELATIVE", "disbursements", 2)]


EMP = "91341003MA2A1L5UXK"


def employer(tid: str, name: str, **kw: Any) -> dict[str, Any]:
    row = {"taxpayer_id": tid, "name": name, "headcount": "15", "status": "存续", "period": "2016"}
    row.update(kw)
    return row


def dues(tid: str, name: str, start: str, end: str, **kw: Any) -> dict[str, Any]:
    row = {
        "taxpayer_id": tid,
        "taxpayer_name": name,
        "fund_type": "工会经费",
        "period_start": start,
        "period_end": end,
        "amount_paid": "1000",
        "share_grassroots_amount": "600",
    }
    row.update(kw)
    return row


def test_xl_missing_employer() -> None:
    roster = [
        employer("E1", "甲公司"),  # 2 pays
        employer("E2", "乙公司"),  # 3 no dues row
        employer("E3", "丙公司", status="注销"),  # 4 deregistered
        employer("E4", "丁公司", headcount="0"),  # 5 no staff
        employer("E5", "戊公司"),  # 6 only 2015 history
        employer("E6", "己公司"),  # 7 pays under its name, no ID on the dues row
        employer("E7", "庚公司", period="2015"),  # 8 a 2015 roster row
    ]
    rows = [
        dues("E1", "甲公司", "2016-01-01", "2016-03-31"),
        dues("E5", "戊公司", "2015-10-01", "2015-12-31"),
        dues("", "己公司", "2016-04-01", "2016-04-30"),
    ]
    result = run("XL-MISSING-EMPLOYER", {"employers": roster, "dues": rows}).refs
    assert result == [("warning", (("employers", 3),)), ("warning", (("employers", 6),))]
    assert (
        run("XL-MISSING-EMPLOYER", {"employers": roster, "dues": rows}, params={"min_headcount": 20}).ref_rows == []
    )


UNIONS = [
    {
        "union_code": "U1",
        "union_name": "甲工会",
        "employer_taxpayer_id": "EA",
        "founded_date": "2016-07-01",
        "bank_account": "6222 0000 1111 2222",
    },
    {
        "union_code": "U2",
        "union_name": "乙工会",
        "employer_taxpayer_id": "EB",
        "founded_date": "2003-08-19",
        "bank_account": "20000199599133705371",
    },
    {
        "union_code": "U3",
        "union_name": "丙工会",
        "employer_taxpayer_id": "EC",
        "founded_date": "2016-10-01",
        "bank_account": "20000616827644876382",
    },
    {
        "union_code": "U4",
        "union_name": "丁工会",
        "employer_taxpayer_id": "EE",
        "founded_date": "2010-01-01",
        "dissolved_date": "2016-05-31",
    },
]


def test_xl_union_status() -> None:
    rows = [
        dues("EA", "甲", "2016-06-01", "2016-06-30"),  # 2 工会经费 before the union: error
        dues("EA", "甲", "2016-07-01", "2016-07-31"),  # 3 founded on period_start counts
        dues("EB", "乙", "2016-03-01", "2016-03-31", fund_type="筹备金"),  # 4 筹备金 with a union since 2003
        dues("EC", "丙", "2016-09-01", "2016-09-30", fund_type="筹备金"),  # 5 筹备金 before founding
        dues("EC", "丙", "2016-10-01", "2016-10-31"),  # 6 工会经费 from founding
        dues("EC", "丙", "2016-10-01", "2016-10-31", fund_type="筹备金"),  # 7 founded on start: not "before"
        dues("ED", "丁", "2016-01-01", "2016-01-31"),  # 8 no union at all
        dues("ED", "丁", "2016-01-01", "2016-01-31", fund_type="筹备金"),  # 9 no union: 筹备金 right
        dues("EE", "戊", "2016-06-01", "2016-06-30"),  # 10 union dissolved in May
    ]
    assert run("XL-UNION-STATUS", {"dues": rows, "unions": UNIONS}).refs == [
        ("error", (("dues", 2),)),
        ("error", (("dues", 8),)),
        ("error", (("dues", 10),)),
        ("warning", (("dues", 4),)),
    ]
    # each cites the employer's registry rows it judged: 甲 founded in July (row 2), 乙 since 2003 (row 3),
    # 戊 dissolved (row 5); 丁 has no union, nothing to cite
    assert run("XL-UNION-STATUS", {"dues": rows, "unions": UNIONS}).cited == {
        2: [("union", "unions", 2)], 4: [("union", "unions", 3)], 8: [], 10: [("union", "unions", 5)]}
    grace = run("XL-UNION-STATUS", {"dues": rows, "unions": UNIONS}, params={"grace_months": 1}).refs
    assert grace == [("error", (("dues", 8),)), ("error", (("dues", 10),)), ("warning", (("dues", 4),))]


def test_xl_union_account() -> None:
    rows = [
        dues("EA", "甲", "2016-07-01", "2016-07-31", grassroots_account="6222000011112222"),  # 2 same, grouped
        dues("EB", "乙", "2016-07-01", "2016-07-31", grassroots_account="6217000000000001"),  # 3 a personal card
        dues("EB", "乙", "2016-08-01", "2016-08-31", grassroots_account=""),  # 4 no account (stuck row)
        dues("EB", "乙", "2016-08-01", "2016-08-31", fund_type="筹备金", grassroots_account="1"),  # 5 not compared
        dues("ED", "丁", "2016-08-01", "2016-08-31", grassroots_account="2"),  # 6 no registry account
        dues("EB", "乙", "2016-09-01", "2016-09-30", grassroots_account="2000-0199-5991-3370-5371"),  # 7 dashes
    ]
    assert run("XL-UNION-ACCOUNT", {"dues": rows, "unions": UNIONS}).refs == [("error", (("dues", 3),))]
    [v] = run("XL-UNION-ACCOUNT", {"dues": rows, "unions": UNIONS}).values
    assert v["registry_account"].endswith("5371") and "*" in v["registry_account"]  # masked by the engine


def test_xl_fund_overspend() -> None:
    def paid(program: str, amount: str, day: str = "2016-06-01", union: str = "甲") -> dict[str, Any]:
        return {
            "recipient_name": "某",
            "recipient_id_no": A,
            "program": program,
            "amount": amount,
            "payment_date": day,
            "grassroots_union": union,
        }

    payments = [
        paid("送温暖", "600"),
        paid("送温暖", "500", union="乙"),
        paid("生活救助", "600"),
        paid("医疗救助", "400"),
        paid("医疗救助", "5000", day="2015-06-01"),
        paid("金秋助学", "500"),
    ]
    budget = [
        {"program": "送温暖", "year": "2016", "allocated": "1000"},  # 2 1,100 spent: over
        {"program": "生活救助", "year": "2016", "allocated": "1000"},  # 3 60%
        {"program": "医疗救助", "year": "2016", "allocated": "1000"},  # 4 40%: under half
        {"program": "金秋助学", "year": "2016", "allocated": "500"},  # 5 exactly spent
        {"program": "医疗救助", "year": "2015", "allocated": "1000"},  # 6 outside the period
        {"program": "送温暖", "year": "2016", "allocated": "500", "grassroots_union": "乙"},  # 7 one union: exact
        {"program": "送温暖", "year": "2016", "allocated": "1000", "grassroots_union": "乙"},  # 8 50%: not under
        {"program": "夏送清凉", "year": "2016", "allocated": "1000"},  # 9 nothing paid
    ]
    inputs = {"budget": budget, "disbursements": payments}
    assert run("XL-FUND-OVERSPEND", inputs).refs == [
        ("error", (("budget", 2),)),
        ("info", (("budget", 4),)),
        ("info", (("budget", 9),)),
    ]
    found = run("XL-FUND-OVERSPEND", inputs).values
    assert (found[0]["spent"], found[0]["allocated"], found[0]["difference"]) == ("1100.00", "1000.00", "100.00")
    assert run("XL-FUND-OVERSPEND", inputs, params={"min_spend_ratio": 0.3}).ref_rows == [[2], [9]]


# --- lookup rules: what their findings cite (issue 15; engine in fundaudit/engine/checks/lookup.py) ---------


def test_xl_union_account_cites_the_registry_rows_of_the_employer() -> None:
    unions = [
        *UNIONS,  # rows 2-5; EB's registry row is 3
        {"union_code": "U5", "union_name": "己工会", "employer_taxpayer_id": "EF", "bank_account": "111"},  # 6
        {"union_code": "U6", "union_name": "己分会", "employer_taxpayer_id": "EF", "bank_account": "222"},  # 7
    ]
    rows = [
        dues("EB", "乙", "2016-07-01", "2016-07-31", grassroots_account="6217000000000001"),  # 2 another account
        dues("EF", "己", "2016-07-01", "2016-07-31", grassroots_account="333"),  # 3 neither of EF's two
        dues("EF", "己", "2016-08-01", "2016-08-31", grassroots_account="222"),  # 4 one of them: no finding
    ]
    found = run("XL-UNION-ACCOUNT", {"dues": rows, "unions": unions})
    assert found.cited == {2: [("union", "unions", 3)], 3: [("union", "unions", 6), ("union", "unions", 7)]}


def test_xl_missing_employer_cites_nothing_as_it_finds_no_dues_row() -> None:
    """Its own rows are the roster's (employer); a finding is an employer with no dues row in the period,
    so there is no row of dues to cite."""
    roster = [employer("E1", "甲公司"), employer("E2", "乙公司")]
    rows = [dues("E1", "甲公司", "2016-01-01", "2016-03-31")]
    found = run("XL-MISSING-EMPLOYER", {"employers": roster, "dues": rows})
    assert found.cited == {3: []}
    assert [r["role"] for r in found.findings["refs"][0]] == ["employer"]
