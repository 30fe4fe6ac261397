"""The audit run: inputs in, an :class:`AuditResult` out (CONTRACT.md §6).

Loads and reconciles every input (row conservation, rejected rows, declared totals), applies the
profile's parameters and reference tables, runs the rule packs on the engine, and keeps everything a
report needs.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from fundaudit._version import __version__
from fundaudit.columns import catalogue
from fundaudit.errors import ConfigError, FundauditError, render
from fundaudit.inputs import LedgerArg, Progress, SkippedInput, collect
from fundaudit.io import Limits, display_name
from fundaudit.ledger import Ledger, Source
from fundaudit.masking import mask_account, mask_data, mask_id, mask_objects, mask_series
from fundaudit.normalize import format_fen
from fundaudit.period import Period, parse_period
from fundaudit.result import FINDING_COLUMNS, FINDING_FRAME_COLUMNS, TRIAGE_COLUMNS, at_issue_fen
from fundaudit.rules.severity import LEVELS, at_or_above

__all__ = ["FINDING_COLUMNS", "AuditResult", "audit"]


@dataclass
class AuditResult:
    """Everything one audit produced: inputs, rejected rows, rule statuses and findings.

    In a masked run (``masked``, the default) it is the outward view every report and message is built from:
    nothing read from it but ``ledgers`` (the loaded inputs themselves) holds personal data. ``run``, ``rules``
    and ``findings`` are masked whenever they are set, ``inputs`` and ``rejected_rows`` as they are read
    (:mod:`fundaudit.masking`)."""

    ledgers: dict[str, Ledger]
    run: dict[str, Any]
    rules: list[dict[str, Any]] = field(default_factory=list)
    findings: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=FINDING_FRAME_COLUMNS))
    masked: bool = True
    skipped: list[SkippedInput] = field(default_factory=list)
    resolved_since_baseline: list[dict[str, Any]] = field(default_factory=list)  # baseline findings gone now
    stale_decisions: list[dict[str, Any]] = field(default_factory=list)  # decisions for findings that no longer occur
    version: str = __version__
    generated_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    store: Any = field(default=None, repr=False, compare=False)  # the out-of-core store the stored ledgers live in

    def close(self) -> None:
        """Close the run's out-of-core store (:mod:`fundaudit.scan`), removing its files: once the reports are
        written. A run dropped unclosed removes them when collected, or at exit."""
        if self.store is not None:
            self.store.close()

    def __enter__(self) -> AuditResult:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __post_init__(self) -> None:
        if self.masked:
            for name in _MASKED_WHEN_SET:
                setattr(self, name, getattr(self, name))

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _MASKED_WHEN_SET and self.__dict__.get("masked"):
            value = _mask_findings(value) if name == "findings" else mask_data(value, keep=_HASHES)
        super().__setattr__(name, value)

    @property
    def inputs(self) -> list[dict[str, Any]]:
        """Per-input summaries, as findings.json ``inputs`` (file and sheet names, titles, headers and notes
        masked unless the run was unmasked)."""
        out = [i.to_dict() for ledger in self.ledgers.values() for i in ledger.inputs]
        return mask_data(out) if self.masked else out

    @property
    def skipped_inputs(self) -> list[dict[str, Any]]:
        """Files (or sheets) found in an audited directory and not audited, each with its reason code and
        message, as findings.json ``skipped_inputs`` (file and sheet names masked like the messages, unless the
        run was unmasked)."""
        out = [s.to_dict(masked=False) for s in self.skipped]
        return mask_data(out) if self.masked else out

    @functools.cached_property
    def rejected_rows(self) -> pd.DataFrame:
        """Every rejected row or blanked field of every input, sorted by kind, file, sheet and row
        (stable: entries of one row keep their order), so every report lists them alike; personal
        values masked unless the run was unmasked."""
        frames = [led.rejected for led in self.ledgers.values() if len(led.rejected)]
        if not frames:
            return pd.DataFrame(columns=next(iter(self.ledgers.values())).rejected.columns
                                if self.ledgers else [])
        out = pd.concat(frames, ignore_index=True)
        keys = pd.DataFrame({
            "kind": out["kind"].fillna("").astype(str), "file": out["file"].fillna("").astype(str),
            "sheet": out["sheet"].fillna("").astype(str) if "sheet" in out else "",
            "row": pd.to_numeric(out["row"], errors="coerce").fillna(-1),
        })
        out = out.loc[keys.sort_values(["kind", "file", "sheet", "row"], kind="stable").index].reset_index(drop=True)
        if self.masked:
            out["value"] = _mask_rejected(out)
            for c in ("file", "sheet", "column", "value", "message", "message_en"):
                if c in out:
                    out[c] = mask_series(out[c])
        return out

    @property
    def summary(self) -> dict[str, Any]:
        """Counts by severity and rule, and the money at issue: the amounts of error and warning
        findings (info findings are statistical signals, such as an under-spent allocation, and
        their amounts are never added to it). Findings excluded on verification (``triage`` status
        ``excluded``) count in none of these; a run with decisions or a baseline adds ``by_triage`` (count
        and money per status) and ``by_baseline`` (new, persisting, resolved, and recurring: new findings with a
        ``recurs_after``)."""
        from fundaudit.triage import STATUSES, counted, status_of

        every = self.findings
        f = every[counted(every)] if len(every) else every
        by_sev = {s: int((f["severity"] == s).sum()) if len(f) else 0 for s in LEVELS}
        by_rule = {str(k): int(v) for k, v in f["rule"].value_counts().items()} if len(f) else {}
        out = {"findings": len(f), "by_severity": by_sev, "by_rule": by_rule, "amount_at_issue": _at_issue(f)}
        if "triage" in every.columns:
            status = status_of(every)
            out["by_triage"] = {s: {"findings": int(status.eq(s).sum()),
                                    "amount_at_issue": _at_issue(every[status.eq(s)])} for s in STATUSES}
        if "since_baseline" in every.columns and every["since_baseline"].notna().any():
            since = every["since_baseline"]
            recurring = (every["recurs_after"].map(lambda r: isinstance(r, Mapping)) if "recurs_after" in every.columns
                         else since.eq(""))
            out["by_baseline"] = {"new": int(since.eq("new").sum()), "persisting": int(since.eq("persisting").sum()),
                                  "resolved": len(self.resolved_since_baseline), "recurring": int(recurring.sum())}
        return out

    def findings_records(self) -> list[dict[str, Any]]:
        """Findings as findings.json records."""
        cols = [c for c in FINDING_COLUMNS if c in self.findings.columns]
        return [dict(r) for r in self.findings[cols].to_dict("records")]

    def exit_code(self, fail_on: str = "error") -> int:
        """0 when no finding is at or above ``fail_on`` (``error|warning|info|never``), else 1; a finding excluded
        on verification does not count."""
        from fundaudit.triage import counted

        worse = at_or_above(fail_on)
        f = self.findings
        return 1 if len(f) and (f["severity"].isin(worse) & counted(f)).any() else 0

    def to_json(self, path: str | os.PathLike[str]) -> Path:
        """Write findings.json (CONTRACT.md §4)."""
        from fundaudit.report.json import write_json

        return write_json(self, path)

    def to_excel(self, path: str | os.PathLike[str], *, lang: str = "zh") -> Path:
        """Write findings.xlsx (sheets 汇总, 疑点明细, 拒收行, 输入, 规则)."""
        from fundaudit.report.excel import write_excel

        return write_excel(self, path, lang=lang)

    def to_workpapers(self, path: str | os.PathLike[str], *, lang: str = "zh",
                      attachments: Iterable[str | os.PathLike[str]] = ()) -> Path:
        """Write workpapers.xlsx: the working papers (审计工作底稿), a summary and one paper per rule with
        findings. 被审计单位, 编制人 and 复核人 are ``run["entity"]``, ``["preparer"]``, ``["reviewer"]``
        (``audit(entity=, preparer=, reviewer=)``); ``attachments`` are the run's other report files, listed
        with their SHA-256."""
        from fundaudit.report.workpapers import write_workpapers

        return write_workpapers(self, path, lang="en" if lang == "en" else "zh", attachments=attachments)

    def to_junit(self, path: str | os.PathLike[str], *, fail_on: str = "error") -> Path:
        """Write junit.xml: one test case per rule, failing at or above ``fail_on``."""
        from fundaudit.report.junit import write_junit

        return write_junit(self, path, fail_on=fail_on)

    def to_html(self, path: str | os.PathLike[str], *, lang: str = "zh") -> Path:
        """Write the self-contained HTML report."""
        from fundaudit.report.html import write_html

        return write_html(self, path, lang=lang)

    def to_db(self, path: str | os.PathLike[str]) -> Path:
        """Write audit.duckdb: the inputs as the rules read them, the findings with their refs and evidence,
        and each rule's SQL as a view; personal values pseudonymised unless the run was unmasked
        (docs/audit-db.md)."""
        from fundaudit.report.db import write_db

        return write_db(self, path)


_MASKED_WHEN_SET = ("run", "rules", "findings", "resolved_since_baseline", "stale_decisions")
#: Keys whose values are hashes, never masked: a key id of twelve digits would read as an account number.
_HASHES = ("sha256", "fingerprint", "subject_key_id")


def _at_issue(f: pd.DataFrame) -> str:
    """The money at issue of findings ``f``: their error and warning amounts, as text."""
    return format_fen(int(at_issue_fen(f).sum()))


def _mask_findings(f: pd.DataFrame) -> pd.DataFrame:
    """Findings as a masked run shows them: messages, values, refs' file and sheet names and evidence masked. A number a
    message quotes from a code column of its finding (an e-voucher or batch number) stays, unless it is
    shaped like an ID with a birth date or a mobile number."""
    codes = _code_columns()
    vals = f["values"].tolist() if "values" in f.columns else None

    def quoted(i: int) -> set[str]:
        values = vals[i] if vals is not None else None
        if not isinstance(values, dict):
            return set()
        return {v for k, v in values.items() if k in codes and isinstance(v, str)}

    masked = {c: mask_series(f[c], codes=quoted) for c in ("message", "message_en") if c in f.columns}
    if "union" in f.columns:  # a name as written in the ledger: may hold anything
        masked["union"] = mask_series(f["union"])
    if "values" in f.columns:
        masked["values"] = mask_objects(f["values"], codes=codes)
    if "refs" in f.columns:
        masked["refs"] = mask_objects(f["refs"])
    if "evidence" in f.columns:  # masked by column type and recogniser when built; this is the second net
        masked["evidence"] = mask_objects(f["evidence"])
    for c in [c for c in TRIAGE_COLUMNS if c in f.columns]:  # a verifier's reason is free text
        masked[c] = mask_objects(f[c])
    out = f
    for c, got in masked.items():
        if got is not f[c]:
            out = out.copy() if out is f else out
            out[c] = got
    return out


@functools.cache
def _code_columns() -> frozenset[str]:
    """Names of the catalogue's columns that hold codes (e-voucher, batch, taxpayer numbers), never personal
    data."""
    return frozenset(name for spec in catalogue().values() for name, col in spec.columns.items()
                     if not col.personal and col.type in ("code", "taxpayer_id"))


def _mask_rejected(rej: pd.DataFrame) -> pd.Series:
    """Rejected raw values of personal columns masked by their type, whatever their shape (the recogniser
    masks the rest, with every other text column)."""
    types = {(k, c): col.type for k, s in catalogue().items() for c, col in s.columns.items()}
    col_type = pd.Series([types.get(kf, "text") for kf in zip(rej["kind"], rej["field"], strict=True)],
                         index=rej.index)
    out = rej["value"].astype("str")
    ids = col_type.eq("resident_id")
    accounts = col_type.isin(["account", "phone"])
    out = out.where(~ids, mask_id(out))
    return out.where(~accounts, mask_account(out))


def _unusable_ledgers(ledgers: Mapping[str, Ledger], statuses: Iterable[Any]) -> dict[str, FundauditError]:
    """CONTRACT.md §3, exit 2: a ledger whose columns let no rule of its own run (every one skipped, at least
    one for its missing columns) was not audited at all; saying "no findings" would mislead. Each such ledger's
    kind with the error that says so."""
    from fundaudit.errors import InputError

    by_ledger: dict[str, list[Any]] = {}
    for st in statuses:
        by_ledger.setdefault(st.ledger, []).append(st)
    unusable: dict[str, FundauditError] = {}
    for kind, ledger in ledgers.items():
        own = by_ledger.get(kind, [])
        if not catalogue()[kind].ledger or not own or any(st.status != "skipped" for st in own):
            continue
        missing = sorted({c for st in own if st.skip_code == "skip_no_columns" and st.skip_fields.get("table") == kind
                          for c in st.skip_fields.get("missing", ())})
        if missing:
            files = ", ".join(dict.fromkeys(i.file for i in ledger.inputs))
            unusable[kind] = InputError("ledger_unusable", kind=kind, file=files, columns=", ".join(missing),
                                        rules=len(own))
    return unusable


def _found_only(unusable: Mapping[str, FundauditError], ledgers: Mapping[str, Ledger], named: set[str],
                detected: set[str]) -> dict[str, FundauditError]:
    """The unusable ledgers made only of files found in directories (a kind in ``detected``, none of its files
    ``named`` on the command line), as long as another ledger remains to audit: those are skipped like any
    other file that cannot be audited, instead of stopping the run."""
    found = {k: e for k, e in unusable.items()
             if k in detected and not any(i.file in named for i in ledgers[k].inputs)}
    return found if any(catalogue()[k].ledger for k in ledgers if k not in found) else {}


def _engine_session(engine: str, spark: Any) -> Any:
    """The SparkSession a Spark run uses (None for DuckDB), refused before any input is read when the engine is
    unknown or Spark cannot start here."""
    from fundaudit.engine.backend import ENGINES

    if engine not in ENGINES:
        raise ConfigError("unknown_engine", name=engine, names=", ".join(ENGINES))
    if engine != "spark" and spark is not None:  # a master given for a run that would silently ignore it
        raise ConfigError("spark_without_engine")
    if engine != "spark" or (spark is not None and not isinstance(spark, str)):
        return spark
    from fundaudit.engine.spark import local_session, unavailable

    why = unavailable()
    if why:
        raise ConfigError(why)
    return local_session(spark or "local[2]")


def audit(inputs: Mapping[str, Source | list[Source]] | None = None, *,
          paths: Iterable[str | os.PathLike[str]] = (), ledgers: Iterable[LedgerArg] = (),
          profile: str = "national", period: str | Period | None = None,
          rules: Iterable[str | os.PathLike[str]] = (), params: Mapping[str, Mapping[str, Any]] | None = None,
          unmask: bool = False, limits: Limits | None = None, progress: Progress | None = None,
          argv: list[str] | None = None, strict: bool = False,
          columns: Mapping[str, str] | None = None, entity: str | None = None, preparer: str | None = None,
          reviewer: str | None = None, triage: str | os.PathLike[str] | pd.DataFrame | None = None,
          baseline: str | os.PathLike[str] | Mapping[str, Any] | None = None,
          subject_key: str | os.PathLike[str] | bytes | None = None, engine: str = "duckdb",
          spark: Any = None, out_of_core: str = "auto", memory_limit: str | None = None,
          temp_dir: str | os.PathLike[str] | None = None) -> AuditResult:
    """Load every input and run the shipped rule packs (plus ``rules``) over them.

    ``inputs`` maps a kind to a path, a DataFrame or a list of them (the Python API form); ``paths``
    are files or directories whose kinds are detected from their headers; ``ledgers`` are parsed
    ``--ledger`` arguments. ``profile`` supplies parameter values and reference tables (an input of
    the same kind replaces the profile's table); ``params`` overrides parameters
    (``{"DISB-SPLIT": {"window_days": 15}}``). ``columns`` maps header text to a canonical column or
    to ``"-"`` (ignore it), for every input (``--map``). Rule packs and parameters are validated before any
    input is read.

    A file in a directory of ``paths`` that cannot be audited is skipped and listed in
    :attr:`AuditResult.skipped_inputs`; with ``strict`` it raises its error instead (files of other
    types, such as a README, are listed either way and never refused).

    ``entity``, ``preparer`` and ``reviewer`` (被审计单位, 编制人, 复核人) are recorded in ``run`` as they
    are given (None when not), for the reports that show them (the working papers).

    ``triage`` (a decisions file from ``fundaudit triage import``, or its frame) and ``baseline`` (a previous
    run's findings.json, or its parsed document) are read before any input; each finding then gains
    ``triage``, ``since_baseline`` and ``recurs_after``, and excluded findings leave the counts, the money at
    issue and the exit code (:mod:`fundaudit.triage`, docs/triage.md).

    ``subject_key`` (a key file, or the key's bytes; else the file ``FUNDAUDIT_SUBJECT_KEY`` names, else the user's
    ``subject.key``, created on first use: :func:`fundaudit.subject.read_key`) hashes each finding's ``subject``;
    ``run["subject_key_id"]`` names the key, and with a baseline hashed with another key ``recurs_after`` is not
    computed and ``run["recurrence"]`` says ``key_mismatch``.

    ``engine`` runs the rules on in-process DuckDB (the default) or on Spark (``spark``: a SparkSession, or a
    master URL such as ``local[2]`` or ``spark://host:7077`` to start one; None: ``local[2]``), with the same
    findings (docs/scale.md); a Spark that cannot start here (no pyspark, no Java) is a ConfigError before any
    input is read.

    ``out_of_core`` (``auto``, ``always``, ``never``): a parquet input (a file, or a directory of parquet files) of
    :data:`fundaudit.scan.THRESHOLD_ROWS` rows or more (``auto``), or every one (``always``), is scanned batch by
    batch into an on-disk DuckDB database in a private folder under ``temp_dir`` with ``memory_limit`` (``4GB``;
    DuckDB's default when None), where the rules run, instead of being loaded into pandas (docs/scale.md); the
    findings are the same. The result then holds that database until :meth:`AuditResult.close` (or its ``with``
    block ends). All three are checked before any input is read.
    """

    from fundaudit import scan
    from fundaudit import triage as triage_mod
    from fundaudit.rules.shipped import resolve_rules
    from fundaudit.scan import MODES, OutOfCore, check_memory_limit, check_temp_dir
    from fundaudit.spark_inputs import split_sources
    from fundaudit.subject import key_id, read_key

    per = parse_period(period) if isinstance(period, str) else period
    if out_of_core not in MODES:
        raise ConfigError("bad_out_of_core", value=str(out_of_core), modes=", ".join(MODES))
    ooc = OutOfCore(out_of_core if engine == "duckdb" else "never", memory_limit=check_memory_limit(memory_limit),
                    temp_dir=check_temp_dir(temp_dir), period=per, threshold=scan.THRESHOLD_ROWS,
                    batch_rows=scan.BATCH_ROWS)
    session = _engine_session(engine, spark)
    ledgers = list(ledgers)
    split_sources(ledgers, inputs, engine)  # a spark: table without the Spark engine: refused now
    ruleset, prof = resolve_rules(profile, rules, params)
    decisions = triage if isinstance(triage, pd.DataFrame) or triage is None else triage_mod.read_decisions(triage)
    previous = baseline if isinstance(baseline, Mapping) or baseline is None else triage_mod.read_baseline(baseline)
    key = read_key(subject_key)
    key_name = key_id(key)

    try:
        return _audit(inputs, paths, ledgers, ooc, per, session, ruleset, prof, decisions, previous, key, key_name,
                      limits=limits, progress=progress, strict=strict, columns=columns, unmask=unmask, argv=argv,
                      entity=entity, preparer=preparer, reviewer=reviewer, triage=triage, baseline=baseline,
                      engine=engine)
    except BaseException:
        ooc.close()  # nothing of a failed run is left behind
        raise


def _audit(inputs: Mapping[str, Source | list[Source]] | None, paths: Iterable[str | os.PathLike[str]],
           ledgers: Iterable[LedgerArg], ooc: Any, per: Period | None, session: Any, ruleset: Any, prof: Any,
           decisions: pd.DataFrame | None, previous: Mapping[str, Any] | None, key: bytes, key_name: str, *,
           limits: Limits | None, progress: Progress | None, strict: bool, columns: Mapping[str, str] | None,
           unmask: bool, argv: list[str] | None, entity: str | None, preparer: str | None, reviewer: str | None,
           triage: Any, baseline: Any, engine: str) -> AuditResult:
    """:func:`audit` once its arguments are checked: load, run the rules, keep what the reports need."""
    from importlib import resources

    from fundaudit import triage as triage_mod
    from fundaudit.engine import RuleStatus, run_rules
    from fundaudit.ledger import load
    from fundaudit.spark_inputs import read_spark, split_sources

    skipped: list[SkippedInput] = []
    paths, ledgers = list(paths), list(ledgers)
    on_spark, driver_ledgers, driver_inputs = split_sources(ledgers, inputs, engine)  # parquet, spark: tables
    loaded = collect(paths, driver_ledgers, driver_inputs, limits=limits, progress=progress, skipped=skipped,
                     strict=strict, columns=columns, out_of_core=ooc)
    if on_spark:  # read, normalised and held by Spark (docs/scale.md, "Inputs on Spark")
        loaded.update(read_spark(on_spark, session, period=per, columns=columns, beside=loaded))
    detected = set(loaded) - {a.kind for a in ledgers} - set(inputs or {})  # kinds of detected files only
    named = {str(p) for p in paths if not Path(p).is_dir()}
    for kind, table in prof.tables.items():
        if kind in loaded:
            continue
        with resources.as_file(table) as path:
            loaded[kind] = load(kind, path, name=f"profile:{prof.name}/{table.name}")
    active = ruleset.active()
    result = run_rules(loaded, active, period=per, region_code=prof.region_code, masked=not unmask,
                       lang_progress=progress, subject_key=key, engine=engine, spark=session)
    unusable = _unusable_ledgers(loaded, result.statuses)
    found = {} if strict else _found_only(unusable, loaded, named, detected)
    if found:  # run again without them: no rule may see a ledger the report says was not audited
        skipped += [SkippedInput(i.file, i.sheet, err) for kind, err in found.items() for i in loaded[kind].inputs]
        loaded = {k: v for k, v in loaded.items() if k not in found}
        result = run_rules(loaded, active, period=per, region_code=prof.region_code, masked=not unmask,
                           lang_progress=progress, subject_key=key, engine=engine, spark=session)
        unusable = _unusable_ledgers(loaded, result.statuses)
    if unusable:
        raise next(iter(unusable.values()))
    statuses = [st.to_dict() for st in result.statuses]
    for rid, by in ruleset.disabled.items():
        statuses.append(RuleStatus.of(ruleset.rules[rid], "skipped", skip_code="skip_disabled",
                                      skip_fields={"pack": by},
                                      reason=render("errors", "skip_disabled", "zh", pack=by),
                                      reason_en=render("errors", "skip_disabled", "en", pack=by)).to_dict())
    run = {
        "argv": [display_name(a) for a in (argv if argv is not None else sys.argv)],  # names may be raw bytes
        "profile": prof.name,
        "region_code": prof.region_code,
        "period": per.to_dict() if per else None,
        "rule_packs": [p.manifest() for p in ruleset.packs],
        "params": {r.id: dict(r.params) for r in active},
        "masked": not unmask,
        "entity": entity or None,
        "preparer": preparer or None,
        "reviewer": reviewer or None,
        "subject_key_id": key_name,
        "engine": engine,
        "out_of_core": sorted(k for k, led in loaded.items() if led.stored is not None),
        "memory_limit": ooc.memory_limit,
    }
    findings = result.findings
    extra: dict[str, list[dict[str, Any]]] = {}
    if decisions is not None or previous is not None:
        findings, extra = triage_mod.apply(findings, decisions=decisions, baseline=previous,
                                           subject_key_id=key_name)
        run["triage"] = display_name(triage) if isinstance(triage, str | os.PathLike) else None
        run["baseline"] = display_name(baseline) if isinstance(baseline, str | os.PathLike) else None
        run["recurrence"] = extra.get("recurrence")
    return AuditResult(ledgers=loaded, run=run, rules=statuses, findings=findings, masked=not unmask,
                       skipped=skipped, resolved_since_baseline=extra.get("resolved_since_baseline", []),
                       stale_decisions=extra.get("stale_decisions", []), store=ooc.store)
