"""CLI for rules: `rules check` / `rules list`, user packs and --param, and the exit codes of
CONTRACT.md §3 (0 clean, 1 findings at or above --fail-on, 2 bad input/pack/parameter)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fundaudit.cli import main

PACK = """\
pack: cli-test
version: "1"
rules:
  - id: T-CASH
    ledger: disbursements
    severity: warning
    params: {cash: [现金]}
    check: {type: in_set, column: payment_method, values: $cash, negate: true}
    message: {zh: "现金 {amount}", en: "cash {amount}"}
    amount: amount
"""


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Path]:
    src = tmp_path / "aid.csv"
    src.write_text("姓名,金额,发放方式,发放日期\n甲,100,现金,2016-03-01\n乙,50,打卡,2016-03-02\n", encoding="utf-8")
    from fundaudit.rules.shipped import shipped_packs

    shipped = [r.id for p in shipped_packs() for r in p.rules]
    pack = tmp_path / "mine.yaml"  # the shipped rules are switched off: these tests are about T-CASH alone
    pack.write_text(PACK + f"disable: [{', '.join(shipped)}]\n", encoding="utf-8")
    return src, pack


def audit(*args: str) -> int:
    return main(["audit", *args, "--format", "json", "--quiet"])


@pytest.mark.parametrize(("fail_on", "code"), [("error", 0), ("warning", 1), ("info", 1), ("never", 0)])
def test_fail_on_exit_codes(setup: tuple[Path, Path], tmp_path: Path, fail_on: str, code: int) -> None:
    src, pack = setup
    assert (
        audit(
            "--ledger", f"disbursements={src}", "--rules", str(pack), "--fail-on", fail_on, "--out", str(tmp_path / "o")
        )
        == code
    )


def test_param_changes_the_result(setup: tuple[Path, Path], tmp_path: Path) -> None:
    src, pack = setup
    out = tmp_path / "o"
    assert (
        audit(
            "--ledger",
            f"disbursements={src}",
            "--rules",
            str(pack),
            "--param",
            "T-CASH.cash=[现款]",
            "--fail-on",
            "warning",
            "--out",
            str(out),
        )
        == 0
    )
    doc = json.loads((out / "findings.json").read_text("utf-8"))
    [status] = [r for r in doc["rules"] if r["id"] == "T-CASH"]
    assert status["params"] == {"cash": ["现款"], "tolerance": 0} and status["findings"] == 0


@pytest.mark.parametrize(
    ("param", "text"),
    [
        ("T-CASH.cahs=[x]", "rule T-CASH has no parameter cahs (→ cash?)"),
        ("T-CASH.cash=3", "parameter cash of rule T-CASH: invalid value 3"),
        ("NOPE.x=1", "parameter for unknown rule NOPE"),
        ("garbage", "--param takes RULE.KEY=VALUE"),
    ],
)
def test_bad_param_exits_2(
    setup: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], param: str, text: str
) -> None:
    src, pack = setup
    code = main(
        [
            "audit",
            "--ledger",
            f"disbursements={src}",
            "--rules",
            str(pack),
            "--param",
            param,
            "--lang",
            "en",
            "--out",
            str(tmp_path / "o"),
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert text in err and "Traceback" not in err


def test_rules_check_valid_and_invalid(
    setup: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _src, pack = setup
    assert main(["rules", "check", str(pack), "--lang", "en"]) == 0
    assert "valid (1 rules)" in capsys.readouterr().out
    bad = tmp_path / "bad.yaml"
    bad.write_text(PACK.replace("ledger: disbursements", "ledger: disbursement"), encoding="utf-8")
    assert main(["rules", "check", str(bad), "--lang", "en"]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:5:5 rules[0].ledger: invalid value disbursement" in err


def test_rules_list_shows_user_rule_and_params(setup: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    _src, pack = setup
    assert main(["rules", "list", "--rules", str(pack), "--lang", "en"]) == 0
    out = capsys.readouterr().out
    assert "T-CASH" in out and 'cash=["现金"]; defaults: tolerance=0' in out


def test_unknown_profile_and_format_exit_2(
    setup: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src, _pack = setup
    assert main(["audit", str(src), "--profile", "mars", "--out", str(tmp_path / "o")]) == 2
    assert "mars" in capsys.readouterr().err
    assert main(["audit", str(src), "--format", "pdf", "--out", str(tmp_path / "o")]) == 2


def test_out_dir_with_unrelated_files_is_refused(setup: tuple[Path, Path], tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    src, _pack = setup
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "工资表.xlsx").write_bytes(b"precious")
    assert main(["audit", str(src), "--format", "json", "--out", str(busy), "--lang", "en"]) == 2
    assert "holds files not written by fundaudit" in capsys.readouterr().err
    assert (busy / "工资表.xlsx").read_bytes() == b"precious"
    again = tmp_path / "again"
    args = ["audit", str(src), "--format", "json,xlsx,junit", "--out", str(again), "--quiet", "--fail-on", "never"]
    assert main(args) == 0
    assert main(args) == 0
    assert sorted(p.name for p in again.iterdir()) == [".fundaudit-report", "findings.json", "findings.xlsx",
                                                        "junit.xml"]
    afile = tmp_path / "afile"
    afile.write_text("x")
    assert main(["audit", str(src), "--format", "json", "--out", str(afile)]) == 2


@pytest.mark.parametrize(
    ("edit", "where"),
    [
        (("    amount: amount\n", "    amount: amount\n    tags: " + "[" * 900 + "]" * 900 + "\n"),
         ":11:48 nested more than 40 levels deep"),
        (('message: {zh: "现金 {amount}", en: "cash {amount}"}', 'message: {zh: "x", en: }'),
         ":9:24 rules[0].message.en: wrong type: expected text, got nothing"),
        (("severity: warning", 'severity: warning\n    title: "\\ud800"'), ":7:12 rules[0].title: holds a character"),
    ],
)
def test_rules_check_malformed_pack_exits_2_with_file_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], edit: tuple[str, str], where: str
) -> None:
    """Issue 13 item 10: each of these was exit 3 (or a pack that failed later); now exit 2 naming file:line."""
    bad = tmp_path / "bad.yaml"
    bad.write_text(PACK.replace(*edit), encoding="utf-8")
    assert main(["rules", "check", str(bad), "--lang", "en"]) == 2
    err = capsys.readouterr().err
    assert f"{bad}{where}" in err and "Traceback" not in err


@pytest.mark.parametrize("value", ["[" * 900, '"\\ud800"', "a\udcff", "9" * 400])
def test_malformed_param_value_exits_2(
    setup: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    src, pack = setup
    code = audit("--ledger", f"disbursements={src}", "--rules", str(pack), "--param", f"T-CASH.cash={value}",
                 "--lang", "en", "--out", str(tmp_path / "o"))
    assert code == 2
    assert "--param T-CASH.cash: " in capsys.readouterr().err
