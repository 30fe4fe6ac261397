"""The command line: exit codes (CONTRACT.md §3), inspect output, findings.json shape, no tracebacks."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest

from fundaudit.cli import main
from tests.checks.harness import shipped


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
    assert cash["refs"] == [{"kind": "disbursements", "file": "aid.csv", "sheet": None, "row": 2, "role": "payment"}]
    assert status["DUES-RATE"]["status"] == "skipped"  # no dues input: skipped with a reason, never fired
    printed = capsys.readouterr().out
    assert "aid.csv" in printed and "findings.json" in printed


def test_personal_values_masked_in_rejected_rows(tmp_path: Path) -> None:
    src = tmp_path / "aid.csv"
    # payment columns too, so that the ledger's rules can run (a ledger none of whose rules can run is refused)
    src.write_text("姓名,身份证号码,金额,发放方式,发放日期\n甲,1.10101199003078E+17,100,打卡,2016-03-01\n",
                   encoding="utf-8")
    out = tmp_path / "out"
    assert main(["audit", "--ledger", f"disbursements={src}", "--format", "json", "--out", str(out), "--quiet",
                 "--fail-on", "never"]) == 0
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
    fake.write_bytes(b"MIME-Version: 1.0\r\nContent-Type: multipart/related; boundary=\"b\"\r\n\r\n--b\r\n")
    assert main(["audit", str(fake), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "送温暖.xls" in err and "MHTML" in err


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


SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def test_quiet_prints_nothing_and_still_writes_reports(ledger_dir: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    code = main(["audit", str(ledger_dir), "--period", "2016", "--out", str(out), "--quiet",
                 "--format", "html,xlsx,json,junit"])
    assert code == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == ""
    assert (out / "index.html").read_text("utf-8").startswith("<!DOCTYPE html>")
    assert zipfile.ZipFile(out / "findings.xlsx").testzip() is None
    assert len(json.loads((out / "findings.json").read_text("utf-8"))["findings"]) == 3
    assert ET.parse(out / "junit.xml").getroot().tag == "testsuite"


@pytest.mark.parametrize("argv", [["--help"], ["audit", "--help"]])
def test_help_exits_0(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith("usage: fundaudit")
    if argv[0] == "audit":  # the audit command shows examples and every option
        assert "examples:" in text and "fundaudit audit samples/ --profile anhui-2016 --period 2016" in text
        for option in ("--ledger", "--profile", "--period", "--out", "--format", "--fail-on", "--lang", "--unmask",
                       "--quiet"):
            assert option in text, option


@pytest.mark.parametrize("tty", [True, False])
def test_progress_on_stderr_only_when_it_is_a_terminal(
    tty: bool, ledger_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import sys

    monkeypatch.setattr(sys.stderr, "isatty", lambda: tty)
    main(["audit", str(ledger_dir), "--period", "2016", "--out", str(tmp_path / "o"), "--format", "json"])
    captured = capsys.readouterr()
    progress = [ln for ln in captured.err.splitlines() if ln.startswith("… ")]
    if tty:  # each file read, then each rule run
        rules = [f"… [{i}/41] {rid}" for i, rid in enumerate(shipped().rules, start=1)]
        assert progress == [f"… {ledger_dir / 'aid.csv'}", f"… {ledger_dir / 'register.csv'}", *rules]
    else:
        assert captured.err == ""
    assert not [ln for ln in captured.out.splitlines() if ln.startswith("… ") and "DISB-CASH" in ln]  # never stdout


def test_quiet_shows_no_progress_even_on_a_terminal(
    ledger_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import sys

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    main(["audit", str(ledger_dir), "--period", "2016", "--out", str(tmp_path / "o"), "--format", "json", "--quiet"])
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_summary_fits_one_screen(lang: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert main(["audit", str(SAMPLES), "--profile", "anhui-2016", "--period", "2016", "--out", str(out),
                 "--lang", lang, "--fail-on", "never", "--format", "html,xlsx,json,junit"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) <= 30, "\n".join(lines)
    doc = json.loads((out / "findings.json").read_text("utf-8"))
    text = "\n".join(lines)
    for inp in doc["inputs"]:  # the inputs table comes first
        assert inp["file"] in text
    assert lines[0].split()[:2] == (["类型", "文件"] if lang == "zh" else ["kind", "file"])
    # the rules that found something: worst severity first, then most findings
    fired = [r for r in doc["rules"] if r["findings"]]
    head = next(i for i, ln in enumerate(lines) if ln.split()[:2] == (["规则", "级别"] if lang == "zh"
                                                                        else ["rule", "severity"]))
    listed = []
    for ln in lines[head + 1:]:
        first = ln.split(" ")[0]
        if first not in {r["id"] for r in fired}:
            break
        listed.append(first)
    assert listed == ["DISB-ID", "DISB-CASH", "DISB-DISCLOSURE", "DISB-APPROVAL", "REG-EXIT-STATE", "DUES-DUP"]
    rank = {"error": 0, "warning": 1, "info": 2}
    by_id = {r["id"]: r for r in fired}
    keys = [(rank[by_id[i]["severity"]], -by_id[i]["findings"]) for i in listed]
    assert keys == sorted(keys)
    assert listed[0] in {r["id"] for r in fired if r["severity"] == "error"
                         and r["findings"] == max(x["findings"] for x in fired)}
    # the rest on one line, with the report as the place to look
    more = [ln for ln in lines if ln.startswith("… ")]
    assert len(more) == 1 and str(len(fired) - len(listed)) in more[0]
    amount = doc["summary"]["amount_at_issue"]
    assert amount in text
    assert text.count("index.html") == 1


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_summary_names_skipped_rules_on_one_line(lang: str, ledger_dir: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    main(["audit", str(ledger_dir), "--period", "2016", "--out", str(out), "--format", "json", "--lang", lang])
    lines = capsys.readouterr().out.splitlines()
    doc = json.loads((out / "findings.json").read_text("utf-8"))
    skipped = [r["id"] for r in doc["rules"] if r["status"] == "skipped"]
    assert len(skipped) == 37  # 41 rules, 4 run on two small ledgers
    assert len(lines) <= 30, "\n".join(lines)
    mentions = [ln for ln in lines if any(rid in ln for rid in skipped)]
    assert len(mentions) == 1, mentions  # one line, not one per skipped rule
    line = mentions[0]
    assert str(len(skipped)) in line and skipped[0] in line
    assert ("未运行的规则" in line) if lang == "zh" else ("Rules not run" in line)
    assert len(line) <= 120
    for r in doc["rules"]:
        if r["status"] == "skipped":
            assert (r["reason"] if lang == "zh" else r["reason_en"]) not in "\n".join(lines)


@pytest.mark.parametrize("fail_on", ["error", "warning", "info", "never"])
def test_junit_agrees_with_the_exit_code(fail_on: str, tmp_path: Path) -> None:

    out = tmp_path / "out"
    code = main(["audit", str(SAMPLES), "--profile", "anhui-2016", "--period", "2016", "--out", str(out),
                 "--format", "junit,json", "--fail-on", fail_on, "--quiet"])
    root = ET.parse(out / "junit.xml").getroot()
    failing = [c.get("name") for c in root.iter("testcase") if c.find("failure") is not None]
    assert int(root.get("failures") or 0) == len(failing)
    assert code == (1 if failing else 0), (fail_on, code, failing)
    if fail_on == "never":
        assert code == 0 and not failing
        doc = json.loads((out / "findings.json").read_text("utf-8"))
        listed = {c.get("name") for c in root.iter("testcase") if c.find("system-out") is not None}
        assert listed == {r["id"] for r in doc["rules"] if r["findings"]}  # findings still listed


def test_python_dash_m_runs_the_command() -> None:
    """``python -m fundaudit`` is the ``fundaudit`` script (same exit codes), for installs without it on PATH."""
    import subprocess
    import sys

    from fundaudit import __version__

    done = subprocess.run([sys.executable, "-m", "fundaudit", "--version"], capture_output=True, text=True, check=False)
    assert (done.returncode, done.stdout, done.stderr) == (0, f"fundaudit {__version__}\n", "")
    done = subprocess.run([sys.executable, "-m", "fundaudit", "rules", "show", "NO-SUCH-RULE", "--lang", "en"],
                          capture_output=True, text=True, check=False)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == "fundaudit: no rule with id NO-SUCH-RULE (fundaudit rules list lists them all)\n"
