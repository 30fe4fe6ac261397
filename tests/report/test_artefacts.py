"""Every artefact of a real run: snapshots of findings.json and junit.xml (volatile fields removed),
and a scan of every file the CLI writes for unmasked resident IDs, account numbers and phones."""

from __future__ import annotations

import json
import os
import re
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import fundaudit
from fundaudit.cli import main
from tests.io.fixtures import xlsx_table
from tests.pii import normalised, pii_found

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
SNAPSHOTS = Path(__file__).parent / "snapshots"
UPDATE = os.environ.get("UPDATE_SNAPSHOTS") == "1"


@pytest.fixture(scope="module")
def samples_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("run") / "report"
    code = main(["audit", str(SAMPLES), "--profile", "anhui-2016", "--period", "2016", "--out", str(out),
                 "--format", "html,xlsx,json,junit", "--fail-on", "never", "--quiet"])
    assert code == 0
    return out


def _stable_json(doc: dict[str, Any]) -> dict[str, Any]:
    doc = json.loads(json.dumps(doc))
    doc.pop("generated_at")
    doc.pop("fundaudit_version")
    doc["run"].pop("argv")
    for pack in doc["run"]["rule_packs"]:
        pack.pop("sha256")
        pack.pop("source")
    for inp in doc["inputs"]:
        inp["file"] = inp["file"].replace("\\", "/")
    return doc


def _check_snapshot(name: str, text: str) -> None:
    path = SNAPSHOTS / name
    if UPDATE or not path.exists():
        path.write_text(text, encoding="utf-8")
        if not UPDATE:
            pytest.fail(f"snapshot {name} created; run again (UPDATE_SNAPSHOTS=1 regenerates on purpose)")
    assert path.read_text("utf-8") == text, f"{name} differs; if intended: UPDATE_SNAPSHOTS=1 pytest {__file__}"


def test_findings_json_snapshot(samples_run: Path) -> None:
    doc = json.loads((samples_run / "findings.json").read_text("utf-8"))
    _check_snapshot("samples-findings.json", json.dumps(_stable_json(doc), ensure_ascii=False, indent=1,
                                                        sort_keys=True) + "\n")


def test_junit_snapshot(samples_run: Path) -> None:
    root = ET.parse(samples_run / "junit.xml").getroot()
    root.attrib.pop("timestamp")
    ET.indent(root)
    _check_snapshot("samples-junit.xml", ET.tostring(root, encoding="unicode") + "\n")


def _texts(out: Path) -> dict[str, str]:
    texts = {}
    for path in out.rglob("*"):
        if path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as z:
                texts[path.name] = "".join(z.read(n).decode("utf-8", "replace") for n in z.namelist())
        elif path.is_file():
            texts[path.name] = path.read_text("utf-8", "replace")
    return texts


def _personal_values() -> set[str]:
    """Every raw ID, account and phone the samples hold (what must never appear in a masked report)."""
    led = fundaudit.inputs.collect([SAMPLES])
    out: set[str] = set()
    for ledger in led.values():
        for name, col in ledger.spec.columns.items():
            if col.type in ("resident_id", "account", "phone") and name in ledger.frame:
                out |= {v for v in ledger.frame[name].dropna().astype(str) if len(v) >= 11}
    return out


def test_no_unmasked_personal_data_in_any_artefact(samples_run: Path) -> None:
    secrets = _personal_values()
    assert len(secrets) == 480
    texts = _texts(samples_run)
    assert set(texts) == {".fundaudit-report", "index.html", "findings.xlsx", "findings.json", "junit.xml"}
    for name, text in texts.items():
        leaked = sorted(s for s in secrets if s in text)
        assert not leaked, (name, leaked[:5])
        assert pii_found(text) == [], name


def test_unmasked_run_shows_data_and_says_so(tmp_path: Path) -> None:
    out = tmp_path / "report"
    assert main(["audit", str(SAMPLES), "--profile", "anhui-2016", "--period", "2016", "--out", str(out),
                 "--format", "html,json", "--fail-on", "never", "--quiet", "--unmask"]) == 0
    doc = json.loads((out / "findings.json").read_text("utf-8"))
    assert doc["run"]["masked"] is False
    secrets = _personal_values()
    assert any(s in (out / "findings.json").read_text("utf-8") for s in secrets)
    assert "未脱敏" in (out / "index.html").read_text("utf-8")


def test_rejected_raw_lines_masked_too(tmp_path: Path) -> None:
    src = tmp_path / "aid.csv"
    src.write_text("姓名,身份证号码,金额\n甲,34100319800101001X,abc\n乙,34100319800101001X,1,extra,fields\n",
                   encoding="utf-8")
    out = tmp_path / "r"
    main(["audit", "--ledger", f"disbursements={src}", "--out", str(out), "--format", "html,xlsx,json,junit",
          "--fail-on", "never", "--quiet"])
    for name, text in _texts(out).items():
        assert "34100319800101001X" not in text, name


# personal data in every written form, in every place an input can carry it
HOSTILE_FILE = "送温暖_341003-19800202-0036.xlsx"  # an ID split by dashes, in the file name
HOSTILE_SHEET = "明细 138 1234 5678"  # a phone split by spaces, in the sheet name
HOSTILE_TITLE = "2016年送温暖发放明细表 联系人 +86 137 1111 2222 身份证 ３４１００３１９８００３０３００４１"
HOSTILE_ROWS = [
    [HOSTILE_TITLE],
    ["姓名", "身份证号码", "金额", "发放日期", "发放方式", "银行账号", "备注", "基层工会"],
    # an ID in full-width digits in the name column; a dashed phone in the free-text 备注
    ["３４１００３１９８００１０１００１Ｘ", "341003198001010029", 500, "2016-03-01", "现金", None,
     "电话 139-8765-4321", "莲花工会（联系 135 0000 2222）"],  # a phone in a union name (the HTML chart)
    # an ID with the letter O typed for a zero; a card grouped by 4 in 备注
    ["李四", "3410031980O4040055", 600, "2016-03-02", "银行代发", "6222020200112233445",
     "卡号 6217 0031 1664 8655 897"],
    # a phone in a rejected value
    ["王五", "341003198005050071", "电话 136 0000 1111", "2016-03-03", "银行代发", "6222020200112233446", "无"],
]
HOSTILE_SECRETS = ["341003198002020036", "13812345678", "13711112222", "341003198003030041", "34100319800101001X",
                   "13987654321", "3410031980O4040055", "6217003116648655897", "13600001111", "13500002222"]
REMARK_PACK = """pack: leak-test
version: "1"
rules:
  - id: LT-REMARK
    ledger: disbursements
    severity: warning
    title: {zh: 备注, en: remark}
    check: {type: regex, column: remark, pattern: "^无$"}
    message: {zh: "{recipient_name} 备注 {remark}（{file} {sheet}）", en: "{recipient_name}: {remark} ({file} {sheet})"}
"""


def hostile_input(directory: Path) -> tuple[Path, Path]:
    """The hostile workbook and a user pack whose message quotes the free-text 备注, file and sheet."""
    import openpyxl

    path = xlsx_table(directory, HOSTILE_ROWS, name=HOSTILE_FILE)
    wb = openpyxl.load_workbook(path)
    wb.active.title = HOSTILE_SHEET
    wb.save(path)
    pack = directory / "remark.yaml"
    pack.write_text(REMARK_PACK, encoding="utf-8")
    return path, pack


def _leaks(text: str) -> list[str]:
    flat = normalised(text).replace("O", "0")
    return pii_found(text) + [s for s in HOSTILE_SECRETS if s.replace("O", "0") in flat]


def test_no_personal_data_in_any_form_in_any_artefact_or_output(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """IDs, phones and cards in full-width digits, split by spaces or dashes, with a typed letter, in the file and
    sheet names, the title row, the name and free-text columns and a rejected value: masked in every artefact,
    in stdout and stderr, and in `inspect`; the same run unmasked shows them (the scan finds what it must)."""
    src, pack = hostile_input(tmp_path)
    monkeypatch.chdir(tmp_path)
    args = ["audit", "--ledger", f"disbursements={src.name}", "--rules", pack.name, "--format", "html,xlsx,json,junit",
            "--fail-on", "never"]
    assert main([*args, "--out", "masked"]) == 0
    assert main(["inspect", src.name]) == 0
    out = capsys.readouterr()
    texts = {**_texts(tmp_path / "masked"), "stdout": out.out, "stderr": out.err}
    for name, text in texts.items():
        assert _leaks(text) == [], name
    doc = json.loads((tmp_path / "masked" / "findings.json").read_text("utf-8"))
    (inp,) = doc["inputs"]
    assert inp["file"] == "送温暖_341003-********-0036.xlsx"
    assert inp["sheet"] == "明细 *** **** 5678"
    assert inp["title"] == "2016年送温暖发放明细表 联系人 +** *** **** 2222 身份证 ３４１００３********００４１"
    assert [(r["column"], r["value"]) for r in doc["rejected_rows"]] == [("金额", "电话 *** **** 1111")]
    assert [f["values"]["recipient_id_no"] for f in doc["findings"] if f["rule"] == "DISB-ID"] == [
        "341003********0029", "341003********0055"]
    assert [f["message"] for f in doc["findings"] if f["rule"] == "LT-REMARK"] == [
        "３４１００３********００１Ｘ 备注 电话 ***-****-4321（送温暖_341003-********-0036.xlsx 明细 *** **** 5678）",
        "李四 备注 卡号 **** **** **** ***5 897（送温暖_341003-********-0036.xlsx 明细 *** **** 5678）"]
    assert "标题：2016年送温暖发放明细表 联系人 +** *** **** 2222 身份证 ３４１００３********００４１" in out.out
    assert "== 送温暖_341003-********-0036.xlsx [明细 *** **** 5678]" in out.out

    assert main([*args, "--out", "unmasked", "--unmask", "--quiet"]) == 0
    shown = _texts(tmp_path / "unmasked")
    flat = normalised(shown["findings.json"] + shown["index.html"]).replace("O", "0")
    assert [s for s in HOSTILE_SECRETS if s.replace("O", "0") not in flat] == []
    assert "+86 137 1111 2222" in shown["findings.json"]


def test_hundred_thousand_findings_reports_written(tmp_path: Path) -> None:
    """Not a timing assertion (speed lives in bench/): four writers cope with 100k findings."""
    result = fundaudit.audit(paths=[SAMPLES], profile="anhui-2016", period="2016")
    base = result.findings
    big = pd.concat([base] * (100_000 // len(base) + 1), ignore_index=True).head(100_000)
    big["id"] = [f"F{i:06d}" for i in range(1, len(big) + 1)]
    result.findings = big
    assert len(json.loads(result.to_json(tmp_path / "f.json").read_text("utf-8"))["findings"]) == 100_000
    junit = ET.parse(result.to_junit(tmp_path / "j.xml")).getroot()
    # one case per rule and one per skipped input (the samples' README.md, expected.json, generate.py)
    assert len(list(junit.iter("testcase"))) == len(result.rules) + len(result.skipped_inputs) == 44
    assert zipfile.ZipFile(result.to_excel(tmp_path / "f.xlsx")).testzip() is None
    assert result.to_html(tmp_path / "i.html").read_text("utf-8").startswith("<!DOCTYPE html>")


def _rejected_key(r: dict[str, Any]) -> tuple[str, str, str, int]:
    return (r["kind"], r["file"], r["sheet"] or "", int(r["row"]))


def test_rejected_rows_sorted_alike_in_every_artefact(samples_run: Path) -> None:
    """Sorted by kind, file, sheet and row (the samples reject 送温暖 rows 76, 158 and 84 in that order)."""
    from openpyxl import load_workbook

    doc = json.loads((samples_run / "findings.json").read_text("utf-8"))
    rej = doc["rejected_rows"]
    assert len(rej) == 7
    assert [_rejected_key(r) for r in rej] == sorted(_rejected_key(r) for r in rej)
    expected = [(r["file"], r["row"]) for r in rej]
    ws = load_workbook(samples_run / "findings.xlsx")["拒收行"]
    assert [(ws.cell(row=i, column=2).value, ws.cell(row=i, column=4).value)
            for i in range(2, ws.max_row + 1)] == expected
    html = (samples_run / "index.html").read_text("utf-8")
    table = html[html.index('id="rejected-rows"'):]
    table = table[: table.index("</table>")]
    rows = re.findall(r'<td class="wrap file">([^<]*)</td><td class="nw">[^<]*</td><td class="num">(\d+)</td>', table)
    assert [(f, int(r)) for f, r in rows] == expected


def test_amount_at_issue_counts_error_and_warning_findings_only(samples_run: Path) -> None:
    from decimal import Decimal

    from openpyxl import load_workbook

    doc = json.loads((samples_run / "findings.json").read_text("utf-8"))
    amounts = {s: sum(Decimal(f["amount"]) for f in doc["findings"] if f["severity"] == s and f["amount"])
               for s in ("error", "warning", "info")}
    assert amounts["info"] == Decimal("95600.00")  # the samples' under-spend signal (XL-FUND-OVERSPEND, info)
    at_issue = amounts["error"] + amounts["warning"]
    assert doc["summary"]["amount_at_issue"] == f"{at_issue:.2f}"
    ws = load_workbook(samples_run / "findings.xlsx")["汇总"]
    cells = {ws.cell(row=r, column=1).value: ws.cell(row=r, column=2).value for r in range(1, ws.max_row + 1)}
    assert Decimal(str(cells["涉及金额（元）"])).quantize(Decimal("0.01")) == at_issue
    html = (samples_run / "index.html").read_text("utf-8")
    q, r = divmod(int(at_issue * 100), 100)
    assert f'<div class="v money">{q:,}.{r:02d}</div>' in html


def test_chinese_workbook_has_no_english_codes(samples_run: Path, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    wb = load_workbook(samples_run / "findings.xlsx")
    rej = wb["拒收行"]
    assert {rej.cell(row=r, column=8).value for r in range(2, rej.max_row + 1)} == {"整行拒收", "字段置空"}
    kinds = {rej.cell(row=r, column=1).value for r in range(2, rej.max_row + 1)}
    assert "困难职工档案" in kinds and not kinds & {"disbursements", "dues", "register"}
    for ws in wb.worksheets:
        for row in ws.iter_rows(values_only=True):
            for v in row:
                assert not (isinstance(v, str) and re.search(r"\b(True|False|None|nan)\b", v)), (ws.title, v)
    # English keeps the codes findings.json uses
    en = tmp_path / "en"
    assert main(["audit", str(SAMPLES), "--profile", "anhui-2016", "--period", "2016", "--out", str(en),
                 "--format", "xlsx", "--lang", "en", "--fail-on", "never", "--quiet"]) == 0
    rej = load_workbook(en / "findings.xlsx")["Rejected rows"]
    assert {rej.cell(row=r, column=8).value for r in range(2, rej.max_row + 1)} == {"row_rejected", "field_blanked"}
    assert "register" in {rej.cell(row=r, column=1).value for r in range(2, rej.max_row + 1)}


def test_chinese_reports_show_readers_notes_in_chinese(samples_run: Path) -> None:
    """The readers' notes (fundaudit.errors.note) are Chinese in the Chinese HTML and workbook; findings.json
    keeps their English text."""
    from openpyxl import load_workbook

    html = (samples_run / "index.html").read_text("utf-8")
    ws = load_workbook(samples_run / "findings.xlsx")["输入"]
    assert ws.cell(row=1, column=12).value == "读取说明"
    cells = "\n".join(str(ws.cell(row=r, column=12).value or "") for r in range(2, ws.max_row + 1))
    for text in (html, cells):
        assert "字符编码 GB18030（兼容 GBK；该文件不是有效的 UTF-8）" in text
        assert "20 个合并单元格区域" in text
        assert "text encoding" not in text and "merged cell range" not in text
    notes = [n for i in json.loads((samples_run / "findings.json").read_text("utf-8"))["inputs"] for n in i["notes"]]
    assert "text encoding GB18030 (GBK-compatible; the file is not valid UTF-8)" in notes
    assert "20 merged cell range(s) in the data area filled from their first cell" in notes
