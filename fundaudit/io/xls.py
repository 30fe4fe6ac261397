"""``.xls`` (OLE2/BIFF) workbooks through xlrd, every cell typed and turned into text by our own rules.

xlrd keeps rows ragged (``ragged_rows=True``): a cell far away costs one row list per row above it, not a padded
grid, so the sheet's extent is known cheaply and checked against ``max_rows``, ``max_columns`` and
``max_cells`` before the grid is built; the grid is then built from the cells present (one ``take`` per column).
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import xlrd

from fundaudit.errors import FundauditError, InputError, UnreadableFileError, note
from fundaudit.io._text import excel_serial_text, floats_text
from fundaudit.io.grid import (
    Grid,
    Limits,
    check_cells_together,
    check_extent,
    clip_merged,
    column_letter,
    scatter_cells,
    strip_nuls_and_check,
    warnings_as_notes,
)
from fundaudit.io.sniff import OLE2_MAGIC, ole2_damage

__all__ = ["read_xls"]

# xlrd cell types (xlrd.biffh): EMPTY 0, TEXT 1, NUMBER 2, DATE 3, BOOLEAN 4, ERROR 5, BLANK 6
_EMPTY, _TEXT, _NUMBER, _DATE, _BOOLEAN, _ERROR, _BLANK = 0, 1, 2, 3, 4, 5, 6
_MAX_LOG_NOTES = 10

_ATTEMPTS: tuple[tuple[dict[str, Any], str | None], ...] = (
    ({"formatting_info": True, "ragged_rows": True}, None),
    ({"formatting_info": False, "ragged_rows": True}, "xls_no_formatting"),  # the note's code
    ({"formatting_info": False, "ragged_rows": True, "ignore_workbook_corruption": True}, "xls_corrupt_tolerated"),
)


def read_xls(
    data: bytes, *, file: str, ext: str, sheet: str | None, limits: Limits, sha256: str, notes: list[str]
) -> list[Grid]:
    """Read every worksheet of an ``.xls`` (or the one named ``sheet``) into text grids."""
    last_exc: BaseException | None = None
    for kwargs, code in _ATTEMPTS:
        try:
            grids = _read(
                data,
                kwargs,
                file=file,
                sheet=sheet,
                limits=limits,
                sha256=sha256,
                notes=[*notes, *([note(code)] if code else [])],
            )
        except FundauditError:
            raise
        except (KeyboardInterrupt, SystemExit, MemoryError):
            raise
        except Exception as exc:
            if "encrypted" in str(exc).lower():
                raise UnreadableFileError("encrypted", file=file, ext=ext or "(none)") from exc
            last_exc = exc
            continue
        return grids
    assert last_exc is not None
    raise _damaged(data, file, ext, last_exc) from last_exc


def _damaged(data: bytes, file: str, ext: str, exc: BaseException) -> UnreadableFileError:
    shown_ext = ext or "(none)"
    if data.startswith(OLE2_MAGIC):
        damage = ole2_damage(data)
        if "cut short" in damage or isinstance(exc, IndexError | EOFError):
            return UnreadableFileError("truncated", file=file, what=damage, ext=shown_ext)
        text = str(exc) or type(exc).__name__
        if "compdoc" in type(exc).__module__ or "corrupt" in text.lower():
            return UnreadableFileError("truncated", file=file, what=f"{damage}: {text}", ext=shown_ext)
        return UnreadableFileError("unreadable", file=file, what=f"xlrd: {text}", ext=shown_ext)
    return UnreadableFileError("unreadable", file=file, what=f"xlrd: {exc or type(exc).__name__}", ext=shown_ext)


def _read(
    data: bytes,
    kwargs: dict[str, Any],
    *,
    file: str,
    sheet: str | None,
    limits: Limits,
    sha256: str,
    notes: list[str],
) -> list[Grid]:
    log = io.StringIO()
    notes = list(notes)
    with warnings_as_notes(notes, "xlrd"):
        book = xlrd.open_workbook(file_contents=data, logfile=log, on_demand=True, **kwargs)
    try:
        if "No CODEPAGE record" in log.getvalue():
            book.release_resources()
            log = io.StringIO()
            book = xlrd.open_workbook(
                file_contents=data, logfile=log, on_demand=True, encoding_override="gb18030", **kwargs
            )
            notes = [*notes, note("xls_no_codepage")]
        names = list(book.sheet_names())
        if not names:
            raise UnreadableFileError("no_sheets", file=file)
        if sheet is not None and sheet not in names:
            raise InputError("sheet_not_found", file=file, sheet=sheet, sheets="、".join(names))
        grids: list[Grid] = []
        used = 0
        for index, name in enumerate(names):
            if sheet is not None and name != sheet:
                continue
            sh = book.sheet_by_index(index)
            check_extent(sh.nrows, sh.ncols, file=file, where=f"{file} [{sh.name}]", limits=limits)
            used += sh.nrows * sh.ncols
            check_cells_together(used, len(grids) + 1, file=file, limits=limits)
            grids.append(
                _sheet_grid(
                    book,
                    sh,
                    file=file,
                    limits=limits,
                    sha256=sha256,
                    notes=list(notes),
                    formatting=bool(kwargs.get("formatting_info")),
                )
            )
            book.unload_sheet(index)
        log_notes = _log_notes(log.getvalue())
        for grid in grids:
            grid.notes.extend(log_notes)
        return grids
    finally:
        book.release_resources()


def _log_notes(text: str) -> list[str]:
    lines: list[str] = []
    seen: set[str] = set()
    for raw in text.splitlines():
        line = raw.strip()
        if line and line not in seen:  # as grid.warnings_as_notes: by the line itself, not its rendered note
            seen.add(line)
            lines.append(note("engine_warning", engine="xlrd", text=line))
    if len(lines) > _MAX_LOG_NOTES:
        more = note("engine_more_warnings", engine="xlrd", count=len(lines) - _MAX_LOG_NOTES)
        lines = [*lines[:_MAX_LOG_NOTES], more]
    return lines


def _sheet_grid(
    book: Any, sh: Any, *, file: str, limits: Limits, sha256: str, notes: list[str], formatting: bool
) -> Grid:
    where = f"{file} [{sh.name}]"
    nrows, ncols = sh.nrows, sh.ncols
    datemode = int(book.datemode)
    rows = np.arange(1, nrows + 1, dtype=np.int64)
    cells = _cells(sh, nrows, ncols, datemode=datemode)
    cells = strip_nuls_and_check(cells, rows, file=file, where=where, limits=limits, notes=notes)
    merged = clip_merged([(r0, r1 - 1, c0, c1 - 1) for r0, r1, c0, c1 in sh.merged_cells], nrows, ncols)
    hidden_rows = sorted(r + 1 for r, info in sh.rowinfo_map.items() if getattr(info, "hidden", 0) and r < nrows)
    hidden_cols = sorted(c for c, info in sh.colinfo_map.items() if getattr(info, "hidden", 0) and c < ncols)
    visibility = int(getattr(sh, "visibility", 0))
    if visibility:
        notes.append(note("sheet_very_hidden" if visibility == 2 else "sheet_hidden", sheet=sh.name))
    if hidden_rows:
        notes.append(note("hidden_rows", sheet=sh.name, count=len(hidden_rows)))
    if hidden_cols:
        letters = ", ".join(column_letter(c) for c in hidden_cols[:20])
        notes.append(note("hidden_columns", sheet=sh.name, columns=letters))
    if not formatting:
        notes.append(note("xls_formatting_unknown", sheet=sh.name))
    if datemode == 1:
        notes.append(note("date_1904"))
    return Grid(
        file=file,
        sheet=sh.name,
        cells=cells,
        rows=rows,
        format="xls",
        sha256=sha256,
        encoding=None,
        datemode=datemode,
        merged=merged,
        hidden=bool(visibility),
        hidden_rows=hidden_rows,
        notes=notes,
    )


def _cells(sh: Any, nrows: int, ncols: int, *, datemode: int) -> pd.DataFrame:
    """The sheet's cells as text, built from the cells present (ragged rows), not from the ``nrows × ncols`` box."""
    widths = np.fromiter((sh.row_len(r) for r in range(nrows)), dtype=np.int64, count=nrows)
    types = np.frombuffer(b"".join(bytes(sh.row_types(r)) for r in range(nrows)), dtype=np.uint8)
    values = np.empty(len(types), dtype=object)
    values[:] = list(itertools.chain.from_iterable(sh.row_values(r) for r in range(nrows)))
    row_of = np.repeat(np.arange(nrows, dtype=np.int64), widths)
    col_of = np.arange(len(types), dtype=np.int64) - np.repeat(np.cumsum(widths) - widths, widths)
    present = (types != _EMPTY) & (types != _BLANK)
    t, v, row_of, col_of = types[present], values[present], row_of[present], col_of[present]
    text = np.full(len(t), "", dtype=object)
    _fill(text, t == _TEXT, v, lambda x: x)
    mask = t == _NUMBER
    if mask.any():
        text[mask] = floats_text(v[mask].astype(np.float64))
    _fill(text, t == _DATE, v, lambda x: excel_serial_text(float(x), datemode))
    _fill(text, t == _BOOLEAN, v, lambda x: "TRUE" if x else "FALSE")
    errors: dict[int, str] = xlrd.error_text_from_code
    _fill(text, t == _ERROR, v, lambda x: errors.get(int(x), f"#ERROR({int(x)})"))
    return scatter_cells(row_of, col_of, text, nrows, ncols)


def _fill(out: np.ndarray, mask: np.ndarray, values: np.ndarray, convert: Callable[[Any], str]) -> None:
    if mask.any():
        out[mask] = [convert(x) for x in values[mask]]
