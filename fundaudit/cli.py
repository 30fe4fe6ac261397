"""The ``fundaudit`` command: argument parsing, terminal output and exit codes only. It calls the
same functions the Python API offers.

Exit codes (CONTRACT.md §3): 0 no finding at or above ``--fail-on``; 1 such findings exist; 2 the
audit could not run as asked (unreadable or unknown input, invalid argument); 3 internal error
(traceback in ``DIR/fundaudit-error.log`` or a new private temporary folder, named in one line on stderr).
"""

from __future__ import annotations

import argparse
import difflib
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from fundaudit._version import __version__
from fundaudit.errors import ExitCode, FundauditError, Lang, render_note
from fundaudit.report.outdir import REPORT_FILES, ReportDir
from fundaudit.rules.severity import FAIL_ON, rank

if TYPE_CHECKING:
    from fundaudit.masking import MaskedStreams
    from fundaudit.rules.model import Rule

__all__ = ["main"]


EPILOG_AUDIT = """\
examples:
  fundaudit audit samples/ --profile anhui-2016 --period 2016
  fundaudit audit --ledger disbursements=送温暖2016.xlsx#明细 --ledger register=档案.csv --period 2016Q4
  fundaudit audit ledgers/ --format json --fail-on warning --out report/
"""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="fundaudit",
        description="Audit trade-union funds: tax-collected union dues, hardship aid and 送温暖 payments.",
    )
    p.add_argument("--version", action="version", version=f"fundaudit {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    a = sub.add_parser("audit", help="audit ledgers and write reports", epilog=EPILOG_AUDIT,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    a.add_argument("paths", nargs="*", metavar="PATH", help="ledger files or directories (kinds detected)")
    a.add_argument("--ledger", action="append", default=[], metavar="KIND=PATH[#SHEET]",
                   help="an input with its kind stated (repeatable)")
    a.add_argument("--rules", action="append", default=[], metavar="PACK.yaml", help="extra rule pack")
    a.add_argument("--profile", default="national", help="parameter profile (default: national)")
    a.add_argument("--period", help="2016 | 2016Q1 | 2016-03 | 2016-01-01..2016-06-30")
    a.add_argument("--param", action="append", default=[], metavar="RULE.KEY=VALUE", help="override a parameter")
    a.add_argument("--out", default="fundaudit-report", metavar="DIR", help="report directory")
    a.add_argument("--format", default="html,xlsx,json",
                   help="comma-separated: html,xlsx,json,junit,workpapers,db")
    a.add_argument("--fail-on", default="error", choices=FAIL_ON)
    a.add_argument("--lang", default="zh", choices=["zh", "en"])
    a.add_argument("--unmask", action="store_true", help="show personal data unmasked (recorded in reports)")
    a.add_argument("--quiet", action="store_true", help="no summary, only errors")
    a.add_argument("--strict", action="store_true",
                   help="refuse the run (exit 2) when a ledger file found in a directory cannot be audited")
    a.add_argument("--map", action="append", default=[], metavar="HEADER=COLUMN",
                   help="read HEADER as canonical COLUMN, or HEADER=- to ignore it (repeatable)")
    a.add_argument("--entity", metavar="NAME",
                   help="the audited entity, shown on the working papers (--format workpapers)")
    a.add_argument("--preparer", metavar="NAME", help="who prepared the working papers")
    a.add_argument("--reviewer", metavar="NAME",
                   help="who reviews them; without it the field stays blank, for a signature")
    a.add_argument("--triage", metavar="TRIAGE.csv",
                   help="decisions from `fundaudit triage import`: each finding's verification status")
    a.add_argument("--baseline", metavar="FINDINGS.json",
                   help="a previous run's findings.json: findings marked new or persisting, resolved ones listed")
    a.add_argument("--subject-key", metavar="FILE",
                   help="the key file subjects are hashed with (default: $FUNDAUDIT_SUBJECT_KEY, else subject.key in "
                        "the user's config folder, created on first use); keep it to match subjects across years")
    a.add_argument("--engine", default="duckdb", choices=["duckdb", "spark"],
                   help="where the rules run: in-process DuckDB (default) or Spark, with the same findings "
                        "(pip install 'fundaudit[spark]' and a Java runtime; docs/scale.md)")
    a.add_argument("--spark-master", metavar="URL",
                   help="with --engine spark: the Spark master (default local[2]; e.g. spark://host:7077)")
    a.add_argument("--out-of-core", default="auto", choices=["auto", "always", "never"],
                   help="scan parquet inputs into an on-disk DuckDB database instead of pandas: auto (inputs of "
                        "1,000,000 rows or more), always, never (docs/scale.md)")
    a.add_argument("--memory-limit", metavar="SIZE",
                   help="out of core: the database's memory limit, e.g. 4GB (default: DuckDB's, 80%% of RAM)")
    a.add_argument("--temp-dir", metavar="DIR",
                   help="out of core: the folder the run's database and spill files go in (default: the system's)")

    r = sub.add_parser("rules", help="list the rules, show one, or check a rule pack")
    rsub = r.add_subparsers(dest="rules_command", required=True, metavar="ACTION")
    rl = rsub.add_parser("list", help="id, ledger, severity, title and parameters of every rule")
    rl.add_argument("--profile", default="national")
    rl.add_argument("--rules", action="append", default=[], metavar="PACK.yaml", help="also a user pack")
    rl.add_argument("--lang", default="zh", choices=["zh", "en"])
    rs = rsub.add_parser("show", help="one rule: as declared (file:line), its resolved parameters, its check "
                                      "type and module, its message fields, and with --sql the SQL it runs")
    rs.add_argument("rule_id", metavar="RULE-ID")
    rs.add_argument("--sql", action="store_true", help="also print the SQL it runs (built without reading data)")
    rs.add_argument("--profile", default="national")
    rs.add_argument("--rules", action="append", default=[], metavar="PACK.yaml", help="also a user pack")
    rs.add_argument("--param", action="append", default=[], metavar="RULE.KEY=VALUE", help="override a parameter")
    rs.add_argument("--period", help="the audit period the SQL is built for (some rules need one)")
    rs.add_argument("--lang", default="zh", choices=["zh", "en"])
    rc = rsub.add_parser("check", help="validate rule packs; errors name file:line and key")
    rc.add_argument("packs", nargs="+", metavar="PACK.yaml")
    rc.add_argument("--lang", default="zh", choices=["zh", "en"])

    t = sub.add_parser("triage", help="send findings out for verification and read the answers back")
    tsub = t.add_subparsers(dest="triage_command", required=True, metavar="ACTION")
    te = tsub.add_parser("export", help="one workbook per grassroots union (or rule, or one) to fill in")
    te.add_argument("findings", metavar="FINDINGS.json")
    te.add_argument("--out", required=True, metavar="DIR", help="folder the workbooks are written into")
    te.add_argument("--by", default="union", choices=["union", "rule", "none"])
    te.add_argument("--lang", default="zh", choices=["zh", "en"])
    ti = tsub.add_parser("import", help="read filled workbooks into a decisions file (TRIAGE.csv)")
    ti.add_argument("paths", nargs="+", metavar="PATH")
    ti.add_argument("--out", required=True, metavar="TRIAGE.csv")
    ti.add_argument("--merge", action="store_true", help="add to an existing decisions file (later answers win)")
    ti.add_argument("--lang", default="zh", choices=["zh", "en"])

    _sample_parser(sub)

    i = sub.add_parser("inspect", help="show how a file is read: kind, header row, column mapping, counts")
    i.add_argument("paths", nargs="+", metavar="PATH")
    i.add_argument("--lang", default="zh", choices=["zh", "en"])
    i.add_argument("--map", action="append", default=[], metavar="HEADER=COLUMN",
                   help="read HEADER as canonical COLUMN, or HEADER=- to ignore it (repeatable)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``fundaudit`` command; returns the exit code. Everything it prints, argparse's usage
    errors included, goes through the masking streams; ``--unmask`` lets it through as it is."""
    from fundaudit.masking import MaskedStreams

    with MaskedStreams() as streams:
        return _main(argv, streams)


def _main(argv: Sequence[str] | None, streams: MaskedStreams) -> int:
    given = list(argv) if argv is not None else sys.argv[1:]
    args = (_sample_evaluate_parser().parse_args(given[2:]) if given[:2] == ["sample", "evaluate"]
            else _parser().parse_args(argv))
    streams.masked = not getattr(args, "unmask", False)
    lang: Lang = args.lang
    try:
        if args.command == "inspect":
            from fundaudit.inputs import parse_map_args

            return _inspect(args.paths, lang, sys.stdout, columns=parse_map_args(args.map) or None)
        if args.command == "rules":
            return _rules(args, lang, sys.stdout)
        if args.command == "triage":
            return _triage(args, lang, sys.stdout)
        if args.command in ("sample", "sample-evaluate"):
            return _sample(args, lang, sys.stdout)
        return _audit(args, list(argv) if argv is not None else sys.argv[1:], lang)
    except FundauditError as exc:
        print(f"fundaudit: {exc.message(lang, masked=not getattr(args, 'unmask', False))}", file=sys.stderr)
        return ExitCode.USAGE
    except BrokenPipeError:  # output piped into `head` and closed: not an error
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return ExitCode.OK
    except KeyboardInterrupt:
        print(f"fundaudit: {_s('interrupted', lang)}", file=sys.stderr)
        return ExitCode.INTERNAL
    except Exception as exc:  # a bug: the traceback goes to a checked --out, else to a new private folder
        from fundaudit.report.outdir import write_crash_log

        msg = _s("internal_error", lang)
        try:
            log = getattr(exc, "crash_log", None) or write_crash_log(traceback.format_exc())
        except OSError as failed:  # not even a temporary folder can be written (disk full)
            reason = failed.strerror or failed
            print(f"fundaudit: {_s('crash_log_not_written', lang, msg=msg, reason=reason)}", file=sys.stderr)
            return ExitCode.INTERNAL
        print(f"fundaudit: {_s('crash_log', lang, msg=msg, log=_shown(Path(log)))}", file=sys.stderr)
        return ExitCode.INTERNAL


def _progress(quiet: bool):  # type: ignore[no-untyped-def]
    if quiet or not sys.stderr.isatty():
        return None
    return lambda msg: print(f"… {msg}", file=sys.stderr, flush=True)


def _audit(args: argparse.Namespace, argv: list[str], lang: Lang) -> int:
    from fundaudit.errors import ConfigError
    from fundaudit.inputs import parse_ledger_arg, parse_map_args
    from fundaudit.run import audit

    ledgers = [parse_ledger_arg(x) for x in args.ledger]
    if not args.paths and not ledgers:
        raise ConfigError("no_paths")
    from fundaudit.rules.model import params_from_args

    formats = [f.strip() for f in args.format.split(",") if f.strip()]
    unknown = [f for f in formats if f not in REPORT_FILES]
    if unknown or not formats:
        raise ConfigError("bad_format", value=args.format)
    params = params_from_args(args.param)
    columns = parse_map_args(args.map)
    with ReportDir(Path(args.out)) as reports:  # checked and locked before any input is read
        result = audit(paths=args.paths, ledgers=ledgers, profile=args.profile, period=args.period,
                       rules=args.rules, params=params, unmask=args.unmask, progress=_progress(args.quiet),
                       argv=["fundaudit", *argv], strict=args.strict,
                       columns=columns or None, entity=args.entity, preparer=args.preparer,
                       reviewer=args.reviewer, triage=args.triage, baseline=args.baseline,
                       subject_key=args.subject_key, engine=args.engine, spark=args.spark_master,
                       out_of_core=args.out_of_core, memory_limit=args.memory_limit, temp_dir=args.temp_dir)
        with result, reports.staging() as staging:  # every report, then swapped in as one set; the store closed
            written: list[Path] = []
            # the working papers last: their 附件 lists the run's other files with their hashes
            for fmt in sorted(dict.fromkeys(formats), key=lambda f: f == "workpapers"):
                target = staging / REPORT_FILES[fmt]
                if fmt == "json":
                    result.to_json(target)
                elif fmt == "xlsx":
                    result.to_excel(target, lang=lang)
                elif fmt == "junit":
                    result.to_junit(target, fail_on=args.fail_on)
                elif fmt == "html":
                    result.to_html(target, lang=lang)
                elif fmt == "db":
                    from fundaudit.report.db import write_db

                    write_db(result, target)
                elif fmt == "workpapers":
                    result.to_workpapers(target, lang=lang, attachments=written)
                written.append(target)
    recurrence = result.run.get("recurrence")
    if recurrence not in (None, "ok"):  # never a silent miss: the run could not tell what recurs
        from fundaudit.errors import render

        print(f"fundaudit: {render('notes', f'recurrence_{recurrence}', lang)}", file=sys.stderr)
    if not args.quiet:
        _print_summary(result, lang, sys.stdout)
        for fmt in dict.fromkeys(formats):
            print(_s("report", lang) + _shown(Path(args.out) / REPORT_FILES[fmt]))
    return result.exit_code(args.fail_on)


def _shown(path: Path) -> str:
    """A path as text for messages (``fundaudit.io.display_name``, imported late: the CLI starts light)."""
    from fundaudit.io.names import display_name

    return display_name(path)


SUMMARY_LINES = 25  # the summary's height: with the "report:" lines printed after it, one 30-line screen
MAX_INPUT_ROWS = 12  # inputs listed one per line; the rest summed on one line
LINE_WIDTH = 120  # the id lists are cut to this many columns
TITLE_WIDTH = 44


def _print_summary(result, lang: Lang, out: TextIO) -> None:  # type: ignore[no-untyped-def]
    """One screen: the inputs, a line of totals, the rules that found something (worst severity, then
    most findings first; as many as fit, the rest named on one line), and one line each naming the
    skipped and failed rules, whose reasons are in the report."""
    from fundaudit.normalize import format_fen

    zh = lang == "zh"
    lines: list[str] = []
    head = _head("inputs_head", lang)
    inputs = [i for ledger in result.ledgers.values() for i in ledger.inputs]
    shown = inputs if len(inputs) <= MAX_INPUT_ROWS else inputs[: MAX_INPUT_ROWS - 1]
    rows = [(i.kind, _cut(str(i.file), TITLE_WIDTH), i.sheet or "-", str(i.header_row or "-"), str(i.rows_read),
             str(i.rows_loaded), str(i.rows_rejected), str(i.rows_non_data),
             "-" if i.amount_total is None else format_fen(i.amount_total)) for i in shown]
    lines += _table_lines(head, rows)
    if len(shown) < len(inputs):
        rest = inputs[len(shown):]
        n, read, loaded = len(rest), sum(i.rows_read for i in rest), sum(i.rows_loaded for i in rest)
        rej, non = sum(i.rows_rejected for i in rest), sum(i.rows_non_data for i in rest)
        lines.append(_s("more_inputs", lang, n=n, read=read, loaded=loaded, rejected=rej, non_data=non))
    lines += _skipped_lines(result, zh)
    lines.append("")
    if not result.rules:
        lines.append(_s("no_rules", lang))
        print("\n".join(lines), file=out)
        return
    ran = sum(1 for r in result.rules if r["status"] == "ran")
    skipped = [r for r in result.rules if r["status"] == "skipped"]
    errors = [r for r in result.rules if r["status"] == "error"]
    s = result.summary
    sev = s["by_severity"]
    lines.append(_s("rules_line", lang, ran=ran, skipped=len(skipped), failed=len(errors)))
    lines.append(_s("findings_line", lang, findings=s["findings"], error=sev["error"], warning=sev["warning"],
                    info=sev["info"], amount=s["amount_at_issue"]))
    from fundaudit.report.verification import active, funnel_line

    if active(result):  # a run given decisions or a baseline: the funnel on one line
        lines.append(funnel_line(result, lang))
    tail = []
    where = _s("reasons_where", lang)
    for key, listed_rules in (("skipped_rules", skipped), ("failed_rules", errors)):
        if listed_rules:
            lead = _s(key, lang, n=len(listed_rules))
            tail.append(lead + _id_list([r["id"] for r in listed_rules], LINE_WIDTH - _width(lead + where) - 2, zh)
                        + _s("clause_sep", lang) + where)
    fired = sorted((r for r in result.rules if r["status"] == "ran" and r["findings"]),
                   key=lambda r: (rank(r["severity"]), -int(r["findings"])))  # stable: pack order
    if fired:
        room = max(SUMMARY_LINES - len(lines) - len(tail) - 1, 3)  # minus the table's header line
        listed = fired if len(fired) <= room else fired[: room - 1]
        labels = _ui(lang)
        lines += _table_lines(_head("fired_head", lang),
                              [(r["id"], labels.get(r["severity"], r["severity"]), str(r["findings"]),
                                _cut((r["title"] if zh else r["title_en"]) or "", TITLE_WIDTH)) for r in listed])
        if len(listed) < len(fired):
            more = fired[len(listed):]
            lead = _s("more_fired", lang, n=len(more))
            see = _s("see_by_rule", lang)
            lines.append(lead + _id_list([f"{r['id']} {r['findings']}" for r in more],
                                         LINE_WIDTH - _width(lead + see), zh) + see)
    lines += tail
    print("\n".join(lines), file=out)


MAX_SKIPPED_LINES = 3  # files not audited shown with their reason; the rest counted on one line


def _skipped_lines(result, zh: bool) -> list[str]:  # type: ignore[no-untyped-def]
    """The files found and not audited: those that could not be, each with its reason (a few, the rest
    counted), then the files of other types on one line."""
    from fundaudit.inputs import NOT_LEDGER_TYPE

    lang: Lang = "zh" if zh else "en"
    unaudited = [s for s in result.skipped if s.reason != NOT_LEDGER_TYPE]
    others = [s.file for s in result.skipped if s.reason == NOT_LEDGER_TYPE]
    lines = []
    if unaudited:
        lines.append(_s("not_audited_many" if len(unaudited) > 1 else "not_audited_one", lang, n=len(unaudited)))
        for s in unaudited[:MAX_SKIPPED_LINES]:
            text = s.message(lang, masked=result.masked).replace("\n", " ")
            where = s.file if s.sheet is None else f"{s.file} [{s.sheet}]"
            lines.append("  " + _cut(text if where in text else f"{where}: {text}", LINE_WIDTH - 2))
        if len(unaudited) > MAX_SKIPPED_LINES:
            more = len(unaudited) - MAX_SKIPPED_LINES
            lines.append(_s("more_not_audited", lang, n=more))
    if others:
        lead = _s("not_ledger_types", lang)
        lines.append(lead + _id_list(others, LINE_WIDTH - _width(lead), zh))
    return lines


def _width(s: str) -> int:
    """Terminal columns of ``s`` (CJK characters take two)."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)


def _cut(s: str, width: int) -> str:
    """``s`` cut to ``width`` terminal columns, ending with … when cut."""
    if _width(s) <= width:
        return s
    out = ""
    for ch in s:
        if _width(out + ch) > width - 1:
            break
        out += ch
    return out + "…"


def _ui(lang: Lang) -> dict[str, str]:
    """The UI texts of report/templates/strings.yaml in ``lang`` (one home for HTML, Excel and the CLI)."""
    from fundaudit.report.html import strings

    return strings()[lang]


def _s(key: str, lang: Lang, **fields: object) -> str:
    """The CLI text ``cli_<key>`` of strings.yaml in ``lang``, its ``{fields}`` filled."""
    return _ui(lang)[f"cli_{key}"].format(**fields)


def _head(key: str, lang: Lang) -> tuple[str, ...]:
    """A table header of strings.yaml (``cli_<key>``, cells separated by ``|``)."""
    return tuple(_s(key, lang).split("|"))


def _id_list(items: Sequence[str], width: int, zh: bool) -> str:
    """``a, b, c`` within ``width`` columns; what does not fit is counted: ``a, b … (7 in all)`` / ``a、b 等 7 条``."""
    lang: Lang = "zh" if zh else "en"
    sep = _s("list_sep", lang)
    shown: list[str] = []
    for n, item in enumerate(items):
        rest = len(items) - n - 1
        more = _s("list_more", lang, total=len(items)) if rest else ""
        if shown and _width(sep.join([*shown, item]) + more) > width:
            break
        shown.append(item)
    left = len(items) - len(shown)
    if not left:
        return sep.join(shown)
    return sep.join(shown) + _s("list_more", lang, total=len(items))


def _table_lines(head: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    cols = list(zip(head, *rows, strict=True)) if rows else [(h,) for h in head]
    widths = [max(_width(v) for v in col) for col in cols]
    return ["  ".join(v + " " * (w - _width(v)) for v, w in zip(r, widths, strict=True)).rstrip()
            for r in [head, *rows]]


def _table(head: Sequence[str], rows: Sequence[Sequence[str]], out: TextIO) -> None:
    for line in _table_lines(head, rows):
        print(line, file=out)


def _triage(args: argparse.Namespace, lang: Lang, out: TextIO) -> int:
    """``triage export``: the workbooks written, one per line; ``triage import``: the decisions file and how many
    decisions it holds. Bad answers raise (exit 2) before anything is written."""
    from fundaudit import triage

    if args.triage_command == "export":
        for path in triage.export(args.findings, args.out, by=args.by, lang=lang):
            print(_shown(path), file=out)
        return ExitCode.OK
    decisions = triage.load(args.paths)
    path = triage.write_decisions(decisions, args.out, merge=args.merge)
    print(_s("triage_imported", lang, count=len(decisions), path=_shown(path)), file=out)
    return ExitCode.OK


def _rules(args: argparse.Namespace, lang: Lang, out: TextIO) -> int:
    from fundaudit.rules.shipped import resolve_rules

    if args.rules_command == "check":
        from fundaudit.rules.shipped import check_packs

        # every pack loaded and resolved against the shipped rules first: "valid" only when all of it is
        for path, pack in zip(args.packs, check_packs(args.packs), strict=True):
            print(_s("valid", lang, path=path, n=len(pack.rules)), file=out)
        return ExitCode.OK
    if args.rules_command == "show":
        return _rules_show(args, lang, out)
    ruleset, _prof = resolve_rules(args.profile, args.rules)
    rows = []
    for rule in ruleset.rules.values():
        params = _params_cell(rule, lang)
        state = "" if rule.id not in ruleset.disabled else _s("disabled", lang)
        rows.append((rule.id, rule.ledger, rule.severity, (rule.title.get(lang) or rule.title.get("zh", "")) + state,
                     params))
    _table(_head("rules_head", lang), rows, out)
    return ExitCode.OK


def _rules_show(args: argparse.Namespace, lang: Lang, out: TextIO) -> int:
    """``rules show``: one rule of the resolved rule set, as declared and as it will run."""
    import json

    from fundaudit.columns import catalogue
    from fundaudit.engine.checks import family_of
    from fundaudit.errors import ConfigError
    from fundaudit.rules.model import MESSAGE_FIELDS, params_from_args
    from fundaudit.rules.shipped import pack_file, resolve_rules
    from fundaudit.rules.signatures import CHECK_TYPES

    ruleset, prof = resolve_rules(args.profile, args.rules, params_from_args(args.param))
    rule = ruleset.rules.get(args.rule_id) or ruleset.rules.get(args.rule_id.strip().upper())
    if rule is None:
        close = difflib.get_close_matches(args.rule_id.strip().upper(), list(ruleset.rules), n=3, cutoff=0.5)
        if not close:
            raise ConfigError("rules_show_unknown_none", id=args.rule_id)
        raise ConfigError("rules_show_unknown", id=args.rule_id, close=_s("list_sep", lang).join(close))
    sig = CHECK_TYPES[rule.check_type]
    labels = _ui(lang)
    state = _s("disabled", lang) if rule.id in ruleset.disabled else ""
    print(f"{rule.id}  {labels.get(rule.severity, rule.severity)}  {rule.ledger}  "
          f"{rule.title.get(lang) or rule.title.get('zh', '')}{state}", file=out)
    print(_s("show_declared", lang) + f"{rule.source}:{rule.line}", file=out)
    for line in _declared_block(pack_file(rule.source), rule.line):
        print(f"  {line}", file=out)
    print(_s("show_params", lang), file=out)
    width = max((len(k) for k in rule.args), default=0)
    for key, value in rule.args.items():
        default = value == sig.args[key].default if key in sig.args else False
        shown = json.dumps(value, ensure_ascii=False, default=str)
        print(f"  {key:<{width}} = {shown}" + (_s("show_default", lang) if default else ""), file=out)
    print(_s("show_check", lang) + f"{rule.check_type}  fundaudit/engine/checks/{family_of(rule.check_type)}.py",
          file=out)
    print(f"  {sig.doc}", file=out)
    fields = list(dict.fromkeys([*sig.fields, *MESSAGE_FIELDS, *rule.params]))
    print(_s("show_fields", lang) + ", ".join(fields), file=out)
    if rule.ledger in catalogue():
        print(_s("show_columns", lang, ledger=rule.ledger) + ", ".join(catalogue()[rule.ledger].columns), file=out)
    if args.sql:
        print(_s("show_sql", lang), file=out)
        print(_indent(_rule_sql(rule, prof.region_code, args.period, lang), "  "), file=out)
    return ExitCode.OK


def _declared_block(path: Path, line: int) -> list[str]:
    """The lines of the YAML list item that starts at ``line`` (1-based) of ``path``: that line and the
    more indented ones after it, blank lines inside kept, trailing ones dropped."""
    lines = path.read_text("utf-8").splitlines()[line - 1:]
    if not lines:
        return []
    dash = len(lines[0]) - len(lines[0].lstrip())
    block = [lines[0]]
    for text in lines[1:]:
        if text.strip() and len(text) - len(text.lstrip()) <= dash:
            break
        block.append(text)
    while block and not block[-1].strip():
        block.pop()
    return [b[dash:] for b in block]


def _rule_sql(rule, region_code: str | None, period: str | None, lang: Lang) -> str:  # type: ignore[no-untyped-def]
    """The rule's SQL, pretty-printed, built on zero-row ledgers of every kind (no data read); or the
    reason it would be skipped."""
    import sqlglot

    from fundaudit.columns import catalogue
    from fundaudit.engine import empty_ledgers, rule_sql
    from fundaudit.engine.context import Skip
    from fundaudit.errors import render
    from fundaudit.period import parse_period

    try:
        text = rule_sql(rule, empty_ledgers(catalogue()), period=parse_period(period) if period else None,
                        region_code=region_code)
    except Skip as s:
        return _s("show_skipped", lang, reason=render("errors", s.code, lang, **s.fields)).strip()
    return sqlglot.transpile(text, read="duckdb", write="duckdb", pretty=True)[0]


def _indent(text: str, prefix: str) -> str:
    return "\n".join(prefix + line for line in text.splitlines())


def _params_cell(rule: Rule, lang: Lang) -> str:
    """A rule's resolved parameters as written with ``--param`` (JSON style): those the rule, a profile or
    an override sets, then, after "defaults:", those still at their check type's signature default."""
    from fundaudit.report.html import _param_value

    defaults = rule.defaults()
    own = ", ".join(f"{k}={_param_value(v)}" for k, v in rule.params.items() if k not in defaults)
    dflt = ", ".join(f"{k}={_param_value(v)}" for k, v in rule.params.items() if k in defaults)
    return "; ".join(part for part in (own, _s("param_defaults", lang) + dflt if dflt else "") if part)


def _inspect(paths: Sequence[str], lang: Lang, out: TextIO, *, columns: dict[str, str] | None = None) -> int:
    from fundaudit.columns import detect_kind
    from fundaudit.inputs import SUPPORTED_SUFFIXES, discover_files
    from fundaudit.io import display_name
    from fundaudit.ledger import load_grid, read_sources
    from fundaudit.normalize import format_fen

    files: list[tuple[Path, str]] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            files.extend((f, display_name(f.relative_to(p).as_posix())) for f in discover_files(p))
        elif p.is_file() and p.suffix.lower() not in SUPPORTED_SUFFIXES:  # `inspect samples/*` names README.md too
            kinds = " ".join(sorted(SUPPORTED_SUFFIXES))
            print(f"== {display_name(raw)}\n  " + _s("not_ledger_file", lang, kinds=kinds), file=out)
        else:
            files.append((p, display_name(raw)))
    status = ExitCode.OK
    for path, name in files:
        try:
            sheets = read_sources(path, name=name)
        except FundauditError as exc:
            print(f"{name}: {exc.message(lang)}", file=out)
            status = ExitCode.USAGE
            continue
        for kind, grid, layout in sheets:
            where = name if grid.sheet is None else f"{name} [{grid.sheet}]"
            print(f"== {where}", file=out)
            fmt = f"{grid.format}" + (f", {grid.encoding}" if grid.encoding else "")
            print(_s("format", lang) + fmt, file=out)
            if not kind:
                print(_s("no_header", lang), file=out)
                continue
            ranking = detect_kind(list(layout.headers))
            runner = ", ".join(f"{k} {s:g}" for k, s in ranking[1:3] if s > 0)
            print(_s("kind", lang) + f"{kind} (score {ranking[0][1]:g}; {runner or '-'})", file=out)
            header_rows = [int(grid.rows[r]) for r in layout.header_rows] if not grid.named_columns else [1]
            print(_s("header_row", lang) + ", ".join(map(str, header_rows)), file=out)
            if layout.title:
                print(_s("title", lang) + layout.title[:120], file=out)
            try:
                ledger = load_grid(kind, grid, layout, columns=columns)
            except FundauditError as exc:  # e.g. two headers claiming the amount: say so, go on
                print(f"  {exc.message(lang)}", file=out)
                status = ExitCode.USAGE
                continue
            s = ledger.inputs[0]
            print(_s("mapping", lang), file=out)
            for header, canonical in s.columns.items():
                print(f"    {header} → {canonical}", file=out)
            if s.unmapped_columns:
                print(_s("unmapped", lang) + ", ".join(s.unmapped_columns), file=out)
            counts = _s("counts", lang, read=s.rows_read, loaded=s.rows_loaded, rejected=s.rows_rejected,
                        non_data=s.rows_non_data)
            print("  " + counts, file=out)
            if s.amount_total is not None:
                print(_s("amount_total", lang) + format_fen(s.amount_total)
                      + f" ({s.amount_column})", file=out)
            for note in s.notes:
                print(_s("note", lang) + render_note(note, lang), file=out)
    return status


# --- fundaudit sample / sample evaluate (docs/sampling.md) ----------------------------------------------------

EPILOG_SAMPLE = """\
examples:
  fundaudit sample samples/ --kind disbursements --method mus --tolerable 5000 --seed 2016 --out sample/
  fundaudit sample samples/ --kind disbursements --method stratified --strata 500,1000 --size 40 --out sample/
  fundaudit sample evaluate sample/sample.json --results filled.xlsx
"""


def _sample_parser(sub: argparse._SubParsersAction) -> None:
    """``fundaudit sample``: plan and select an audit sample (``sample evaluate`` has a parser of its own)."""
    s = sub.add_parser("sample", help="select an audit sample (MUS, random, systematic, stratified) to examine; "
                                      "`fundaudit sample evaluate` evaluates it", epilog=EPILOG_SAMPLE,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    s.add_argument("paths", nargs="*", metavar="PATH", help="ledger files or directories (kinds detected)")
    s.add_argument("--ledger", action="append", default=[], metavar="KIND=PATH[#SHEET]",
                   help="an input with its kind stated (repeatable)")
    s.add_argument("--kind", required=True, help="the ledger to sample (e.g. disbursements)")
    s.add_argument("--method", required=True, choices=["mus", "random", "systematic", "stratified"])
    s.add_argument("--confidence", type=float, default=0.95, help="confidence level (default 0.95)")
    s.add_argument("--tolerable", metavar="AMOUNT", help="tolerable misstatement, yuan (sizes the sample)")
    s.add_argument("--expected", metavar="AMOUNT", help="expected misstatement, yuan (default 0)")
    s.add_argument("--size", type=int, help="the sample size, instead of computing it")
    s.add_argument("--strata", metavar="B1,B2…|COLUMN",
                   help="stratified: amount boundaries in yuan (1000,5000) or a column whose values are the strata")
    s.add_argument("--allocation", default="value", choices=["value", "count"],
                   help="stratified: spread the size by the strata's value (default) or item count")
    s.add_argument("--high-value", metavar="AMOUNT", help="items at or above this amount are examined in full")
    s.add_argument("--seed", type=int, help="the random seed (default: a new one, recorded in the plan)")
    s.add_argument("--column", help="the money column to sample (default: the kind's amount column)")
    s.add_argument("--map", action="append", default=[], metavar="HEADER=COLUMN",
                   help="read HEADER as canonical COLUMN, or HEADER=- to ignore it (repeatable)")
    s.add_argument("--unmask", action="store_true", help="show personal data unmasked in the sample's files")
    s.add_argument("--lang", default="zh", choices=["zh", "en"])
    s.add_argument("--out", required=True, metavar="DIR", help="folder for sample.json and sample.xlsx")


def _sample_evaluate_parser() -> argparse.ArgumentParser:
    e = argparse.ArgumentParser(prog="fundaudit sample evaluate",
                                description="evaluate a filled sample.xlsx: projected misstatement, upper bound "
                                            "and conclusion against the tolerable misstatement")
    e.add_argument("plan", metavar="SAMPLE.json")
    e.add_argument("--results", required=True, metavar="FILLED.xlsx", help="the filled sample.xlsx")
    e.add_argument("--partial", action="store_true",
                   help="evaluate with items not yet examined counted as wholly misstated")
    e.add_argument("--out", metavar="DIR", help="folder for evaluation.json/.xlsx (default: beside SAMPLE.json)")
    e.add_argument("--lang", default="zh", choices=["zh", "en"])
    e.set_defaults(command="sample-evaluate")
    return e


def _sample(args: argparse.Namespace, lang: Lang, out: TextIO) -> int:
    """``sample``: the plan written, one line; ``sample evaluate``: the conclusion, one line. Bad options and bad
    answers are exit 2 before anything is written."""
    from fundaudit import sampling
    from fundaudit.errors import render

    if args.command == "sample-evaluate":
        from fundaudit.report.sample import write_evaluation

        result = sampling.evaluate_sample(args.plan, args.results, partial=args.partial)
        folder = Path(args.out) if args.out else Path(args.plan).parent
        in_place = args.out is None or Path(args.out).resolve() == Path(args.plan).parent.resolve()
        paths = write_evaluation(result, folder, in_place=in_place, lang=lang)
        verdict = render("values", f"sample.{result['conclusion']}", lang) if result["conclusion"] else "-"
        print(_s("sample_evaluated", lang, conclusion=verdict, projected=result["projected_total"],
                 upper=result["upper_bound"], tolerable=result.get("tolerable") or "-", path=_shown(paths[0])),
              file=out)
        return ExitCode.OK
    from fundaudit.errors import ConfigError
    from fundaudit.inputs import parse_ledger_arg, parse_map_args
    from fundaudit.report.outdir import ReportDir

    ledgers = [parse_ledger_arg(x) for x in args.ledger]
    if not args.paths and not ledgers:
        raise ConfigError("no_paths")
    columns = parse_map_args(args.map)
    sampling.check_options(args.kind, args.method, confidence=args.confidence, tolerable=args.tolerable,
                           expected=args.expected, size=args.size, strata=args.strata, high_value=args.high_value,
                           seed=0 if args.seed is None else args.seed, column=args.column,
                           allocation=args.allocation)
    with ReportDir(Path(args.out)):  # checked before any input is read (the lock is taken again to write)
        pass
    plan = sampling.sample(paths=args.paths, ledgers=ledgers, kind=args.kind, method=args.method,
                           confidence=args.confidence, tolerable=args.tolerable, expected=args.expected,
                           size=args.size, strata=args.strata, high_value=args.high_value, seed=args.seed,
                           column=args.column, allocation=args.allocation, unmask=args.unmask,
                           columns=columns or None, progress=_progress(False))
    paths = plan.write(args.out, lang=lang)
    print(_s("sample_written", lang, size=plan.plan["size"], full=plan.plan["full_examination"]["count"],
             excluded=plan.plan["excluded"]["count"], path=_shown(paths[1])), file=out)
    return ExitCode.OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
