"""The raw text grid every reader produces, the limits readers enforce, and the helpers that build grids."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from fundaudit.errors import LimitExceededError, note

__all__ = ["DEFAULT_LIMITS", "Grid", "Limits"]


@dataclass(frozen=True)
class Limits:
    """Upper bounds a reader enforces before and while parsing; exceeding one raises ``limit_exceeded`` with the
    limit's name (``max_cells = 50,000,000``).

    Workbook limits are checked from the file's own structure before the reader allocates anything in
    proportion to them: for an ``.xlsx`` the largest cell reference actually present in each sheet's XML (never
    ``<dimension>``, which can lie) gives ``max_rows``, ``max_columns`` and ``max_cells`` (rows × columns of the
    used range, what a dense reader allocates), and the shared strings the cells refer to give
    ``max_shared_text_bytes`` (the text they expand to). ``max_compression_ratio`` applies to each zip member of
    an ``.xlsx`` that expands to more than ``ratio_floor_bytes`` (small parts such as ``styles.xml`` compress
    far better than 200:1 and are harmless).
    """

    max_file_bytes: int = 1 << 30
    max_uncompressed_bytes: int = 2 << 30
    max_compression_ratio: float = 200.0
    max_rows: int = 5_000_000
    max_columns: int = 1_000
    max_cell_chars: int = 32_767
    max_zip_members: int = 10_000
    ratio_floor_bytes: int = 1 << 20
    max_cells: int = 50_000_000
    max_shared_text_bytes: int = 1 << 30

    def exceeded(self, name: str, *, file: str, what: str) -> LimitExceededError:
        """The ``limit_exceeded`` error for limit ``name`` (a field of this class): the message names the limit
        and its value, so the user knows which ``Limits`` field to raise."""
        value = getattr(self, name)
        shown = f"{value:,}" if isinstance(value, int) else f"{value:g}:1"  # the one float is a ratio
        if name.endswith("_bytes") and isinstance(value, int) and value >= 1 << 20:
            shown = f"{value / (1 << 20):,.0f} MiB"
        return LimitExceededError("limit_exceeded", file=file, limit=f"{name} = {shown}", what=what)


DEFAULT_LIMITS = Limits()


@dataclass
class Grid:
    """One worksheet (or one CSV/parquet file, or one DataFrame) as a grid of text, with provenance.

    ``cells`` holds every cell as text (pandas ``str`` dtype, ``''`` for an empty cell, never NaN); its
    columns are the positions ``0..n-1``. For ``.xls``/``.xlsx`` column ``j`` is Excel column ``j + 1`` (A =
    0) and ``cells`` starts at Excel row 1, so leading empty rows and columns are kept. ``rows[i]`` is the row
    number the user sees for ``cells`` row ``i``: the 1-based Excel row, or for CSV the 1-based physical line
    on which the record starts (the header line counts; blank lines are kept as rows of ``''``). For parquet
    and DataFrames row 0 of ``cells`` holds the column names (``named_columns``) and ``rows`` is ``1, 2, 3…``
    as if the table had been exported to CSV.

    Row conservation: every record of the source is either a row of ``cells`` or an entry of ``rejected`` (CSV
    records with more fields than the file's width, reason ``csv_ragged``); so ``records_read = len(cells) +
    len(rejected)`` and the row numbers of ``rejected`` are absent from ``rows``. ``rejected`` entries are
    ``{"row", "reason", "value" (the raw record, at most 200 characters), "column": None, "found",
    "expected"}``.

    ``short_fields`` (CSV only) lists the records below the header with fewer fields than ``cells`` has
    columns, by row number, with how many fields each had: they were padded with ``''``, and a padded field
    was never in the file (the loader rejects a row whose amount is one, ``csv_short``).

    ``merged`` lists merged ranges as inclusive 0-based ``(first_row, last_row, first_col, last_col)``
    positions into ``cells``, clipped to its shape. ``hidden_rows`` lists user-visible row numbers of hidden
    rows (they are still in ``cells``: a filter left on in Excel must not shrink the population). ``notes``
    are plain-language lines for the run log (format detected, encoding, tolerance used, what was fixed).
    """

    file: str
    sheet: str | None
    cells: pd.DataFrame
    rows: np.ndarray
    format: str
    sha256: str | None
    encoding: str | None = None
    datemode: int = 0
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)
    hidden: bool = False
    hidden_rows: list[int] = field(default_factory=list)
    named_columns: bool = False
    notes: list[str] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    short_fields: pd.Series = field(default_factory=lambda: pd.Series([], dtype="int64"))

    @property
    def where(self) -> str:
        """``file`` or ``file [sheet]``, for messages."""
        return self.file if self.sheet is None else f"{self.file} [{self.sheet}]"


# --- building helpers (used by the readers) -------------------------------------------------------------

TextColumn: TypeAlias = Sequence[str] | np.ndarray | pa.Array | pa.ChunkedArray


def text_series(col: TextColumn) -> pd.Series:
    """One column of text as a pandas ``str`` Series (pyarrow-backed)."""
    if isinstance(col, pa.ChunkedArray | pa.Array):
        return pd.Series(pd.array(col, dtype="str"))
    if isinstance(col, np.ndarray):
        return pd.Series(col, dtype="str")
    return pd.Series(np.asarray(col, dtype=object), dtype="str")


def arrow_of(series: pd.Series) -> pa.ChunkedArray:
    """The pyarrow data behind a ``str`` Series (zero-copy)."""
    arr = pa.array(series.array)
    return arr if isinstance(arr, pa.ChunkedArray) else pa.chunked_array([arr])


def make_cells(columns: Sequence[TextColumn], nrows: int) -> pd.DataFrame:
    """A ``cells`` frame from text columns (all of length ``nrows``); columns are named ``0..n-1``."""
    if not columns:
        return pd.DataFrame(index=pd.RangeIndex(nrows))
    frame = pd.DataFrame({j: text_series(col) for j, col in enumerate(columns)})
    frame.index = pd.RangeIndex(nrows)
    return frame


def scatter_cells(rows_at: np.ndarray, cols_at: np.ndarray, texts: np.ndarray, nrows: int, ncols: int) -> pd.DataFrame:
    """A ``cells`` frame of ``nrows`` × ``ncols`` from the cells a reader met (0-based row and column of each,
    and its text; ``''`` elsewhere), built from the cells present, not from the box: one sort by column, then
    each column its texts taken into place over ``''``."""
    order = np.argsort(cols_at, kind="stable")
    bounds = np.searchsorted(cols_at[order], np.arange(ncols + 1))
    columns = []
    for j in range(ncols):
        at = order[bounds[j] : bounds[j + 1]]
        index = np.zeros(nrows, dtype=np.int64)
        index[rows_at[at]] = np.arange(1, len(at) + 1)
        column = pa.array(["", *texts[at]], type=pa.large_string())
        columns.append(column.take(pa.array(index)))
    return make_cells(columns, nrows)


def strip_nuls_and_check(
    cells: pd.DataFrame,
    rows: np.ndarray,
    *,
    file: str,
    where: str,
    limits: Limits,
    notes: list[str],
    nuls: bool = True,
) -> pd.DataFrame:
    """Remove NUL characters (with a note; ``nuls=False`` when the reader already removed them) and enforce
    ``max_cell_chars``; returns the (possibly new) frame."""
    nul_cells = 0
    for j in cells.columns:
        arr = arrow_of(cells[j])
        if len(arr) == 0:
            continue
        count = (pc.sum(pc.match_substring(arr, "\x00")).as_py() or 0) if nuls else 0
        if count:
            nul_cells += count
            cells[j] = pd.Series(pd.array(pc.replace_substring(arr, "\x00", ""), dtype="str"), index=cells.index)
            arr = arrow_of(cells[j])
        if (pc.max(pc.binary_length(arr)).as_py() or 0) <= limits.max_cell_chars:
            continue  # no cell has more bytes, so none has more characters, than the limit
        lengths = pc.utf8_length(arr)
        longest = pc.max(lengths).as_py() or 0
        if longest > limits.max_cell_chars:
            i = int(np.argmax(lengths.to_numpy(zero_copy_only=False)))
            raise limits.exceeded(
                "max_cell_chars",
                file=file,
                what=f"{where}: row {int(rows[i])}, column {column_letter(int(j))} has {longest} characters",
            )
    if nul_cells:
        notes.append(note("nul_cells_removed", count=nul_cells))
    return cells


def check_extent(nrows: int, ncols: int, *, file: str, where: str, limits: Limits) -> None:
    """A sheet's used range (``nrows`` × ``ncols``) against ``max_rows``, ``max_columns`` and ``max_cells``, before
    any reader allocates its grid; ``where`` names the sheet in the message."""
    if nrows > limits.max_rows:
        raise limits.exceeded("max_rows", file=file, what=f"{where} has {nrows:,} rows")
    if ncols > limits.max_columns:
        raise limits.exceeded("max_columns", file=file, what=f"{where} has {ncols:,} columns")
    if nrows * ncols > limits.max_cells:
        raise limits.exceeded(
            "max_cells",
            file=file,
            what=f"{where} has cells down to row {nrows:,} and out to column {column_letter(ncols - 1)}: "
            f"a used range of {nrows:,} × {ncols:,} = {nrows * ncols:,} cells",
        )


def check_cells_together(used: int, sheets: int, *, file: str, limits: Limits) -> None:
    """Refuse a workbook whose sheets hold more than ``max_cells`` cells together (their used ranges, counted
    before each is built): every sheet's grid is kept until the whole workbook is read."""
    if used > limits.max_cells:
        what = f"its {sheets} worksheets have used ranges of {used:,} cells together"
        raise limits.exceeded("max_cells", file=file, what=what)


def number_ranges(numbers: Iterable[int] | np.ndarray, *, most: int | None = None) -> str:
    """``3, 7-9, 12`` from row or line numbers (sorted and made unique here); with ``most``, at most that many
    ranges and then ``…``."""
    a = np.unique(np.asarray(list(numbers) if not isinstance(numbers, np.ndarray) else numbers, dtype=np.int64))
    if not len(a):
        return ""
    gap = np.diff(a) != 1
    starts, ends = a[np.r_[True, gap]], a[np.r_[gap, True]]
    shown = zip(starts[:most].tolist(), ends[:most].tolist(), strict=True)
    parts = [str(s) if s == e else f"{s}-{e}" for s, e in shown]
    return ", ".join(parts) + (", …" if most is not None and len(starts) > most else "")


def column_letter(j: int) -> str:
    """Excel column letters for 0-based position ``j`` (0 → A, 27 → AB)."""
    letters = ""
    j += 1
    while j:
        j, rem = divmod(j - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def clip_merged(ranges: Sequence[tuple[int, int, int, int]], nrows: int, ncols: int) -> list[tuple[int, int, int, int]]:
    """Merged ranges clipped to the grid; ranges lying wholly outside it are dropped."""
    out: list[tuple[int, int, int, int]] = []
    for r0, r1, c0, c1 in sorted(set(ranges)):
        if r0 >= nrows or c0 >= ncols or r1 < r0 or c1 < c0:
            continue
        out.append((r0, min(r1, nrows - 1), c0, min(c1, ncols - 1)))
    return out


@contextlib.contextmanager
def warnings_as_notes(notes: list[str], engine: str) -> Iterator[None]:
    """Collect a third-party reader's warnings as run-log notes instead of letting them reach the caller."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    seen: set[str] = set()
    for w in caught:
        text = str(w.message).strip()
        if text not in seen:
            seen.add(text)
            notes.append(note("engine_warning", engine=engine, text=text))
