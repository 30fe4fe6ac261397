"""What every normaliser promises: index and order kept, any text dtype accepted, known reason codes,
whole-column (not row-by-row) speed."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
import pytest

import fundaudit.normalize as nz
from fundaudit.errors import catalogue

PARSERS: dict[str, Callable[[pd.Series], nz.Parsed]] = {
    "money": nz.parse_money,
    "rate": nz.parse_rate,
    "int": nz.parse_int,
    "date": nz.parse_date,
    "period": nz.parse_period,
    "id": nz.clean_id,
    "taxpayer": nz.clean_taxpayer_id,
    "account": nz.clean_account,
    "phone": nz.clean_phone,
    "bool": nz.parse_bool,
    "enum": partial(nz.parse_enum, synonyms={"是": "yes"}, strict=True),
}
SERIES_FUNCS: dict[str, Callable[[pd.Series], Any]] = {
    "clean_text": nz.clean_text,
    "name_key": nz.name_key,
    "address_key": nz.address_key,
    "luhn": nz.luhn_valid,
    "upgrade": nz.upgrade_15_to_18,
    "length": partial(nz.check_length, limit=5),
    "ric_facts": nz.resident_id_facts,
    "uscc_facts": nz.taxpayer_id_facts,
    "format_fen": lambda s: nz.format_fen_series(nz.parse_money(s).values),
}
MIXED = [
    "¥1,234.50",
    "2016-03-01",
    "42430",
    "11010519491231002X",
    "91350100M000100Y43",
    "6222 0202 0011 2233 445",
    "是",
    "2%",
    "",
    "—",
    "#DIV/0!",
    "1.10101199003078E+17",
    "abc",
    "张　三",
    "\u3000",
    "2016年3月",
    "01/03/2016",
    "inf",
    "1e500",
    "2016-02-30",
    "0216-03-01",
    "3.5",
    "+86 138-0013-8000",
]


def _inputs() -> list[pd.Series]:
    index = pd.Index([7, 3, 3, 99] * 6)[: len(MIXED)]  # unsorted and not unique
    return [
        pd.Series(MIXED, dtype="str", index=index),
        pd.Series(MIXED, dtype=object, index=index),
        pd.Series([*MIXED[:-2], None, float("nan")], dtype=object, index=index),
        pd.Series(MIXED, dtype="string", index=index),
    ]


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_parsed_shape(name: str) -> None:
    reasons = set(catalogue()["reasons"])
    for s in _inputs():
        result = PARSERS[name](s)
        assert isinstance(result, nz.Parsed)
        assert result.values.index.equals(s.index)
        assert result.reason.index.equals(s.index)
        assert result.reason.dtype == object
        codes = set(result.reason.dropna())
        assert codes <= reasons, codes - reasons
        # a value and a reason never come together
        assert not (result.values.notna() & result.reason.notna()).any()
        # blank cells are missing and have no reason
        blank = s.isna() | (s.astype("str").str.strip() == "")
        assert result.values[blank.to_numpy()].isna().all()
        assert result.reason[blank.to_numpy()].isna().all()


@pytest.mark.parametrize("name", sorted(SERIES_FUNCS))
def test_series_shape(name: str) -> None:
    for s in _inputs():
        out = SERIES_FUNCS[name](s)
        assert out.index.equals(s.index)
        assert len(out) == len(s)


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_empty_input(name: str) -> None:
    result = PARSERS[name](pd.Series([], dtype="str"))
    assert len(result.values) == 0
    assert len(result.reason) == 0


@pytest.mark.parametrize("name", sorted(SERIES_FUNCS))
def test_empty_input_series(name: str) -> None:
    assert len(SERIES_FUNCS[name](pd.Series([], dtype="str"))) == 0


def test_reason_rows_line_up_after_shuffle() -> None:
    s = pd.Series(MIXED * 5, dtype="str")
    shuffled = s.sample(frac=1, random_state=3)
    for parse in PARSERS.values():
        whole = parse(s)
        again = parse(shuffled)
        pd.testing.assert_series_equal(again.values, whole.values.loc[shuffled.index])
        pd.testing.assert_series_equal(again.reason, whole.reason.loc[shuffled.index])


def test_not_a_series() -> None:
    with pytest.raises(TypeError):
        nz.parse_money(["1"])


def test_200k_rows_each() -> None:
    """Every normaliser on 200,000 rows: finishes quickly only if nothing runs row by row."""
    n = 200_000
    rng = np.random.default_rng(0)
    column = pd.Series(np.resize(np.array(MIXED, dtype=object), n), dtype="str")
    unique = pd.Series(rng.integers(0, 10**12, n).astype(str), dtype="str")
    for func in [*PARSERS.values(), *SERIES_FUNCS.values()]:
        for s in (column, unique):
            out = func(s)
            assert len(out.values if isinstance(out, nz.Parsed) else out) == n
