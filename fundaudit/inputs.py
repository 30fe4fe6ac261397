"""Which inputs an audit reads: paths, directories, ``--ledger KIND=PATH#SHEET`` and DataFrames,
resolved into one :class:`~fundaudit.ledger.Ledger` per kind.

A directory contributes every supported file below it (hidden files and Office lock files
``~$…`` skipped), each sheet's kind detected from its headers. Several files or sheets of one kind
form one ledger, every row keeping its own file, sheet and row.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from fundaudit.columns import IGNORE, catalogue, detect_kind, kinds
from fundaudit.errors import ConfigError, InputError, LayoutError, note
from fundaudit.io import Limits, read_grids
from fundaudit.layout import find_header
from fundaudit.ledger import Ledger, Source, combine, load, load_grid

SUPPORTED_SUFFIXES = frozenset({".xls", ".xlsx", ".xlsm", ".csv", ".txt", ".tsv", ".parquet"})

__all__ = ["SUPPORTED_SUFFIXES", "LedgerArg", "collect", "discover_files", "parse_ledger_arg", "parse_map_args"]

Progress = Callable[[str], None]


@dataclass(frozen=True)
class LedgerArg:
    """One ``--ledger KIND=PATH[#SHEET]`` argument."""

    kind: str
    path: str
    sheet: str | None = None


def parse_ledger_arg(text: str) -> LedgerArg:
    """Parse ``KIND=PATH[#SHEET]``; the kind must be known."""
    kind, sep, rest = text.partition("=")
    if not sep or not kind.strip() or not rest.strip():
        raise ConfigError("bad_ledger_arg", value=text)
    kind = kind.strip()
    if kind not in catalogue():
        raise ConfigError("unknown_kind", kind=kind, kinds=", ".join(kinds()))
    path, _, sheet = rest.partition("#")
    return LedgerArg(kind, path, sheet or None)


def parse_map_args(texts: Iterable[str]) -> dict[str, str]:
    """Parse ``--map HEADER=COLUMN`` / ``HEADER=-`` arguments into the ``columns=`` mapping of
    :func:`fundaudit.load` and :func:`fundaudit.audit` (the last ``=`` splits, so a header may hold one)."""
    out: dict[str, str] = {}
    for text in texts:
        header, sep, column = text.rpartition("=")
        if not sep or not header.strip() or not column.strip():
            raise ConfigError("bad_map_arg", value=text)
        out[header.strip()] = column.strip()
    check_columns_arg(out)
    return out


def check_columns_arg(columns: Mapping[str, str]) -> None:
    """Every target of a ``columns=`` mapping is ``-`` or a canonical column of some kind (checked before
    any input is read; whether the kind of each sheet has it is checked when the header is met)."""
    known = {c for spec in catalogue().values() for c in spec.columns}
    for header, column in columns.items():
        if column != IGNORE and column not in known:
            raise ConfigError("map_unknown_column", header=header, column=column, kind="fundaudit",
                              columns="docs/columns.md")


def discover_files(directory: Path) -> list[Path]:
    """Supported files below ``directory``, sorted, skipping hidden entries and lock files."""
    found = []
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for f in sorted(files):
            p = Path(root) / f
            if f.startswith((".", "~$")) or p.suffix.lower() not in SUPPORTED_SUFFIXES:
                continue
            found.append(p)
    return found


def collect(paths: Iterable[str | os.PathLike[str]] = (), ledgers: Iterable[LedgerArg] = (),
            frames: Mapping[str, Source | list[Source]] | None = None, *, limits: Limits | None = None,
            progress: Progress | None = None, columns: Mapping[str, str] | None = None) -> dict[str, Ledger]:
    """Load every input: detected kinds for ``paths`` (files or directories), stated kinds for
    ``ledgers`` and ``frames`` (``{kind: path | DataFrame | [..]}``, the Python API form). ``columns``
    (header -> canonical column or ``-``) applies to every sheet, as ``--map`` does."""
    limits = limits or Limits()
    if columns:
        check_columns_arg(columns)
    parts: dict[str, list[Ledger]] = {}
    say = progress or (lambda _msg: None)

    for arg in ledgers:
        say(f"{arg.kind}: {arg.path}")
        parts.setdefault(arg.kind, []).append(load(arg.kind, arg.path, sheet=arg.sheet, limits=limits,
                                                   validate_schema=False, columns=columns))
    for kind, src in (frames or {}).items():
        if kind not in catalogue():
            raise ConfigError("unknown_kind", kind=kind, kinds=", ".join(kinds()))
        say(f"{kind}: {src if isinstance(src, str | os.PathLike) else type(src).__name__}")
        parts.setdefault(kind, []).append(load(kind, src, limits=limits, validate_schema=False, columns=columns))
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files = discover_files(path)
            if not files:
                raise InputError("no_inputs", what=f"{raw}: no .xls/.xlsx/.csv/.parquet files")
            for f in files:
                say(str(f))
                _detect_and_load(f, f.relative_to(path).as_posix(), limits, parts, columns)
        else:
            say(str(path))
            _detect_and_load(path, str(raw), limits, parts, columns)
    return {kind: combine(kind, ps) for kind, ps in parts.items()}


def _detect_and_load(path: Path, name: str, limits: Limits, parts: dict[str, list[Ledger]],
                     columns: Mapping[str, str] | None = None) -> None:
    """Read a file and load each sheet as the kind its headers show."""
    grids = read_grids(path, name=name, limits=limits)
    loaded = 0
    skipped: list[str] = []
    for grid in grids:
        try:
            layout = find_header(grid)
        except LayoutError:
            if len(grids) == 1:
                raise
            skipped.append(str(grid.sheet))
            continue
        ranking = detect_kind(list(layout.headers))
        best, score = ranking[0]
        runner = ranking[1][1] if len(ranking) > 1 else 0.0
        if score <= 0 or score < runner * 1.5:
            where = name if grid.sheet is None else f"{name} [{grid.sheet}]"
            raise LayoutError("kind_undetected", where=where,
                              headers=" | ".join(h for h in layout.headers if h)[:300])
        ledger = load_grid(best, grid, find_header(grid, best), columns=columns)
        parts.setdefault(best, []).append(ledger)
        loaded += 1
    if not loaded:
        raise LayoutError("header_not_found", where=name, rows=30, found="; ".join(skipped))
    if skipped:
        first = next(p for ps in parts.values() for p in ps if p.inputs[0].file == name)
        first.inputs[0].notes.append(note("sheets_without_header", sheets=", ".join(skipped)))
