"""Property: whatever mix of data, blank, total, repeated-header, note and bad rows a ledger has,
every row read is loaded, rejected or non-data, and the amounts add up."""

from __future__ import annotations

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

import fundaudit

HEADER = ["姓名", "身份证号码", "金额", "发放日期"]

good = st.tuples(st.sampled_from(["张三", "李四", "王五"]), st.just("34100319800101001X"),
                 st.integers(-10**8, 10**8).map(lambda f: f"{f / 100:.2f}"), st.just("2016-03-01")).map(list)
bad_amount = st.tuples(st.just("赵六"), st.just(""), st.sampled_from(["abc", "1.2.3", "inf"]),
                       st.just("2016-03-01")).map(list)
nobody = st.just(["", "", "100", "2016-03-01"])
blank = st.just(["", "", "", ""])
total = st.just(["合计", "", "999", ""])
repeat = st.just(list(HEADER))
note = st.just(["制表人：孙七", "", "", ""])
rows = st.lists(st.one_of(good, good, good, bad_amount, nobody, blank, total, repeat, note), max_size=40)


@given(rows)
def test_rows_and_amounts_are_conserved(body: list[list[str]]) -> None:
    df = pd.DataFrame([HEADER, *body]) if body else pd.DataFrame([HEADER])
    df.columns = HEADER
    df = df.iloc[1:]
    ledger = fundaudit.load("disbursements", df)
    [s] = ledger.inputs
    assert s.rows_read == len(body)
    assert s.rows_read == s.rows_loaded + s.rows_rejected + s.rows_non_data
    expected_loaded = [r for r in body if r in [list(x) for x in body if x[0] in {"张三", "李四", "王五"}]]
    assert s.rows_loaded == len(expected_loaded)
    expected_total = sum(round(float(r[2]) * 100) for r in expected_loaded)
    assert s.amount_total == expected_total
    assert ledger.frame["row"].is_unique
    rejected_rows = set(ledger.rejected.loc[ledger.rejected["action"] == "row_rejected", "row"])
    assert len(rejected_rows) == s.rows_rejected
    assert set(ledger.frame["row"]).isdisjoint(rejected_rows)
    assert set(ledger.frame["row"]) | rejected_rows | set(ledger.non_data["row"]) == set(range(2, 2 + len(body)))


# --- every row exactly once, by (file, sheet, row) (issue 13, item 7) --------------------------------------


def assert_each_row_once(ledger: fundaudit.Ledger) -> set[tuple[str, str, int]]:
    """No row is both loaded and rejected, and every row read is loaded, rejected whole or non-data exactly
    once (keyed by file, sheet and row, so several files with the same row numbers count apart); returns the
    keys."""

    def keys(frame: pd.DataFrame) -> list[tuple[str, str, int]]:
        sheet = frame["sheet"].astype(object).where(frame["sheet"].notna(), "")
        return list(zip(frame["file"].astype(str), sheet.astype(str), frame["row"].astype(int), strict=True))

    rej = ledger.rejected
    loaded = keys(ledger.frame)
    rejected = set(keys(rej[rej["action"] == "row_rejected"]))
    non_data = keys(ledger.non_data)
    assert len(set(loaded)) == len(loaded)
    assert len(set(non_data)) == len(non_data)
    assert set(loaded).isdisjoint(rejected), set(loaded) & rejected
    assert set(loaded).isdisjoint(non_data)
    assert rejected.isdisjoint(non_data)
    # a flagged or blanked field belongs to a loaded row; an entry on a rejected row says so
    assert set(keys(rej[rej["action"] != "row_rejected"])) <= set(loaded)
    assert len(loaded) == sum(i.rows_loaded for i in ledger.inputs)
    assert len(rejected) == sum(i.rows_rejected for i in ledger.inputs)
    assert len(non_data) == sum(i.rows_non_data for i in ledger.inputs)
    return set(loaded) | rejected | set(non_data)


@given(st.lists(st.tuples(st.sampled_from(["a.xlsx", "b.xlsx"]), st.one_of(good, bad_amount, nobody, blank)),
                max_size=30))
def test_dataframe_with_own_provenance_keeps_each_row_once(body: list[tuple[str, list[str]]]) -> None:
    """Two files' rows in one DataFrame with their own row numbers (which repeat across the files)."""
    counter = {"a.xlsx": 1, "b.xlsx": 1}
    records = []
    for file, cells in body:
        counter[file] += 1
        records.append([*cells, file, counter[file]])
    if not records:
        return
    ledger = fundaudit.load("disbursements", pd.DataFrame(records, columns=[*HEADER, "file", "row"]))
    expected = {(str(rec[4]), "", int(rec[5])) for rec in records}
    assert assert_each_row_once(ledger) == expected


def test_samples_keep_each_row_once() -> None:
    from pathlib import Path

    samples = Path(__file__).resolve().parents[1] / "samples"
    for kind, name in (("disbursements", "disbursements_2016.xlsx"), ("dues", "dues_2016.xls"),
                       ("register", "register_2016.csv")):
        ledger = fundaudit.load(kind, samples / name)
        assert len(assert_each_row_once(ledger)) == sum(i.rows_read for i in ledger.inputs)


_HOSTILE = st.one_of(
    st.sampled_from(["", " ", "合计", "小计", "制表人：孙七", "姓名", "金额", "—", "#N/A", "100 200", "1 2 3", "12.345",
                     "37.019999999999996", "¥1,234.50", "（5）", "1e500", "34100319800101001X", "2016-02-30"]),
    st.text(alphabet=st.sampled_from(list("0123456789 .,-¥元万合计张李\u3000\xa0\u2009\t=+@")), max_size=12),
)


@given(st.lists(st.lists(_HOSTILE, min_size=4, max_size=4), min_size=1, max_size=30))
def test_hostile_cells_keep_each_row_once(body: list[list[str]]) -> None:
    """Whatever the cells hold (totals, repeated headers, malformed amounts, spaces, flags), every row is loaded,
    rejected whole or non-data exactly once, and the counts reconcile."""
    ledger = fundaudit.load("disbursements", pd.DataFrame(body, columns=HEADER))
    [s] = ledger.inputs
    assert s.conserved
    assert len(assert_each_row_once(ledger)) == s.rows_read == len(body)


# --- a second table stacked below the first (reliability.md C13) -------------------------------------------

OTHER_HEADER = ["工作单位", "", "金额（元）", ""]


@given(st.lists(st.one_of(good, bad_amount, blank, total, repeat, note, st.just(list(OTHER_HEADER))),
                min_size=1, max_size=30))
def test_a_stacked_table_is_non_data_up_to_a_repeat_of_the_header(body: list[list[str]]) -> None:
    """From another table's header row up to a repeat of the ledger's own header every row is ``other_table``
    (never loaded, never dropped); both classifiers (Arrow and pandas) agree on every row."""
    from fundaudit.io import read_grids
    from fundaudit.layout import _classify_rows_general, classify_rows, find_header

    df = pd.DataFrame(body, columns=HEADER)
    ledger = fundaudit.load("disbursements", df)
    expected, inside = set(), False
    for row, cells in enumerate(body, start=2):
        inside = (inside or cells == OTHER_HEADER) and cells != HEADER
        if inside:
            expected.add(row)
    assert set(ledger.non_data.loc[ledger.non_data["type"] == "other_table", "row"]) == expected
    assert len(assert_each_row_once(ledger)) == ledger.inputs[0].rows_read == len(body)
    [grid] = read_grids(df)
    layout = find_header(grid, "disbursements")
    assert classify_rows(grid, layout).tolist() == _classify_rows_general(grid, layout).tolist()


@given(st.lists(st.text(max_size=4), max_size=12), st.integers(0, 3))
def test_first_character_decoded_with_numpy_is_pythons(texts: list[str], cut: int) -> None:
    """layout's numpy UTF-8 decoding of each cell's first character (BMP; 0xFFFF for empty or astral)."""
    import numpy as np
    import pyarrow as pa

    from fundaudit.layout import _first_char

    arr = pa.array(texts, type=pa.large_string()).slice(min(cut, len(texts)))
    want = [ord(t[0]) if t and ord(t[0]) < 0x10000 else 0xFFFF for t in texts[min(cut, len(texts)):]]
    assert _first_char(arr).tolist() == want
    rows = np.arange(len(want))[::-1].copy()
    assert _first_char(arr, rows).tolist() == want[::-1]
