"""Two headers claiming one canonical column (issue 13, item 4): never a column dropped without trace.

应补（退）税额 beside 实缴金额 is its own column (amount_due); two spellings of the amount itself are refused
with the choices; any other clash loads the first with a note and lists the rest as unmapped; ``columns=``
(``--map``) settles it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import fundaudit
from fundaudit.cli import main
from fundaudit.errors import ConfigError, LayoutError
from tests.io import fixtures as fx

TAX = ["纳税人识别号", "纳税人名称", "税款所属期起", "税款所属期止", "实缴金额", "应补（退）税额"]
ROWS = [
    ["91341003563634349C", "黄山甲公司", "2016-03-01", "2016-03-31", 2562.05, 2600],
    ["91341003585504043F", "黄山乙公司", "2016-03-01", "2016-03-31", 100, -12.5],
]


@pytest.mark.parametrize("writer", [fx.xls_table, fx.xlsx_table])
def test_tax_export_with_paid_and_due_keeps_both(tmp_path: Path, writer: object) -> None:
    path = writer(tmp_path, [TAX, *ROWS])  # type: ignore[operator]
    ledger = fundaudit.load("dues", path)
    assert ledger.frame[["amount_paid", "amount_due"]].values.tolist() == [[256205, 260000], [10000, -1250]]
    [s] = ledger.inputs
    assert s.columns["实缴金额"] == "amount_paid"
    assert s.columns["应补（退）税额"] == "amount_due"
    assert s.unmapped_columns == []
    assert s.amount_total == 256205 + 10000


def test_due_alone_is_the_amount_paid(tmp_path: Path) -> None:
    path = fx.xlsx_table(tmp_path, [[h for h in TAX if h != "实缴金额"], *[[*r[:4], r[5]] for r in ROWS]])
    ledger = fundaudit.load("dues", path)
    assert ledger.frame["amount_paid"].tolist() == [260000, -1250]
    assert "amount_due" not in ledger.frame.columns
    assert ledger.inputs[0].columns["应补（退）税额"] == "amount_paid"


def _two_amounts(tmp_path: Path) -> Path:
    header = ["纳税人识别号", "纳税人名称", "税款所属期起", "税款所属期止", "实缴金额", "入库金额"]
    return fx.xlsx_table(tmp_path, [header, ["91341003563634349C", "黄山甲公司", "2016-03-01", "2016-03-31", 100, 90]])


def test_two_headers_for_the_amount_are_refused_with_the_choices(tmp_path: Path) -> None:
    with pytest.raises(LayoutError) as info:
        fundaudit.load("dues", _two_amounts(tmp_path))
    assert info.value.code == "header_collision"
    text = info.value.message("en")
    assert "实缴金额（E）、入库金额（F）" in text
    assert "--map '入库金额=-'" in text


@pytest.mark.parametrize(
    ("columns", "paid", "due", "unmapped"),
    [({"入库金额": "-"}, 10000, None, ["入库金额"]),
     ({"实缴金额": "-"}, 9000, None, ["实缴金额"]),
     ({"入库金额": "amount_due"}, 10000, 9000, [])],
)
def test_columns_argument_settles_a_collision(tmp_path: Path, columns: dict[str, str], paid: int,
                                              due: int | None, unmapped: list[str]) -> None:
    ledger = fundaudit.load("dues", _two_amounts(tmp_path), columns=columns)
    assert ledger.frame["amount_paid"].tolist() == [paid]
    assert (ledger.frame["amount_due"].tolist() if due is not None else None) == ([due] if due else None)
    [s] = ledger.inputs
    assert s.unmapped_columns == unmapped
    assert [n.code for n in s.notes if n.code == "headers_ignored"] == (["headers_ignored"] if unmapped else [])


def test_other_collisions_load_the_first_and_say_so(tmp_path: Path) -> None:
    path = tmp_path / "aid.csv"
    path.write_text("姓名,领取人,金额\n甲,乙,100\n", encoding="utf-8")
    ledger = fundaudit.load("disbursements", path)
    assert ledger.frame["recipient_name"].tolist() == ["甲"]
    [s] = ledger.inputs
    assert s.unmapped_columns == ["领取人"]
    [n] = [n for n in s.notes if n.code == "header_collision"]
    assert n.fields["canonical"] == "recipient_name"
    assert n.fields["headers"] == "姓名（A）、领取人（B）"


def test_columns_argument_rejects_an_unknown_column(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        fundaudit.load("dues", _two_amounts(tmp_path), columns={"入库金额": "amount_duee"})
    assert info.value.code == "map_unknown_column"


def test_cli_map_settles_the_collision(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _two_amounts(tmp_path)
    out = tmp_path / "out"
    args = ["audit", "--ledger", f"dues={path}", "--format", "json", "--out", str(out), "--lang", "en"]
    assert main(args) == 2
    assert "header_collision" not in capsys.readouterr().err  # the message, not the code
    assert main([*args, "--map", "入库金额=amount_due"]) in (0, 1)
    [entry] = json.loads((out / "findings.json").read_text("utf-8"))["inputs"]
    assert entry["columns"] == {"纳税人识别号": "taxpayer_id", "纳税人名称": "taxpayer_name",
                                "税款所属期起": "period_start", "税款所属期止": "period_end",
                                "实缴金额": "amount_paid", "入库金额": "amount_due"}
    assert main(["inspect", str(path), "--lang", "en"]) == 2
    assert "several columns map to amount_paid" in capsys.readouterr().out
    assert main(["inspect", str(path), "--lang", "en", "--map", "入库金额=-"]) == 0
    shown = capsys.readouterr().out
    assert "unmapped columns: 入库金额" in shown
    assert main(["audit", "--ledger", f"dues={path}", "--out", str(out), "--map", "入库金额", "--lang", "en"]) == 2
    assert "--map takes HEADER=COLUMN" in capsys.readouterr().err


def test_an_override_for_another_kind_leaves_this_sheet_alone() -> None:
    """One --map serves a whole directory: 金额=amount_paid is for the dues sheet; a disbursement sheet headed 金额
    keeps its own mapping instead of stopping the run."""
    from fundaudit.columns import map_headers

    mapping = map_headers("disbursements", ["姓名", "金额"], {"金额": "amount_paid"})
    assert mapping.columns == {0: "recipient_name", 1: "amount"}


def test_an_override_that_meets_no_header_keeps_the_fallback() -> None:
    """Only overrides that met a header of the sheet switch the 应补（退）税额 fallback off."""
    from fundaudit.columns import map_headers

    mapping = map_headers("dues", ["纳税人识别号", "纳税人名称", "应补（退）税额"], {"不存在的表头": "amount_due"})
    assert mapping.columns == {0: "taxpayer_id", 1: "taxpayer_name", 2: "amount_paid"}


def test_an_override_reaches_the_sub_header_of_a_two_row_header() -> None:
    from fundaudit.columns import map_headers

    mapping = map_headers("disbursements", ["姓名", "发放情况/金额", "备注"], {"金额": "-"})
    assert (mapping.columns, mapping.ignored) == ({0: "recipient_name", 2: "remark"}, ((1, "发放情况/金额"),))
