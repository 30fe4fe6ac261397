"""Canonical frames as pandera ``DataFrameModel`` classes, one per input kind, generated from the
column catalogue so the two cannot drift.

Canonical dtypes: money and whole numbers ``Int64`` (money in integer fen, 分), rates ``Float64``
(fractions: 2% is 0.02), dates ``datetime64[ns]`` at midnight, yes/no ``boolean``, everything else
text (pandas ``str``). Every frame also carries its provenance: ``file``, ``sheet`` (empty for CSV,
parquet and DataFrames) and ``row`` (the row number the user sees, CONTRACT.md §2).

pandera is imported on first use, not at ``import fundaudit``.
"""

from __future__ import annotations

import contextlib
import functools
import warnings
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from fundaudit.columns import ColumnType, catalogue

if TYPE_CHECKING:
    import pandera.pandas as pa

__all__ = ["CANONICAL_DTYPES", "PROVENANCE", "model", "validate"]

TEXT = pd.StringDtype("pyarrow", na_value=np.nan)
CANONICAL_DTYPES: dict[ColumnType, Any] = {
    "text": TEXT, "name": TEXT, "code": TEXT, "enum": TEXT, "period": TEXT,
    "resident_id": TEXT, "taxpayer_id": TEXT, "account": TEXT, "phone": TEXT,
    "money": pd.Int64Dtype(), "int": pd.Int64Dtype(), "rate": pd.Float64Dtype(),
    "date": np.dtype("datetime64[ns]"), "bool": pd.BooleanDtype(),
}
PROVENANCE = ("file", "sheet", "row")


@contextlib.contextmanager
def _quiet_pyspark() -> Iterator[None]:
    """pandera imports ``pyspark.pandas`` whenever pyspark is installed (``fundaudit[spark]``): on import and
    again each time it builds a model. Under pandas 3 that module warns, then fails to import (pandera carries
    on without it); fundaudit never uses pandas-on-Spark (its Spark engine runs Spark SQL), so the warning is
    noise to a user and an error under ``-W error``."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="PySpark does not yet fully support", category=FutureWarning)
        yield


@functools.cache
def model(kind: str) -> type[pa.DataFrameModel]:
    """The pandera DataFrameModel of ``kind``'s canonical frame.

    Every catalogue column is optional (an export may lack it; rules that need it are skipped) and
    nullable; a present column must have its canonical dtype. Provenance columns are required and
    ``row`` is positive.
    """
    with _quiet_pyspark():
        return _model(kind)


def _model(kind: str) -> type[pa.DataFrameModel]:
    import pandera.pandas as pa
    from pandera.typing import Series

    spec = catalogue()[kind]
    annotations: dict[str, Any] = {
        "file": Series[TEXT],  # type: ignore[valid-type]
        "sheet": Series[TEXT],  # type: ignore[valid-type]
        "row": Series[np.int64],
    }
    attrs: dict[str, Any] = {
        "file": pa.Field(nullable=False),
        "sheet": pa.Field(nullable=True),
        "row": pa.Field(gt=0),
    }
    for name, col in spec.columns.items():
        dtype = CANONICAL_DTYPES[col.type]
        annotations[name] = Series[dtype]  # type: ignore[valid-type]
        attrs[name] = pa.Field(nullable=True)
    if spec.amount:
        attrs[spec.amount] = pa.Field(nullable=True)

    class Config:
        strict = False  # derived columns (check results, match keys) may be added downstream
        coerce = False
        name = f"{kind} canonical frame"

    attrs["__annotations__"] = annotations
    attrs["Config"] = Config
    attrs["__doc__"] = f"Canonical frame of {kind}: {spec.title_en} ({spec.title_zh})."
    cls_name = "".join(p.capitalize() for p in kind.split("_")) + "Frame"
    return type(cls_name, (pa.DataFrameModel,), attrs)


def validate(kind: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Validate a canonical frame; columns absent from the export are allowed."""
    present = [c for c in frame.columns if c in catalogue()[kind].columns or c in PROVENANCE]
    with _quiet_pyspark():
        schema = model(kind).to_schema()
        schema = schema.remove_columns([c for c in schema.columns if c not in present])
        return schema.validate(frame, lazy=True)
