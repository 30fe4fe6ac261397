"""The rows of a sheet as read, kept compressed from loading to the findings (a finding's evidence).

A finding quotes the source rows it rests on, cell by cell, as the user sees them in Excel. Holding the raw
text grid of every input until the findings are built would cost as much memory as the text itself (1.6 GB
on the 2M-row bench), so each sheet's body (every row below the header: data rows and 合计/blank/note rows,
as the loader's text cells after merged-cell fill) is written once, at load, into an in-memory Arrow IPC file
compressed with zstd, in record batches of :data:`BATCH_ROWS` rows (about 7 % of the text's size). Fetching
the few rows the findings cite decompresses only the batches they fall in::

    store = RowsAsRead.build("送温暖.xlsx", "2023", headers, body, rows)
    store.positions("送温暖.xlsx", "2023", np.array([5, 9]))   # -> positions in the store (-1: not there)
    store.frame(positions)                                   # the cells of those rows, columns by header
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd
import pyarrow as pa
from pyarrow import ipc

from fundaudit.io.grid import arrow_of, column_letter

__all__ = ["BATCH_ROWS", "EvidenceRows", "ParquetRows", "RowsAsRead", "display_headers"]

#: Rows per compressed record batch: a fetch decompresses whole batches, so smaller batches cost less per
#: cited row and compress a little worse.
BATCH_ROWS = 65_536

_OPTIONS = ipc.IpcWriteOptions(compression="zstd")


def display_headers(headers: Sequence[str]) -> tuple[str, ...]:
    """The name each column goes by in a row's evidence: its header text as read (trimmed), the column letter
    (``F``) for a blank header, and ``header (F)`` for a header an earlier column already has."""
    out: list[str] = []
    seen: set[str] = set()
    for j, h in enumerate(headers):
        text = str(h).strip()
        name = text or column_letter(j)
        if name in seen:
            name = f"{text} ({column_letter(j)})"
        seen.add(name)
        out.append(name)
    return tuple(out)


class EvidenceRows(Protocol):
    """Where a finding's evidence reads the rows of one sheet as read: :class:`RowsAsRead` (kept compressed in
    memory at load) or :class:`ParquetRows` (re-read from a parquet file scanned out of core)."""

    @property
    def headers(self) -> tuple[str, ...]:
        """The name of each column (:func:`display_headers`)."""

    @property
    def personal(self) -> Mapping[int, str]:
        """Column position -> personal type (``resident_id``, ``account``, ``phone``, ``text``)."""

    @property
    def blank(self) -> frozenset[int]:
        """Positions of the columns whose header is blank."""

    def positions(self, file: str, sheet: str | None, rows: np.ndarray) -> np.ndarray:
        """Where rows ``rows`` of ``file`` / ``sheet`` are in the store (-1 for a row it does not hold)."""

    def frame(self, positions: np.ndarray) -> pd.DataFrame:
        """The cells of the rows at ``positions``, one text column per column of the sheet, at its position."""


@dataclass(frozen=True, eq=False)  # compared and hashed by identity (it holds arrays)
class RowsAsRead:
    """One sheet's body rows as read (text cells, compressed), with the row number of each.

    ``headers`` names the columns (:func:`display_headers`); ``rows[i]`` is the row number of stored row ``i``;
    ``personal`` gives, for the columns mapped to a personal canonical column, that column's type
    (``resident_id``, ``account``, ``phone``, or ``text`` for personal free text), so evidence masks them by
    type. A DataFrame that carries its own provenance keeps each row's (file, sheet) in ``origins`` (an index
    into ``sources``); otherwise every row is ``file`` / ``sheet``. ``blank`` lists the columns whose header is
    blank (named by their letter)."""

    file: str
    sheet: str | None
    headers: tuple[str, ...]
    rows: np.ndarray
    data: pa.Buffer
    batch_starts: np.ndarray
    personal: Mapping[int, str] = field(default_factory=dict)
    sources: tuple[tuple[str, str | None], ...] = ()
    origins: np.ndarray | None = None
    blank: frozenset[int] = frozenset()

    @classmethod
    def build(cls, file: str, sheet: str | None, headers: Sequence[str], body: pd.DataFrame, rows: np.ndarray, *,
              personal: Mapping[int, str] | None = None,
              origin: tuple[Sequence[str], Sequence[str | None]] | None = None) -> RowsAsRead:
        """Compress ``body`` (text columns at positions ``0..n-1``, one row per entry of ``rows``) into a store.

        ``origin`` gives each row's own (file, sheet) when a DataFrame carries its provenance."""
        names = [f"c{j}" for j in range(len(body.columns))]
        columns = [arrow_of(body[c]) for c in body.columns]
        table = pa.Table.from_arrays(columns, names=names) if columns else pa.table({"_": pa.nulls(len(body))})
        sink = pa.BufferOutputStream()
        starts = [0]
        with ipc.new_file(sink, table.schema, options=_OPTIONS) as writer:
            for batch in table.to_batches(max_chunksize=BATCH_ROWS):
                if batch.num_rows:
                    writer.write_batch(batch)
                    starts.append(starts[-1] + batch.num_rows)
        sources: tuple[tuple[str, str | None], ...] = ((file, sheet),)
        origins = None
        if origin is not None:
            keys = pd.MultiIndex.from_arrays([pd.Index(origin[0], dtype=object),
                                              pd.Index(origin[1], dtype=object)])
            codes, uniques = pd.factorize(keys)
            sources = tuple((str(f), None if s is None or pd.isna(s) else str(s)) for f, s in uniques)
            origins = np.asarray(codes, dtype=np.int32)
        texts = [str(h) for h in headers][: len(names)]
        texts += [""] * (len(names) - len(texts))
        return cls(file, sheet, display_headers(texts), np.asarray(rows, dtype=np.int64), sink.getvalue(),
                   np.asarray(starts, dtype=np.int64), dict(personal or {}), sources, origins,
                   frozenset(j for j, h in enumerate(texts) if not h.strip()))

    @property
    def nbytes(self) -> int:
        """Memory the store holds: the compressed rows and the row numbers."""
        return self.data.size + self.rows.nbytes + (self.origins.nbytes if self.origins is not None else 0)

    def positions(self, file: str, sheet: str | None, rows: np.ndarray) -> np.ndarray:
        """Where rows ``rows`` of ``file`` / ``sheet`` are in the store (-1 for a row it does not hold)."""
        want = np.asarray(rows, dtype=np.int64)
        if (file, sheet) not in self.sources:
            return np.full(len(want), -1, dtype=np.int64)
        if self.origins is None:
            candidates = np.arange(len(self.rows), dtype=np.int64)
        else:
            candidates = np.flatnonzero(self.origins == self.sources.index((file, sheet)))
        found = pd.Index(self.rows[candidates]).get_indexer(want)  # row numbers within one source are unique
        return np.where(found >= 0, candidates[np.maximum(found, 0)], -1)

    def frame(self, positions: np.ndarray) -> pd.DataFrame:
        """The cells of the rows at ``positions`` (each >= 0), in that order: one text column per column of the
        sheet, at its position (``headers`` names them).

        Decompresses only the batches those rows fall in."""
        at = np.asarray(positions, dtype=np.int64)
        reader = ipc.open_file(self.data)
        batch_of = np.searchsorted(self.batch_starts, at, side="right") - 1
        parts: list[pa.RecordBatch] = []
        order: list[np.ndarray] = []
        for b in np.unique(batch_of):
            inside = np.flatnonzero(batch_of == b)
            batch = reader.get_batch(int(b))
            parts.append(batch.take(pa.array(at[inside] - self.batch_starts[b])))
            order.append(inside)
        if not parts:
            return pd.DataFrame({h: pd.Series([], dtype="str") for h in self.headers})
        table = pa.Table.from_batches(parts)
        back = np.empty(len(at), dtype=np.int64)
        back[np.concatenate(order)] = np.arange(len(at))
        table = table.take(pa.array(back))
        if len(self.headers) == 0:
            return pd.DataFrame(index=pd.RangeIndex(len(at)))
        return pd.DataFrame({j: pd.Series(pd.array(table.column(j), dtype="str")) for j in range(len(self.headers))})


@dataclass(frozen=True, eq=False)
class ParquetRows:
    """The rows of a parquet file scanned out of core (:mod:`fundaudit.scan`), as read: nothing is kept but where
    the file is; the rows a finding cites are read again from the row groups holding them and turned into text by
    the reader's own conversion (:func:`fundaudit.io.tabular.arrow_grid`), so their cells are those a whole-file
    read gives. Data row ``i`` (0-based) of the file is row ``i + 2`` (the header is row 1)."""

    path: Path
    file: str
    headers: tuple[str, ...]
    num_rows: int
    personal: Mapping[int, str] = field(default_factory=dict)
    blank: frozenset[int] = frozenset()
    sheet: str | None = None

    @classmethod
    def build(cls, path: Path, file: str, headers: Sequence[str], num_rows: int, *,
              personal: Mapping[int, str] | None = None) -> ParquetRows:
        """The store of ``path`` shown as ``file``, its columns named ``headers`` (as the layout read them)."""
        texts = [str(h) for h in headers]
        return cls(path, file, display_headers(texts), num_rows, dict(personal or {}),
                   frozenset(j for j, h in enumerate(texts) if not h.strip()))

    def positions(self, file: str, sheet: str | None, rows: np.ndarray) -> np.ndarray:
        """Where rows ``rows`` of ``file`` are (their position among the data rows; -1 for a row it does not hold)."""
        want = np.asarray(rows, dtype=np.int64)
        if file != self.file or sheet is not None:
            return np.full(len(want), -1, dtype=np.int64)
        at = want - 2
        return np.where((at >= 0) & (at < self.num_rows), at, -1)

    def frame(self, positions: np.ndarray) -> pd.DataFrame:
        """The cells of the data rows at ``positions`` (each >= 0), in that order; reads only the row groups
        they fall in."""
        import pyarrow.parquet as pq

        from fundaudit.io.grid import Limits
        from fundaudit.io.tabular import arrow_grid

        at = np.asarray(positions, dtype=np.int64)
        pf = pq.ParquetFile(self.path)
        meta = pf.metadata
        starts = np.cumsum([0] + [meta.row_group(g).num_rows for g in range(meta.num_row_groups)])
        group_of = np.searchsorted(starts, at, side="right") - 1
        parts: list[pa.Table] = []
        order: list[np.ndarray] = []
        for g in np.unique(group_of).tolist():
            inside = np.flatnonzero(group_of == g)
            parts.append(pf.read_row_group(g).take(pa.array(at[inside] - starts[g])))
            order.append(inside)
        if not parts:
            return pd.DataFrame({j: pd.Series([], dtype="str") for j in range(len(self.headers))})
        table = pa.concat_tables(parts)
        back = np.empty(len(at), dtype=np.int64)
        back[np.concatenate(order)] = np.arange(len(at))
        table = table.take(pa.array(back))
        big = Limits(max_rows=1 << 62, max_cells=1 << 62)  # the file passed the limits when it was scanned
        cells = arrow_grid(table, file=self.file, sha256=None, limits=big, notes=[]).cells.iloc[1:]
        return pd.DataFrame({j: pd.Series(pd.array(arrow_of(cells[j]), dtype="str"))
                             for j in range(len(self.headers))})
