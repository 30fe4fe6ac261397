"""audit.duckdb: the audit intermediate tables (审计中间表) of one run, for auditors who query them in SQL as they do
in AO's SQL查询器 (docs/audit-db.md).

One DuckDB file holding every input as the rules read it (one table per kind, named as the rules' SQL names it,
with ``file``, ``sheet``, ``row``, the engine's ``_rid``, ``_in_period`` and derived facts, and
``ledger_totals``), the run's ``findings``, ``refs``, ``evidence``, ``rules``, ``inputs``, ``rejected_rows`` and
``run``, and each rule's SQL as a view ``rule_<ID>`` (``-`` read as ``_``) over those tables.

Masked by default: a personal value is replaced by a pseudonym, its masked form (as every report shows it) joined by
``~`` to a keyed hash of the value (16 letters a–p: 64 bits of a SHA-256 keyed as HMAC nests it, under two random
keys made for this file and never written), so equal values stay equal and the rules' joins and groups still hold;
other text that the recogniser masks (an account number in a remark) gets the same pseudonym. File and sheet names
are masked as in ``refs``, without the hash, so the two join. An ID's birth date (``<col>__birth``), the part of an
ID that masking hides, is left empty. The raw values never reach the file: the tables are created from in-memory
registrations through SQL that writes only the pseudonyms.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import sqlglot
import sqlglot.expressions as exp

from fundaudit.columns import catalogue
from fundaudit.engine import input_tables, sql
from fundaudit.ledger import REJECTED_COLUMNS, StoredTable
from fundaudit.masking import mask_account, mask_free_text, mask_id, mask_series, mask_text
from fundaudit.period import Period
from fundaudit.report.json import _clean

if TYPE_CHECKING:
    from fundaudit.run import AuditResult

__all__ = ["DB_FILE", "view_name", "write_db"]

DB_FILE = "audit.duckdb"
_SRC = "_src"  # the in-memory registration a table is created from (never written to the file)
_KEYS = "_keys"  # the in-memory registration holding this file's two random hash keys
_SEP = "~"  # between a pseudonym's masked form and its hash
_HASH_LEN = 16  # hexadecimal digits of the hash kept (64 bits), written as letters a–p
_PROVENANCE_TEXT = ("file", "sheet")
_CODE_TYPES = ("code", "taxpayer_id")


def view_name(rule_id: str) -> str:
    """The view that runs a rule's SQL: ``rule_`` and the rule id with ``-`` as ``_`` (``rule_DISB_CASH``)."""
    return "rule_" + rule_id.replace("-", "_")


def write_db(result: AuditResult, path: str | os.PathLike[str]) -> Path:
    """Write ``result``'s audit.duckdb to ``path`` under a temporary name beside it, renamed when complete
    (DuckDB needs to create the file itself, so the name is random rather than reserved; its ``.wal`` and spill
    folder are removed with it when the write fails)."""
    import duckdb

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
    try:
        con = duckdb.connect(str(tmp), config={"enable_external_access": False, "threads": 2})
        try:
            _write(con, result)
            con.execute("CHECKPOINT")
        finally:
            con.close()
        os.chmod(tmp, 0o600)  # personal data, masked or not: the owner's only, as every report (DuckDB made it)
        os.replace(tmp, path)
    except BaseException:
        for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
            leftover.unlink(missing_ok=True)
        shutil.rmtree(tmp.with_name(tmp.name + ".tmp"), ignore_errors=True)  # where DuckDB spills, if it did
        raise
    return path


def _write(con: Any, result: AuditResult) -> None:
    tables = input_tables(result.ledgers, _period(result))
    if result.masked:
        keys = [secrets.token_hex(32), secrets.token_hex(32)]  # inner and outer hash keys, never written
        con.register(_KEYS, pa.table({"inner": [keys[0]], "outer": [keys[1]]}))
    for name, frame in tables.frames.items():
        _create(con, name, frame, masked=result.masked, kind=name if name in catalogue() else None)
    for name, stored in tables.stored.items():  # streamed from the out-of-core store, a batch at a time
        for i, chunk in enumerate(_chunks(stored)):
            _create(con, name, chunk, masked=result.masked, kind=name if name in catalogue() else None, append=i > 0)
    if result.masked:
        con.unregister(_KEYS)
    _create(con, "findings", _findings(result.findings),
            types={"amount": "DECIMAL(18,2)", "values": _JSON, "recurs_after": _JSON})
    if "triage" in result.findings.columns:  # a run given decisions or a baseline (docs/triage.md)
        _create(con, "resolved_since_baseline", _resolved(result.resolved_since_baseline),
                types={"amount": "DECIMAL(18,2)", "refs": _JSON})
        _create(con, "stale_decisions", _stale(result.stale_decisions))
    _create(con, "refs", _refs(result.findings))
    _create(con, "evidence", _evidence(result.findings))
    views = _views(con, result.rules)
    _create(con, "rules", _rules(result.rules, views), types={"params": _JSON})
    inputs, nested = _records(result.inputs, _INPUT_TYPES)
    _create(con, "inputs", inputs, types={**_INPUT_TYPES, **dict.fromkeys(nested, _JSON)})
    _create(con, "rejected_rows", _texts(result.rejected_rows))
    _create(con, "run", _run(result), types={"argv": _JSON, "rule_packs": _JSON, "period_start": "DATE",
                                              "period_end": "DATE"})


def _period(result: AuditResult) -> Period | None:
    """The run's audit period, as the engine applied it (``_in_period``)."""
    p = result.run.get("period")
    return Period(date.fromisoformat(p["start"]), date.fromisoformat(p["end"])) if p else None


# --- tables ------------------------------------------------------------------------------------------------------

_JSON = "JSON"


#: Rows of a stored ledger copied into audit.duckdb at a time.
_CHUNK_ROWS = 262_144


def _chunks(stored: StoredTable) -> Iterator[pd.DataFrame]:
    """A stored ledger's rows in row-id order, a chunk at a time, with the dtypes of the in-memory frame (the first
    chunk, perhaps empty, always comes, so the table is created)."""
    yield from stored.batches(_CHUNK_ROWS)


def _create(con: Any, name: str, frame: pd.DataFrame, *, types: dict[str, str] | None = None, masked: bool = False,
            kind: str | None = None, append: bool = False) -> None:
    """``CREATE TABLE name`` from ``frame`` (or, with ``append``, ``INSERT INTO`` it), its columns cast to
    ``types`` where given (text to JSON, DECIMAL, DATE); with ``masked``, the text columns of an input (``kind``,
    or the totals table) as :func:`_shown` says."""
    src = frame.copy(deep=False)
    for c in src.columns[src.dtypes.eq(object)]:  # text (typed even when every value is missing)
        src[c] = src[c].astype("string")
    shown = _shown(src, kind) if masked else {}
    columns: list[Any] = []  # sqlglot expressions
    for c in frame.columns:
        if c in (types or {}):
            columns.append(exp.alias_(exp.cast(sql.col(c), (types or {})[c]), c, quoted=True))
        elif c in shown:
            src[f"_shown_{c}"] = shown[c]
            columns.append(exp.alias_(_pseudonym(c), c, quoted=True))
        else:
            columns.append(sql.col(c))
    con.register(_SRC, pa.Table.from_pandas(src, preserve_index=False))
    try:
        query = sql.select(*columns).from_(sql.table(_SRC))
        if shown:
            query = query.join(sql.table(_KEYS, "k"), join_type="cross")
        if append:
            con.execute(exp.insert(query, sql.table(name)).sql(dialect="duckdb"))
        else:
            con.execute(exp.Create(this=sql.table(name), kind="TABLE", expression=query).sql(dialect="duckdb"))
    finally:
        con.unregister(_SRC)


def _pseudonym(c: str) -> exp.Expression:
    """Column ``c`` where ``_shown_<c>`` holds a masked form: that form, ``~`` and the value's keyed hash, elsewhere
    ``c`` as it is (``_shown_<c>`` NULL: a NULL, or text that needs no masking). The hash is
    ``sha256(outer || sha256(inner || value))`` with the two random keys of ``_keys`` (HMAC's nested construction,
    on text, with functions every DuckDB has), its first 16 hexadecimal digits written as the letters a–p so that
    no digit of it can read as part of an ID or account."""
    inner = exp.func("sha256", exp.DPipe(this=sql.col("inner", "k"), expression=sql.col(c), safe=True))
    digest = exp.func("sha256", exp.DPipe(this=sql.col("outer", "k"), expression=inner, safe=True))
    letters = exp.func("translate", exp.func("left", digest, sql.number(_HASH_LEN)),
                       sql.string("0123456789abcdef"), sql.string("abcdefghijklmnop"))
    shown = sql.col(f"_shown_{c}")
    pseudo = exp.DPipe(this=exp.DPipe(this=shown, expression=sql.string(_SEP), safe=True), expression=letters,
                       safe=True)
    return exp.Case(ifs=[exp.If(this=exp.Is(this=shown, expression=exp.Null()), true=sql.col(c))], default=pseudo)


def _shown(frame: pd.DataFrame, kind: str | None) -> dict[str, pd.Series]:
    """For each text column of an input that masking touches, its masked form where the value needs a pseudonym (NULL
    elsewhere). Personal columns (catalogue ``personal``) and the ``__key`` facts derived from them: every value,
    masked by its type (IDs keep 6 + 4 characters, accounts and phones 4, other personal text 3). Other text: the
    values the recogniser masks (code columns leniently, as a finding's values are). ``file`` and ``sheet``:
    masked in place (no hash), as ``refs`` shows them. An ID's ``__birth`` fact is emptied in place (it is the
    part of the ID that masking hides)."""
    spec = catalogue()[kind].columns if kind else {}
    out: dict[str, pd.Series] = {}
    for c in frame.columns:
        base, _, fact = c.partition("__")
        column = spec.get(base)
        personal = column is not None and column.personal
        values = frame[c]
        if personal and fact == "birth":
            frame[c] = pd.Series(pd.NaT, index=frame.index, dtype=values.dtype)
            continue
        if not (pd.api.types.is_string_dtype(values) or values.dtype == object) or (personal and fact == "status"):
            continue
        if c in _PROVENANCE_TEXT:
            frame[c] = mask_series(values)
            continue
        if personal:
            masked = _typed_mask(column.type if column is not None and not fact else "text")(values)
            form = masked.astype(object).where(values.notna(), None).to_numpy(dtype=object)
        else:  # each distinct text once
            positions, uniques = pd.factorize(values)
            distinct = pd.Series(np.asarray(uniques, dtype=object), dtype=object)
            if column is not None and not fact and column.type in _CODE_TYPES:  # a code quotes itself
                masked = pd.Series([mask_text(v, codes=(v,)) for v in distinct], dtype=object)
            else:
                masked = mask_series(distinct)
            changed = masked.ne(distinct).to_numpy()
            if not changed.any():
                continue
            shown = np.asarray([*np.where(changed, masked.to_numpy(dtype=object), None), None], dtype=object)
            form = shown[positions]  # position -1 (a missing value) picks the None at the end
        out[c] = pd.Series(form, index=frame.index, dtype=object)
    return out


def _typed_mask(column_type: str) -> Callable[[pd.Series], pd.Series]:
    """How a personal column's value is masked, by its type: IDs, accounts and phones as in every report, personal
    free text (an address) down to its first characters, as findings' evidence shows it."""
    if column_type == "resident_id":
        return mask_id
    if column_type in ("account", "phone"):
        return mask_account
    return mask_free_text


# --- the run's result -----------------------------------------------------------------------------------------

_FINDING_COLUMNS = ["id", "fingerprint", "rule", "severity", "kind", "union", "subject", "message", "message_en"]
_REF_COLUMNS = ["finding_id", "position", "kind", "file", "sheet", "row", "role"]
_EVIDENCE_COLUMNS = ["finding_id", "position", "column_no", "header", "text", "note"]


def _json(values: list[Any]) -> pd.Series:
    """Each value as JSON text (strict: NaN as null), to be cast to JSON; None stays NULL."""
    return pd.Series([None if v is None else json.dumps(_clean(v), ensure_ascii=False) for v in values],
                     dtype=object)


def _text(values: pd.Series | list[Any]) -> pd.Series:
    """Values as text (None for missing ones)."""
    return pd.Series([None if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)) else str(v)
                      for v in values], dtype=object)


def _findings(f: pd.DataFrame) -> pd.DataFrame:
    """One row per finding; ``amount`` as text of the exact fen (cast to DECIMAL(18,2)), ``values`` JSON."""
    out = pd.DataFrame({c: _text(f[c].tolist()) if c in f else pd.Series([None] * len(f), dtype=object)
                        for c in _FINDING_COLUMNS})
    fen = pd.to_numeric(f["amount_fen"], errors="coerce") if "amount_fen" in f else pd.Series([np.nan] * len(f))
    out["amount"] = _text([None if pd.isna(v) else f"{int(v) // 100}.{int(v) % 100:02d}" if v >= 0
                           else f"-{int(-v) // 100}.{int(-v) % 100:02d}" for v in fen])
    out["values"] = _json(f["values"].tolist() if "values" in f else [None] * len(f))
    if "triage" in f:  # a run given decisions or a baseline: each finding's verification, as columns
        tri = [t if isinstance(t, dict) else {} for t in f["triage"].tolist()]
        for k in _TRIAGE_FIELDS:
            out[f"triage_{k}"] = _text([t.get(k) or None for t in tri])
        out["since_baseline"] = _text(f["since_baseline"].tolist() if "since_baseline" in f else [None] * len(f))
        out["recurs_after"] = _json(f["recurs_after"].tolist() if "recurs_after" in f else [None] * len(f))
    return out


_TRIAGE_FIELDS = ("status", "reason", "evidence", "by", "date")


def _resolved(resolved: list[dict[str, Any]]) -> pd.DataFrame:
    """The baseline's findings that no longer occur: fingerprint, rule, severity, messages, amount, refs (JSON)
    and their last triage as ``triage_*`` columns."""
    out = pd.DataFrame({c: _text([r.get(c) for r in resolved])
                        for c in ("fingerprint", "rule", "severity", "message", "message_en", "amount")})
    out["refs"] = _json([r.get("refs") for r in resolved])
    from fundaudit.report.verification import decision

    tri = [decision(r.get("triage")) for r in resolved]
    for k in _TRIAGE_FIELDS:
        out[f"triage_{k}"] = _text([t.get(k) or None for t in tri])
    return out


def _stale(stale: list[dict[str, Any]]) -> pd.DataFrame:
    """Decisions whose finding occurs neither now nor in the baseline: fingerprint and the decision."""
    return pd.DataFrame({c: _text([d.get(c) or None for d in stale]) for c in ("fingerprint", *_TRIAGE_FIELDS)})


def _entries(f: pd.DataFrame, column: str) -> list[tuple[Any, int, dict[str, Any]]]:
    """(finding id, position, entry) for every entry of each finding's list column ``column`` (refs,
    evidence); nothing when the findings lack the column (read defensively: a malformed entry is skipped)."""
    if column not in f or not len(f):
        return []
    return [(fid, pos, e) for fid, entries in zip(f["id"].tolist(), f[column].tolist(), strict=True)
            if isinstance(entries, list | tuple) for pos, e in enumerate(entries) if isinstance(e, dict)]


def _refs(f: pd.DataFrame) -> pd.DataFrame:
    """One row per ref of each finding: finding id, position in its ``refs``, kind, file, sheet, row, role."""
    rows = [[fid, pos, e.get("kind"), e.get("file"), e.get("sheet"), e.get("row"), e.get("role")]
            for fid, pos, e in _entries(f, "refs")]
    out = pd.DataFrame(rows, columns=_REF_COLUMNS, dtype=object)
    return out.astype({"position": "int64", "row": "Int64"})


def _evidence(f: pd.DataFrame) -> pd.DataFrame:
    """One row per cell of each evidence row (findings' ``evidence``, parallel to ``refs``): finding id,
    position (its ref's), the cell's place in the row (1, 2, …), header and text; a row that cannot be shown
    (``cells`` null) is one row with its ``note``. Empty when the findings have no ``evidence``."""
    rows: list[list[Any]] = []
    for fid, pos, e in _entries(f, "evidence"):
        cells = e.get("cells")
        if isinstance(cells, dict):
            rows += [[fid, pos, i, str(h), None if t is None else str(t), None]
                     for i, (h, t) in enumerate(cells.items(), start=1)]
        else:
            rows.append([fid, pos, None, None, None, None if e.get("note") is None else str(e["note"])])
    out = pd.DataFrame(rows, columns=_EVIDENCE_COLUMNS, dtype=object)
    return out.astype({"position": "int64", "column_no": "Int64"})


def _views(con: Any, rules: list[dict[str, Any]]) -> dict[str, str]:
    """Each rule's SQL as view ``rule_<ID>``; the rule ids with a view, to their view's name. A rule that did not
    run (no SQL) has none, nor one whose SQL DuckDB refuses as written here (see docs/audit-db.md)."""
    import duckdb

    out: dict[str, str] = {}
    for r in rules:
        text = r.get("sql")
        if not text:
            continue
        name = view_name(str(r["id"]))
        try:
            query = sqlglot.parse_one(text, read="duckdb")
            con.execute(exp.Create(this=sql.table(name), kind="VIEW", expression=query).sql(dialect="duckdb"))
        except (sqlglot.errors.SqlglotError, duckdb.Error):
            continue
        out[str(r["id"])] = name
    return out


_RULE_COLUMNS = ["id", "title", "title_en", "ledger", "severity", "status", "reason", "reason_en"]


def _rules(rules: list[dict[str, Any]], views: dict[str, str]) -> pd.DataFrame:
    """One row per rule (findings.json ``rules[]``): ``params`` JSON, ``sql``, and its view's name."""
    out = pd.DataFrame({c: _text([r.get(c) for r in rules]) for c in _RULE_COLUMNS})
    out["findings"] = pd.Series([r.get("findings") for r in rules], dtype="Int64")
    out["params"] = _json([r.get("params") for r in rules])
    out["sql"] = _text([r.get("sql") for r in rules])
    out["view"] = _text([views.get(str(r["id"])) for r in rules])
    return out


#: findings.json ``inputs[]`` fields and their types (JSON where nested), the columns of ``inputs`` even when
#: there is none; other fields an entry has are added after them.
_INPUT_TYPES = {"kind": "VARCHAR", "file": "VARCHAR", "sheet": "VARCHAR", "sha256": "VARCHAR", "format": "VARCHAR",
                "encoding": "VARCHAR", "header_row": "BIGINT", "rows_read": "BIGINT", "rows_loaded": "BIGINT",
                "rows_rejected": "BIGINT", "rows_non_data": "BIGINT", "amount_total": "DECIMAL(18,2)",
                "columns": _JSON, "unmapped_columns": _JSON, "title": "VARCHAR", "hidden": "BOOLEAN", "notes": _JSON}


def _records(records: list[dict[str, Any]], types: dict[str, str]) -> tuple[pd.DataFrame, list[str]]:
    """Dicts as a table with at least the columns of ``types``, and the keys whose values are nested (dicts, lists:
    written as JSON text)."""
    keys = list(dict.fromkeys([*types, *(k for r in records for k in r)]))
    out = pd.DataFrame(index=range(len(records)))
    nested = []
    for k in keys:
        values = [_clean(r.get(k)) for r in records]
        if types.get(k) == _JSON or any(isinstance(v, dict | list) for v in values):
            out[k] = _json(values)
            nested.append(k)
        elif all(v is None or isinstance(v, bool) for v in values):
            out[k] = pd.Series(values, dtype="boolean")
        elif all(v is None or (isinstance(v, int) and not isinstance(v, bool)) for v in values):
            out[k] = pd.Series(values, dtype="Int64")
        else:
            out[k] = _text(values)
    return out, nested


def _texts(frame: pd.DataFrame) -> pd.DataFrame:
    """Rejected rows: ``row`` a number, ``personal`` a yes/no, every other column text (a raw value as read)."""
    if frame.columns.empty:  # no ledger, or ledgers built without a rejected-rows frame
        frame = pd.DataFrame(columns=REJECTED_COLUMNS)
    out = pd.DataFrame({c: _text(frame[c].tolist()) for c in frame.columns if c not in ("row", "personal")})
    if "row" in frame:
        out.insert(min(3, len(out.columns)), "row",
                   pd.to_numeric(frame["row"], errors="coerce").astype("Int64").to_numpy())
    if "personal" in frame:
        out["personal"] = frame["personal"].astype("boolean").to_numpy()
    return out[[c for c in frame.columns if c in out.columns]]


def _run(result: AuditResult) -> pd.DataFrame:
    """The one row of ``run``: how the audit was run (argv and rule packs as JSON)."""
    run = result.run
    period = run.get("period") or {}
    return pd.DataFrame({
        "argv": _json([run.get("argv")]),
        "profile": _text([run.get("profile")]), "region_code": _text([run.get("region_code")]),
        "period_start": _text([period.get("start")]), "period_end": _text([period.get("end")]),
        "version": _text([result.version]), "generated_at": _text([result.generated_at]),
        "masked": pd.Series([bool(result.masked)], dtype="boolean"),
        "rule_packs": _json([run.get("rule_packs")]),
    })
