"""A directory given to `audit` is audited as far as it can be (issue 13, item 14): a file in it that cannot be
audited (unreadable, no header, kind not recognised), or one sheet of a workbook, is skipped and listed with its
reason in findings.json, the HTML report, the Excel inputs sheet, junit.xml and the terminal summary, and so are
files of other types; `--strict` refuses such a run as before; a file named explicitly must be audited; nothing
auditable left is exit 2."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import openpyxl
import pytest

import fundaudit
from fundaudit.cli import LINE_WIDTH, _cut, main
from fundaudit.errors import InputError, LayoutError
from tests.io.fixtures import truncate, xlsx_table

AID = "姓名,身份证号码,金额,发放方式,发放日期\n甲,34100319800101001X,100,现金,2016-03-01\n"
KINDS = ".csv .parquet .tsv .txt .xls .xlsm .xlsx"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """aid.csv and two.xlsx's first sheet (a cash payment, a card payment without account: error findings), an
    unrelated CSV, a damaged workbook, an ambiguous second sheet of two.xlsx, a README
    and an Office lock file (never listed)."""
    d = tmp_path / "in"
    (d / "sub").mkdir(parents=True)
    (d / "aid.csv").write_text(AID, encoding="utf-8")
    (d / "stray.csv").write_text("编号 34100319800101001X\n1,2\n3,4\n", encoding="utf-8")
    truncate(xlsx_table(tmp_path, [["姓名", "金额"], ["乙", 5]]), d / "sub" / "broken.xlsx")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "明细"
    for row in (["姓名", "身份证号码", "金额", "发放方式", "发放日期"], ["丙", "", 50, "打卡", "2016-04-01"]):
        ws.append(row)
    wb.create_sheet("名单").append(["姓名", "身份证号码"])
    wb["名单"].append(["丁", "341003198001010028"])
    wb.save(d / "two.xlsx")
    (d / "README.md").write_text("# notes", encoding="utf-8")
    (d / "~$two.xlsx").write_bytes(b"lock")
    return d


EXPECTED_EN = [
    ("stray.csv", None, "header_not_found",
     "no recognisable header row in the first 3 rows of stray.csv (found: 编号 341003********001X)"),
    ("two.xlsx", "名单", "kind_undetected",
     "cannot tell which kind of ledger two.xlsx [名单] is from its headers; state it with --ledger KIND=PATH. "
     "Headers: 姓名 | 身份证号码"),
    ("sub/broken.xlsx", None, "truncated", "file sub/broken.xlsx is damaged or truncated (zip central directory "
     "missing; the file was probably cut short); download or export it again"),
    ("README.md", None, "not_ledger_type", f"README.md is not a ledger file type (supported: {KINDS}); not audited"),
]


def _audit(folder: Path, out: Path, *extra: str) -> int:
    return main(["audit", str(folder), "--out", str(out), "--format", "json,html,xlsx,junit", "--lang", "en",
                 "--period", "2016", *extra])


def test_a_folder_is_audited_as_far_as_it_can_be_and_every_skipped_file_listed(
        folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "rep"
    assert _audit(folder, out) == 1  # the findings decide the exit code, as when nothing was skipped
    doc = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    got = [(s["file"], s["sheet"], s["reason"], s["message_en"]) for s in doc["skipped_inputs"]]
    assert got == EXPECTED_EN
    assert {(i["file"], i["sheet"]) for i in doc["inputs"]} == {("aid.csv", None), ("two.xlsx", "明细")}
    cash = [(r["file"], r["row"]) for f in doc["findings"] if f["rule"] == "DISB-CASH" for r in f["refs"]]
    assert cash == [("aid.csv", 2), ("two.xlsx", 2)]  # both audited files' rows reached the rules
    assert doc["skipped_inputs"][0]["message"] == \
        "在 stray.csv 前 3 行中找不到可识别的表头（找到的内容：编号 341003********001X）"

    stdout = capsys.readouterr().out
    assert "\n".join(line for line in stdout.splitlines() if line.startswith(("not ", "  "))) == "\n".join([
        "not audited: 3 files (the rest was audited; reasons in the report, Files not audited):",
        *("  " + _cut(m, LINE_WIDTH - 2) for _f, _s, _r, m in EXPECTED_EN[:3]),
        "not ledger file types, not read: README.md",
    ])

    page = (out / "index.html").read_text(encoding="utf-8")
    assert ('<strong>⚠ Files not audited: 3 (unreadable, no header, or kind not recognised); the rest was '
            'audited</strong> <a href="#skipped-inputs">see why</a>') in page
    for file, _sheet, reason, message in EXPECTED_EN:
        assert f"<code>{reason}</code></td><td class=\"wrap\">{message.replace('>', '&gt;')}</td>" in page, file

    sheet = openpyxl.load_workbook(out / "findings.xlsx")["Inputs"]
    rows = [(r[0], r[1], r[2], r[11]) for r in sheet.iter_rows(min_row=2, values_only=True)]
    assert rows[2:] == [("Files not audited", f, s, m) for f, s, _r, m in EXPECTED_EN]

    suite = ET.parse(out / "junit.xml").getroot()
    cases = [(c.get("name"), c.find("skipped").get("message"))  # type: ignore[union-attr]
             for c in suite.iter("testcase") if c.get("classname") == "fundaudit.inputs"]
    assert cases == [(f if s is None else f"{f} [{s}]", f"[{r}] {m}") for f, s, r, m in EXPECTED_EN]
    assert suite.get("skipped") == str(len(EXPECTED_EN) + sum(1 for r in doc["rules"] if r["status"] == "skipped"))


def test_strict_refuses_as_before(folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "rep"
    assert _audit(folder, out, "--strict") == 2
    assert capsys.readouterr().err == f"fundaudit: {EXPECTED_EN[0][3]}\n"
    assert not out.exists()


def test_strict_does_not_refuse_files_of_other_types(tmp_path: Path) -> None:
    d = tmp_path / "in"
    d.mkdir()
    (d / "aid.csv").write_text(AID, encoding="utf-8")
    (d / "README.md").write_text("# notes", encoding="utf-8")
    out = tmp_path / "rep"
    assert _audit(d, out, "--strict") == 1
    doc = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    assert [(s["file"], s["reason"]) for s in doc["skipped_inputs"]] == [("README.md", "not_ledger_type")]


def test_a_file_named_explicitly_must_be_audited(folder: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "rep"
    assert main(["audit", str(folder / "aid.csv"), str(folder / "stray.csv"), "--out", str(out), "--lang", "en"]) == 2
    named = EXPECTED_EN[0][3].replace("stray.csv", str(folder / "stray.csv"))
    assert capsys.readouterr().err == f"fundaudit: {named}\n"
    assert main(["audit", str(folder / "two.xlsx"), "--out", str(out), "--lang", "en"]) == 2  # its sheet too
    assert "cannot tell which kind of ledger" in capsys.readouterr().err
    assert not out.exists()


def test_nothing_auditable_left_is_exit_2(tmp_path: Path, folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    one = tmp_path / "one"
    one.mkdir()
    (one / "stray.csv").write_bytes((folder / "stray.csv").read_bytes())
    (one / "README.md").write_text("# notes", encoding="utf-8")
    assert _audit(one, tmp_path / "rep") == 2  # the one file's own message, as before
    assert capsys.readouterr().err == f"fundaudit: {EXPECTED_EN[0][3]}\n"

    (one / "staff.csv").write_text("姓名,职务\n甲,主席\n", encoding="utf-8")  # a reference table is no audit
    assert _audit(one, tmp_path / "rep") == 2
    assert capsys.readouterr().err == f"fundaudit: {EXPECTED_EN[0][3]}\n"

    (one / "broken.xlsx").write_bytes((folder / "sub" / "broken.xlsx").read_bytes())
    assert _audit(one, tmp_path / "rep") == 2
    assert capsys.readouterr().err == (
        "fundaudit: nothing to audit: none of the 2 files found could be audited:\n"
        f"  {EXPECTED_EN[2][3].replace('sub/', '')}\n  {EXPECTED_EN[0][3]}\n")
    assert not (tmp_path / "rep").exists()


def test_the_python_api_lists_skipped_inputs_or_raises_when_strict(folder: Path) -> None:
    result = fundaudit.audit(paths=[folder], period="2016")
    assert [(s["file"], s["sheet"], s["reason"], s["message_en"]) for s in result.skipped_inputs] == EXPECTED_EN
    with pytest.raises(LayoutError) as err:
        fundaudit.audit(paths=[folder], period="2016", strict=True)
    assert err.value.message("en") == EXPECTED_EN[0][3]
    assert isinstance(err.value, InputError)


def test_an_unmasked_run_shows_the_skipped_files_message_unmasked(folder: Path) -> None:
    result = fundaudit.audit(paths=[folder], period="2016", unmask=True)
    assert "34100319800101001X" in result.skipped_inputs[0]["message_en"]


REGISTER = "档案编号,职工姓名,身份证号,建档日期,家庭人口\nH1,甲,34100319800101001X,2015-01-01,3\n"
PURCHASES = "序号,品名,数量,单价,金额\n1,毛巾,10,5,50\n"  # read as disbursements (金额), with none of their columns
UNUSABLE = ("the disbursements ledger (zz.csv) lacks the columns its rules need, so none of its 14 rules can run: "
            "account_holder, approver, bank_account, disclosure_end, disclosure_start, payment_date, "
            "payment_method, program, recipient_id_no, recipient_name. Check the headers, or see the column mapping "
            "with fundaudit inspect")


def test_a_found_file_making_a_ledger_no_rule_can_use_is_skipped_too(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    d = tmp_path / "in"
    d.mkdir()
    (d / "register.csv").write_text(REGISTER, encoding="utf-8")
    (d / "zz.csv").write_text(PURCHASES, encoding="utf-8")
    out = tmp_path / "rep"
    assert _audit(d, out, "--fail-on", "never") == 0
    doc = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    assert [(s["file"], s["sheet"], s["reason"], s["message_en"]) for s in doc["skipped_inputs"]] == [
        ("zz.csv", None, "ledger_unusable", UNUSABLE)]
    assert [i["file"] for i in doc["inputs"] if not i["file"].startswith("profile:")] == ["register.csv"]
    assert {r["status"] for r in doc["rules"] if r["id"].startswith("DISB-")} == {"skipped"}

    assert _audit(d, tmp_path / "strict", "--strict") == 2
    assert capsys.readouterr().err.endswith(f"fundaudit: {UNUSABLE}\n")
    named = [str(d / "register.csv"), str(d / "zz.csv")]
    assert main(["audit", *named, "--out", str(tmp_path / "named"), "--lang", "en"]) == 2
    assert "lacks the columns its rules need" in capsys.readouterr().err

    (d / "register.csv").unlink()
    (d / "staff.csv").write_text("姓名,职务\n甲,主席\n", encoding="utf-8")  # a reference table is not a ledger
    assert _audit(d, tmp_path / "none") == 2
    assert capsys.readouterr().err == f"fundaudit: {UNUSABLE}\n"


def test_names_that_are_not_utf8_are_listed_readably(tmp_path: Path) -> None:
    import os

    d = tmp_path / "in"
    d.mkdir()
    (d / "aid.csv").write_text(AID, encoding="utf-8")
    for raw in (b"\xc4\xe3\xba\xc3.md", b"\xff.md"):  # 你好 in GBK, as a Chinese-Windows zip leaves it; a bad byte
        with open(os.path.join(os.fsencode(d), raw), "wb") as fh:
            fh.write(b"x")
    out = tmp_path / "rep"
    assert _audit(d, out) == 1  # every artefact written
    doc = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    assert [s["file"] for s in doc["skipped_inputs"]] == ["你好.md", "\\xff.md"]
    assert "你好.md" in (out / "index.html").read_text(encoding="utf-8")


def test_skipped_file_names_are_masked_in_every_report(tmp_path: Path) -> None:
    """A skipped file whose name holds a phone or an ID: its name is masked in every artefact, as its message is
    (the `file` field beside the message used to carry it raw)."""
    d = tmp_path / "in"
    d.mkdir()
    (d / "aid.csv").write_text(AID, encoding="utf-8")
    (d / "张三13812345678.csv").write_text("编号\n1\n", encoding="utf-8")
    (d / "110101199003071234.txt").write_text("说明\n", encoding="utf-8")
    out = tmp_path / "rep"
    assert main(["audit", str(d), "--out", str(out), "--format", "html,xlsx,json,junit", "--fail-on", "never",
                 "--quiet"]) == 0
    doc = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    assert sorted(s["file"] for s in doc["skipped_inputs"]) == ["110101********1234.txt", "张三*******5678.csv"]
    import zipfile

    with zipfile.ZipFile(out / "findings.xlsx") as z:
        xlsx = "".join(z.read(n).decode("utf-8") for n in z.namelist() if n.endswith(".xml"))
    for text in (*(p.read_text(encoding="utf-8") for p in out.iterdir() if p.suffix in {".json", ".xml", ".html"}),
                 xlsx):
        assert "13812345678" not in text
        assert "199003071234" not in text
