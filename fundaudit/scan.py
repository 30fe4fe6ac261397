"""Out of core on one machine (issue 17): parquet inputs loaded batch by batch into an on-disk DuckDB database,
so a province's ledgers (tens of millions of rows) are audited without whole pandas frames.

Each parquet file is read in record batches (``pyarrow.parquet.ParquetFile.iter_batches``); every batch goes
through the same loader as a whole file (:func:`fundaudit.ledger.load_grid`, with row numbers global in its
file), gains its facts (:func:`fundaudit.facts.add_facts`, row ids counting on from the rows stored so far) and is
appended to the kind's table in a :class:`Store`: one DuckDB database file per audit run, in a private folder,
with a memory limit and a spill directory, removed when the run is closed. Rejected rows, non-data rows and
declared totals stay in pandas (they are few); a finding's evidence re-reads the row groups holding the rows it
cites (:class:`fundaudit.io.asread.ParquetRows`). The returned :class:`~fundaudit.ledger.Ledger` holds the table
as its ``stored`` (a :class:`DuckDBTable`) and a zero-row ``frame`` with its columns and dtypes.

The input layer: this module never imports the engine or the reports.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import sqlglot
import sqlglot.expressions as exp
from pandas.api.types import is_object_dtype

from fundaudit.columns import catalogue, map_headers
from fundaudit.errors import ConfigError, note
from fundaudit.facts import ROW_ID, add_facts
from fundaudit.io import Limits, ParquetInput, display_name, open_parquet, parquet_rows
from fundaudit.io.asread import ParquetRows
from fundaudit.io.grid import number_ranges
from fundaudit.io.tabular import arrow_grid
from fundaudit.layout import Layout, find_header, totals_coverage
from fundaudit.ledger import (
    NON_DATA_COLUMNS,
    REJECTED_COLUMNS,
    TOTALS_COLUMNS,
    BatchCarry,
    InputSummary,
    Ledger,
    _concat,
    combine,
    load_grid,
    personal_columns,
)
from fundaudit.period import Period

__all__ = ["BATCH_ROWS", "MODES", "THRESHOLD_ROWS", "DuckDBTable", "OutOfCore", "Store", "check_memory_limit",
           "check_temp_dir", "scan_parquet"]

#: Rows from which a parquet input (a file, or a directory's files) is scanned out of core rather than loaded
#: into pandas (``--out-of-core auto``): about 1.2 GiB of pandas frames per million dues rows.
THRESHOLD_ROWS = 1_000_000
#: Rows per batch: about 0.5 GiB of text cells and frames for a wide ledger (dues: ~20 columns).
BATCH_ROWS = 262_144
#: ``--out-of-core``: ``auto`` scans parquet inputs of :data:`THRESHOLD_ROWS` rows or more, ``always`` every
#: parquet input, ``never`` none.
MODES = ("auto", "always", "never")

_SIZE = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*(B|KB|MB|GB|TB|KIB|MIB|GIB|TIB)\s*", re.IGNORECASE)
_BATCH = "_fundaudit_batch"
_RIDS = "_fundaudit_rids"
_KEYS = "_fundaudit_keys"
Progress = Callable[[str], None]


def check_memory_limit(text: str | None) -> str | None:
    """``--memory-limit`` as DuckDB takes it (``4GB``, ``512MB``, ``1.5GiB``): a number and a unit; anything else
    is a ConfigError, before any input is read."""
    if text is None:
        return None
    m = _SIZE.fullmatch(str(text))
    if not m or float(m.group(1)) <= 0:
        raise ConfigError("bad_memory_limit", value=str(text))
    unit = m.group(2).upper().replace("IB", "iB")
    return f"{m.group(1)}{unit}"


def check_temp_dir(path: str | os.PathLike[str] | None) -> Path | None:
    """``--temp-dir``: an existing folder this user can write in (the store's folder is made inside it); else a
    ConfigError, before any input is read."""
    if path is None:
        return None
    p = Path(path)
    if not p.is_dir() or not os.access(p, os.W_OK | os.X_OK):
        raise ConfigError("bad_temp_dir", path=display_name(path))
    return p


def _remove(con: Any, folder: Path) -> None:
    try:
        con.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


class Store:
    """One audit run's on-disk DuckDB database: a private folder (mode 0700) under ``temp_dir`` (default the
    system's temporary folder) holding the database file (0600) and DuckDB's spill folder, with ``memory_limit``
    (DuckDB's default when None) and two threads; external access (files, URLs) is off once it is open. Each
    kind scanned is one table named by the kind. Removed, folder and all, by :meth:`close` (or leaving a
    ``with`` block, or when the store is garbage collected, or at exit)."""

    def __init__(self, *, temp_dir: str | os.PathLike[str] | None = None, memory_limit: str | None = None) -> None:
        import duckdb

        self.folder = Path(tempfile.mkdtemp(prefix="fundaudit-", dir=temp_dir))  # 0700
        self.path = self.folder / "store.duckdb"
        spill = self.folder / "spill"
        spill.mkdir(mode=0o700)
        config: dict[str, Any] = {"threads": 2, "temp_directory": str(spill)}
        if memory_limit:
            config["memory_limit"] = memory_limit
        try:
            self.con = duckdb.connect(str(self.path), config=config)
            self.con.execute("SET enable_progress_bar = false")
            self.con.execute("SET enable_external_access = false")  # set after the spill folder, which it locks
        except BaseException:
            shutil.rmtree(self.folder, ignore_errors=True)
            raise
        self.memory_limit = memory_limit
        self._dtypes: dict[str, dict[str, Any]] = {}  # table -> column -> pandas dtype, in the table's order
        self._finalizer = weakref.finalize(self, _remove, self.con, self.folder)
        self._tighten()

    def _tighten(self) -> None:
        """Every file in the folder readable by its owner only (DuckDB creates them with the umask's mode)."""
        for root, _dirs, files in os.walk(self.folder):
            for f in files:
                with contextlib.suppress(OSError):  # a spill file DuckDB just removed
                    os.chmod(Path(root) / f, 0o600)

    @property
    def closed(self) -> bool:
        """Whether the store is closed (its folder removed)."""
        return not self._finalizer.alive

    def close(self) -> None:
        """Close the database and remove its folder (idempotent)."""
        self._finalizer()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def count(self, name: str) -> int:
        """Rows stored in table ``name`` (0 when there is none)."""
        if name not in self._dtypes:
            return 0
        query = sqlglot.select(exp.Count(this=exp.Star())).from_(exp.to_table(name, quoted=True))
        return int(self.con.execute(query.sql("duckdb")).fetchall()[0][0])

    def append(self, name: str, frame: pd.DataFrame) -> None:
        """Append ``frame`` to table ``name`` (created by the first frame; a column a later frame brings is
        added, missing ones are NULL). The pandas dtype of each column is kept, to give rows back as they went in.
        """
        table = exp.to_table(name, quoted=True)
        arrow = pa.Table.from_pandas(frame, preserve_index=False)
        for j, f in enumerate(arrow.schema):  # a text column with no value in this batch is text, not NULL-typed
            if pa.types.is_null(f.type):
                arrow = arrow.set_column(j, pa.field(f.name, pa.string()), pa.nulls(len(arrow), pa.string()))
        self.con.register(_BATCH, arrow)
        try:
            known = self._dtypes.get(name)
            if known is None:
                create = exp.Create(this=table, kind="TABLE",
                                    expression=sqlglot.select(exp.Star()).from_(exp.to_table(_BATCH)))
                self.con.execute(create.sql("duckdb"))
                self._dtypes[name] = {c: frame[c].dtype for c in frame.columns}
            else:
                new = [c for c in frame.columns if c not in known]
                if new:
                    rel = self.con.table(_BATCH)
                    types = {str(c): str(t) for c, t in zip(rel.columns, rel.types, strict=True)}
                    for c in new:
                        alter = exp.Alter(this=table, kind="TABLE", actions=[exp.ColumnDef(
                            this=exp.to_identifier(c, quoted=True),
                            kind=exp.DataType.build(types[c], dialect="duckdb"))])
                        self.con.execute(alter.sql("duckdb"))
                        known[c] = frame[c].dtype
                cols = [str(c) for c in frame.columns]
                insert = exp.insert(sqlglot.select(*[exp.column(c, quoted=True) for c in cols]).from_(_BATCH),
                                    table, columns=[exp.to_identifier(c, quoted=True) for c in cols])
                self.con.execute(insert.sql("duckdb"))
                for c in cols:  # a column seen only empty so far takes the dtype of its first values
                    if frame[c].notna().any() and is_object_dtype(known[c]) \
                            and not is_object_dtype(frame[c].dtype):
                        known[c] = frame[c].dtype
        finally:
            self.con.unregister(_BATCH)
        self._tighten()

    def delete_from(self, name: str, rid: int) -> None:
        """Remove the rows of table ``name`` whose row id is ``rid`` or more (a file scanned again)."""
        if name not in self._dtypes:
            return
        delete = exp.Delete(this=exp.to_table(name, quoted=True),
                            where=exp.Where(this=exp.GTE(this=exp.column(ROW_ID, quoted=True),
                                                         expression=exp.Literal.number(int(rid)))))
        self.con.execute(delete.sql("duckdb"))

    def table(self, name: str) -> DuckDBTable:
        """The :class:`DuckDBTable` of table ``name``."""
        return DuckDBTable(self, name, dict(self._dtypes[name]))


class DuckDBTable:
    """A ledger's table in a :class:`Store` (:class:`fundaudit.ledger.StoredTable`): rows come back with the
    dtypes they went in with, so findings built from them equal findings built from the frames."""

    engine = "duckdb"

    def __init__(self, store: Store, name: str, dtypes: dict[str, Any]) -> None:
        self.store = store
        self.name = name
        self.dtypes = dtypes
        self._count = store.count(name)  # the table is complete when its ledger is made

    @property
    def connection(self) -> Any:
        """The store's DuckDB connection, where the engine runs the rules over this table."""
        return self.store.con

    def columns(self) -> list[str]:
        """Every column of the table."""
        return list(self.dtypes)

    def count(self) -> int:
        """How many rows the table holds."""
        return self._count

    def schema(self) -> pd.DataFrame:
        """A zero-row frame with the table's columns and dtypes."""
        return pd.DataFrame({c: pd.Series(dtype=d) for c, d in self.dtypes.items()})

    def _frame(self, table: pa.Table, columns: Sequence[str]) -> pd.DataFrame:
        """Query results as the frame the rows came from: each column in its dtype (an object column of text, such
        as a name's key, missing as NaN, as the text Series it was made from has it)."""
        out = table.to_pandas()
        cols = {}
        for c in columns:
            dtype = self.dtypes[c]
            if not len(out):
                cols[c] = pd.Series(dtype=dtype)
            elif is_object_dtype(dtype):
                values = out[c].astype(object)
                cols[c] = values.where(values.notna(), np.nan)
            else:
                cols[c] = out[c].astype(dtype)
        return pd.DataFrame(cols, index=out.index)

    def rows(self, rids: np.ndarray, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """The rows whose ``_rid`` is in ``rids``, in that order and repeated as given (``columns`` only, when
        given), indexed by their row ids as ``frame.iloc[rids]`` is."""
        want = np.asarray(rids, dtype=np.int64)
        cols = list(self.dtypes) if columns is None else list(columns)
        self.store.con.register(_RIDS, pa.table({"_want": want, "_ord": np.arange(len(want), dtype=np.int64)}))
        try:
            query = (sqlglot.select(*[exp.column(c, "t", quoted=True) for c in cols or [ROW_ID]])
                     .from_(exp.to_table(self.name, quoted=True, alias="t"))
                     .join(exp.to_table(_RIDS, alias="w"),
                           on=exp.EQ(this=exp.column(ROW_ID, "t", quoted=True), expression=exp.column("_want", "w")))
                     .order_by(exp.column("_ord", "w")))
            got = self.store.con.sql(query.sql("duckdb")).to_arrow_table()
        finally:
            self.store.con.unregister(_RIDS)
        out = self._frame(got, cols)
        out.index = pd.Index(want)
        return out

    def batches(self, rows: int, columns: Sequence[str] | None = None) -> Iterator[pd.DataFrame]:
        """Every row in row-id order (the order they were appended, which DuckDB keeps), ``rows`` at a time, with
        their dtypes (``columns`` only, when given): a copy streamed out (audit.duckdb), never the whole table in
        pandas. At least one frame, perhaps empty."""
        cols = list(self.dtypes) if columns is None else list(columns)
        query = sqlglot.select(*[exp.column(c, quoted=True) for c in cols]).from_(exp.to_table(self.name, quoted=True))
        cursor = self.store.con.cursor()  # its own, so the engine's connection stays free between batches
        try:
            reader = cursor.sql(query.sql("duckdb")).to_arrow_reader(rows)
            sent = False
            for batch in reader:
                sent = True
                yield self._frame(pa.Table.from_batches([batch]), cols).reset_index(drop=True)
            if not sent:
                yield self.schema()[cols]
        finally:
            cursor.close()

    def distinct(self, column: str) -> list[Any]:
        """The distinct non-null values of ``column``, sorted."""
        c = exp.column(column, quoted=True)
        query = (sqlglot.select(c).distinct().from_(exp.to_table(self.name, quoted=True))
                 .where(exp.Not(this=exp.Is(this=c, expression=exp.Null()))).order_by(c))
        return [r[0] for r in self.store.con.execute(query.sql("duckdb")).fetchall()]

    def lookup(self, keys: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
        """``keys`` (``file``, ``sheet``, ``row``) with ``columns`` of the row each names, in the order of
        ``keys`` (missing where none does)."""
        k = pa.table({"file": pd.Series(keys["file"], dtype=object).to_numpy(),
                      "sheet": pd.Series(keys["sheet"], dtype=object).where(keys["sheet"].notna(), None).to_numpy(),
                      "row": pd.to_numeric(keys["row"], errors="coerce").astype("Int64").to_numpy(na_value=-1),
                      "_ord": np.arange(len(keys), dtype=np.int64)})
        self.store.con.register(_KEYS, k)
        try:
            on = exp.and_(
                exp.EQ(this=exp.column("file", "t", quoted=True), expression=exp.column("file", "k", quoted=True)),
                exp.NullSafeEQ(this=exp.column("sheet", "t", quoted=True),
                               expression=exp.column("sheet", "k", quoted=True)),
                exp.EQ(this=exp.column("row", "t", quoted=True), expression=exp.column("row", "k", quoted=True)))
            inner = (sqlglot.select(exp.column("_ord", "k"), *[exp.column(c, "t", quoted=True) for c in columns])
                     .from_(exp.to_table(_KEYS, alias="k"))
                     .join(exp.to_table(self.name, quoted=True, alias="t"), on=on, join_type="left")
                     .qualify(exp.EQ(this=exp.Window(this=exp.RowNumber(),
                                                     partition_by=[exp.column("_ord", "k")],
                                                     order=exp.Order(expressions=[exp.Ordered(
                                                         this=exp.column(ROW_ID, "t", quoted=True))])),
                                     expression=exp.Literal.number(1)))
                     .order_by(exp.column("_ord", "k")))
            got = self.store.con.sql(inner.sql("duckdb")).to_arrow_table()
        finally:
            self.store.con.unregister(_KEYS)
        out = self._frame(got, list(columns))
        out.index = keys.index
        return out


@dataclass
class OutOfCore:
    """How an audit run treats parquet inputs (``--out-of-core``, ``--memory-limit``, ``--temp-dir``): which it
    scans (:meth:`scans`), and the store it scans them into, opened on the first scan and closed with the run."""

    mode: str = "auto"
    threshold: int = THRESHOLD_ROWS
    memory_limit: str | None = None
    temp_dir: Path | None = None
    period: Period | None = None
    batch_rows: int = BATCH_ROWS
    store: Store | None = None

    def scans(self, files: Sequence[tuple[Path, str]]) -> bool:
        """Whether parquet ``files`` (one input: a file, or a directory's files) are scanned: always, never, or
        when their rows, read from the footers, reach the threshold."""
        if self.mode != "auto":
            return self.mode == "always"
        return sum(parquet_rows(f) or 0 for f, _ in files) >= self.threshold

    def open(self) -> Store:
        """The run's store (opened once)."""
        if self.store is None:
            self.store = Store(temp_dir=self.temp_dir, memory_limit=self.memory_limit)
        return self.store

    def scan(self, kind: str, files: Sequence[tuple[Path, str]], memory: Ledger | None, *,
             columns: Mapping[str, str] | None = None, limits: Limits | None = None,
             progress: Progress | None = None) -> Ledger:
        """Scan ``files`` (path, name) of ``kind`` into the store; ``memory``, the kind's inputs loaded in pandas,
        is appended after them, so the kind is one table."""
        store = self.open()
        led = scan_parquet(kind, [f for f, _ in files], store, names=[n for _, n in files],
                           columns=dict(columns) if columns else None, period=self.period, limits=limits,
                           batch_rows=self.batch_rows, progress=progress)
        if memory is None:
            return led
        cols = append_frames(kind, store, memory, self.period)
        return stored_ledger(kind, store, [led, memory], [*led.frame.columns, *cols])

    def close(self) -> None:
        """Close the store, if one was opened."""
        if self.store is not None:
            self.store.close()


def scan_parquet(kind: str, files: Sequence[str | os.PathLike[str]], store: Store, *,
                 names: Sequence[str] | None = None, columns: dict[str, str] | None = None,
                 period: Period | None = None, limits: Limits | None = None, batch_rows: int = BATCH_ROWS,
                 progress: Progress | None = None) -> Ledger:
    """Load parquet ``files`` of ``kind`` batch by batch into ``store``'s table ``kind`` (appended to what it
    holds); the ledger as :func:`fundaudit.load` would give it, its rows in the store (``names``: each file's name
    in provenance, default the path as given; ``columns``: header overrides as for ``load``)."""
    limits = limits or Limits()
    shown = list(names) if names is not None else [display_name(f) for f in files]
    parts: list[Ledger] = []
    frame_columns: dict[str, None] = {}
    for path, name in zip(files, shown, strict=True):
        part, cols = _scan_file(kind, Path(path), name, store, columns=columns, period=period, limits=limits,
                                batch_rows=batch_rows, progress=progress)
        parts.append(part)
        frame_columns.update(dict.fromkeys(cols))
    return stored_ledger(kind, store, parts, list(frame_columns))


def stored_ledger(kind: str, store: Store, parts: Sequence[Ledger], frame_columns: Sequence[str]) -> Ledger:
    """The ledger of ``kind`` whose rows are ``store``'s table ``kind``, with the rejected, non-data and totals
    entries and the input summaries of ``parts``."""
    stored = store.table(kind)
    schema = stored.schema()
    return Ledger(kind=kind, frame=schema[[c for c in schema.columns if c in frame_columns]],
                  rejected=_concat([p.rejected for p in parts], REJECTED_COLUMNS),
                  non_data=_concat([p.non_data for p in parts], NON_DATA_COLUMNS),
                  totals=_concat([p.totals for p in parts], TOTALS_COLUMNS),
                  inputs=[i for p in parts for i in p.inputs], as_read=[s for p in parts for s in p.as_read],
                  stored=stored)


def append_frames(kind: str, store: Store, ledger: Ledger, period: Period | None) -> list[str]:
    """Append an in-memory ledger's rows (with their facts) to ``store``'s table ``kind``, after what it holds: a
    kind with both scanned and in-memory inputs is one table. Returns the frame's columns."""
    store.append(kind, add_facts(kind, ledger.frame, period, start=store.count(kind)))
    return list(ledger.frame.columns)


def _scan_file(kind: str, path: Path, name: str, store: Store, *, columns: dict[str, str] | None,
               period: Period | None, limits: Limits, batch_rows: int,
               progress: Progress | None) -> tuple[Ledger, list[str]]:
    """One parquet file into the store: its ledger part (no frame) and the frame columns its batches had."""

    src = open_parquet(path, name=name, limits=limits)
    pf = pq.ParquetFile(src.path)
    header = arrow_grid(pf.schema_arrow.empty_table(), file=src.file, sha256=src.sha256, limits=limits, notes=[])
    layout = find_header(header, kind)
    spec = catalogue()[kind]
    start = store.count(kind)
    carry = BatchCarry()
    while True:  # once, unless a batch meets a unit line (单位：万元) the batches before it did not apply
        result = _scan_pass(kind, src, pf, layout, store, carry, start, columns=columns, period=period,
                            limits=limits, batch_rows=batch_rows, progress=progress)
        if result is not None:
            break
        store.delete_from(kind, start)
        carry = BatchCarry(units=sorted(carry.found, key=lambda u: u.row))
    parts, frame_columns, first_row = result
    part = combine(kind, parts, validate_schema=False) if len(parts) > 1 else parts[0]
    totals = part.totals
    if len(totals):  # coverage over the whole file: a 小计 covers rows since the previous one, in any batch
        cov = totals_coverage(part.non_data[["row", "type"]], first_row)[["row", "covers_from", "covers_to"]]
        totals = totals.drop(columns=["covers_from", "covers_to"]).merge(cov, on="row", how="left")[TOTALS_COLUMNS]
    summary = _summary([i for p in parts for i in p.inputs], carry)
    mapping = map_headers(kind, list(layout.headers), columns)
    evidence = ParquetRows.build(src.path, src.file, layout.headers, src.rows,
                                 personal=personal_columns(spec, mapping))
    return (Ledger(kind, part.frame.iloc[:0], part.rejected, part.non_data, totals, [summary], [evidence]),
            frame_columns)


def _scan_pass(kind: str, src: ParquetInput, pf: pq.ParquetFile, layout: Layout, store: Store, carry: BatchCarry,
               start: int, *,
               columns: dict[str, str] | None, period: Period | None, limits: Limits, batch_rows: int,
               progress: Progress | None) -> tuple[list[Ledger], list[str], int] | None:
    """Every batch of one file through the loader into the store; None when a batch met a unit line not yet
    applied (the caller scans the file again, applying it from the first row)."""
    parts: list[Ledger] = []
    frame_columns: dict[str, None] = {}
    done = stored = 0
    first_row: int | None = None
    batches = pf.iter_batches(batch_size=batch_rows) if src.rows else iter([pf.schema_arrow.empty_table()])
    for i, batch in enumerate(batches):
        notes = [*src.notes, note("parquet_rows", rows=src.rows)] if i == 0 else []
        grid = arrow_grid(batch, file=src.file, sha256=src.sha256, limits=limits, notes=notes, first_row=done + 2)
        part = load_grid(kind, grid, layout, columns=columns, carry=carry)
        if {u.unit for u in carry.found} - {u.unit for u in carry.units}:
            return None
        part = combine(kind, [part], validate_schema=False)  # the dtypes a whole file's frame has
        frame_columns.update(dict.fromkeys(part.frame.columns))
        store.append(kind, add_facts(kind, part.frame, period, start=start + stored))
        body = grid.rows[1:]
        data = body[~np.isin(body, part.non_data["row"].to_numpy(dtype=np.int64))]
        if first_row is None and len(data):
            first_row = int(data[0])
        stored += len(part.frame)
        parts.append(replace(part, frame=part.frame.iloc[:0]))
        done += batch.num_rows
        if progress:
            progress(f"{kind}: {src.file}  {done:,} / {src.rows:,} rows")
    if first_row is None:
        first_row = 2 if src.rows else 0
    return parts, list(frame_columns), first_row


def _summary(batches: list[InputSummary], carry: BatchCarry) -> InputSummary:
    """One file's summary from its batches': counts and amounts summed, notes once each (in the order met), and
    the stretches of another table noted once for the file."""
    first = batches[0]
    notes = list(dict.fromkeys(n for b in batches for n in b.notes))
    if carry.other_starts:
        notes.append(note("other_table", rows=number_ranges(carry.other_starts)))

    def total(name: str) -> int | None:
        values = [getattr(b, name) for b in batches]
        return None if values[0] is None else int(sum(v or 0 for v in values))

    out = replace(first, rows_read=sum(b.rows_read for b in batches), rows_loaded=sum(b.rows_loaded for b in batches),
                  rows_rejected=sum(b.rows_rejected for b in batches),
                  rows_non_data=sum(b.rows_non_data for b in batches),
                  amount_total=total("amount_total"), amount_rejected=total("amount_rejected"), notes=notes)
    assert out.conserved, f"row conservation broken for {out.file}"
    return out
