"""CLI `rules show RULE-ID [--sql]`: one rule of the resolved rule set as declared (file:line), its
resolved parameters (defaults marked), its check type with its family module, its message fields, and
the SQL it runs, built without reading data; an unknown id exits 2 naming the close ids."""

from __future__ import annotations

from pathlib import Path

import pytest

from fundaudit.cli import main
from fundaudit.rules.shipped import shipped_packs

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = [r.id for p in shipped_packs() for r in p.rules]
SQL_HEAD = "SQL (DuckDB, built without reading data, as if every input kind were given):"


def show(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["rules", "show", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_shipped_rule_count() -> None:
    assert len(SHIPPED) == 41


@pytest.mark.parametrize("rule_id", SHIPPED)
def test_every_shipped_rule_shows_with_and_without_sql(rule_id: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = show(capsys, rule_id, "--lang", "en")
    assert (code, err) == (0, "")
    assert out.splitlines()[0].startswith(f"{rule_id}  ")
    assert SQL_HEAD not in out
    code, out, err = show(capsys, rule_id, "--sql", "--lang", "en", "--profile", "anhui-2016", "--period", "2016")
    assert (code, err) == (0, "")
    sql = out.split(SQL_HEAD + "\n", 1)[1]
    assert sql.startswith(("  SELECT", "  WITH")), sql[:200]


def declared(rule_id: str) -> tuple[int, list[str]]:
    """Where the shipped pack declares ``rule_id`` (1-based line) and its YAML block, read from the file, so
    the expected output below does not restate the pack."""
    lines = (ROOT / "rules" / "disbursements.yaml").read_text("utf-8").splitlines()
    start = lines.index(f"  - id: {rule_id}")
    ends = [i for i in range(start + 1, len(lines)) if not lines[i].strip() or lines[i].startswith("  - id:")]
    end = ends[0] if ends else len(lines)
    return start + 1, ["  " + t[2:] for t in lines[start:end]]


# DISB-YEAR-END: a rule that stays a Python check type, so its module and SQL are stable
EXPECTED_EN_TAIL = """\
parameters (resolved: after the profile and --param):
  days  = 31  (default)
  share = 0.4  (default)
check type: year_end_share  fundaudit/engine/checks/payments.py
  Is a union's share of the year's aid paid in the last days of the year above the limit?
message fields: share_pct, year_end, year_total, amount, file, sheet, row, days, share
  and the columns of disbursements: payment_id, recipient_name, recipient_id_no, file_no, employer, \
grassroots_union, program, aid_category, amount, in_kind_value, payment_method, bank_account, bank_name, \
account_holder, payment_date, disclosure_start, disclosure_end, disclosure_channel, approver, approval_date, \
handler, signed_by, cause, fund_source, remark
SQL (DuckDB, built without reading data, as if every input kind were given):
  SELECT
    "_rid",
    "grassroots_union",
    "payment_date",
    "amount",
    "_amount",
    "_finding",
    "year_end",
    "year_total",
    ROUND(100.0 * "year_end" / "year_total", 1) AS "share_pct"
  FROM (
    SELECT
      "_rid",
      "grassroots_union",
      "payment_date",
      "amount",
      "amount" AS "_amount",
      CASE
        WHEN DATE_DIFF('DAY', "payment_date", MAKE_DATE(YEAR("payment_date"), 12, 31)) < 31
        THEN 1
        ELSE 0
      END AS "_tail",
      SUM("amount") OVER (PARTITION BY "grassroots_union", YEAR("payment_date")) AS "year_total",
      SUM(
        CASE
          WHEN DATE_DIFF('DAY', "payment_date", MAKE_DATE(YEAR("payment_date"), 12, 31)) < 31
          THEN "amount"
          ELSE 0
        END
      ) OVER (PARTITION BY "grassroots_union", YEAR("payment_date")) AS "year_end",
      DENSE_RANK() OVER (ORDER BY "grassroots_union", YEAR("payment_date")) AS "_finding"
    FROM disbursements
    WHERE
      NOT "payment_date" IS NULL AND NOT "amount" IS NULL
  ) AS s
  WHERE
    "_tail" = 1 AND "year_total" > 0 AND "year_end" > 0.4 * "year_total"
"""


def test_one_rule_exactly(capsys: pytest.CaptureFixture[str]) -> None:
    line, block = declared("DISB-YEAR-END")
    expected = "\n".join(
        ["DISB-YEAR-END  info  disbursements  Year-end rush", f"declared at: rules/disbursements.yaml:{line}", *block]
    )
    assert show(capsys, "DISB-YEAR-END", "--sql", "--lang", "en") == (0, expected + "\n" + EXPECTED_EN_TAIL, "")


def test_param_override_is_resolved_and_not_marked_default(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = show(capsys, "DISB-ACCOUNT-SHARED", "--param", "DISB-ACCOUNT-SHARED.same_household_downgrade=false")
    assert code == 0
    assert "  same_household_downgrade = false\n" in out
    code, out, _ = show(capsys, "disb-account-shared")  # the id in any case
    assert code == 0
    assert "  same_household_downgrade = true  （默认）\n" in out
    assert "检查类型：shared_account  fundaudit/engine/checks/payments.py\n" in out


def test_labels_in_chinese(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = show(capsys, "DISB-SPLIT", "--sql")
    lines = out.splitlines()
    assert code == 0
    assert lines[0] == "DISB-SPLIT  警告  disbursements  拆分发放规避上限"
    assert lines[1] == f"声明位置：rules/disbursements.yaml:{declared('DISB-SPLIT')[0]}"
    assert "检查类型：split_payment  fundaudit/engine/checks/payments.py" in lines
    assert "SQL（DuckDB，未读取数据生成；假定各类输入都已提供）：" in lines


def test_rule_needing_a_period_says_why_it_would_be_skipped(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = show(capsys, "DUES-GAP", "--sql", "--lang", "en")
    assert code == 0
    assert out.splitlines()[-1] == (
        "  this rule would be skipped: the rule's arguments cannot be used on these inputs: "
        "DUES-GAP needs an audit period (--period)"
    )


@pytest.mark.parametrize(
    ("rule_id", "lang", "message"),
    [
        ("DISB-NOT-FILD", "zh",
         "fundaudit: 没有编号为 DISB-NOT-FILD 的规则；相近的编号：DISB-NOT-FILED、DISB-ID、DISB-DUP"
         "（全部规则见 fundaudit rules list）\n"),
        ("DUES-LAT", "en",
         "fundaudit: no rule with id DUES-LAT; close ids: DUES-LATE, DUES-RATE, DUES-GAP "
         "(fundaudit rules list lists them all)\n"),
        ("XYZ", "en", "fundaudit: no rule with id XYZ (fundaudit rules list lists them all)\n"),
    ],
)
def test_unknown_id_exits_2_with_close_ids(
    rule_id: str, lang: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert show(capsys, rule_id, "--lang", lang) == (2, "", message)


USER_PACK = """\
pack: show-test
version: "1"
rules:
  - id: T-ONE
    ledger: disbursements
    severity: info
    params: {who: [11010519491231002X]}
    check: {type: in_set, column: recipient_id_no, values: $who}
    message: {zh: "名单中的人 {recipient_id_no}", en: "listed person {recipient_id_no}"}

  - id: T-TWO
    ledger: disbursements
    severity: info
    check: {type: in_set, column: program, values: [送温暖]}
    message: {zh: "送温暖", en: "winter aid"}
"""


def test_user_pack_rule_with_its_file_line_and_personal_data_masked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pack = tmp_path / "mine.yaml"
    pack.write_text(USER_PACK, encoding="utf-8")
    code, out, err = show(capsys, "T-ONE", "--rules", str(pack), "--sql", "--lang", "en")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[1] == f"declared at: {pack}:4"
    assert lines[2:8] == [
        "  - id: T-ONE",
        "    ledger: disbursements",
        "    severity: info",
        "    params: {who: [110105********002X]}",
        "    check: {type: in_set, column: recipient_id_no, values: $who}",
        '    message: {zh: "名单中的人 {recipient_id_no}", en: "listed person {recipient_id_no}"}',
    ]
    assert lines[8] == "parameters (resolved: after the profile and --param):"  # the block ends at the blank line
    assert "11010519491231002X" not in out
    assert "check type: in_set  fundaudit/engine/checks/generic.py" in lines
