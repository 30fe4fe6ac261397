"""Which inputs an audit reads: paths, directories, ``--ledger KIND=PATH#SHEET`` and DataFrames,
resolved into one :class:`~fundaudit.ledger.Ledger` per kind.

A directory contributes every supported file below it (hidden files and Office lock files
``~$…`` skipped), each sheet's kind detected from its headers. Several files or sheets of one kind
form one ledger, every row keeping its own file, sheet and row.

A file found in a directory that cannot be audited (unreadable, no header, kind not detected) or is not a
ledger type at all is not audited: it is listed as a :class:`SkippedInput` with its reason and the rest is
audited. A file named explicitly (a PATH that is a file, ``--ledger``, the API's ``inputs``) must be audited:
its problem stops the run (exit 2).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fundaudit.columns import IGNORE, catalogue, detect_kind, kinds
from fundaudit.errors import ConfigError, FundauditError, InputError, Lang, LayoutError, note
from fundaudit.io import Limits, display_name, read_grids
from fundaudit.layout import find_header
from fundaudit.ledger import Ledger, Source, combine, load, load_grid

if TYPE_CHECKING:
    from fundaudit.scan import OutOfCore

SUPPORTED_SUFFIXES = frozenset({".xls", ".xlsx", ".xlsm", ".csv", ".txt", ".tsv", ".parquet"})

__all__ = ["NOT_LEDGER_TYPE", "SUPPORTED_SUFFIXES", "LedgerArg", "SkippedInput", "collect", "discover_files",
           "parse_ledger_arg",
           "parse_map_args"]

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


#: The reason of a file in an audited directory whose type is not a ledger's (README.md, a PDF): listed, never
#: read, and not a reason for ``--strict`` to refuse the run.
NOT_LEDGER_TYPE = "not_ledger_type"


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


@dataclass(frozen=True)
class SkippedInput:
    """A file (or one sheet of a workbook) found in an audited directory and not audited: ``error`` says why
    (its ``code`` is the reason in findings.json ``skipped_inputs``)."""

    file: str
    sheet: str | None
    error: FundauditError

    @property
    def reason(self) -> str:
        """The reason code: the error's catalogue code (``kind_undetected``, ``not_ledger_type`` …)."""
        return self.error.code

    def message(self, lang: Lang = "zh", *, masked: bool = True) -> str:
        """Why it was not audited, in ``lang``."""
        return self.error.message(lang, masked=masked)

    def to_dict(self, *, masked: bool = True) -> dict[str, Any]:
        """As findings.json ``skipped_inputs``: file, sheet, reason, message (zh), message_en."""
        return {"file": self.file, "sheet": self.sheet, "reason": self.reason,
                "message": self.message("zh", masked=masked), "message_en": self.message("en", masked=masked)}


def discover_files(directory: Path, others: list[Path] | None = None) -> list[Path]:
    """Supported files below ``directory``, sorted, skipping hidden entries and lock files; the other files
    (of a type no reader takes) are appended to ``others`` when given."""
    found = []
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for f in sorted(files):
            p = Path(root) / f
            if f.startswith((".", "~$")):
                continue
            if p.suffix.lower() not in SUPPORTED_SUFFIXES:
                if others is not None:
                    others.append(p)
                continue
            found.append(p)
    return found


def collect(paths: Iterable[str | os.PathLike[str]] = (), ledgers: Iterable[LedgerArg] = (),
            frames: Mapping[str, Source | list[Source]] | None = None, *, limits: Limits | None = None,
            progress: Progress | None = None, skipped: list[SkippedInput] | None = None,
            strict: bool = False, columns: Mapping[str, str] | None = None,
            out_of_core: OutOfCore | None = None) -> dict[str, Ledger]:
    """Load every input: detected kinds for ``paths`` (files or directories), stated kinds for
    ``ledgers`` and ``frames`` (``{kind: path | DataFrame | [..]}``, the Python API form).

    With ``skipped``, a file found in a directory that cannot be audited, or one of its sheets, is appended
    to it (and so are files of other types) and the rest loaded; when no ledger could be loaded, the
    run stops (the one file's own error, or ``nothing_audited`` listing each). Without it, or with
    ``strict``, the first such file stops the run, as a file named explicitly always does (files of other
    types are still listed in ``skipped``). ``columns`` (header -> canonical column or ``-``) applies to every
    sheet, as ``--map`` does.

    With ``out_of_core`` (:class:`fundaudit.scan.OutOfCore`), a parquet input (a file, or the parquet files of a
    directory, which a stated kind may then name) whose rows, counted from the footers, reach its threshold (or
    every one, ``always``) is scanned batch by batch into its on-disk store, not bound by ``max_rows``; the other
    inputs of such a kind are appended to the same table."""
    limits = limits or Limits()
    if columns:
        check_columns_arg(columns)
    parts: dict[str, list[Ledger]] = {}
    say = progress or (lambda _msg: None)
    found: list[SkippedInput] = []

    scans: dict[str, list[tuple[Path, str]]] = {}  # kind -> parquet files scanned out of core, with their names

    def stated(kind: str, src: Source, sheet: str | None = None) -> None:
        """A stated kind's input: scanned when it is parquet big enough, else loaded."""
        if out_of_core is not None and sheet is None and isinstance(src, str | os.PathLike):
            files = _parquet_input(Path(src), src)
            if files is not None and out_of_core.scans(files):
                scans.setdefault(kind, []).extend(files)
                return
            if files is not None and Path(src).is_dir():  # a directory of parquet files, each small enough
                for f, name in files:
                    parts.setdefault(kind, []).append(load(kind, f, name=name, limits=limits, validate_schema=False,
                                                           columns=columns))
                return
        parts.setdefault(kind, []).append(load(kind, src, sheet=sheet, limits=limits, validate_schema=False,
                                               columns=columns))

    for arg in ledgers:
        say(f"{arg.kind}: {display_name(arg.path)}")
        stated(arg.kind, arg.path, arg.sheet)
    for kind, src in (frames or {}).items():
        if kind not in catalogue():
            raise ConfigError("unknown_kind", kind=kind, kinds=", ".join(kinds()))
        say(f"{kind}: {src if isinstance(src, str | os.PathLike) else type(src).__name__}")
        if isinstance(src, list | tuple) and out_of_core is not None:
            for one in src:
                stated(kind, one)
        elif isinstance(src, str | os.PathLike):
            stated(kind, src)
        else:
            parts.setdefault(kind, []).append(load(kind, src, limits=limits, validate_schema=False, columns=columns))
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            others: list[Path] = []
            files = discover_files(path, others)
            if not files:
                raise InputError("no_ledger_files", path=display_name(raw), kinds=" ".join(sorted(SUPPORTED_SUFFIXES)))
            parquet = [(f, display_name(f.relative_to(path).as_posix())) for f in files if _is_parquet(f)]
            scanned = {f for f, _ in parquet} if out_of_core is not None and out_of_core.scans(parquet) else set()
            for f in files:
                name = display_name(f.relative_to(path).as_posix())
                say(display_name(f))
                if f in scanned:
                    try:
                        scans.setdefault(_parquet_kind(f, name, limits), []).append((f, name))
                    except InputError as exc:
                        if skipped is None or strict:
                            raise
                        found.append(SkippedInput(name, None, exc))
                    continue
                if skipped is None or strict:
                    _detect_and_load(f, name, limits, parts, None, columns)
                    continue
                try:
                    _detect_and_load(f, name, limits, parts, found, columns)
                except InputError as exc:
                    found.append(SkippedInput(name, None, exc))
            kinds_text = " ".join(sorted(SUPPORTED_SUFFIXES))
            found += [SkippedInput(name, None, InputError(NOT_LEDGER_TYPE, file=name, kinds=kinds_text))
                      for name in (display_name(o.relative_to(path).as_posix()) for o in others)]
        elif out_of_core is not None and _is_parquet(path) and out_of_core.scans([(path, display_name(raw))]):
            say(display_name(path))
            scans.setdefault(_parquet_kind(path, display_name(raw), limits), []).append((path, display_name(raw)))
        else:
            say(display_name(path))
            _detect_and_load(path, display_name(raw), limits, parts, None, columns)
    if skipped is not None:
        skipped += found
        unreadable = [s for s in found if s.reason != NOT_LEDGER_TYPE]
        no_ledger = not any(catalogue()[kind].ledger for kind in parts)  # reference tables alone are no audit
        if no_ledger and len(unreadable) == 1:
            raise unreadable[0].error
        if no_ledger and unreadable:
            raise _NothingAuditedError("nothing_audited", count=len(unreadable), errors=[s.error for s in unreadable])
    out = {kind: combine(kind, ps) for kind, ps in parts.items() if kind not in scans}
    for kind, scanned_files in scans.items():
        assert out_of_core is not None
        out[kind] = out_of_core.scan(kind, scanned_files, combine(kind, parts[kind]) if kind in parts else None,
                                     columns=columns, limits=limits, progress=say)
    return out


def _is_parquet(path: Path) -> bool:
    return path.suffix.lower() == ".parquet"


def _parquet_input(path: Path, raw: str | os.PathLike[str]) -> list[tuple[Path, str]] | None:
    """The parquet files of a stated kind's input, with their names: the file itself, or every file of a
    directory (each must be parquet: a kind stated for a folder of spreadsheets is refused as before); None
    when the input is not parquet."""
    if path.is_dir():
        others: list[Path] = []
        files = discover_files(path, others)
        if not files:
            raise InputError("no_ledger_files", path=display_name(raw), kinds=".parquet")
        if not all(_is_parquet(f) for f in files):
            raise InputError("bad_source", what=f"{display_name(raw)} (a directory)", file=display_name(raw))
        return [(f, display_name(f)) for f in files]
    return [(path, display_name(raw))] if _is_parquet(path) and path.is_file() else None


def _parquet_kind(path: Path, name: str, limits: Limits) -> str:
    """The kind of a parquet file from its column names alone (its footer; no row is read), as
    :func:`_detect_and_load` tells a sheet's."""
    from fundaudit.io import open_parquet
    from fundaudit.io.tabular import arrow_grid

    src = open_parquet(path, name=name, limits=limits)
    import pyarrow.parquet as pq

    schema = pq.read_schema(src.path)
    grid = arrow_grid(schema.empty_table(), file=src.file, sha256=src.sha256, limits=limits, notes=[])
    return _kind_of(grid, name)


def _kind_of(grid: Any, name: str, layout: Any = None) -> str:
    """The kind a sheet's headers show (its ``layout`` when found already), or ``kind_undetected``."""
    layout = layout if layout is not None else find_header(grid)
    ranking = detect_kind(list(layout.headers))
    best, score = ranking[0]
    runner = ranking[1][1] if len(ranking) > 1 else 0.0
    if score <= 0 or score < runner * 1.5:
        where = name if grid.sheet is None else f"{name} [{grid.sheet}]"
        raise LayoutError("kind_undetected", where=where, headers=" | ".join(h for h in layout.headers if h)[:300])
    return str(best)


class _NothingAuditedError(InputError):
    """No file found could be audited; the message lists each one's own reason in the message's language."""

    def _text(self, lang: Lang) -> str:
        """The message in ``lang``, one line per file with its reason (masked as a whole by ``message``)."""
        from fundaudit.errors import render

        lines = "\n".join("  " + e.message(lang, masked=False) for e in self.fields.get("errors") or [])
        return render(self.section, self.code, lang, **{**self.fields, "errors": lines})


def _detect_and_load(path: Path, name: str, limits: Limits, parts: dict[str, list[Ledger]],
                     skipped: list[SkippedInput] | None, columns: Mapping[str, str] | None = None) -> None:
    """Read a file and load each sheet as the kind its headers show. A sheet whose kind cannot be told is
    appended to ``skipped`` when given (the other sheets still load), else stops the run."""
    grids = read_grids(path, name=name, limits=limits)
    loaded = 0
    undetected: list[SkippedInput] = []
    without_header: list[str] = []
    for grid in grids:
        try:
            layout = find_header(grid)
        except LayoutError:
            if len(grids) == 1:
                raise
            without_header.append(str(grid.sheet))
            continue
        try:
            best = _kind_of(grid, name, layout)
        except LayoutError as error:
            if skipped is None or len(grids) == 1:
                raise
            undetected.append(SkippedInput(name, grid.sheet, error))
            continue
        ledger = load_grid(best, grid, find_header(grid, best), columns=columns)
        parts.setdefault(best, []).append(ledger)
        loaded += 1
    if not loaded:
        if undetected:
            raise undetected[0].error
        raise LayoutError("header_not_found", where=name, rows=30, found="; ".join(without_header))
    if skipped is not None:
        skipped += undetected
    if without_header:
        first = next(p for ps in parts.values() for p in ps if p.inputs[0].file == name)
        first.inputs[0].notes.append(note("sheets_without_header", sheets=", ".join(without_header)))
