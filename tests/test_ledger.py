"""Loading real .xls/.xlsx/CSV files end to end: header found below titles, two-row merged headers,
non-data rows counted, values normalised, rejections exact, and row conservation on every input."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import fundaudit
from fundaudit.errors import LayoutError

HEADER = [
    "序号",
    "姓名",
    "身份证号码",
    "帮扶项目",
    "金额（元）",
    "发放方式",
    "银行账号",
    "发放日期",
    "公示情况",
    None,
    "备注",
]
SUB = [None, None, None, None, None, None, None, None, "公示开始日期", "公示结束日期", None]


def _rows() -> list[list[object]]:
    return [
        [
            1,
            "张三",
            "34100319800101001X",
            "送温暖",
            "¥1,200.00",
            "打卡",
            "6222020200112233445",
            "2016-01-20",
            "2016-01-10",
            "2016-01-15",
            "",
        ],
        [2, "李四", "341003198502020021", "生活救助", 800, "现金", "", "2016年2月3日", "2016-01-20", "2016-01-26", ""],
        [None] * 11,  # blank row in the middle
        [
            3,
            "王五",
            "1.10101199003078E+17",
            "送温暖",
            "（100.00）",
            "转账",
            "6222 0202 0011 2233",
            "20160301",
            "2016-02-20",
            "2016-02-30",
            "红字冲回",
        ],  # damaged ID, impossible date
        HEADER,  # page break: header repeated
        SUB,
        [
            4,
            "赵六",
            "341003199001010012",
            "送温暖",
            "abc",
            "打卡",
            "6222020200112233",
            "2016-03-02",
            "",
            "",
            "",
        ],  # unreadable amount -> rejected
        [5, None, None, "送温暖", 300, "打卡", "6222020200112233", "2016-03-03", "", "", ""],  # nobody
        [None, "合计", None, None, "2,000.00", None, None, None, None, None, None],
        ["制表人：孙七", None, None, None, None, None, None, None, None, None, None],
    ]


def _write_xlsx(path: Path) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "送温暖"
    ws.append(["2016年送温暖发放明细表"])
    ws.merge_cells("A1:K1")
    ws.append(["编制单位：黄山区总工会"])
    ws.append(HEADER)
    ws.append(SUB)
    for col in "ABCDEFGHK":
        ws.merge_cells(f"{col}3:{col}4")
    ws.merge_cells("I3:J3")
    for r in _rows():
        ws.append(r)
    notes = wb.create_sheet("说明")
    notes["A1"] = "本表由财务系统导出"
    wb.save(path)


def _write_xls(path: Path) -> None:
    import xlwt

    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet("送温暖")
    ws.write_merge(0, 0, 0, 10, "2016年送温暖发放明细表")
    ws.write(1, 0, "编制单位：黄山区总工会")
    for c, h in enumerate(HEADER):
        if c in (8, 9):
            continue
        ws.write_merge(2, 3, c, c, h)
    ws.write_merge(2, 2, 8, 9, "公示情况")
    ws.write(3, 8, "公示开始日期")
    ws.write(3, 9, "公示结束日期")
    for r, row in enumerate(_rows(), start=4):
        for c, v in enumerate(row):
            if v is None:
                continue
            if isinstance(v, str) and v.startswith("1.10101199003078E+17"):
                ws.write(r, c, 110101199003077777.0)  # an ID typed as a number in Excel
            else:
                ws.write(r, c, v)
    wb.save(str(path))


@pytest.fixture(params=["xlsx", "xls"])
def ledger_file(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    path = tmp_path / f"送温暖2016.{request.param}"
    (_write_xlsx if request.param == "xlsx" else _write_xls)(path)
    return path


def test_real_workbook_loads_with_exact_accounting(ledger_file: Path) -> None:
    ledger = fundaudit.load("disbursements", ledger_file)
    [summary] = ledger.inputs
    assert summary.sheet == "送温暖"
    assert summary.header_row == 4
    assert summary.title.startswith("2016年送温暖发放明细表")
    # rows 5..14 below the header: 3 loaded, 2 rejected, blank + 2 repeated header + total + note
    assert (summary.rows_read, summary.rows_loaded, summary.rows_rejected, summary.rows_non_data) == (10, 3, 2, 5)
    assert summary.conserved
    f = ledger.frame
    assert f["row"].tolist() == [5, 6, 8]
    assert f["recipient_name"].tolist() == ["张三", "李四", "王五"]
    assert f["amount"].tolist() == [120000, 80000, -10000]
    assert f["payment_method"].tolist() == ["打卡", "现金", "银行转账"]
    assert str(f["payment_date"].iloc[1].date()) == "2016-02-03"
    assert str(f["payment_date"].iloc[2].date()) == "2016-03-01"
    assert f["bank_account"].iloc[2] == "6222020200112233"
    # an ID Excel stored as a number is kept as read, with its status, for DISB-ID to report
    assert f["recipient_id_no"].iloc[2].startswith("1.101011990030") and "E+17" in f["recipient_id_no"].iloc[2]
    assert f["recipient_id_no__status"].iloc[2] == "excel_number"
    assert pd.isna(f["disclosure_end"].iloc[2])
    assert summary.amount_total == 120000 + 80000 - 10000
    assert set(ledger.non_data["type"]) == {"blank", "repeated_header", "total", "note"}
    assert ledger.non_data.set_index("row")["type"].to_dict() == {
        7: "blank",
        9: "repeated_header",
        10: "repeated_header",
        13: "total",
        14: "note",
    }


def test_rejections_name_row_column_value_and_reason(ledger_file: Path) -> None:
    rej = fundaudit.load("disbursements", ledger_file).rejected
    got = sorted(zip(rej["row"], rej["column"], rej["reason"], rej["action"], strict=True))
    assert got == [
        (8, "公示情况/公示结束日期", "date_impossible", "field_blanked"),
        (11, "金额（元）", "amount_unparseable", "row_rejected"),
        (12, "姓名", "no_identity", "row_rejected"),
    ]
    assert rej.set_index("row").loc[11, "value"] == "abc"


def test_declared_total_kept_with_its_span(ledger_file: Path) -> None:
    totals = fundaudit.load("disbursements", ledger_file).totals
    [t] = totals.to_dict("records")
    assert (t["row"], t["type"], t["column"], t["declared"], t["covers_from"], t["covers_to"]) == (
        13,
        "total",
        "amount",
        200000,
        5,
        12,
    )


def test_sheet_without_header_is_skipped_with_a_note(tmp_path: Path) -> None:
    path = tmp_path / "x.xlsx"
    _write_xlsx(path)
    ledger = fundaudit.load("disbursements", path)
    assert len(ledger.inputs) == 1
    assert any("说明" in n for n in ledger.inputs[0].notes)
    with pytest.raises(LayoutError) as exc:
        fundaudit.load("disbursements", path, sheet="说明")
    assert exc.value.code == "header_not_found"


def test_gbk_csv_with_title_line(tmp_path: Path) -> None:
    text = (
        "困难职工档案（2016）\n"
        "档案编号,职工姓名,身份证号,困难类别,家庭人口,家庭年度总收入,建档日期,是否会员\n"
        'HS001,刘䶮,34100319800101001X,深度困难,3,"12,000.00",2015-06-01,是\n'
        "\n"
        "HS002,陈二,341003198502020021,相对困难,四,9000,2015/7/1,否\n"
    )
    path = tmp_path / "register.csv"
    path.write_bytes(text.encode("gb18030"))
    ledger = fundaudit.load("register", path)
    [s] = ledger.inputs
    assert s.encoding == "gb18030"
    assert s.header_row == 2
    assert (s.rows_read, s.rows_loaded, s.rows_rejected, s.rows_non_data) == (3, 2, 0, 1)
    f = ledger.frame
    assert f["name"].tolist() == ["刘䶮", "陈二"]
    assert f["row"].tolist() == [3, 5]
    assert f["household_income_annual"].tolist() == [1200000, 900000]
    assert f["is_member"].tolist() == [True, False]
    assert pd.isna(f["household_size"].iloc[1])
    assert ledger.rejected[["row", "reason", "action"]].values.tolist() == [[5, "int_unparseable", "field_blanked"]]


def test_dataframe_input_and_caller_provenance() -> None:
    df = pd.DataFrame(
        {"姓名": ["甲", "乙"], "金额": ["100", "200.5"], "file": ["a.xls", "a.xls"], "sheet": ["S", "S"], "row": [7, 9]}
    )
    ledger = fundaudit.load("disbursements", df)
    assert ledger.frame[["file", "sheet", "row", "amount"]].values.tolist() == [
        ["a.xls", "S", 7, 10000],
        ["a.xls", "S", 9, 20050],
    ]
    plain = fundaudit.load("disbursements", df[["姓名", "金额"]])
    assert plain.frame["row"].tolist() == [2, 3]
    assert plain.frame["file"].tolist() == ["<DataFrame>", "<DataFrame>"]


def test_several_files_of_one_kind_form_one_ledger(tmp_path: Path) -> None:
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("姓名,金额\n甲,1\n", encoding="utf-8")
    b.write_text("姓名,金额,发放方式\n乙,2,现金\n丙,3,打卡\n", encoding="utf-8")
    ledger = fundaudit.load("disbursements", [a, b])
    assert ledger.frame[["file", "row"]].values.tolist() == [[str(a), 2], [str(b), 2], [str(b), 3]]
    assert ledger.frame["payment_method"].isna().tolist() == [True, False, False]
    assert len(ledger.inputs) == 2


def test_identical_duplicate_headers_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "dup.csv"
    path.write_text("姓名,金额,金额\n甲,1,2\n", encoding="utf-8")
    with pytest.raises(LayoutError) as exc:
        fundaudit.load("disbursements", path)
    assert exc.value.code == "duplicate_header"
    assert "dup.csv" in str(exc.value)


def test_wan_yuan_header_scales_amounts(tmp_path: Path) -> None:
    path = tmp_path / "w.csv"
    path.write_text("姓名,金额（万元）\n甲,1.2\n", encoding="utf-8")
    assert fundaudit.load("disbursements", path).frame["amount"].tolist() == [1_200_000]


def test_parquet_or_frame_without_a_known_column_name_is_a_layout_error(tmp_path: Path) -> None:
    """Named columns are the header: with none recognisable the error says so (not a schema dump)."""
    path = tmp_path / "nohdr.parquet"
    pd.DataFrame({"x": ["1", "2"]}).to_parquet(path)
    for source in (path, pd.DataFrame({"x": ["1"]})):
        with pytest.raises(LayoutError) as info:
            fundaudit.load("disbursements", source)
        assert info.value.code == "columns_not_recognised"
        assert "x" in info.value.message("en")


def test_amount_text_spaces_and_decimals_in_a_real_workbook(tmp_path: Path) -> None:
    """Issue 13 item 5: `100 200` and `1 2 3` rejected with their reasons; 12.345 (a numeric cell) loaded
    as 1235 fen and listed as field_flagged with the exact value; float noise is not flagged."""
    from tests.io import fixtures as fx

    path = fx.xlsx_table(tmp_path, [
        ["姓名", "金额"],
        ["甲", "100 200"],
        ["乙", "1 2 3"],
        ["丙", 12.345],
        ["丁", 37.019999999999996],
        ["戊", "1 234.50"],
    ])
    ledger = fundaudit.load("disbursements", path)
    assert ledger.frame[["row", "amount"]].values.tolist() == [[4, 1235], [5, 3702], [6, 123450]]
    assert ledger.rejected[["row", "field", "value", "reason", "action"]].values.tolist() == [
        [2, "amount", "100 200", "amount_ambiguous_grouping", "row_rejected"],
        [3, "amount", "1 2 3", "amount_bad_grouping", "row_rejected"],
        [4, "amount", "12.345", "more_than_two_decimals", "field_flagged"],
    ]
    [s] = ledger.inputs
    assert (s.rows_loaded, s.rows_rejected, s.amount_total) == (3, 2, 1235 + 3702 + 123450)


def test_dataframe_provenance_kept_in_rejected_and_non_data_rows() -> None:
    """Issue 13 item 7: a DataFrame's own file/sheet/row columns (English or Chinese names) reach rejected and
    non-data rows, and a loaded row is never marked row_rejected because another file has its row number."""
    df = pd.DataFrame({
        "姓名": ["", "李四", "合计", "王五"],
        "身份证号码": ["", "", "", ""],
        "金额": ["100", "200", "300", "50"],
        "发放日期": ["2016-01-05", "2016-02-30", "", "2016-01-05"],
        "源文件": ["a.xlsx", "b.xlsx", "b.xlsx", "b.xlsx"],
        "工作表": ["一月", "二月", "二月", "二月"],
        "行号": [2, 2, 3, 4],
    })
    ledger = fundaudit.load("disbursements", df)
    assert ledger.frame[["file", "sheet", "row", "amount"]].values.tolist() == [
        ["b.xlsx", "二月", 2, 20000], ["b.xlsx", "二月", 4, 5000]]
    assert ledger.rejected[["file", "sheet", "row", "field", "reason", "action"]].values.tolist() == [
        ["b.xlsx", "二月", 2, "payment_date", "date_impossible", "field_blanked"],
        ["a.xlsx", "一月", 2, "recipient_name", "no_identity", "row_rejected"],
    ]
    assert ledger.non_data[["file", "sheet", "row", "type"]].values.tolist() == [["b.xlsx", "二月", 3, "total"]]


@pytest.mark.parametrize(
    ("rows", "code"), [([2, 2], "dataframe_provenance_repeated"), (["2", "x"], "dataframe_provenance_not_numbers")]
)
def test_dataframe_provenance_that_cannot_identify_rows_is_not_used(rows: list[object], code: str) -> None:
    df = pd.DataFrame({"file": ["a.xls", "a.xls"], "row": rows, "姓名": ["甲", "乙"], "金额": ["1", "2"]})
    ledger = fundaudit.load("disbursements", df)
    assert ledger.frame[["file", "row"]].values.tolist() == [["<DataFrame>", 2], ["<DataFrame>", 3]]
    assert [n.code for n in ledger.inputs[0].notes] == [code]
