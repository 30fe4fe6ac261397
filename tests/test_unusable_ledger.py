"""CONTRACT.md §3: a ledger missing a required column for every one of its rules is exit 2, not "no findings"."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import fundaudit
from fundaudit.cli import main


def test_a_ledger_no_rule_can_use_is_exit_2_with_the_missing_columns(tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "min.csv"
    src.write_text("姓名,金额,备注\n张三,100,a\n", encoding="utf-8")
    out = tmp_path / "o"
    assert main(["audit", "--ledger", f"disbursements={src}", "--out", str(out), "--lang", "en"]) == 2
    err = capsys.readouterr().err
    assert f"the disbursements ledger ({src}) lacks the columns its rules need" in err
    assert "payment_method" in err and "Traceback" not in err
    assert not out.exists()
    with pytest.raises(fundaudit.InputError) as info:
        fundaudit.audit({"disbursements": pd.DataFrame({"姓名": ["张三"], "金额": ["100"]})})
    assert info.value.code == "ledger_unusable"


def test_a_ledger_where_some_rule_runs_is_audited(tmp_path: Path) -> None:
    frame = pd.DataFrame({"姓名": ["张三"], "金额": ["100"], "发放方式": ["现金"], "发放日期": ["2016-03-01"]})
    result = fundaudit.audit({"disbursements": frame})
    assert "DISB-CASH" in set(result.findings["rule"])
    assert any(r["status"] == "skipped" for r in result.rules)
