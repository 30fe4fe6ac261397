"""Readers that turn files and DataFrames into raw text grids (see :class:`Grid`).

Everything is read as text first; conversions are ours, exact and predictable (``fundaudit.io._text``). The
true format comes from the bytes (:func:`sniff`), never from the extension. Every failure of a third-party
reader arrives as a :class:`fundaudit.errors.InputError` subclass with a catalogue code and the file's name::

    grids = read_grids("台账.xls")                  # one Grid per worksheet, hidden ones flagged
    grids = read_grids("明细.csv", encoding="gbk")   # one Grid; gbk is read as GB18030
    grids = read_grids(df, name="送温暖")            # a DataFrame: row 0 of cells holds its column names
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from fundaudit.errors import FundauditError, InputError, LimitExceededError, UnreadableFileError
from fundaudit.io.grid import DEFAULT_LIMITS, Grid, Limits
from fundaudit.io.names import display_name
from fundaudit.io.sniff import OLE2_MAGIC, FormatInfo, sniff

__all__ = ["DEFAULT_LIMITS", "FormatInfo", "Grid", "Limits", "ParquetInput", "display_name", "open_parquet",
           "parquet_rows", "read_grids", "sniff"]

_HASH_CHUNK = 1 << 20


def read_grids(
    source: str | os.PathLike[str] | pd.DataFrame,
    *,
    name: str | None = None,
    sheet: str | None = None,
    encoding: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> list[Grid]:
    """Read ``source`` into text grids: one per worksheet of a workbook, one for CSV, parquet or a DataFrame.

    ``name`` is the display name used in grids and messages (default: the path as given, or
    ``'<DataFrame>'``); ``sheet`` selects one worksheet (``sheet_not_found`` lists the others); ``encoding``
    overrides detection for delimited text. Raises :class:`InputError` (``file_not_found``, ``file_empty``,
    ``bad_source``, ``sheet_not_found``), :class:`UnreadableFileError` (wrong, damaged, encrypted or unsafe
    bytes) or :class:`LimitExceededError`.
    """
    if isinstance(source, pd.DataFrame):
        from fundaudit.io.tabular import read_frame

        if sheet is not None:
            raise InputError("sheet_not_found", file=name or "<DataFrame>", sheet=sheet, sheets="(a DataFrame)")
        return _guarded(lambda: [read_frame(source, name=name, limits=limits)], name or "<DataFrame>", "")
    if not isinstance(source, str | os.PathLike):
        raise InputError("bad_source", what=type(source).__name__)
    display = display_name(name if name is not None else source)  # shown; the file is opened by its real name
    path, ext = _checked_file(source, display, limits)
    data = _read_bytes(path, display, ext) if _is_ole2(path) else None  # read once: sniff and xlrd need it all
    info = sniff(path, name=display, data=data)
    notes = list(info.notes)
    if sheet is not None and info.format in ("csv", "parquet", "html"):
        raise InputError("sheet_not_found", file=display, sheet=sheet, sheets=f"(a {info.description} has none)")
    return _guarded(
        lambda: _dispatch(
            path, info, data, display=display, sheet=sheet, encoding=encoding, limits=limits, notes=notes
        ),
        display,
        ext,
    )


@dataclass(frozen=True)
class ParquetInput:
    """A parquet file checked for scanning batch by batch (:mod:`fundaudit.scan`): where it is, the name shown,
    its hash, its shape from the footer, and the reader's notes so far."""

    path: Path
    file: str
    ext: str
    sha256: str
    rows: int
    columns: int
    notes: tuple[str, ...]


def parquet_rows(path: str | os.PathLike[str]) -> int | None:
    """The rows a parquet file holds, from its footer only (None when it is not a readable parquet file: the
    ordinary reader then says why)."""
    import pyarrow.parquet as pq

    try:
        return int(pq.read_metadata(path).num_rows)
    except (KeyboardInterrupt, SystemExit, MemoryError):
        raise
    except Exception:
        return None


def _checked_file(source: str | os.PathLike[str], display: str, limits: Limits) -> tuple[Path, str]:
    """``source`` as a path and its extension, once it is known to be a file within ``max_file_bytes``
    (``bad_source`` for a directory, ``file_not_found``, ``unreadable``, ``max_file_bytes``)."""
    path = Path(source)
    ext = path.suffix.lower() or "(none)"
    try:
        if path.is_dir():
            raise InputError("bad_source", what=f"{display} (a directory)", file=display)
        size = path.stat().st_size
    except FileNotFoundError as exc:
        raise InputError("file_not_found", file=display) from exc
    except OSError as exc:
        raise UnreadableFileError("unreadable", file=display, what=exc.strerror or str(exc), ext=ext) from exc
    if size > limits.max_file_bytes:
        raise limits.exceeded("max_file_bytes", file=display, what=f"the file is {_size(size)}")
    return path, ext


def open_parquet(source: str | os.PathLike[str], *, name: str | None = None,
                 limits: Limits = DEFAULT_LIMITS) -> ParquetInput:
    """Check a parquet file as :func:`read_grids` does before reading it (it exists, is a file within
    ``max_file_bytes``, is parquet, its footer reads, ``max_columns``), and hash it; its rows are not read and
    ``max_rows`` does not apply (a scanned file never fills pandas memory)."""
    import pyarrow.parquet as pq

    from fundaudit.io.tabular import check_parquet_shape

    display = display_name(name if name is not None else source)
    path, ext = _checked_file(source, display, limits)
    info = sniff(path, name=display)
    if info.format != "parquet":
        raise UnreadableFileError("unreadable", file=display, what=f"not parquet ({info.description})", ext=ext)

    def footer() -> list[Grid]:
        meta = pq.read_metadata(path)
        check_parquet_shape(meta.num_rows, meta.num_columns, file=display, limits=limits, rows_bound=False)
        shape.extend([meta.num_rows, len(pq.read_schema(path))])
        return []

    shape: list[int] = []
    _guarded(footer, display, ext)
    sha = _sha256_file(path, display, info.ext)
    return ParquetInput(path, display, ext, sha, shape[0], shape[1], tuple(info.notes))


def _dispatch(
    path: Path,
    info: FormatInfo,
    data: bytes | None,
    *,
    display: str,
    sheet: str | None,
    encoding: str | None,
    limits: Limits,
    notes: list[str],
) -> list[Grid]:
    if info.format in ("xls", "csv", "html", "spreadsheetml"):
        data = _read_bytes(path, display, info.ext) if data is None else data
        sha = hashlib.sha256(data).hexdigest()
        if info.format == "html":
            from fundaudit.io.html import read_html

            return [
                read_html(data, file=display, ext=info.ext, encoding=encoding, limits=limits, sha256=sha, notes=notes)
            ]
        if info.format == "spreadsheetml":
            from fundaudit.io.spreadsheetml import read_spreadsheetml

            return read_spreadsheetml(
                data, file=display, ext=info.ext, sheet=sheet, limits=limits, sha256=sha, notes=notes
            )
        if info.format == "xls":
            from fundaudit.io.xls import read_xls

            return read_xls(data, file=display, ext=info.ext, sheet=sheet, limits=limits, sha256=sha, notes=notes)
        from fundaudit.io.delimited import read_delimited

        return [
            read_delimited(data, file=display, ext=info.ext, encoding=encoding, limits=limits, sha256=sha, notes=notes)
        ]
    sha = _sha256_file(path, display, info.ext)
    if info.format == "xlsx":
        from fundaudit.io.xlsx import read_xlsx

        return read_xlsx(path, file=display, ext=info.ext, sheet=sheet, limits=limits, sha256=sha, notes=notes)
    from fundaudit.io.tabular import read_parquet

    return [read_parquet(path, file=display, ext=info.ext, limits=limits, sha256=sha, notes=notes)]


def _guarded(read: Callable[[], list[Grid]], display: str, ext: str) -> list[Grid]:
    """Run a reader; anything that is not one of our errors becomes ``unreadable`` naming the file, and running
    out of memory (``MemoryError``, pyarrow's ``ArrowMemoryError``) becomes ``limit_exceeded``: the limits are
    checked before the expensive step, so this is a last line of defence, never a traceback."""
    try:
        return read()
    except FundauditError:
        raise
    except MemoryError as exc:
        raise LimitExceededError("out_of_memory", file=display, error=type(exc).__name__) from exc
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except BaseException as exc:  # a native reader's panic arrives as a BaseException
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        what = f"{type(exc).__name__}: {text}"[:300] if text else type(exc).__name__
        raise UnreadableFileError("unreadable", file=display, what=what, ext=ext or "(none)") from exc


def _size(n: int) -> str:
    return f"{n / (1 << 20):.0f} MiB" if n >= 1 << 20 else f"{n} bytes"


def _is_ole2(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return fh.read(len(OLE2_MAGIC)) == OLE2_MAGIC
    except OSError:
        return False  # sniff reports it


def _read_bytes(path: Path, display: str, ext: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UnreadableFileError(
            "unreadable", file=display, what=exc.strerror or str(exc), ext=ext or "(none)"
        ) from exc


def _sha256_file(path: Path, display: str, ext: str) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(_HASH_CHUNK):
                digest.update(chunk)
    except OSError as exc:
        raise UnreadableFileError(
            "unreadable", file=display, what=exc.strerror or str(exc), ext=ext or "(none)"
        ) from exc
    return digest.hexdigest()
