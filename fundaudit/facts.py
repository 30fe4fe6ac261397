"""The facts rules read beside a canonical frame's own columns, derived from it in one place whatever holds the
table (pandas, an on-disk DuckDB table filled batch by batch, a Spark partition): each row's id (``_rid``),
whether it belongs to the audit period (``_in_period``), and per column the checks of its values
(``<col>__status``, ``__birth`` for resident IDs; ``__key`` for names and addresses; ``__status``, ``__org_ok``
for taxpayer IDs). Every step is vectorised and row-local, so a table derived in batches equals the table
derived whole."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from fundaudit.columns import catalogue
from fundaudit.normalize import address_key, name_key, resident_id_facts, taxpayer_id_facts
from fundaudit.period import Period

__all__ = ["IN_PERIOD", "ROW_ID", "add_facts", "in_period"]

ROW_ID = "_rid"  # a row's id in its table: its position (0-based) in the table as loaded
IN_PERIOD = "_in_period"


def add_facts(kind: str, frame: pd.DataFrame, period: Period | None = None, *, start: int = 0) -> pd.DataFrame:
    """``frame`` (canonical columns of ``kind``) with its row ids (``start``, ``start + 1``, …), in-period flags and
    derived facts added; ``frame`` itself is left as it is (a shallow copy gains the columns)."""
    df = frame.copy(deep=False)
    df[ROW_ID] = np.arange(start, start + len(df), dtype="int64")
    df[IN_PERIOD] = in_period(kind, df, period)
    for name, spec in catalogue()[kind].columns.items():
        if name not in df.columns:
            continue
        if spec.type == "resident_id" and not {f"{name}__status", f"{name}__birth"} <= set(df.columns):
            facts = resident_id_facts(df[name])  # a frame from fundaudit.load already has them
            df[f"{name}__status"] = facts["status"].to_numpy()
            df[f"{name}__birth"] = facts["birth_date"].to_numpy()
        elif spec.type == "name":
            df[f"{name}__key"] = name_key(df[name]).to_numpy()
        elif name == "address":
            df[f"{name}__key"] = address_key(df[name]).to_numpy()
        elif spec.type == "taxpayer_id":
            facts = taxpayer_id_facts(df[name])
            df[f"{name}__status"] = facts["status"].to_numpy()
            df[f"{name}__org_ok"] = facts["org_code_valid"].astype("boolean").to_numpy()
    return df


def in_period(kind: str, df: pd.DataFrame, period: Period | None) -> np.ndarray:
    """Which rows of ``kind`` belong to the audit period: dues whose 所属期 overlaps it (else the
    treasury or payment date), disbursements paid in it; register and reference rows always."""
    n = len(df)
    if period is None:
        return np.ones(n, dtype=bool)
    start, end = pd.Timestamp(period.start), pd.Timestamp(period.end)
    if kind == "dues":
        if "period_start" in df and "period_end" in df:
            s, e = df["period_start"], df["period_end"]
            known = s.notna() & e.notna()
            inside = (s <= end) & (e >= start)
            fallback = _date_in(df, ("treasury_date", "payment_date", "filing_date"), start, end)
            return np.where(known, inside, fallback)
        return _date_in(df, ("treasury_date", "payment_date", "filing_date"), start, end)
    if kind == "disbursements":
        return _date_in(df, ("payment_date", "approval_date"), start, end)
    return np.ones(n, dtype=bool)


def _date_in(df: pd.DataFrame, columns: Sequence[str], start: pd.Timestamp, end: pd.Timestamp) -> np.ndarray:
    for c in columns:
        if c in df:
            d = df[c]
            return np.asarray(d.isna() | ((d >= start) & (d <= end)), dtype=bool)
    return np.ones(len(df), dtype=bool)
