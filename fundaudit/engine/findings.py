"""From a check's result rows to findings: provenance (file, sheet, row) and role for every ref, groups that
share a row merged, the audit-period filter, exact money, messages rendered from the rule's
templates, personal data masked, and fingerprints that stay the same while the rows' content does.

A finding's refs are its result rows (each with the role of its table, or the row's ``_role``) and then the
rows of other tables it rests on, which a check returns as ``_ref:<table>:<role>`` columns (a row id or a
list of them: the register file a payment matched, the staff row, the cap row used). Only the result rows
make a finding's fingerprint, money and period: the rows it cites are the evidence, not the suspicion."""

from __future__ import annotations

import functools
import hashlib
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from fundaudit.columns import catalogue
from fundaudit.engine.sql import BIRTH_UNIT, REF, ROLE, ROW_ID, TOTALS, unit_of
from fundaudit.errors import note, render
from fundaudit.io.asread import EvidenceRows
from fundaudit.ledger import Ledger, StoredTable
from fundaudit.masking import mask_account, mask_free_text, mask_id, mask_series
from fundaudit.normalize import format_fen_series
from fundaudit.result import FINDING_FRAME_COLUMNS
from fundaudit.rules.model import Rule
from fundaudit.schemas import PROVENANCE

__all__ = ["Tables", "add_evidence", "add_subjects", "build_findings"]

_FORMATTER = string.Formatter()
#: Private columns of :func:`build_findings`: the raw ID a finding is about and its column type, until
#: :func:`add_subjects` hashes it.
SUBJECT_ID, SUBJECT_TYPE = "_subject_id", "_subject_type"


@dataclass
class Tables:
    """The registered inputs: frames by table name, tables held outside pandas (``stored``: a ledger scanned out of
    core, :class:`fundaudit.ledger.StoredTable`), and which ledgers carry declared totals. Findings read input
    rows only through :meth:`rows`, :meth:`columns` and :meth:`whole`, by row id, so that a stored table serves
    just the few rows findings rest on."""

    frames: dict[str, pd.DataFrame]
    total_kinds: list[str] = field(default_factory=list)
    total_columns: dict[str, list[str]] = field(default_factory=dict)
    stored: dict[str, StoredTable] = field(default_factory=dict)
    _whole: dict[tuple[str, tuple[str, ...]], pd.DataFrame] = field(default_factory=dict, repr=False)

    @property
    def names(self) -> list[str]:
        """Every table's name: the frames', then the stored ones'."""
        return [*self.frames, *(n for n in self.stored if n not in self.frames)]

    def columns(self, table: str) -> list[str]:
        """The columns of ``table`` (none when it is not registered)."""
        if table in self.stored:
            return self.stored[table].columns()
        frame = self.frames.get(table)
        return [] if frame is None else list(frame.columns)

    def rows(self, table: str, rids: Any, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """The rows ``rids`` (row ids, ``_rid``) of ``table``, in that order, repeated as often as given; only
        ``columns`` when given."""
        if table in self.stored:
            return self.stored[table].rows(np.asarray(rids, dtype="int64"), columns)
        frame = self.frames[table]
        rows = frame.iloc[np.asarray(rids, dtype="int64")]
        return rows if columns is None else rows[list(columns)]

    def whole(self, table: str, columns: Sequence[str]) -> pd.DataFrame | None:
        """All of a small reference ``table``'s ``columns`` (None unless it is registered with all of them)."""
        if table in self.stored:  # a reference table big enough to be scanned (a province's union registry)
            stored = self.stored[table]
            if not set(columns) <= set(stored.columns()):
                return None
            key = (table, tuple(columns))
            if key not in self._whole:  # read once a run, not once a rule
                self._whole[key] = pd.concat(list(stored.batches(1 << 18, columns)), ignore_index=True)
            return self._whole[key]
        frame = self.frames.get(table)
        return None if frame is None or not set(columns) <= set(frame.columns) else frame[list(columns)]

    def distinct(self, table: str, column: str) -> list[Any]:
        """The distinct non-null values of ``column`` of ``table``, sorted."""
        if table in self.stored:
            return self.stored[table].distinct(column)
        return sorted(self.frames[table][column].dropna().unique())

    def kind_of(self, table: str) -> str | None:
        """The input kind behind a table (None for the totals table, whose rows carry their own)."""
        return table if table in catalogue() else None

    @staticmethod
    def role_of(table: str) -> str:
        """What a row of ``table`` is when a finding cites it (the catalogue's ``role``; ``declared_total``
        for a 合计/小计 row)."""
        return "declared_total" if table == TOTALS else catalogue()[table].role


def build_findings(
    rule: Rule, res: pd.DataFrame, tables: Tables, *, masked: bool, units: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """One row per finding (FINDING_FRAME_COLUMNS but ``evidence``, which :func:`add_evidence` adds once every
    rule has run), in order of first ref; ``subject`` is None, and the private ``SUBJECT_ID`` and
    ``SUBJECT_TYPE`` columns hold what :func:`add_subjects` hashes it from once every rule has run."""
    if res.empty:
        return pd.DataFrame(columns=FINDING_FRAME_COLUMNS)
    res = res.reset_index(drop=True)
    if "_table" not in res:
        res["_table"] = rule.ledger
    res["_table"] = res["_table"].astype(str)
    if "_finding" in res:
        res["_fkey"] = res["_table"] + "|" + res["_finding"].astype(str)
        res["_fkey"] = _merge_groups(res)
    else:
        res["_fkey"] = res["_table"] + "|" + res[ROW_ID].astype(str)
    res = _attach_provenance(res, tables)
    res = _add_template_columns(rule, res, tables)
    keep = res.groupby("_fkey")["_in_period"].transform("any").astype(bool)
    res = res[keep]
    if res.empty:
        return pd.DataFrame(columns=FINDING_FRAME_COLUMNS)
    res = res.sort_values(["_fkey", *PROVENANCE], na_position="first", kind="stable")
    refs = res.drop_duplicates(["_fkey", "_table", ROW_ID])
    first = refs.drop_duplicates("_fkey").set_index("_fkey")
    order = first.sort_values(list(PROVENANCE), na_position="first", kind="stable").index

    value_cols = [
        c for c in res.columns if not c.startswith("_") and c not in PROVENANCE and "__" not in c and c != "kind"
    ]
    kind_for_values = rule.ledger if rule.ledger in catalogue() else None
    formatted = {c: _format(first[c], c, kind_for_values, masked, units or {}) for c in value_cols}

    amount = None
    if "_amount" in refs:
        amount = refs.groupby("_fkey")["_amount"].sum(min_count=1).reindex(first.index)
    severity = (
        first["_severity"].fillna(rule.severity)
        if "_severity" in first
        else pd.Series(rule.severity, index=first.index)
    )
    amount_fen = (
        amount.round().astype("Int64") if amount is not None else pd.Series(pd.NA, index=first.index, dtype="Int64")
    )
    amount_txt = format_fen_series(amount_fen)
    fields = dict(formatted)
    fields["amount"] = amount_txt
    for name in PROVENANCE:
        fields[name] = first[name].astype(str)
    params = {k: param_text(v, "、") for k, v in rule.params.items()}
    params_en = {k: param_text(v, ", ") for k, v in rule.params.items()}
    msg_zh = _render(rule.message.get("zh", rule.id), _labelled(fields, "zh", kind_for_values), params, first.index,
                     render("message_parts", "not_provided", "zh"))
    msg_en = _render(rule.message.get("en", rule.message.get("zh", rule.id)), _labelled(fields, "en", kind_for_values),
                     params_en, first.index, render("message_parts", "not_provided", "en"))

    ref_lists = _ref_lists(pd.concat([_roles(refs), _cited(res, refs, tables)], ignore_index=True))
    values = pd.DataFrame({c: formatted[c] for c in value_cols}, index=first.index)
    value_dicts = (
        values.astype(object).where(values.notna(), None).to_dict("records")
        if value_cols
        else [{} for _ in range(len(first))]
    )
    out = pd.DataFrame(
        {
            "id": "",
            "fingerprint": _fingerprints(rule, refs, tables).reindex(first.index).to_numpy(),
            "rule": rule.id,
            "severity": severity.to_numpy(),
            "kind": first["kind"].to_numpy(),
            "union": _unions(first, tables).to_numpy(),
            "subject": None,
            **_subject_ids(first, tables),
            "message": msg_zh.to_numpy(),
            "message_en": msg_en.to_numpy(),
            "amount": amount_txt.astype(object).where(amount_fen.notna(), None).to_numpy(),
            "amount_fen": amount_fen.to_numpy(),
            "values": value_dicts,
            "refs": ref_lists.reindex(first.index).to_numpy(),
        },
        index=first.index,
    )
    return out.loc[order].reset_index(drop=True)


def _unions(first: pd.DataFrame, tables: Tables) -> pd.Series:
    """The grassroots union of each finding: read on its first row from the kind's ``union`` columns (the
    catalogue's; first non-empty wins), a union code as its name in the union registry (a code the registry
    does not hold passes to the next column: a dues row's employer); None when none says."""
    out = pd.Series(None, index=first.index, dtype=object)
    registry = tables.whole("unions", ["union_code", "union_name"])
    names: dict[str, str] = {}
    if registry is not None:
        named = registry.dropna()
        names = dict(zip(named["union_code"].astype(str), named["union_name"].astype(str), strict=True))
    for tname, part in first.groupby("_table", sort=False):
        if tname not in catalogue():
            continue
        present = [c for c in catalogue()[str(tname)].union if c in tables.columns(str(tname))]
        rows = tables.rows(str(tname), part[ROW_ID].to_numpy(), present)
        got = pd.Series(None, index=part.index, dtype=object)
        for c in present:
            vals = rows[c].astype(object).where(rows[c].notna(), None)
            vals = pd.Series(vals.to_numpy(), index=part.index, dtype=object)
            if c == "union_code" and names:  # a code the registry does not name (a federation's) says no union
                vals = vals.map(lambda v: names.get(str(v)) if v is not None else None)
            vals = vals.where(vals.map(lambda v: v is not None and str(v).strip() != ""), None)
            got = got.where(got.notna(), vals)
        out.loc[part.index] = got
    return out


def _subject_ids(first: pd.DataFrame, tables: Tables) -> dict[str, pd.Series]:
    """The ID each finding is about, read unmasked on its first row from the kind's ``subject`` columns (the
    catalogue's; first non-empty wins), with that column's type: the private columns ``SUBJECT_ID`` and
    ``SUBJECT_TYPE``, which :func:`add_subjects` turns into the ``subject`` hash and drops. None for a kind
    without one (a budget line, a 合计 row) or a blank ID."""
    ids = np.full(len(first), None, dtype=object)
    types = np.full(len(first), None, dtype=object)
    table = first["_table"].to_numpy()
    for tname in dict.fromkeys(table.tolist()):
        if tname not in catalogue():
            continue
        spec = catalogue()[tname]
        at = np.flatnonzero(table == tname)
        present = [c for c in spec.subject if c in tables.columns(tname)]
        rows = tables.rows(tname, first[ROW_ID].to_numpy()[at], present)
        for c in present:
            values = rows[c].to_numpy(dtype=object, na_value=None)
            for k, v in zip(at.tolist(), values.tolist(), strict=True):  # one step per finding, not per ledger row
                if ids[k] is None and v is not None and str(v).strip():
                    ids[k], types[k] = v, spec.columns[c].type
    return {SUBJECT_ID: pd.Series(ids, index=first.index, dtype=object),
            SUBJECT_TYPE: pd.Series(types, index=first.index, dtype=object)}


def add_subjects(findings: pd.DataFrame, key: bytes | None) -> pd.DataFrame:
    """``findings`` with ``subject`` (:func:`fundaudit.subject.subjects` of each ``SUBJECT_ID``, one call per ID
    type for all the findings of a run; None without a key or an ID) and the private ID columns dropped, so the
    raw ID never leaves the engine."""
    from fundaudit.subject import subjects

    out = findings.drop(columns=[SUBJECT_ID, SUBJECT_TYPE], errors="ignore")
    subject = pd.Series(None, index=findings.index, dtype=object)
    if key is not None and SUBJECT_ID in findings.columns:
        with_id = findings[findings[SUBJECT_ID].notna() & findings[SUBJECT_TYPE].notna()]
        for ctype, part in with_id.groupby(SUBJECT_TYPE, sort=False):
            subject.loc[part.index] = subjects(part[SUBJECT_ID], str(ctype), key).to_numpy()
    out["subject"] = subject.where(subject.notna(), None)
    return out


def _merge_groups(res: pd.DataFrame) -> pd.Series:
    """Findings that share a row become one (union-find over the few result rows of group rules)."""
    key = res["_table"] + "#" + res[ROW_ID].astype(str)
    if not key.duplicated().any():
        return res["_fkey"]
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    first_group: dict[str, str] = {}
    for fk, k in zip(res["_fkey"].tolist(), key.tolist(), strict=True):
        if k in first_group:
            a, b = find(first_group[k]), find(fk)
            if a != b:
                parent[max(a, b)] = min(a, b)
        else:
            first_group[k] = fk
            find(fk)
    return res["_fkey"].map(find)


def _attach_provenance(res: pd.DataFrame, tables: Tables) -> pd.DataFrame:
    parts = []
    for tname, sub in res.groupby("_table", sort=False):
        wanted = ["file", "sheet", "row", "_in_period", *(["kind"] if tables.kind_of(str(tname)) is None else [])]
        rows = tables.rows(str(tname), sub[ROW_ID].to_numpy(), wanted)
        prov = pd.DataFrame(
            {
                "file": rows["file"].to_numpy(),
                "sheet": rows["sheet"].to_numpy(),
                "row": rows["row"].to_numpy(),
                "_in_period": rows["_in_period"].to_numpy(),
            },
            index=sub.index,
        )
        if "kind" not in sub:
            prov["kind"] = rows["kind"].to_numpy() if tables.kind_of(str(tname)) is None else str(tname)
        parts.append(prov)
    prov = pd.concat(parts).reindex(res.index)
    res = res.drop(columns=[c for c in PROVENANCE if c in res.columns])
    out = pd.concat([res, prov], axis=1)
    out["sheet"] = out["sheet"].where(out["sheet"].notna() & (out["sheet"].astype(str) != "nan"), None)
    return out


def _add_template_columns(rule: Rule, res: pd.DataFrame, tables: Tables) -> pd.DataFrame:
    """Columns a message names but the query did not return, fetched from the ref rows."""
    names = {n for t in rule.message.values() for _, n, _, _ in _FORMATTER.parse(t) if n}
    present = tables.columns(rule.ledger)
    wanted = [n for n in sorted(names) if n in present and n not in res.columns and n not in PROVENANCE]
    if not wanted:
        return res
    own = res["_table"] == rule.ledger
    fetched = tables.rows(rule.ledger, res.loc[own, ROW_ID].to_numpy(), wanted)
    fetched.index = res.index[own]
    return pd.concat([res, fetched.reindex(res.index)], axis=1)


def _roles(refs: pd.DataFrame) -> pd.DataFrame:
    """The result rows' refs with their role: the row's ``_role`` where the check gave one, else its table's."""
    default = refs["_table"].map(Tables.role_of)
    role = refs[ROLE].astype(object).where(refs[ROLE].notna(), default) if ROLE in refs else default
    return refs[["_fkey", "_table", ROW_ID, "kind", *PROVENANCE]].assign(role=role.to_numpy())


def _cited(res: pd.DataFrame, refs: pd.DataFrame, tables: Tables) -> pd.DataFrame:
    """The rows of other tables the findings rest on (``_ref:<table>:<role>`` columns), with provenance, each
    once per finding and never again when it is already one of the finding's result rows."""
    parts: list[pd.DataFrame] = []
    for c in [c for c in res.columns if c.startswith(REF)]:
        tname, role = c[len(REF):].split(":", 1)
        ids = res[["_fkey", c]].explode(c).dropna()
        if ids.empty:
            continue
        rids = ids[c].astype("int64").to_numpy()
        rows = tables.rows(tname, rids, ["file", "sheet", "row", *(["kind"] if tables.kind_of(tname) is None else [])])
        kind = rows["kind"].to_numpy() if tables.kind_of(tname) is None else tname
        parts.append(pd.DataFrame({"_fkey": ids["_fkey"].to_numpy(), "_table": tname, ROW_ID: rids, "kind": kind,
                                   "file": rows["file"].to_numpy(), "sheet": rows["sheet"].to_numpy(),
                                   "row": rows["row"].to_numpy(), "role": role, "_order": len(parts)}))
    if not parts:
        return pd.DataFrame(columns=["_fkey", "_table", ROW_ID, "kind", *PROVENANCE, "role"])
    cited = pd.concat(parts, ignore_index=True)
    cited = cited[cited["_fkey"].isin(refs["_fkey"])]  # findings the period filter kept
    cited["sheet"] = cited["sheet"].where(cited["sheet"].notna() & (cited["sheet"].astype(str) != "nan"), None)
    own = pd.MultiIndex.from_frame(refs[["_fkey", "_table", ROW_ID]].astype({ROW_ID: "int64"}))
    cited = cited[~pd.MultiIndex.from_frame(cited[["_fkey", "_table", ROW_ID]]).isin(own)]
    cited = cited.drop_duplicates(["_fkey", "_table", ROW_ID])
    # in the order the check declares its cited tables (the staff row it matched before the officer), then as read
    return cited.sort_values(["_fkey", "_order", *PROVENANCE], na_position="first", kind="stable")


def _ref_lists(refs: pd.DataFrame) -> pd.Series:
    """Each finding's refs, in order: its result rows, then the rows it cites."""
    recs = refs[["_fkey", "kind", *PROVENANCE, "role"]].copy()
    recs["row"] = recs["row"].astype("int64")
    recs["sheet"] = recs["sheet"].astype(object).where(recs["sheet"].notna(), None)
    grouped: dict[str, list[dict[str, Any]]] = {}
    for fk, kind, file, sheet, row, role in recs.itertuples(index=False, name=None):  # one step per ref
        grouped.setdefault(fk, []).append({"kind": kind, "file": file, "sheet": sheet, "row": int(row),
                                           "role": role})
    return pd.Series(grouped, dtype=object)


def _fingerprints(rule: Rule, refs: pd.DataFrame, tables: Tables) -> pd.Series:
    """sha256 of the rule id and the content of its rows (provenance excluded, so moving rows keeps it)."""
    hashes = pd.Series(0, index=refs.index, dtype="uint64")
    for tname, sub in refs.groupby("_table", sort=False):
        content = [c for c in tables.columns(str(tname))
                   if not c.startswith("_") and c not in PROVENANCE and "__" not in c]
        rows = tables.rows(str(tname), sub[ROW_ID].to_numpy(), content)
        hashes.loc[sub.index] = pd.util.hash_pandas_object(rows, index=False).to_numpy()
    out: dict[str, str] = {}
    for fk, group in hashes.groupby(refs["_fkey"]):
        h = hashlib.sha256(rule.id.encode())
        for v in sorted(group.tolist()):
            h.update(int(v).to_bytes(8, "little"))
        out[str(fk)] = h.hexdigest()[:20]
    return pd.Series(out)


def _format(values: pd.Series, name: str, kind: str | None, masked: bool, units: Mapping[str, str]) -> pd.Series:
    """Display text of a value column: yuan for money, YYYY-MM-DD for dates, masked personal data."""
    ctype = catalogue()[kind].columns[name].type if kind and name in catalogue()[kind].columns else None
    if ctype is None:  # a computed or joined column: personal by its name (registry_account, staff_id_no…)
        ctype = _personal_by_name(name) or units.get(name)
    unit = units.get(name) or (unit_of(kind, name) if kind else "text")
    if ctype == "resident_id" and masked:
        return mask_id(values.astype("str"))
    if ctype in ("account", "phone") and masked:
        return mask_account(values.astype("str"))
    if unit == BIRTH_UNIT:  # a birth date read from an ID is the masked middle of that ID: its year only
        dates = pd.to_datetime(values, errors="coerce")
        shown = dates.dt.strftime("%Y-**-**" if masked else "%Y-%m-%d")
        return shown.astype(object).where(dates.notna(), None)
    if unit == "money":
        nums = pd.to_numeric(values, errors="coerce").round()
        return format_fen_series(nums.astype("Int64")).where(nums.notna(), None)
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.strftime("%Y-%m-%d").where(values.notna(), None)
    if unit == "rate":
        return values.map(lambda v: None if pd.isna(v) else f"{float(v):g}")
    if pd.api.types.is_bool_dtype(values):
        return values.astype(object).where(values.notna(), None)
    if pd.api.types.is_numeric_dtype(values):
        return values.astype(object).where(values.notna(), None)
    return values.astype(object).where(values.notna(), None)


def _labelled(fields: Mapping[str, pd.Series], lang: str, kind: str | None) -> dict[str, pd.Series]:
    """The fields as a message shows them in ``lang``: codes with a label in the catalogue's ``values`` section
    (``fund_type`` union_fund → 工会经费) read as the label, and in Chinese a ``column`` field naming a canonical
    column (LEDGER-TOTAL) reads as the header users know (``Column.header_zh``)."""
    labels = _value_labels()
    out = dict(fields)
    for name, series in fields.items():
        mapping = {code: text[lang] for (col, code), text in labels.items() if col == name}
        if mapping:
            out[name] = series.map(lambda v, m=mapping: m.get(v, v) if isinstance(v, str) else v)
        elif name == "column" and lang == "zh":
            out[name] = series.map(lambda v: _header_of(v, kind) if isinstance(v, str) else v)
    return out


@functools.cache
def _value_labels() -> dict[tuple[str, str], dict[str, str]]:
    from fundaudit.errors import catalogue as messages

    return {tuple(key.split(".", 1)): dict(text) for key, text in messages().get("values", {}).items()}  # type: ignore[misc]


def _header_of(column: str, kind: str | None) -> str:
    """The Chinese header of a canonical column (of ``kind`` when given, else of any kind that has one)."""
    for k, spec in catalogue().items():
        header = spec.columns[column].header_zh if (kind is None or k == kind) and column in spec.columns else None
        if header:
            return header
    return column


def _personal_by_name(name: str) -> str | None:
    n = name.lower()
    if n.endswith(("id_no", "id_number")):
        return "resident_id"
    if n.endswith(("account", "account_no", "phone", "mobile")):
        return "account"
    return None


def param_text(v: Any, sep: str) -> str:
    """How a message says a rule parameter: a list joined by ``sep``, a mapping as ``k: v; …``."""
    if isinstance(v, list):
        return sep.join(str(x) for x in v)
    if isinstance(v, dict):
        return "; ".join(f"{k}: {x}" for k, x in v.items())
    return str(v)


def _render(template: str, fields: Mapping[str, pd.Series], params: Mapping[str, str], index: pd.Index,
            absent: str) -> pd.Series:
    """Fill ``{name}`` placeholders column-wise: one vectorised concatenation per template part.

    A name with no value column (an optional column the inputs lack) reads as ``absent`` (the catalogue's
    "（未提供）" / "(not provided)"), never as the raw ``{name}``; an empty value reads as "—"."""
    out = pd.Series("", index=index, dtype="str")
    for literal, name, _spec, _conv in _FORMATTER.parse(template):
        if literal:
            out = out + literal
        if name is None:
            continue
        if name in fields:
            part = fields[name].astype(object).where(fields[name].notna(), "—").astype(str)
            out = out + part.to_numpy()
        elif name in params:
            out = out + params[name]
        else:
            out = out + absent
    return out


# --- evidence: each ref's source row as read ----------------------------------------------------------------

def add_evidence(findings: pd.DataFrame, ledgers: Mapping[str, Ledger], *, masked: bool) -> pd.DataFrame:
    """``findings`` with its ``evidence`` column: for each finding, a list parallel to its ``refs``, each entry
    the ref plus ``cells`` (the row as read: header -> cell text, in the columns' order), or ``cells: None`` and
    a ``note`` saying why the row cannot be shown.

    One pass over all refs: the refs are grouped by the sheet they point into, and each store decompresses
    only the batches holding the rows cited (the cost follows the findings, not the ledgers). Masked runs
    mask the cells of personal columns by their type (IDs, accounts and phones as everywhere, personal free
    text such as an address down to its first characters) and every other cell through the recogniser."""
    findings = findings.copy(deep=False)
    if findings.empty:
        findings["evidence"] = pd.Series(dtype=object)
        return findings
    ref_lists = findings["refs"].tolist()
    flat = [(i, j, r) for i, refs in enumerate(ref_lists) for j, r in enumerate(refs or [])]
    evidence: list[list[dict[str, Any]]] = [[{} for _ in refs or []] for refs in ref_lists]
    by_sheet: dict[tuple[str, str, str | None], list[int]] = {}
    for k, (_, _, r) in enumerate(flat):
        by_sheet.setdefault((str(r["kind"]), str(r["file"]), r["sheet"]), []).append(k)
    found: list[tuple[EvidenceRows, np.ndarray, np.ndarray]] = []  # (store, flat ref numbers, positions)
    for (kind, file, sheet), ks in by_sheet.items():
        rows = np.asarray([int(flat[k][2]["row"]) for k in ks], dtype=np.int64)
        where = file if sheet is None else f"{file} [{sheet}]"
        stores = ledgers[kind].as_read if kind in ledgers else []
        if not stores:
            for k in ks:
                _, _, r = flat[k]
                evidence[flat[k][0]][flat[k][1]] = {**r, "cells": None, "note": note("evidence_not_kept", kind=kind)}
            continue
        hits = np.stack([s.positions(file, sheet, rows) for s in stores])  # stores × refs
        held = (hits >= 0).sum(axis=0)
        for k, count, row in zip(ks, held.tolist(), rows.tolist(), strict=True):
            if count != 1:
                why = note("evidence_ambiguous" if count else "evidence_row_not_found", where=where, row=row)
                evidence[flat[k][0]][flat[k][1]] = {**flat[k][2], "cells": None, "note": why}
        ks_arr = np.asarray(ks, dtype=np.int64)
        for s, at in zip(stores, hits, strict=True):
            mine = (at >= 0) & (held == 1)
            if mine.any():
                found.append((s, ks_arr[mine], at[mine]))
    for store, ks_arr, at in found:
        for k, cells in zip(ks_arr.tolist(), _cells(store, at, masked), strict=True):
            i, j, r = flat[k]
            evidence[i][j] = {**r, "cells": cells}
    findings["evidence"] = pd.Series(evidence, index=findings.index, dtype=object)
    return findings


def _cells(store: EvidenceRows, positions: np.ndarray, masked: bool) -> list[dict[str, str]]:
    """The rows at ``positions`` of ``store`` as header -> text dicts (masked when ``masked``); a column with a
    blank header is left out of a row where its cell is empty too."""
    unique, back = np.unique(positions, return_inverse=True)
    frame = store.frame(unique)
    columns: list[list[str]] = []
    for pos in frame.columns:
        text = frame[pos].fillna("")
        if masked:
            kind = store.personal.get(int(pos))
            if kind == "resident_id":
                text = mask_id(text)
            elif kind in ("account", "phone"):
                text = mask_account(text)
            elif kind == "text":  # personal free text (an address): its first characters only
                text = mask_free_text(text)
            else:
                text = mask_series(text)
        columns.append([str(v) for v in text.tolist()])
    lettered = [j in store.blank for j in range(len(store.headers))]
    rows = []
    for n in range(len(unique)):  # one step per cited row
        rows.append({h: col[n] for h, col, blank in zip(store.headers, columns, lettered, strict=True)
                     if col[n] or not blank})
    return [rows[b] for b in back.tolist()]
