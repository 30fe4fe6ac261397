"""Parquet files and DataFrames: column names as row 1, exact text for every type, Beijing time."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from fundaudit.errors import LimitExceededError, UnreadableFileError
from fundaudit.io import Limits, read_grids
from tests.io import fixtures as fx


def test_parquet_values_become_exact_text(tmp_path: Path) -> None:
    path = fx.parquet_file(tmp_path)
    [grid] = read_grids(path)
    assert (grid.format, grid.sheet, grid.named_columns) == ("parquet", None, True)
    assert grid.rows.tolist() == [1, 2, 3, 4]
    assert grid.cells.values.tolist() == [
        ["身份证号", "金额", "时间", "本地时间", "日期", "比例", "姓名", "在职"],
        ["110101199003077777", "1234.50", "2016-04-01 00:30:00", "2016-03-01", "2016-03-01", "0.5", "张三", "TRUE"],
        ["", "-0.01", "2016-03-01 08:00:00", "2016-03-01 08:00:05.250000", "", "800", "", "FALSE"],
        ["42", "", "", "", "1999-12-31", "", "", ""],
    ]
    assert any("身份证号 is stored as int64" in n for n in grid.notes)
    assert any("Beijing time" in n for n in grid.notes)
    assert grid.sha256 and len(grid.sha256) == 64


def test_truncated_parquet(tmp_path: Path) -> None:
    path = fx.truncate(fx.parquet_file(tmp_path), tmp_path / "cut.parquet", 0.5)
    with pytest.raises(UnreadableFileError) as info:
        read_grids(path)
    assert info.value.code == "truncated" and str(path) in str(info.value)


def test_parquet_row_limit_uses_the_footer(tmp_path: Path) -> None:
    with pytest.raises(LimitExceededError):
        read_grids(fx.parquet_file(tmp_path), limits=Limits(max_rows=3))


def test_dataframe_of_mixed_python_values() -> None:
    frame = pd.DataFrame(
        {
            "姓名": ["张三", None, " 李四 "],
            "身份证号": pd.Series([110101199003077777, 2, 3], dtype="int64"),
            "金额": [Decimal("1234.50"), 800.0, np.nan],
            "混合": [1, "2", dt.date(2016, 3, 1)],
            "时间": pd.to_datetime(["2016-03-31 16:30", None, "2016-03-01 00:00"]).tz_localize("UTC"),
            "本地": pd.to_datetime(["2016-03-01 00:00:00", "2016-03-01 08:00:05", None]),
            "可空整数": pd.array([1, None, 3], dtype="Int64"),
            "类别": pd.Categorical(["甲", "乙", None]),
            "布尔": [True, False, True],
            "file": ["x.xls", "x.xls", "x.xls"],
            "row": [5, 6, 7],
        }
    )
    [grid] = read_grids(frame)
    assert (grid.file, grid.format, grid.named_columns, grid.sha256) == ("<DataFrame>", "dataframe", True, None)
    assert grid.rows.tolist() == [1, 2, 3, 4]
    assert grid.cells.values.tolist() == [
        ["姓名", "身份证号", "金额", "混合", "时间", "本地", "可空整数", "类别", "布尔", "file", "row"],
        [
            "张三",
            "110101199003077777",
            "1234.50",
            "1",
            "2016-04-01 00:30:00",
            "2016-03-01",
            "1",
            "甲",
            "TRUE",
            "x.xls",
            "5",
        ],
        ["", "2", "800", "2", "", "2016-03-01 08:00:05", "", "乙", "FALSE", "x.xls", "6"],
        [" 李四 ", "3", "", "2016-03-01", "2016-03-01 08:00:00", "", "3", "", "TRUE", "x.xls", "7"],
    ]
    assert all(str(t) == "str" for t in grid.cells.dtypes)
    assert any("身份证号 is stored as int64" in n for n in grid.notes)


def test_dataframe_name_float_ids_and_index_note() -> None:
    frame = pd.DataFrame({"账号": [6.222020200112233e18, 1234.5]}, index=[10, 11])
    [grid] = read_grids(frame, name="送温暖")
    assert grid.file == "送温暖"
    assert grid.cells[0].tolist() == ["账号", "6.222020200112233e+18", "1234.5"]
    assert any("index was not read" in n for n in grid.notes)


def test_arrow_backed_dataframe() -> None:
    frame = pd.DataFrame(
        {
            "金额": pd.array([Decimal("1.10"), None], dtype=pd.ArrowDtype(pa.decimal128(10, 2))),
            "姓名": pd.array(["张三", None], dtype="str"),
        }
    )
    [grid] = read_grids(frame)
    assert grid.cells.values.tolist() == [["金额", "姓名"], ["1.10", "张三"], ["", ""]]


def test_dataframe_multiindex_columns_are_joined() -> None:
    frame = pd.DataFrame([[1, 2]], columns=pd.MultiIndex.from_tuples([("发放情况", "金额"), ("发放情况", "日期")]))
    [grid] = read_grids(frame)
    assert grid.cells.values.tolist()[0] == ["发放情况/金额", "发放情况/日期"]
