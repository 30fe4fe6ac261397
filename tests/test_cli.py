"""The command line: exit codes (CONTRACT.md §3), inspect output, findings.json shape, no tracebacks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fundaudit.cli import main


@pytest.fixture
def ledger_dir(tmp_path: Path) -> Path:
    d = tmp_path / "in"
    d.mkdir()
    (d / "aid.csv").write_text(
        "姓名,身份证号码,金额,发放方式,发放日期\n甲,34100319800101001X,100,现金,2016-03-01\n乙,,abc,打卡,2016-03-02\n",
        encoding="utf-8",
    )
    (d / "register.csv").write_bytes(
        "档案编号,职工姓名,身份证号,建档日期,家庭人口\nH1,甲,34100319800101001X,2015-01-01,3\n".encode("gb18030")
    )
    (d / "notes.md").write_text("not a ledger", encoding="utf-8")
    return d


def test_audit_directory_writes_findings_json(
    ledger_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    code = main(["audit", str(ledger_dir), "--period", "2016", "--format", "json", "--out", str(out)])
    assert code == 1  # the shipped DISB-CASH rule finds the cash payment (an error)
    doc = json.loads((out / "findings.json").read_text("utf-8"))
    assert doc["schema_version"] == 1
    assert doc["run"]["period"] == {"start": "2016-01-01", "end": "2016-12-31"}
    assert doc["run"]["masked"] is True
    by_file = {i["file"]: i for i in doc["inputs"]}
    assert set(by_file) == {"aid.csv", "register.csv"}
    aid = by_file["aid.csv"]
    assert (
        aid["kind"],
        aid["sheet"],
        aid["header_row"],
        aid["rows_read"],
        aid["rows_loaded"],
        aid["rows_rejected"],
        aid["amount_total"],
    ) == ("disbursements", None, 1, 2, 1, 1, "100.00")
    assert by_file["register.csv"]["kind"] == "register"
    assert doc["rejected_rows"] == [
        {
            "kind": "disbursements",
            "file": "aid.csv",
            "sheet": None,
            "row": 3,
            "column": "金额",
            "value": "abc",
            "reason": "amount_unparseable",
            "message": "金额无法识别",
            "message_en": "amount cannot be read",
            "action": "row_rejected",
        }
    ]
    status = {r["id"]: r for r in doc["rules"]}
    assert status["DISB-CASH"]["status"] == "ran" and status["DISB-CASH"]["findings"] == 1
    [cash] = [f for f in doc["findings"] if f["rule"] == "DISB-CASH"]
    assert cash["refs"] == [{"kind": "disbursements", "file": "aid.csv", "sheet": None, "row": 2}]
    assert status["DUES-RATE"]["status"] == "skipped"  # no dues input: skipped with a reason, never fired
    printed = capsys.readouterr().out
    assert "aid.csv" in printed and "findings.json" in printed


def test_personal_values_masked_in_rejected_rows(tmp_path: Path) -> None:
    src = tmp_path / "aid.csv"
    src.write_text("姓名,身份证号码,金额\n甲,1.10101199003078E+17,100\n", encoding="utf-8")
    out = tmp_path / "out"
    assert main(["audit", "--ledger", f"disbursements={src}", "--format", "json", "--out", str(out), "--quiet"]) == 0
    text = (out / "findings.json").read_text("utf-8")
    assert "1.10101199003078E+17" not in text
    assert "110101199003078" not in text


@pytest.mark.parametrize(
    "args",
    [
        ["audit", "missing-file.xlsx"],
        ["audit", "--ledger", "nonsense=x.csv"],
        ["audit", "--ledger", "disbursements"],
        ["audit", "--period", "2016Q9", "--ledger", "disbursements=x.csv"],
        ["audit"],
    ],
)
def test_bad_arguments_exit_2_without_traceback(
    args: list[str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main([*args, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fundaudit: ")
    assert "Traceback" not in err


def test_unreadable_file_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fake = tmp_path / "送温暖.xls"
    fake.write_text("<html><body><table><tr><td>姓名</td></tr></table></body></html>", encoding="utf-8")
    assert main(["audit", str(fake), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "送温暖.xls" in err and "HTML" in err


def test_internal_error_exit_3_with_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import fundaudit.run

    def boom(*_a: object, **_k: object) -> None:
        raise RuntimeError("bug 34100319800101001X")

    monkeypatch.setattr(fundaudit.run, "collect", boom)
    src = tmp_path / "a.csv"
    src.write_text("姓名,金额\n甲,1\n", encoding="utf-8")
    out = tmp_path / "out"
    assert main(["audit", str(src), "--out", str(out)]) == 3
    log = (out / "fundaudit-error.log").read_text("utf-8")
    assert "RuntimeError" in log and "34100319800101001X" not in log
    assert "Traceback" not in capsys.readouterr().err


def test_inspect_shows_kind_header_mapping_and_counts(ledger_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", str(ledger_dir), "--lang", "en"]) == 0
    out = capsys.readouterr().out
    assert "== aid.csv" in out and "kind: disbursements" in out
    assert "header row: 1" in out
    assert "金额 → amount" in out
    assert "read 2 = loaded 1 + rejected 1 + non-data 0" in out
    assert "kind: register" in out and "gb18030" in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.startswith("fundaudit ")
