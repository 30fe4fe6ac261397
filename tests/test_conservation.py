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
