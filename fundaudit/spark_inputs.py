"""Inputs Spark reads itself (issue 17): parquet files, directories of them, URIs Spark can read (``hdfs://``,
``s3a://``, ``file://``) and tables of the session's catalog (``spark:db.table``), normalised per partition by
the same code the in-memory loader runs, and held on Spark.

Each batch of rows Spark reads becomes a text grid exactly as :mod:`fundaudit.io.tabular` turns a parquet file
into one, goes through :func:`fundaudit.ledger.load_grid` (with the layout found once, on the driver, from the
schema) and :func:`fundaudit.facts.add_facts`, inside ``mapInArrow``: the canonical rows stay on the executors,
cached (MEMORY_AND_DISK) and queried as a temporary view. Each batch also yields one side record (its rejected
fields, non-data rows, declared totals and counts) in the same pass; only those reach the driver, where they
become the ledger's ``rejected``, ``non_data``, ``totals`` and one :class:`~fundaudit.ledger.InputSummary` per
file. Provenance is each row's part file (relative to the path given, or under the table's name) and its row
in it (``_metadata.row_index + 2``: the header is row 1, as for every parquet input), so a parquet input cites the
same file and row on Spark as on DuckDB. ``_rid`` is ``file ordinal × 2**40 + row index``: unique, ordered as
the rows were read, computed without a shuffle.

pyspark is imported only inside functions (it is optional)."""

from __future__ import annotations

import contextlib
import pickle
import uuid
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol, TypeVar
from urllib.parse import unquote, urlparse

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from fundaudit.columns import catalogue, normalize_header
from fundaudit.errors import ConfigError, FundauditError, InputError, note
from fundaudit.facts import ROW_ID, add_facts
from fundaudit.io import Limits, display_name
from fundaudit.io.tabular import _arrow_text, _grid  # private: io.tabular is being factored (issue 17, i17-ooc)
from fundaudit.layout import Layout, find_header, totals_coverage
from fundaudit.ledger import (
    NON_DATA_COLUMNS,
    PROVENANCE_NAMES,
    REJECTED_COLUMNS,
    TOTALS_COLUMNS,
    InputSummary,
    Ledger,
    load_grid,
)
from fundaudit.period import Period

__all__ = ["SPARK_TABLE", "SparkTable", "is_spark_source", "quiet", "read_spark", "split_sources"]

SPARK_TABLE = "spark:"  # ``--ledger dues=spark:db.table``: a table of the Spark session's catalog
FILE_BITS = 40  # _rid = file ordinal << FILE_BITS | row index: 2**40 rows per file, 2**23 files
_FILE, _ROW, _SIDE = "_fundaudit_file", "_fundaudit_row", "_fundaudit_side"


# --- which sources Spark reads --------------------------------------------------------------------

def is_spark_source(source: object) -> bool:
    """Whether Spark reads ``source`` itself when the engine is Spark: a ``spark:`` table, a URI (``s3a://…``),
    a ``.parquet`` file or a directory. Spreadsheets and CSVs (and DataFrames) are read on the driver."""
    if not isinstance(source, str | Path):
        return False
    text = str(source)
    if text.startswith(SPARK_TABLE) or "://" in text:
        return True
    path = Path(text)
    return path.is_dir() or path.suffix.lower() == ".parquet"


class _Arg(Protocol):
    @property
    def kind(self) -> str: ...

    @property
    def path(self) -> str: ...


A = TypeVar("A", bound=_Arg)


def split_sources(ledgers: Sequence[A], inputs: Mapping[str, Any] | None,
                  engine: str) -> tuple[dict[str, list[str]], list[A], dict[str, Any] | None]:
    """``--ledger`` arguments and the API's ``inputs`` split into the sources Spark reads (by kind, in the order
    given) and the rest (read on the driver). Without the Spark engine nothing is Spark's, and a ``spark:``
    table is a ConfigError (checked before any input is read)."""
    given = [(a.kind, a.path) for a in ledgers]
    for kind, src in (inputs or {}).items():
        given += [(kind, s) for s in (src if isinstance(src, list | tuple) else [src])]
    if engine != "spark":
        table = next((s for _, s in given if isinstance(s, str) and s.startswith(SPARK_TABLE)), None)
        if table is not None:
            raise ConfigError("spark_source_without_engine", source=table)
        return {}, list(ledgers), dict(inputs) if inputs is not None else None
    spark: dict[str, list[str]] = {}
    for kind, src in given:
        if is_spark_source(src):
            spark.setdefault(kind, []).append(str(src))
    rest_ledgers = [a for a in ledgers if not is_spark_source(a.path)]
    rest_inputs: dict[str, Any] | None = None
    if inputs is not None:
        rest_inputs = {}
        for kind, src in inputs.items():
            keep = [s for s in (src if isinstance(src, list | tuple) else [src]) if not is_spark_source(s)]
            if keep:
                rest_inputs[kind] = keep if isinstance(src, list | tuple) else keep[0]
    return spark, rest_ledgers, rest_inputs


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """pyspark warns on pandas 3 ("does not yet fully support pandas >= 3.0.0"); fundaudit hands it Arrow
    tables and batches, not pandas frames, so that warning does not apply."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
        yield


# --- reading ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Plan:
    """What every batch of one source is normalised with (shipped to the executors)."""

    kind: str
    names: tuple[str, ...]  # the source's columns, in order
    layout: Layout
    columns: Mapping[str, str] | None
    period: Period | None
    files: Mapping[str, tuple[int, str]]  # normalised part path -> (ordinal, file shown in provenance)
    data: tuple[str, ...]  # the canonical frame's columns (facts included), in order
    schema: pa.Schema  # the output batches' schema: ``data`` as Spark stores them, then the side record
    own: bool  # rows carry their own file/sheet/row (a DataFrame-like table): read as a DataFrame's are


def read_spark(sources: Mapping[str, Sequence[str]], spark: Any, *, period: Period | None = None,
               columns: Mapping[str, str] | None = None, beside: Iterable[str] = ()) -> dict[str, Ledger]:
    """One ledger per kind from ``sources`` (paths, URIs, ``spark:`` tables), each held on ``spark``
    (``Ledger.stored`` a :class:`SparkTable`; ``frame`` its zero-row schema). A path Spark cannot read, a
    missing table or columns no header of the kind names: InputError (exit 2), before any rule runs. A kind
    also among ``beside`` (the kinds read on the driver) is refused: one ledger is one table."""
    mixed = next((k for k in sources if k in set(beside)), None)
    if mixed is not None:
        raise InputError("spark_mixed_sources", kind=mixed)
    return {kind: _read_kind(kind, list(srcs), spark, period, columns) for kind, srcs in sources.items()}


def _read_kind(kind: str, sources: list[str], spark: Any, period: Period | None,
               columns: Mapping[str, str] | None) -> Ledger:
    from pyspark import StorageLevel
    from pyspark.sql import functions as F  # noqa: N812

    parts = []
    every: dict[str, tuple[int, str]] = {}
    zero: pd.DataFrame | None = None
    ordinal = 0
    for src in sources:
        df, files, own = _open(spark, src, ordinal)
        every.update(files)
        plan, frame, struct = _plan(kind, df, files, spark, period, columns, src, own)
        if zero is None:
            zero = frame
        elif list(frame.columns) != list(zero.columns):
            raise InputError("spark_columns_differ", kind=kind, source=src, columns=", ".join(frame.columns),
                             first=", ".join(zero.columns))
        with quiet():
            part = df.mapInArrow(_normaliser(plan), struct)
        if own:  # row ids as read, without a shuffle: partition << 33 | position, under this source's ordinal
            part = part.withColumn(ROW_ID, F.monotonically_increasing_id() + F.lit(ordinal << FILE_BITS))
        parts.append(part)
        ordinal += _OWN_ORDINALS if own else len(files)
    assert zero is not None
    out = parts[0]
    for p in parts[1:]:
        out = out.unionByName(p)
    out = out.persist(StorageLevel.MEMORY_AND_DISK)
    try:
        with _reading(", ".join(sources)), quiet():
            records = out.where(F.col(_SIDE).isNotNull()).select(_SIDE).collect()
        # this job's own executors pickled them (as PySpark pickles every Python function and row it ships)
        side = [pickle.loads(r[0]) for r in records]  # noqa: S301
    except BaseException:
        out.unpersist()
        raise
    data = out.where(F.col(_SIDE).isNull()).drop(_SIDE)
    ledger = _gather(kind, side, zero, every)
    unusable = next((i.file for i in ledger.inputs for n in i.notes if getattr(n, "code", "") in _NO_OWN_ROWS), None)
    if unusable is not None:  # its rows' own numbers cannot be used, and a batch's positions mean nothing
        out.unpersist()
        raise ConfigError("spark_table_bad_provenance", table=unusable)
    view = f"fundaudit_in_{uuid.uuid4().hex[:12]}_{kind}"
    data.createOrReplaceTempView(view)
    ledger.stored = SparkTable(spark, view, data, out, _with_facts(kind, zero, period),
                               sum(i.rows_loaded for i in ledger.inputs))
    return ledger


def _open(spark: Any, src: str, first: int) -> tuple[Any, dict[str, tuple[int, str]], bool]:
    """The DataFrame of ``src`` with each row's part file and row index, its part files (ordinals from ``first``,
    in path order, with the names provenance shows), and whether it is a table whose rows carry their own
    ``file`` and ``row`` columns (then those are the provenance: one entry, the table)."""
    from pyspark.sql import functions as F  # noqa: N812

    with _reading(src):
        if src.startswith(SPARK_TABLE) and spark.catalog.tableExists(src[len(SPARK_TABLE):]):
            table = src[len(SPARK_TABLE):]
            df = spark.table(table)
            named = {normalize_header(c) for c in df.columns}
            if all(named & set(PROVENANCE_NAMES[w]) for w in ("file", "row")):
                df = df.select("*", F.lit("").alias(_FILE), F.monotonically_increasing_id().alias(_ROW))
                return df, {_norm(""): (first, table)}, True
        df, files = _files_of(spark, src, first)
        try:
            df = df.select("*", F.col("_metadata.file_path").alias(_FILE), F.col("_metadata.row_index").alias(_ROW))
            df.schema  # noqa: B018 - analysed here: a source without a row index fails now, not mid-run
        except Exception as exc:
            if src.startswith(SPARK_TABLE):
                raise ConfigError("spark_table_no_row_index", table=src[len(SPARK_TABLE):]) from exc
            raise
    return df, files, False


_NO_OWN_ROWS = ("dataframe_provenance_not_numbers", "dataframe_provenance_repeated")
_OWN_ORDINALS = 1 << 16  # a table with its own provenance takes 2**56 row ids (monotonically_increasing_id's)


def _files_of(spark: Any, src: str, first: int) -> tuple[Any, dict[str, tuple[int, str]]]:
    if src.startswith(SPARK_TABLE):
        table = src[len(SPARK_TABLE):]
        if not spark.catalog.tableExists(table):
            raise InputError("spark_table_missing", table=table)
        df = spark.table(table)
        paths = sorted(df.inputFiles())
        base = _common_dir(paths)
        return df, {_norm(p): (first + i, f"{table}/{_relative(p, base)}") for i, p in enumerate(paths)}
    df = spark.read.parquet(src)
    paths = sorted(df.inputFiles())
    base = _norm(src if "://" in src else Path(src).resolve().as_posix())
    out = {}
    for i, p in enumerate(paths):
        rel = _relative(p, base)
        out[_norm(p)] = (first + i, display_name(src) if rel == "" else rel)
    return df, out


def _norm(path: str) -> str:
    """A part file's path as Spark spells it in ``inputFiles`` (``file:///x``) or ``_metadata`` (``file:/x``), one
    way: host and unquoted path (the scheme's ``file`` and no scheme are one)."""
    u = urlparse(path)
    scheme = "" if u.scheme in ("", "file") else u.scheme
    return f"{scheme}://{u.netloc}{unquote(u.path)}".rstrip("/")


def _relative(path: str, base: str) -> str:
    p = _norm(path)
    return p[len(base) + 1:] if p.startswith(base + "/") else "" if p == base else display_name(p)


def _common_dir(paths: list[str]) -> str:
    normed = [_norm(p) for p in paths]
    if not normed:
        return ""
    if len(normed) == 1:
        return normed[0].rsplit("/", 1)[0]
    prefix = normed[0]
    for p in normed[1:]:
        while not (p + "/").startswith(prefix + "/"):
            prefix = prefix.rsplit("/", 1)[0]
    return prefix


class _reading:  # noqa: N801 - a context manager named for what it guards
    """Spark's own errors on reading a source (no such path, not parquet, parts whose types disagree) as an
    InputError naming the source and Spark's first line; anything else as it is."""

    def __init__(self, source: str) -> None:
        self.source = source

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        if exc is None or isinstance(exc, FundauditError):
            return
        get = getattr(exc, "getCondition", None)
        condition = str(get() or "") if get is not None else ""
        if condition.startswith(_READ_ERRORS):
            first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else condition
            raise InputError("spark_unreadable", source=self.source, what=first) from exc


_READ_ERRORS = ("PATH_NOT_FOUND", "FAILED_READ_FILE", "UNABLE_TO_INFER_SCHEMA", "CANNOT_READ_FILE_FOOTER",
                "DATATYPE_MISMATCH", "INVALID_PARQUET", "UNSUPPORTED_FILE_FORMAT", "_LEGACY_ERROR_TEMP_2093",
                "PARQUET_TYPE_ILLEGAL", "FAILED_READ", "CANNOT_READ")


def _plan(kind: str, df: Any, files: Mapping[str, tuple[int, str]], spark: Any, period: Period | None,
          columns: Mapping[str, str] | None, src: str, own: bool) -> tuple[_Plan, pd.DataFrame, Any]:
    """The plan of ``df``'s batches, the zero-row canonical frame they give (their columns and dtypes) and
    their Spark schema, found on the driver from the schema alone by the same code the batches run."""
    from pyspark.sql.pandas.types import to_arrow_schema
    from pyspark.sql.types import BinaryType

    names = tuple(c for c in df.columns if c not in (_FILE, _ROW))
    header = _grid(list(names), [np.array([], dtype=object) for _ in names], 0, file=display_name(src),
                   fmt="parquet", sha256=None, limits=Limits(), notes=[])
    layout = find_header(header, kind)
    frame = load_grid(kind, header, layout, columns=columns).frame
    facts = _with_facts(kind, frame, period)
    table = _arrow_table(facts)
    with quiet():
        schema = spark.createDataFrame(table).schema  # as the engine's registered frames are typed (phase 1)
    out = to_arrow_schema(schema, timezone=str(spark.conf.get("spark.sql.session.timeZone")))
    out = out.append(pa.field(_SIDE, pa.binary()))
    return (_Plan(kind, names, layout, dict(columns) if columns else None, period, dict(files),
                  tuple(facts.columns), out, own), frame, schema.add(_SIDE, BinaryType()))


def _with_facts(kind: str, frame: pd.DataFrame, period: Period | None) -> pd.DataFrame:
    """The zero-row ``frame`` with its facts, each in the dtype it has over rows (a text fact derived from no rows
    is ``object``; from rows, ``str``)."""
    out = add_facts(kind, frame, period)
    for c in out.columns:
        if out[c].dtype == object and not c.endswith(_BOOLEAN_FACTS):
            out[c] = out[c].astype("str")
    return out


#: Facts held as ``object`` arrays of True/False/NA (``facts.add_facts``: ``__org_ok``), booleans on Spark.
_BOOLEAN_FACTS = ("__org_ok",)


def _arrow_table(frame: pd.DataFrame) -> pa.Table:
    """The zero-row ``frame`` as Arrow, typed as its columns are over rows (a boolean fact is ``object``)."""
    table = pa.Table.from_pandas(frame, preserve_index=False).replace_schema_metadata(None)
    fields = [pa.field(f.name, pa.bool_()) if f.name.endswith(_BOOLEAN_FACTS) else f for f in table.schema]
    return table.cast(pa.schema(fields))


# --- per partition (runs on the executors) ----------------------------------------------------------

def _normaliser(plan: _Plan) -> Any:
    """The ``mapInArrow`` function of ``plan``: each batch split by part file, normalised, its canonical rows
    and then one side record yielded."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            if batch.num_rows == 0:
                continue
            file = batch.column(_FILE).to_numpy(zero_copy_only=False)
            starts = np.flatnonzero(np.concatenate(([True], file[1:] != file[:-1])))
            ends = np.append(starts[1:], len(file))
            for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
                yield from _normalise(plan, batch.slice(s, e - s), str(file[s]))

    return run


def _normalise(plan: _Plan, batch: pa.RecordBatch, path: str) -> Iterator[pa.RecordBatch]:
    ordinal, shown = plan.files[_norm(path)]
    notes: list[str] = []
    text = [_arrow_text(batch.column(n), n, notes, source="source.parquet") for n in plan.names]
    grid = _grid(list(plan.names), text, batch.num_rows, file=shown, fmt="dataframe" if plan.own else "parquet",
                 sha256=None, limits=Limits(), notes=notes)
    index = batch.column(_ROW).to_numpy().astype(np.int64)
    if not plan.own:  # rows numbered in their part file, not the batch
        grid = replace(grid, rows=np.concatenate(([1], index + 2)).astype(np.int64))
    ledger = load_grid(plan.kind, grid, plan.layout, columns=plan.columns)
    frame = add_facts(plan.kind, ledger.frame, plan.period)
    if not plan.own:  # (a table's own provenance: row ids given after this step)
        frame[ROW_ID] = (np.int64(ordinal) << FILE_BITS) + frame["row"].to_numpy(dtype=np.int64) - 2
    yield _arrow_batch(frame[list(plan.data)], plan.schema)
    (summary,) = ledger.inputs
    data_rows = np.setdiff1d(grid.rows[1:], ledger.non_data["row"].to_numpy(dtype=np.int64))
    side = {"ordinal": ordinal, "first": int(index[0]), "summary": summary, "rejected": ledger.rejected,
            "non_data": ledger.non_data, "totals": ledger.totals,
            "first_data_row": int(data_rows[0]) if len(data_rows) else None}
    arrays = [*[pa.nulls(1, f.type) for f in list(plan.schema)[:-1]], pa.array([pickle.dumps(side)], pa.binary())]
    yield pa.RecordBatch.from_arrays(arrays, schema=plan.schema)


def _arrow_batch(frame: pd.DataFrame, schema: pa.Schema) -> pa.RecordBatch:
    """``frame`` as a batch of ``schema`` (its side record null): naive timestamps are wall-clock times of the
    schema's zone (the session's), as when the engine sends a frame to Spark."""
    arrays = []
    for f in list(schema)[:-1]:
        arr = pa.array(frame[f.name], from_pandas=True) if len(frame) else pa.array([], f.type)
        if pa.types.is_timestamp(f.type) and f.type.tz is not None and pa.types.is_timestamp(arr.type) \
                and arr.type.tz is None:
            arr = pc.assume_timezone(arr, f.type.tz)
        arrays.append(arr.cast(f.type))
    arrays.append(pa.nulls(len(frame), pa.binary()))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


# --- back on the driver: what did not make it in, and the load report ------------------------------

def _gather(kind: str, side: list[dict[str, Any]], zero: pd.DataFrame,
            files: Mapping[str, tuple[int, str]]) -> Ledger:
    """The ledger of ``kind`` from its batches' side records (in reading order): rejected fields, non-data rows,
    declared totals (their coverage computed over the whole file) and one summary per file."""
    side.sort(key=lambda s: (s["ordinal"], s["first"]))
    by_file: dict[int, list[dict[str, Any]]] = {}
    for s in side:
        by_file.setdefault(s["ordinal"], []).append(s)
    inputs, totals = [], []
    amount_col = catalogue()[kind].amount if catalogue()[kind].amount in zero.columns else None
    for ordinal, shown in sorted(files.values()):
        got = by_file.get(ordinal, [])
        inputs.append(_summary(kind, shown, [s["summary"] for s in got], amount_col, zero))
        totals.append(_covered([s["totals"] for s in got], [s["non_data"] for s in got],
                               min((s["first_data_row"] for s in got if s["first_data_row"] is not None),
                                   default=2)))
    return Ledger(kind, zero, _concat([s["rejected"] for s in side], REJECTED_COLUMNS),
                  _concat([s["non_data"] for s in side], NON_DATA_COLUMNS), _concat(totals, TOTALS_COLUMNS), inputs)


def _summary(kind: str, shown: str, parts: list[InputSummary], amount_col: str | None,
             zero: pd.DataFrame) -> InputSummary:
    """One file's load report from its batches' (counts and amounts summed, notes once each)."""
    rows = sum(p.rows_read for p in parts)
    notes = [note("parquet_rows", rows=rows), *dict.fromkeys(n for p in parts for n in p.notes)]
    first = parts[0] if parts else None
    total = None if amount_col is None else sum(p.amount_total or 0 for p in parts)
    rejected = None if amount_col is None else sum(p.amount_rejected or 0 for p in parts)
    out = InputSummary(
        kind=kind, file=shown, sheet=None, format=first.format if first else "parquet", sha256=None, encoding=None,
        header_row=1,
        title=first.title if first else "", rows_read=rows, rows_loaded=sum(p.rows_loaded for p in parts),
        rows_rejected=sum(p.rows_rejected for p in parts), rows_non_data=sum(p.rows_non_data for p in parts),
        amount_column=amount_col, amount_total=total, amount_rejected=rejected,
        columns=dict(first.columns) if first else {}, unmapped_columns=list(first.unmapped_columns) if first else [],
        notes=notes, units=dict(first.units) if first else {})
    assert out.conserved, f"row conservation broken for {shown}"
    return out


def _covered(totals: list[pd.DataFrame], non_data: list[pd.DataFrame], first_row: int) -> pd.DataFrame:
    """A file's declared totals with the rows each covers, counted over the whole file (a batch sees only its
    own rows)."""
    t = _concat(totals, TOTALS_COLUMNS)
    if t.empty:
        return t
    nd = _concat(non_data, NON_DATA_COLUMNS)
    cov = totals_coverage(nd[["row", "type"]].reset_index(drop=True), first_row).set_index("row")
    t["covers_from"] = t["row"].map(cov["covers_from"]).astype("int64")
    t["covers_to"] = t["row"].map(cov["covers_to"]).astype("int64")
    return t


def _concat(frames: Iterable[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    return pd.concat(frames, ignore_index=True)[columns]


# --- the stored table ---------------------------------------------------------------------------------

class SparkTable:
    """A ledger's canonical table held on Spark (:class:`fundaudit.ledger.StoredTable`): the cached output of the
    per-partition normalisation, a temporary view ``name`` of ``spark``. Single rows are fetched by a broadcast
    join on ``_rid``; results come back with the in-memory ledger's dtypes."""

    engine = "spark"

    def __init__(self, spark: Any, name: str, data: Any, cached: Any, frame: pd.DataFrame, count: int) -> None:
        self.spark = spark
        self.name = name
        self.data = data  # the canonical rows (the cached pass, its side records filtered out)
        self.cached = cached
        self.frame = frame  # zero rows: every column (facts too) in its in-memory dtype
        self._count = count
        self.time_zone = str(spark.conf.get("spark.sql.session.timeZone"))

    def columns(self) -> list[str]:
        """Every column of the table (canonical, provenance, facts)."""
        return list(self.frame.columns)

    def count(self) -> int:
        """How many rows the table holds (counted in the reading pass)."""
        return self._count

    def rows(self, rids: np.ndarray, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """The rows ``rids`` in that order, repeated as given (``columns`` only, when given)."""
        from pyspark.sql import functions as F  # noqa: N812

        rids = np.asarray(rids, dtype=np.int64)
        cols = list(self.frame.columns if columns is None else columns)
        if not len(rids):
            return self.frame[cols].iloc[:0].reset_index(drop=True)
        with quiet():
            wanted = self.spark.createDataFrame(pa.table({ROW_ID: np.unique(rids)}))
            got = self.data.join(F.broadcast(wanted), ROW_ID).select(*[F.col(f"`{c}`") for c in dict.fromkeys(
                [ROW_ID, *cols])]).toArrow()
        frame = self._pandas(got).set_index(ROW_ID)
        out = frame.loc[rids].reset_index()
        return out[cols].reset_index(drop=True)

    def batches(self, rows: int, columns: Sequence[str] | None = None) -> Iterator[pd.DataFrame]:
        """Every row in row-id order, ``rows`` at a time (``columns`` only, when given), with the in-memory dtypes.
        The sorted rows come to the driver as one Arrow table and are cut into frames here: for a small reference
        table read whole, or ``audit.duckdb`` (``--format db``), which copies the ledger; never for the rules."""
        from pyspark.sql import functions as F  # noqa: N812

        cols = list(self.frame.columns if columns is None else columns)
        with quiet():
            table = self.data.orderBy(ROW_ID).select(*[F.col(f"`{c}`") for c in cols]).toArrow()
        for lo in range(0, max(table.num_rows, 1), rows):
            yield self._pandas(table.slice(lo, rows))[cols].reset_index(drop=True)

    def distinct(self, column: str) -> list[Any]:
        """The distinct non-null values of ``column``, sorted."""
        from pyspark.sql import functions as F  # noqa: N812

        with quiet():
            got = self.data.select(F.col(f"`{column}`")).where(F.col(f"`{column}`").isNotNull()).distinct().toArrow()
        return sorted(self._pandas(got)[column].tolist())

    def lookup(self, keys: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
        """``keys`` (``file``, ``sheet``, ``row``) with ``columns`` of the row each names, in the order of ``keys``."""
        from pyspark.sql import functions as F  # noqa: N812

        k = keys[["file", "sheet", "row"]].reset_index(drop=True)
        wanted = pd.DataFrame({"file": k["file"].astype(str), "row": k["row"].astype("int64")}).drop_duplicates()
        if wanted.empty:
            found = self.frame[["file", "sheet", "row", *columns]].iloc[:0]
        else:
            cols = list(dict.fromkeys(["file", "sheet", "row", *columns]))
            with quiet():
                w = self.spark.createDataFrame(pa.Table.from_pandas(wanted, preserve_index=False))
                found = self._pandas(self.data.join(F.broadcast(w), ["file", "row"]).select(
                    *[F.col(f"`{c}`") for c in cols]).toArrow())
        on = pd.DataFrame({"file": k["file"].astype(str), "sheet": k["sheet"].astype(object).where(k["sheet"].notna(),
                           None), "row": k["row"].astype("int64")})
        found = found.assign(sheet=found["sheet"].astype(object).where(found["sheet"].notna(), None))
        merged = on.merge(found, on=["file", "sheet", "row"], how="left", sort=False)
        return pd.concat([keys.reset_index(drop=True), merged[list(columns)]], axis=1)

    def close(self) -> None:
        """Drop the view and the cached rows."""
        self.spark.catalog.dropTempView(self.name)
        self.cached.unpersist()

    def _pandas(self, table: pa.Table) -> pd.DataFrame:
        """An Arrow result as the in-memory ledger's dtypes (timestamps back to naive wall-clock times)."""
        out = {}
        for name in table.column_names:
            col = table.column(name)
            if pa.types.is_timestamp(col.type) and col.type.tz is not None:
                col = pc.local_timestamp(col.cast(pa.timestamp(col.type.unit, self.time_zone)))
            if pa.types.is_boolean(col.type) and name.endswith(_BOOLEAN_FACTS):  # as add_facts: bool, or object
                out[name] = pd.Series(col.to_pandas().astype("boolean").to_numpy())  # True/False/NA with NA
                continue
            series = col.to_pandas()
            out[name] = series.astype(self.frame[name].dtype) if name in self.frame.columns else series
        return pd.DataFrame(out)
