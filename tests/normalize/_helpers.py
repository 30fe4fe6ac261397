"""Shared helpers for the normaliser tests."""

from __future__ import annotations

from typing import Any

import pandas as pd
from hypothesis import HealthCheck, settings

from fundaudit.normalize import Parsed

#: Local Hypothesis settings (tests/conftest.py belongs to another part of the suite).
PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def one(parse: Any, raw: str | None, **kwargs: Any) -> tuple[Any, str | None]:
    """Parse a single cell; return (value or None when missing, reason)."""
    result: Parsed = parse(pd.Series([raw], dtype="str"), **kwargs)
    value = result.values.iloc[0]
    return (None if pd.isna(value) else value), result.reason.iloc[0]


def column(values: list[str]) -> pd.Series:
    """A ``str`` Series with a non-default index, to catch index and order bugs."""
    return pd.Series(values, dtype="str", index=pd.RangeIndex(100, 100 + 3 * len(values), 3))
