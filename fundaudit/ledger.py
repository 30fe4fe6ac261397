"""Loading: files or DataFrames in, canonical frames out, with every row accounted for.

``load(kind, source)`` reads every sheet (``fundaudit.io``), finds the header and the non-data rows
(``fundaudit.layout``), maps headers to canonical columns (``fundaudit.columns``), normalises each
column (``fundaudit.normalize``) and validates the result (``fundaudit.schemas``). For every sheet::

    rows_read = rows_loaded + rows_rejected + rows_non_data

A row whose essential field (its amount) is present but unreadable, or which identifies nobody, is
rejected whole; any other unreadable field is blanked and listed; an amount kept but rounded (more than two
decimals) is listed as flagged. Nothing is dropped silently.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, TypeAlias

import numpy as np
import pandas as pd

from fundaudit import normalize as nz
from fundaudit.columns import (
    MONEY_UNITS,
    PERSONAL_TYPES,
    Column,
    HeaderMapping,
    KindSpec,
    catalogue,
    check_overrides,
    detect_kind,
    header_unit,
    kinds,
    map_headers,
    normalize_header,
)
from fundaudit.errors import ConfigError, FundauditError, InputError, LayoutError, note, render
from fundaudit.io import Grid, Limits, read_grids
from fundaudit.io.asread import EvidenceRows, RowsAsRead
from fundaudit.io.grid import column_letter, number_ranges
from fundaudit.layout import Layout, UnitLine, classify_rows, find_header, totals_coverage, unit_lines
from fundaudit.schemas import CANONICAL_DTYPES, TEXT, validate

Source: TypeAlias = str | os.PathLike[str] | pd.DataFrame

__all__ = ["BatchCarry", "InputSummary", "Ledger", "StoredTable", "load", "load_grid", "personal_columns",
           "read_sources"]

REJECTED_COLUMNS = ["kind", "file", "sheet", "row", "column", "field", "value", "reason", "message",
                    "message_en", "action", "personal"]
NON_DATA_COLUMNS = ["kind", "file", "sheet", "row", "type", "text"]
TOTALS_COLUMNS = ["kind", "file", "sheet", "row", "type", "label", "column", "declared", "covers_from",
                  "covers_to"]


@dataclass
class InputSummary:
    """What was read from one sheet (or CSV/parquet file, or DataFrame): the load report."""

    kind: str
    file: str
    sheet: str | None
    format: str
    sha256: str | None
    encoding: str | None
    header_row: int | None
    title: str
    rows_read: int
    rows_loaded: int
    rows_rejected: int
    rows_non_data: int
    amount_column: str | None
    amount_total: int | None        # fen, loaded rows
    amount_rejected: int | None     # fen, readable amounts on rejected rows
    columns: dict[str, str]         # header as found -> canonical name
    unmapped_columns: list[str]
    hidden: bool = False
    notes: list[str] = field(default_factory=list)
    units: dict[str, str] = field(default_factory=dict)  # money column -> unit read in (元, 千元, 万元)

    @property
    def conserved(self) -> bool:
        """Row conservation holds for this input."""
        return self.rows_read == self.rows_loaded + self.rows_rejected + self.rows_non_data

    def to_dict(self) -> dict[str, Any]:
        """The findings.json ``inputs[]`` entry (CONTRACT.md §4), plus load-report extras."""
        return {
            "kind": self.kind, "file": self.file, "sheet": self.sheet, "sha256": self.sha256,
            "format": self.format, "encoding": self.encoding,
            "header_row": self.header_row, "rows_read": self.rows_read, "rows_loaded": self.rows_loaded,
            "rows_rejected": self.rows_rejected, "rows_non_data": self.rows_non_data,
            "amount_total": None if self.amount_total is None else nz.format_fen(self.amount_total),
            "columns": dict(self.columns), "unmapped_columns": list(self.unmapped_columns),
            "title": self.title, "hidden": self.hidden, "notes": list(self.notes),
        }


class StoredTable(Protocol):
    """A ledger's canonical table held outside pandas (issue 17): an on-disk DuckDB table filled batch by batch
    from parquet (``fundaudit.scan``), or a Spark view normalised per partition (``fundaudit.spark_inputs``).

    It holds the ledger's rows with provenance (``file``, ``sheet``, ``row``) and every fact of
    :func:`fundaudit.facts.add_facts` (``_rid`` unique per row and ordered as the rows were read; ``_in_period``),
    under the name ``name`` in the place its ``engine`` runs queries. Whatever reads single rows of a stored
    ledger (a finding's refs, a report's lookup) asks it here, so the cost follows the rows asked for."""

    engine: str  # "duckdb" | "spark": where the table lives and the rules must run
    name: str  # the table's name there

    def columns(self) -> list[str]:
        """Every column of the table (canonical, provenance, facts)."""

    def count(self) -> int:
        """How many rows the table holds."""

    def rows(self, rids: np.ndarray, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """The rows whose ``_rid`` is in ``rids``, in that order and repeated as often as given (``columns`` only,
        when given), with the dtypes the in-memory ledger would have."""

    def batches(self, rows: int, columns: Sequence[str] | None = None) -> Iterator[pd.DataFrame]:
        """Every row in row-id order, ``rows`` at a time (``columns`` only, when given), with the in-memory dtypes:
        a copy streamed out (``audit.duckdb``, a reference table read whole). At least one frame, perhaps empty."""

    def distinct(self, column: str) -> list[Any]:
        """The distinct non-null values of ``column``, sorted."""

    def lookup(self, keys: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
        """``keys`` (columns ``file``, ``sheet``, ``row``) with ``columns`` of the row each key names (missing where
        none does), in the order of ``keys``."""


@dataclass
class Ledger:
    """One input kind, loaded: the canonical frame plus everything that did not make it in."""

    kind: str
    frame: pd.DataFrame        # canonical columns present in the inputs + file, sheet, row
    rejected: pd.DataFrame     # one entry per rejected row or blanked field (REJECTED_COLUMNS)
    non_data: pd.DataFrame     # blank, total, subtotal, repeated-header and note rows
    totals: pd.DataFrame       # declared 合计/小计 amounts with the rows they cover
    inputs: list[InputSummary]
    as_read: list[EvidenceRows] = field(default_factory=list)  # each sheet's body rows as read (evidence)
    stored: StoredTable | None = None  # the rows, when held outside pandas; ``frame`` is then their zero-row schema

    @property
    def spec(self) -> KindSpec:
        """The catalogue entry of this kind."""
        return catalogue()[self.kind]

    @property
    def columns_present(self) -> frozenset[str]:
        """Canonical columns some input of this ledger supplied."""
        return frozenset(c for c in self.frame.columns if c in self.spec.columns)

    @property
    def row_count(self) -> int:
        """Rows loaded, wherever they are held."""
        return self.stored.count() if self.stored is not None else len(self.frame)

    def lookup(self, keys: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
        """``keys`` (columns ``file``, ``sheet``, ``row``) with ``columns`` of the row each key names (missing where
        none does, or where the ledger lacks the column), in the order of ``keys``: the stored table's lookup, or
        the same merge over the frame. Where a report reads a few rows' values by their provenance."""
        have = [c for c in columns if c in self.frame.columns]
        if self.stored is not None:
            got = self.stored.lookup(keys[["file", "sheet", "row"]], have) if have else keys[[]].copy()
        else:
            def keyed(f: pd.DataFrame) -> pd.DataFrame:  # a missing sheet (CSV, parquet) matches a missing one
                return f.assign(file=f["file"].astype(object).where(f["file"].notna(), ""),
                                sheet=f["sheet"].astype(object).where(f["sheet"].notna(), ""),
                                row=pd.to_numeric(f["row"], errors="coerce").fillna(-1).astype("int64"))

            look = keyed(self.frame[["file", "sheet", "row", *have]]).drop_duplicates(["file", "sheet", "row"])
            k = keyed(keys[["file", "sheet", "row"]].reset_index(drop=True))
            got = k.merge(look, on=["file", "sheet", "row"], how="left")[have]
        out = keys.reset_index(drop=True).copy()
        for c in columns:
            out[c] = got[c].to_numpy() if c in have else None
        out.index = keys.index
        return out

    def __repr__(self) -> str:
        return (f"<Ledger {self.kind}: {self.row_count} rows loaded, "
                f"{sum(i.rows_rejected for i in self.inputs)} rejected, "
                f"{sum(i.rows_non_data for i in self.inputs)} non-data, from {len(self.inputs)} input(s)>")


# --- public entry point -------------------------------------------------------------------------

def load(kind: str, source: Source | Sequence[Source], *, sheet: str | None = None,
         encoding: str | None = None, name: str | None = None, limits: Limits | None = None,
         validate_schema: bool = True, columns: Mapping[str, str] | None = None) -> Ledger:
    """Load one kind of input from a file, a DataFrame, or several of them.

    ``sheet`` picks one worksheet (default: every sheet with a recognisable header; sheets without
    one are skipped and noted). ``encoding`` overrides CSV encoding detection. ``name`` is the file
    name shown in provenance (default: the path as given, or ``<DataFrame>``). ``columns`` maps
    header text to a canonical column, or to ``"-"`` to ignore that header (``--map``): how to settle
    two headers that claim one column.
    """
    if kind not in catalogue():
        raise ConfigError("unknown_kind", kind=kind, kinds=", ".join(kinds()))
    check_overrides(kind, columns)
    sources: list[Source] = list(source) if isinstance(source, list | tuple) else [source]
    parts: list[Ledger] = []
    for src in sources:
        grids = read_grids(src, name=name, sheet=sheet, encoding=encoding, limits=limits or Limits())
        parts.extend(_load_grids(kind, grids, explicit_sheet=sheet is not None, columns=columns))
    return combine(kind, parts, validate_schema=validate_schema)


def read_sources(source: Source, *, name: str | None = None, sheet: str | None = None,
                 encoding: str | None = None, limits: Limits | None = None) -> list[tuple[str, Grid, Layout]]:
    """Read a source and detect, per sheet, its kind and header (what ``fundaudit inspect`` shows).

    Sheets without a recognisable header are returned with kind ``''``.
    """
    out = []
    for grid in read_grids(source, name=name, sheet=sheet, encoding=encoding, limits=limits or Limits()):
        try:
            layout = find_header(grid)
        except LayoutError:
            out.append(("", grid, Layout((), (), "")))
            continue
        ranking = detect_kind(list(layout.headers))
        best = ranking[0][0] if ranking and ranking[0][1] > 0 else ""
        if best:
            layout = find_header(grid, best)
        out.append((best, grid, layout))
    return out


def _load_grids(kind: str, grids: list[Grid], *, explicit_sheet: bool,
                columns: Mapping[str, str] | None = None) -> list[Ledger]:
    parts: list[Ledger] = []
    skipped: list[str] = []
    for grid in grids:
        try:
            layout = find_header(grid, kind)
        except LayoutError:
            if explicit_sheet or len(grids) == 1:
                raise
            skipped.append(str(grid.sheet))
            continue
        parts.append(load_grid(kind, grid, layout, columns=columns))
    if not parts:
        raise LayoutError("header_not_found", where=grids[0].file if grids else "?", rows=30,
                          found="; ".join(skipped))
    if skipped:
        parts[0].inputs[0].notes.append(note("sheets_without_header", sheets=", ".join(skipped)))
    return parts


# --- one sheet -----------------------------------------------------------------------------------

@dataclass
class BatchCarry:
    """What one batch of a file hands the next when the file is loaded batch by batch (:mod:`fundaudit.scan`), so
    that the batches together load as the whole file would: the file's unit lines (``单位：万元``; the scan finds
    them and restarts the file when a batch meets one its earlier batches did not apply), whether the previous
    batch ended inside another table stacked below the first, and where each such table starts (noted once for
    the file). Batches of a file keep no evidence store of their own (the scan's :class:`ParquetRows` reads the
    rows cited again)."""

    units: list[UnitLine] = field(default_factory=list)   # the lines applied to every batch of this pass
    found: list[UnitLine] = field(default_factory=list)   # the first line of each unit met so far, in row order
    inside_other: bool = False
    other_starts: list[int] = field(default_factory=list)


def load_grid(kind: str, grid: Grid, layout: Layout, *, columns: Mapping[str, str] | None = None,
              carry: BatchCarry | None = None) -> Ledger:
    """Turn one grid with a known layout into a canonical frame, rejections and non-data rows.

    ``columns``: header overrides, as for :func:`load`. ``carry``: the grid is one batch of a file
    (:class:`BatchCarry`); 合计 coverage is then the caller's to settle over the whole file."""
    spec = catalogue()[kind]
    mapping = map_headers(kind, list(layout.headers), columns)
    notes = list(grid.notes)
    _check_collisions(grid, mapping, spec, notes)
    cells = _fill_merged_body(grid, layout, notes)
    body = cells.iloc[layout.data_start:]
    rows = pd.Series(grid.rows[layout.data_start:], index=body.index, dtype="int64")
    provenance = _dataframe_provenance(grid, mapping, body, notes)
    if provenance is not None:
        rows = provenance[2]

    row_type = classify_rows(replace(grid, cells=cells), layout)
    if carry is not None:
        row_type = _carry_other_table(row_type, rows, carry)
    lines = unit_lines(grid, layout, row_type)
    if carry is not None:
        known = {u.unit for u in carry.found}
        carry.found += [u for u in lines if u.unit not in known]
        lines = carry.units
    units, scales = _money_units(grid, spec, mapping, lines, notes)
    if carry is None and row_type.eq("other_table").any():
        notes.append(note("other_table", rows=number_ranges(_segment_starts(rows, row_type.eq("other_table")))))
    is_data = row_type.eq("")
    all_data = bool(is_data.all())
    data = body if all_data else body[is_data]  # no copy of the whole grid when every row is data
    data_rows = rows if all_data else rows[is_data]

    values: dict[str, pd.Series] = {}
    problems: list[pd.DataFrame] = []
    origin = _Origin(grid, provenance)
    essential_bad = pd.Series(False, index=data.index)
    ended = _ended_before(grid, data_rows)
    for pos, canonical in mapping.columns.items():
        col = spec.columns[canonical]
        parsed = _normalise(col, data[pos], grid.datemode, scales.get(canonical, 1))
        values[canonical] = parsed.values
        bad = parsed.invalid
        if bad.any():
            problems.append(_problem_frame(kind, origin, data_rows[bad], mapping.headers[pos], canonical,
                                           data[pos][bad], parsed.reason[bad], col.personal))
            if col.essential:
                essential_bad |= bad
        if parsed.flag is not None:
            flagged = parsed.flagged
            if flagged.any():  # kept, rounded to fen: the exact text is listed (field_flagged)
                problems.append(_problem_frame(kind, origin, data_rows[flagged], mapping.headers[pos],
                                               canonical, data[pos][flagged], parsed.flag[flagged],
                                               col.personal, action="field_flagged"))
        if col.essential:
            missing = parsed.values.isna() & ~bad
            if missing.any():
                reason = pd.Series("missing_required", index=data.index[missing])
                if ended is not None:  # a short CSV record ending before the column: never there, not empty
                    reason = reason.mask(ended(pos)[missing.to_numpy()], "csv_short")
                problems.append(_problem_frame(kind, origin, data_rows[missing], mapping.headers[pos],
                                               canonical, data[pos][missing], reason, col.personal))
                essential_bad |= missing

    header_of = {c: mapping.headers[p] for p, c in mapping.columns.items()}
    identity = [c for c in spec.identity if c in values]
    no_identity = pd.Series(bool(identity), index=data.index)
    for c in identity:
        no_identity &= values[c].isna()
    if identity and no_identity.any():
        reason = pd.Series("no_identity", index=data.index[no_identity])
        if ended is not None:  # every identity column lies beyond the end of a short CSV record
            beyond = np.logical_and.reduce([ended(p) for p, c in mapping.columns.items() if c in identity])
            reason = reason.mask(beyond[no_identity.to_numpy()], "csv_short")
        problems.append(_problem_frame(
            kind, origin, data_rows[no_identity], header_of[identity[0]], identity[0],
            pd.Series("", index=data.index[no_identity]), reason, False,
            fields={"columns": "、".join(header_of[c] for c in identity)}))
    reject_row = essential_bad | no_identity

    rejected = pd.concat(problems) if problems else _empty(REJECTED_COLUMNS)
    if len(rejected):  # by the row's position in the sheet, never by its row number (a DataFrame's may repeat)
        whole_row = reject_row.reindex(rejected.index).to_numpy(dtype=bool)
        rejected["action"] = np.where(whole_row, "row_rejected", rejected["action"].to_numpy())
        rejected = rejected.reset_index(drop=True)

    keep = ~reject_row
    keep_all = bool(keep.all())
    frame = pd.DataFrame({c: v if keep_all else v[keep] for c, v in values.items()})
    for c in values:
        frame[c] = frame[c].astype(CANONICAL_DTYPES[spec.columns[c].type])
    _add_id_status(frame, spec)
    if provenance is not None:
        frame.insert(0, "file", provenance[0][is_data][keep].astype(TEXT))
        frame.insert(1, "sheet", provenance[1][is_data][keep].astype(TEXT))
    else:
        frame.insert(0, "file", pd.Series(grid.file, index=frame.index, dtype=TEXT))
        frame.insert(1, "sheet", pd.Series(grid.sheet, index=frame.index, dtype=TEXT))
    frame.insert(2, "row", data_rows[keep].astype("int64"))
    frame = frame.reset_index(drop=True)

    nd_mask = ~is_data
    nd_file, nd_sheet = origin.of(body.index[nd_mask])
    non_data = pd.DataFrame({
        "kind": kind, "file": nd_file, "sheet": nd_sheet, "row": rows[nd_mask].to_numpy(),
        "type": row_type[nd_mask].to_numpy(),
        "text": _row_text(body[nd_mask]),
    }, columns=NON_DATA_COLUMNS)
    totals = _declared_totals(kind, grid, spec, mapping, scales, body, rows, row_type, int(data_rows.iloc[0])
                              if len(data_rows) else int(rows.iloc[0]) if len(rows) else 0)

    read_level = _read_level_rejections(kind, grid, layout)
    if len(read_level):
        rejected = pd.concat([rejected, read_level], ignore_index=True) if len(rejected) else read_level

    amount_col = spec.amount if spec.amount in values else None
    amount_total = amount_rej = None
    if amount_col is not None:
        amounts = values[amount_col]
        amount_total = int(amounts[keep].sum(skipna=True))
        amount_rej = int(amounts[reject_row].sum(skipna=True))
    header_row = int(grid.rows[layout.header_rows[-1]]) if len(grid.rows) and not grid.named_columns else (
        1 if grid.named_columns else None)
    summary = InputSummary(
        kind=kind, file=grid.file, sheet=grid.sheet, format=grid.format, sha256=grid.sha256,
        encoding=grid.encoding, header_row=header_row, title=layout.title,
        rows_read=len(body) + len(grid.rejected),
        rows_loaded=int(keep.sum()),
        rows_rejected=int(reject_row.sum()) + len(grid.rejected),
        rows_non_data=int(nd_mask.sum()),
        amount_column=amount_col, amount_total=amount_total, amount_rejected=amount_rej,
        columns=mapping.by_header, unmapped_columns=[h for _, h in mapping.unmapped],
        hidden=grid.hidden, notes=notes, units=units,
    )
    if grid.hidden_rows:
        summary.notes.append(note("hidden_rows_loaded", rows=number_ranges(grid.hidden_rows)))
    assert summary.conserved, f"row conservation broken for {grid.file} [{grid.sheet}]"
    if carry is not None:
        return Ledger(kind, frame, rejected[REJECTED_COLUMNS], non_data, totals, [summary], [])
    as_read = _rows_as_read(grid, layout, spec, mapping, body, rows, provenance)
    return Ledger(kind, frame, rejected[REJECTED_COLUMNS], non_data, totals, [summary], [as_read])


def _carry_other_table(row_type: pd.Series, rows: pd.Series, carry: BatchCarry) -> pd.Series:
    """A batch's row types as the whole file would have them: when the previous batch ended inside another table
    stacked below the first, its rows up to the next repeat of the header belong to that table too. Records where
    each stretch of another table starts and whether this batch ends inside one."""
    if not len(row_type):
        return row_type
    if carry.inside_other:
        repeat = row_type.eq("repeated_header").to_numpy()
        before = np.logical_or.accumulate(repeat) == 0
        if before.any():
            row_type = row_type.where(~before, "other_table")
    other = row_type.eq("other_table")
    starts = _segment_starts(rows, other)
    if carry.inside_other and bool(other.iloc[0]):
        starts = starts[1:]  # the stretch began in an earlier batch
    carry.other_starts += starts
    carry.inside_other = bool(other.iloc[-1])
    return row_type


def personal_columns(spec: KindSpec, mapping: HeaderMapping) -> dict[int, str]:
    """Column position -> personal type of the columns mapped to a personal canonical column (``text`` for
    personal free text), so evidence masks them by their type."""
    personal: dict[int, str] = {}
    for pos, canonical in mapping.columns.items():
        col = spec.columns[canonical]
        if col.type in PERSONAL_TYPES or col.personal:
            personal[pos] = col.type if col.type in PERSONAL_TYPES else "text"
    return personal


def _rows_as_read(grid: Grid, layout: Layout, spec: KindSpec, mapping: HeaderMapping, body: pd.DataFrame,
                  rows: pd.Series, provenance: tuple[pd.Series, pd.Series, pd.Series] | None) -> RowsAsRead:
    """The sheet's body as read, compressed, for the evidence of the findings that cite its rows; the columns
    mapped to a personal canonical column keep their type, so evidence masks them as such."""
    personal = personal_columns(spec, mapping)
    origin = (provenance[0].to_numpy(), provenance[1].to_numpy()) if provenance is not None else None
    return RowsAsRead.build(grid.file, grid.sheet, layout.headers, body, rows.to_numpy(), personal=personal,
                            origin=origin)


def _ended_before(grid: Grid, data_rows: pd.Series) -> Callable[[int], np.ndarray] | None:
    """For a CSV with short records (``Grid.short_fields``): a function giving, for a column position, which
    data rows ended before that column (the field was never in the file, it was padded); ``None`` when no
    record was short."""
    if not len(grid.short_fields):
        return None
    fields = grid.short_fields.reindex(data_rows.to_numpy()).to_numpy(dtype="float64")  # NaN: a full record
    return lambda pos: fields <= pos


def _money_units(grid: Grid, spec: KindSpec, mapping: HeaderMapping, lines: list[UnitLine],
                 notes: list[str]) -> tuple[dict[str, str], dict[str, int]]:
    """The unit each money column is read in, and the multipliers that differ from 1.

    A unit in the column's own header (``金额（万元）``, ``金额（元）``) wins; otherwise the sheet's unit line
    (``单位：万元`` above the header or below the data) applies; otherwise 元. A note names the line and the
    columns it scales, or the columns whose own unit overrides it. Unit lines that disagree (``单位：万元``
    above, ``单位：元`` below) are refused, naming both rows, when some column would take its unit from them.
    """
    line = lines[0] if lines else None
    units: dict[str, str] = {}
    from_line: list[str] = []
    own_differs: list[str] = []
    for pos, canonical in mapping.columns.items():
        if spec.columns[canonical].type != "money":
            continue
        own = header_unit(mapping.headers[pos])
        units[canonical] = own or (line.unit if line else "元")
        if line is not None and own is None:
            from_line.append(mapping.headers[pos])
        elif line is not None and own != line.unit:
            own_differs.append(mapping.headers[pos])
    other = next((u for u in lines if line is not None and u.unit != line.unit), None)
    if line is not None and other is not None and from_line:
        where = grid.file if grid.sheet is None else f"{grid.file} [{grid.sheet}]"
        raise LayoutError("unit_conflict", where=where, first_row=line.row, first=line.text,
                          second_row=other.row, second=other.text, columns="、".join(from_line))
    if line is not None and from_line and line.unit != "元":
        notes.append(note("unit_line", text=line.text, row=line.row, unit=line.unit,
                          scale=MONEY_UNITS[line.unit], columns="、".join(from_line)))
    if line is not None and own_differs:
        notes.append(note("unit_line_not_applied", text=line.text, row=line.row, columns="、".join(own_differs)))
    scales = {c: MONEY_UNITS[u] for c, u in units.items() if MONEY_UNITS[u] != 1}
    return units, scales


def _segment_starts(rows: pd.Series, mask: pd.Series) -> list[int]:
    """Row numbers where each run of ``mask`` begins."""
    m = mask.to_numpy(dtype=bool)
    begins = m & ~np.concatenate(([False], m[:-1]))
    return [int(r) for r in rows.to_numpy()[begins]]


def _add_id_status(frame: pd.DataFrame, spec: KindSpec) -> None:
    """Next to each resident-ID column, ``<column>__status``: its GB 11643 status (``ok``, ``bad_chars``,
    ``bad_length``, ``bad_checksum``, ``bad_birth_date``, ``legacy15``, ``excel_number``; '' when blank),
    and ``<column>__birth``, the birth date it holds (NaT unless real). An invalid ID is kept as read, not
    blanked: saying what is wrong with it is the ID rules' job (the engine uses these columns as they are)."""
    for c in [c for c in frame.columns if c in spec.columns and spec.columns[c].type == "resident_id"]:
        facts = nz.resident_id_facts(frame[c])
        at = frame.columns.get_loc(c) + 1
        frame.insert(at, f"{c}__status", facts["status"].astype(TEXT))
        frame.insert(at + 1, f"{c}__birth", facts["birth_date"])


def _normalise(col: Column, raw: pd.Series, datemode: int, scale: int) -> nz.Parsed:
    """Dispatch a raw text column to its normaliser by canonical type."""
    t = col.type
    if t == "money":
        return nz.parse_money(raw, scale=scale)  # the unit scales before rounding to fen
    if t == "rate":
        return nz.parse_rate(raw)
    if t == "int":
        return nz.parse_int(raw)
    if t == "date":
        return nz.parse_date(raw, datemode=datemode)
    if t == "bool":
        return nz.parse_bool(raw)
    if t == "enum":
        return nz.parse_enum(raw, col.synonyms, strict=col.strict)
    if t == "period":
        return nz.parse_period(raw)
    cleaners: dict[str, Callable[[pd.Series], nz.Parsed]] = {
        "resident_id": lambda r: nz.clean_id(r, keep_invalid=True), "taxpayer_id": nz.clean_taxpayer_id,
        "account": nz.clean_account, "phone": nz.clean_phone,
    }
    if t in cleaners:
        return cleaners[t](raw)
    text = nz.clean_text(raw)
    empty = text.eq("")
    if empty.any():
        text = text.where(~empty, other=np.nan)
    return nz.Parsed(text.astype(TEXT), pd.Series(None, index=raw.index, dtype=object))


class _Origin:
    """Where a sheet's rows come from: the grid's file and sheet, or, for a DataFrame that carries its own
    provenance, each row's own."""

    def __init__(self, grid: Grid, provenance: tuple[pd.Series, pd.Series, pd.Series] | None) -> None:
        self.grid = grid
        self.provenance = provenance

    def of(self, index: pd.Index) -> tuple[Any, Any]:
        """``(file, sheet)`` of the body rows at ``index``: scalars, or arrays for a DataFrame's own."""
        if self.provenance is None:
            return self.grid.file, self.grid.sheet
        file, sheet, _ = self.provenance
        return file.loc[index].to_numpy(dtype=object), sheet.loc[index].to_numpy(dtype=object)


def _problem_frame(kind: str, origin: _Origin, rows: pd.Series, header: str, canonical: str, raw: pd.Series,
                   reasons: pd.Series, personal: bool, fields: dict[str, str] | None = None,
                   action: str = "field_blanked") -> pd.DataFrame:
    """Rejection entries for one column (vectorised); messages rendered once per distinct reason.

    The frame's index is the rows' index in the sheet body, so the caller can tell which entries fall
    on a row rejected whole.
    """
    reasons = reasons.astype(str)
    extra = {"column": header or canonical, **(fields or {})}
    zh = {r: render("reasons", r, "zh", **extra) for r in reasons.unique()}
    en = {r: render("reasons", r, "en", **extra) for r in reasons.unique()}
    file, sheet = origin.of(rows.index)
    return pd.DataFrame({
        "kind": kind, "file": file, "sheet": sheet, "row": rows.to_numpy(dtype="int64"),
        "column": header or canonical, "field": canonical, "value": raw.astype(str).to_numpy(),
        "reason": reasons.to_numpy(), "message": reasons.map(zh).to_numpy(),
        "message_en": reasons.map(en).to_numpy(), "action": action, "personal": personal,
    }, index=rows.index)


def _read_level_rejections(kind: str, grid: Grid, layout: Layout) -> pd.DataFrame:
    """Rows the reader itself could not split into cells (ragged CSV lines)."""
    if not grid.rejected:
        return _empty(REJECTED_COLUMNS)
    entries = grid.rejected  # a handful of lines the reader could not split
    return pd.DataFrame({
        "kind": kind, "file": grid.file, "sheet": grid.sheet,
        "row": [int(e["row"]) for e in entries], "column": "", "field": "",
        "value": [str(e.get("value", "")) for e in entries],
        "reason": [str(e["reason"]) for e in entries],
        "message": [render("reasons", str(e["reason"]), "zh", **_extra(e)) for e in entries],
        "message_en": [render("reasons", str(e["reason"]), "en", **_extra(e)) for e in entries],
        "action": "row_rejected", "personal": True,
    })[REJECTED_COLUMNS]


def _extra(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in entry.items() if k not in {"row", "reason", "value", "column"}}


def _check_collisions(grid: Grid, mapping: HeaderMapping, spec: KindSpec, notes: list[str]) -> None:
    """Several headers claiming one canonical column. Identical headers are ambiguous: refused. Different
    headers claiming an essential column (the amount) are refused too, naming them and the choices
    (``--map``/``columns=``): which column is the amount is not a guess to make. For any other column the
    first keeps it and a note names the others, which stay listed as unmapped."""
    where = grid.file if grid.sheet is None else f"{grid.file} [{grid.sheet}]"
    for canonical, positions in mapping.duplicates.items():
        texts = {normalize_header(mapping.headers[p]) for p in positions}
        if len(texts) < len(positions):
            raise LayoutError("duplicate_header", where=where, column=mapping.headers[positions[0]],
                              positions=", ".join(column_letter(p) for p in positions))
        headers = "、".join(f"{mapping.headers[p]}（{column_letter(p)}）" for p in positions)
        col = spec.columns[canonical]
        if col.essential:
            raise LayoutError("header_collision", where=where, canonical=canonical, title=col.header_zh or canonical,
                              headers=headers, second=mapping.headers[positions[1]])
        notes.append(note("header_collision", canonical=canonical, headers=headers,
                          first=mapping.headers[positions[0]], second=mapping.headers[positions[1]]))
    if mapping.ignored:
        notes.append(note("headers_ignored", headers="、".join(h for _, h in mapping.ignored)))


def _fill_merged_body(grid: Grid, layout: Layout, notes: list[str]) -> pd.DataFrame:
    """Fill merged ranges inside the data area with their top-left value (only inside recorded
    ranges, never a blanket forward fill)."""
    ranges = [m for m in grid.merged if m[0] >= layout.data_start and (m[1] > m[0] or m[3] > m[2])]
    if not ranges:
        return grid.cells
    cells = grid.cells.copy()
    for r0, r1, c0, c1 in ranges:
        value = cells.iat[r0, c0]
        for c in range(c0, c1 + 1):
            cells.iloc[r0:r1 + 1, c] = value
    notes.append(note("merged_filled", count=len(ranges)))
    return cells


#: Column names by which a DataFrame carries its own provenance (compared after ``normalize_header``).
PROVENANCE_NAMES = {"file": ("file", "源文件"), "sheet": ("sheet", "工作表"), "row": ("row", "行号")}


def _dataframe_provenance(grid: Grid, mapping: HeaderMapping, body: pd.DataFrame,
                          notes: list[str]) -> tuple[pd.Series, pd.Series, pd.Series] | None:
    """A DataFrame that already carries file/sheet/row keeps them (a caller's own provenance).

    Used only when every row has a positive whole row number and the (file, sheet, row) keys are unique,
    so each row is still one row; otherwise the positions are used and a note says why. A blank file
    falls back to the DataFrame's name.
    """
    if grid.format != "dataframe":
        return None
    pos: dict[str, int] = {}
    for p, h in mapping.headers.items():
        key = normalize_header(h)
        for what, names in PROVENANCE_NAMES.items():
            if key in names and what not in pos:
                pos[what] = p
    if not {"file", "row"} <= pos.keys():
        return None
    text = body[pos["row"]].astype(str).str.strip()
    row = pd.to_numeric(text.where(text.str.fullmatch(r"[0-9]{1,12}"), None), errors="coerce")
    file = body[pos["file"]].astype(str).str.strip()
    file = file.where(file.ne(""), grid.file)
    sheet = body[pos["sheet"]].astype(str).str.strip() if "sheet" in pos else pd.Series("", index=body.index)
    sheet = sheet.where(sheet.ne(""), None)
    if row.isna().any() or (row <= 0).any():
        notes.append(note("dataframe_provenance_not_numbers", column=mapping.headers[pos["row"]]))
        return None
    keys = pd.DataFrame({"f": file, "s": sheet.fillna(""), "r": row})
    if keys.duplicated().any():
        notes.append(note("dataframe_provenance_repeated", column=mapping.headers[pos["row"]]))
        return None
    return file.astype(object), sheet.astype(object), row.astype("int64")


def _declared_totals(kind: str, grid: Grid, spec: KindSpec, mapping: HeaderMapping, scales: Mapping[str, int],
                     body: pd.DataFrame, rows: pd.Series, row_type: pd.Series, first_row: int) -> pd.DataFrame:
    """Amounts declared on 合计/小计 rows, per money column (in its unit, as the data), with the rows they
    cover."""
    mask = row_type.isin(["total", "subtotal", "repeated_header"])
    if not mask.any():
        return _empty(TOTALS_COLUMNS)
    nd = pd.DataFrame({"row": rows[mask].to_numpy(), "type": row_type[mask].to_numpy()})
    cov = totals_coverage(nd, first_row)
    if cov.empty:
        return _empty(TOTALS_COLUMNS)
    by_row = pd.Series(body.index, index=rows.to_numpy())
    out = []
    label_text = _row_text(body.loc[by_row[cov["row"]].to_numpy()])
    for pos, canonical in mapping.columns.items():
        if spec.columns[canonical].type != "money":
            continue
        raw = body.loc[by_row[cov["row"]].to_numpy(), pos]
        parsed = nz.parse_money(raw, scale=scales.get(canonical, 1))
        vals = parsed.values.to_numpy()
        for i in range(len(cov)):  # one step per declared total, not per ledger row
            if pd.isna(vals[i]):
                continue
            out.append((kind, grid.file, grid.sheet, int(cov.at[i, "row"]), cov.at[i, "type"], label_text[i],
                        canonical, int(vals[i]), int(cov.at[i, "covers_from"]),
                        int(cov.at[i, "covers_to"])))
    return pd.DataFrame(out, columns=TOTALS_COLUMNS)


def _row_text(frame: pd.DataFrame) -> list[str]:
    """Non-empty cells of each row joined with ' | ' (for non-data rows, a handful per sheet)."""
    if frame.empty:
        return []
    joined = frame.astype(str).agg(lambda r: " | ".join(v.strip() for v in r if v.strip()), axis=1)
    return [t[:200] for t in joined.tolist()]


def _empty(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})


# --- several inputs of one kind -----------------------------------------------------------------

def combine(kind: str, parts: Sequence[Ledger], *, validate_schema: bool = True) -> Ledger:
    """Concatenate ledgers of one kind (several files or sheets) into one, provenance kept."""
    if not parts:
        raise InputError("no_inputs", what=kind)
    frames = [p.frame for p in parts]
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    spec = catalogue()[kind]
    for c in frame.columns:  # concat of a column missing in some parts gives object: restore dtype
        if c in spec.columns:
            frame[c] = frame[c].astype(CANONICAL_DTYPES[spec.columns[c].type])
        elif c.endswith("__status"):
            frame[c] = frame[c].astype(TEXT)
        elif c.endswith("__birth"):
            frame[c] = frame[c].astype("datetime64[ns]")
    frame["file"] = frame["file"].astype(TEXT)
    frame["sheet"] = frame["sheet"].astype(TEXT)
    if validate_schema:
        try:
            frame = validate(kind, frame)
        except Exception as exc:  # pandera's SchemaErrors: a bug in normalisation, never bad data
            raise FundauditError("schema_violation", kind=kind, what=str(exc)[:500]) from exc
    return Ledger(
        kind=kind,
        frame=frame,
        rejected=_concat([p.rejected for p in parts], REJECTED_COLUMNS),
        non_data=_concat([p.non_data for p in parts], NON_DATA_COLUMNS),
        totals=_concat([p.totals for p in parts], TOTALS_COLUMNS),
        inputs=[i for p in parts for i in p.inputs],
        as_read=[s for p in parts for s in p.as_read],
    )


def _concat(frames: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    if not frames:
        return _empty(columns)
    return pd.concat(frames, ignore_index=True)[columns]

