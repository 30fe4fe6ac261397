"""The report writers' fast paths agree with the plain definitions they replace: findings.json's
hand-indented encoder with ``json.dumps(_clean(v), indent=2)``, and the spreadsheet guard's regex with
the startswith rule."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from fundaudit.report.excel import _DANGEROUS, MAX_CELL, neutralise
from fundaudit.report.json import _clean, _dumps

VALUES: list[Any] = [
    "plain", "", "引号\"与\\反斜杠", "ctl\x01\x1f\u2028", 0, -7, 2**70, 1.5, -0.0, 1e300, math.nan, None, True,
    False, np.int64(3), np.float64(2.5), np.float64("nan"), np.bool_(True), pd.NA, (1, "a"), [], {},
    {"a": 1, "b": [1, {"c": None}], "d": {}}, {2: "int key", None: "none key", True: "bool key", 1.5: "float key"},
    [{"file": "a.xlsx", "sheet": None, "row": 12}, {"file": "b.csv", "row": np.int64(3)}],
    {"nested": [[1, [2, [3, {"x": (4, math.nan)}]]]], "empty": [[], {}]},
]


@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
@pytest.mark.parametrize("level", [0, 1, 3])
def test_dumps_matches_json_dumps(value: Any, level: int) -> None:
    expected = json.dumps(_clean(value), ensure_ascii=False, indent=2, allow_nan=False)
    assert _dumps(value, level) == expected.replace("\n", "\n" + "  " * level)


@pytest.mark.parametrize("value", [math.inf, [1, -math.inf], {"a": math.inf}])
def test_dumps_refuses_infinity_like_json_dumps(value: Any) -> None:
    with pytest.raises(ValueError):
        _dumps(value, 1)


def _reference(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    text = value[:MAX_CELL]
    stripped = text.lstrip(" \u3000")
    return "'" + text if stripped.startswith(_DANGEROUS) or text.startswith(_DANGEROUS) else text


@pytest.mark.parametrize("text", [
    "", " ", "\u3000", "a=b", "=1", " =1", "\u3000 \u3000+1", "-", "@x", "\t1", "\r", "\n", "\0", "＝",
    "＋", "－", "＠", " \u3000＠", "  a", "x" * (MAX_CELL + 5), "=" + "x" * MAX_CELL, "\u00a0=1", 3, None, 1.5,
])
def test_neutralise_matches_the_startswith_rule(text: Any) -> None:
    assert neutralise(text) == _reference(text)
