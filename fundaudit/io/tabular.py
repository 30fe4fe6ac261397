"""Typed tables — parquet files and in-memory pandas DataFrames — into text grids.

Row 0 of ``cells`` holds the column names (``named_columns=True``) and ``rows`` counts the header as row 1, as
if the table had been exported to CSV. Values become text exactly: integers and decimals keep every digit (a
``decimal128(18,2)`` 1234.5 is ``'1234.50'``), floats follow the shared float rule, tz-aware timestamps are
shown in Asia/Shanghai (a payment at 00:30 Beijing time stored as UTC must not land on the previous day),
missing values (null, NaN, NaT, NA) are ``''``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from fundaudit.errors import FundauditError, UnreadableFileError, note
from fundaudit.io._text import (
    datetime64_text,
    floats_text,
    time_text,
    timedelta_text,
    value_text,
    values_text,
)
from fundaudit.io.grid import Grid, Limits, make_cells, strip_nuls_and_check, warnings_as_notes

__all__ = ["arrow_grid", "check_parquet_shape", "read_frame", "read_parquet"]

_ID_LIKE = re.compile(
    r"身份|证件|证号|账号|帐号|卡号|代码|编号|号码|税号|(?:^|_)(?:id|no)(?:$|_)|id_?no|account|card|uscc|taxpayer",
    re.IGNORECASE,
)
_ID_MAGNITUDE = 1e14


def read_parquet(path: Path, *, file: str, ext: str, limits: Limits, sha256: str, notes: list[str]) -> Grid:
    """Read a parquet file into one :class:`Grid`."""
    notes = list(notes)
    try:
        pf = pq.ParquetFile(path)
        n_rows, n_cols = pf.metadata.num_rows, len(pf.schema_arrow)
        _check(n_rows + 1, n_cols, file=file, limits=limits)
        with warnings_as_notes(notes, "pyarrow"):
            table = pf.read()
    except FundauditError:
        raise
    except (KeyboardInterrupt, SystemExit, MemoryError):
        raise
    except Exception as exc:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        code = "truncated" if any(w in text.lower() for w in ("footer", "magic", "eof", "size")) else "unreadable"
        raise UnreadableFileError(code, file=file, what=f"parquet: {text[:200]}", ext=ext or "(none)") from exc
    notes.append(note("parquet_rows", rows=n_rows))
    return arrow_grid(table, file=file, sha256=sha256, limits=limits, notes=notes)


def arrow_grid(table: pa.Table | pa.RecordBatch, *, file: str, sha256: str | None, limits: Limits, notes: list[str],
               first_row: int = 2) -> Grid:
    """Typed parquet columns (a whole file's table, or one batch of it) as a text grid: the column names as row 1,
    the rows numbered from ``first_row`` (2 for a whole file; a batch starting at data row ``k`` of its file,
    0-based, has ``k + 2``). The one home of "arrow columns to text cells" for parquet, whether a file is read
    whole (:func:`read_parquet`) or batch by batch (:mod:`fundaudit.scan`)."""
    names = [str(n) for n in table.column_names]
    columns = [_arrow_text(table.column(j), names[j], notes, source="source.parquet") for j in range(table.num_columns)]
    return _grid(names, columns, table.num_rows, file=file, fmt="parquet", sha256=sha256, limits=limits, notes=notes,
                 first_row=first_row)


def check_parquet_shape(n_rows: int, n_cols: int, *, file: str, limits: Limits, rows_bound: bool = True) -> None:
    """A parquet file's size from its footer against the limits, before any data is read; ``rows_bound=False``
    for a file scanned out of core (``max_rows`` protects pandas memory, which such a file never fills)."""
    _check(n_rows + 1 if rows_bound else 0, n_cols, file=file, limits=limits)


def read_frame(frame: pd.DataFrame, *, name: str | None, limits: Limits) -> Grid:
    """Convert an in-memory DataFrame into one :class:`Grid` (``format='dataframe'``)."""
    file = name if name is not None else "<DataFrame>"
    notes: list[str] = []
    _check(len(frame) + 1, frame.shape[1], file=file, limits=limits)
    if not isinstance(frame.index, pd.RangeIndex) or frame.index.name is not None:
        notes.append(note("dataframe_index_ignored"))
    names = [_column_name(c) for c in frame.columns]
    columns = []
    for j in range(frame.shape[1]):
        columns.append(_series_text(frame.iloc[:, j], names[j], notes))
    return _grid(names, columns, len(frame), file=file, fmt="dataframe", sha256=None, limits=limits, notes=notes)


def _check(nrows: int, ncols: int, *, file: str, limits: Limits) -> None:
    if nrows > limits.max_rows:
        raise limits.exceeded("max_rows", file=file, what=f"{file} has {nrows:,} rows")
    if ncols > limits.max_columns:
        raise limits.exceeded(
            "max_columns", file=file, what=f"{file} has {ncols:,} columns"
        )


def _column_name(c: Any) -> str:
    if isinstance(c, tuple):
        return "/".join(value_text(x, excel=False) for x in c if value_text(x, excel=False))
    return value_text(c, excel=False)


def _grid(
    names: list[str],
    columns: list[pa.Array | np.ndarray],
    n: int,
    *,
    file: str,
    fmt: str,
    sha256: str | None,
    limits: Limits,
    notes: list[str],
    first_row: int = 2,
) -> Grid:
    full = []
    for name, col in zip(names, columns, strict=True):
        arr = col if isinstance(col, pa.Array | pa.ChunkedArray) else pa.array(col, type=pa.large_string())
        chunks = arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]
        full.append(
            pa.chunked_array(
                [pa.array([name], type=pa.large_string()), *(c.cast(pa.large_string()) for c in chunks)],
                type=pa.large_string(),
            )
        )
    rows = np.concatenate(([1], np.arange(first_row, first_row + n, dtype=np.int64))).astype(np.int64)
    cells = make_cells(full, n + 1)
    cells = strip_nuls_and_check(cells, rows, file=file, where=file, limits=limits, notes=notes)
    return Grid(
        file=file,
        sheet=None,
        cells=cells,
        rows=rows,
        format=fmt,
        sha256=sha256,
        encoding=None,
        named_columns=True,
        notes=notes,
    )


def _series_text(s: pd.Series, name: str, notes: list[str]) -> pa.Array | pa.ChunkedArray | np.ndarray:
    if s.dtype == object:
        return values_text(s.to_numpy(), excel=False)
    try:
        arr = pa.array(s.array) if isinstance(s.dtype, pd.ArrowDtype) else pa.Array.from_pandas(s)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError, ValueError):
        return values_text(s.astype(object).to_numpy(), excel=False)
    return _arrow_text(arr, name, notes, source="source.dataframe")


def _arrow_text(
    arr: pa.Array | pa.ChunkedArray, name: str, notes: list[str], source: str
) -> pa.Array | pa.ChunkedArray | np.ndarray:
    """One typed column as text (an arrow string array or an object array of ``str``)."""
    t = arr.type
    if pa.types.is_dictionary(t):
        arr = arr.cast(t.value_type)
        t = arr.type
    if pa.types.is_null(t):
        return np.full(len(arr), "", dtype=object)
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return pc.fill_null(arr.cast(pa.large_string()), "")
    if pa.types.is_boolean(t):
        return pc.fill_null(pc.if_else(arr, "TRUE", "FALSE"), "")
    if pa.types.is_integer(t):
        _note_id_like(arr, name, t, notes, source)
        return pc.fill_null(pc.cast(arr, pa.large_string()), "")
    if pa.types.is_floating(t):
        _note_id_like(arr, name, t, notes, source)
        values = arr.to_numpy(zero_copy_only=False).astype(np.float64)
        out = floats_text(values)
        out[np.isnan(values)] = ""  # null or NaN: a missing value
        return out
    if pa.types.is_decimal(t):
        return pc.fill_null(pc.cast(arr, pa.large_string()), "")
    if pa.types.is_timestamp(t):
        if t.tz is not None:
            local = arr.to_pandas().dt.tz_convert("Asia/Shanghai").dt.tz_localize(None)
            if t.tz not in ("Asia/Shanghai", "Asia/Chongqing", "PRC", "+08:00"):
                notes.append(note("column_timezone", column=name, tz=t.tz))
            return datetime64_text(local.to_numpy())
        return datetime64_text(arr.to_numpy(zero_copy_only=False))
    if pa.types.is_date(t):
        return datetime64_text(arr.to_numpy(zero_copy_only=False).astype("datetime64[D]"))
    if pa.types.is_time(t):
        return np.array([("" if v is None else time_text(v, excel=False)) for v in arr.to_pylist()], dtype=object)
    if pa.types.is_duration(t):
        return np.array([("" if v is None else timedelta_text(v)) for v in arr.to_pylist()], dtype=object)
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
        try:
            return pc.fill_null(arr.cast(pa.large_string()), "")
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            notes.append(note("column_binary_hex", column=name))
            return np.array([("" if v is None else v.hex()) for v in arr.to_pylist()], dtype=object)
    notes.append(note("column_nested", column=name, type=str(t)))
    return np.array([("" if v is None else str(v)) for v in arr.to_pylist()], dtype=object)


def _note_id_like(arr: pa.Array | pa.ChunkedArray, name: str, t: pa.DataType, notes: list[str], source: str) -> None:
    big = False
    if len(arr) and arr.null_count < len(arr):
        biggest = pc.max(pc.abs(arr)).as_py()
        big = biggest is not None and abs(float(biggest)) >= _ID_MAGNITUDE
    if big or _ID_LIKE.search(name):
        notes.append(note("column_numeric_id", column=name, type=str(t), source=note(source)))
