"""audit.duckdb (issue 15, item 5): the samples' audit intermediate tables open read-only, hold every loaded row,
the findings with their refs and evidence, and each rule's SQL as a view that names the rows of its findings;
personal values are pseudonyms that keep equality; the example queries of docs/audit-db.md return what it says."""

from __future__ import annotations

import re
import tempfile
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fundaudit
from fundaudit.columns import catalogue
from fundaudit.engine import input_tables
from fundaudit.ledger import TOTALS_COLUMNS, Ledger
from fundaudit.masking import mask_account, mask_id
from fundaudit.period import parse_period
from fundaudit.report import db
from fundaudit.run import AuditResult
from fundaudit.schemas import TEXT
from tests.pii import normalised, pii_found
from tests.report.test_artefacts import HOSTILE_SECRETS, _leaks, hostile_input

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
DOC = ROOT / "docs" / "audit-db.md"
RESULT_TABLES = {"findings", "refs", "evidence", "rules", "inputs", "rejected_rows", "run"}
PSEUDONYM = re.compile(r"^(?P<shown>.*)~[a-p]{16}$", re.S)


def _audit(unmask: bool) -> AuditResult:
    return fundaudit.audit(paths=[SAMPLES], profile="anhui-2016", period="2016", unmask=unmask)


@pytest.fixture(scope="module")
def masked(tmp_path_factory: pytest.TempPathFactory) -> tuple[AuditResult, Path]:
    result = _audit(unmask=False)
    return result, result.to_db(tmp_path_factory.mktemp("masked") / "audit.duckdb")


@pytest.fixture(scope="module")
def unmasked(tmp_path_factory: pytest.TempPathFactory) -> tuple[AuditResult, Path]:
    result = _audit(unmask=True)
    return result, db.write_db(result, tmp_path_factory.mktemp("unmasked") / "audit.duckdb")


def _connect(path: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(path), read_only=True)


def _names(con: duckdb.DuckDBPyConnection, kind: str) -> set[str]:
    return {n for (n,) in con.execute("SELECT table_name FROM information_schema.tables WHERE table_type = ?",
                                      [kind]).fetchall()}


def test_opens_read_only_with_every_table_and_view(masked: tuple[AuditResult, Path]) -> None:
    result, path = masked
    assert path.name == db.DB_FILE
    assert sorted(p.name for p in path.parent.iterdir()) == ["audit.duckdb"]  # no temporary file, no .wal left
    with _connect(path) as con:
        assert _names(con, "BASE TABLE") == {*result.ledgers, "ledger_totals", *RESULT_TABLES}
        assert _names(con, "VIEW") == {f"rule_{r['id'].replace('-', '_')}" for r in result.rules}
        assert len(_names(con, "VIEW")) == 41
        with pytest.raises(duckdb.Error, match="read-only"):
            con.execute("DELETE FROM findings")


def test_input_tables_hold_every_loaded_row_with_the_engines_columns(masked: tuple[AuditResult, Path]) -> None:
    result, path = masked
    registered = input_tables(result.ledgers, parse_period("2016"))
    with _connect(path) as con:
        for kind, ledger in result.ledgers.items():
            loaded = sum(i.rows_loaded for i in ledger.inputs)
            assert con.execute(f'SELECT count(*) FROM "{kind}"').fetchone() == (loaded,), kind
            assert loaded == len(ledger.frame)
            columns = [c for (c,) in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
                [kind]).fetchall()]
            assert columns == list(registered.frames[kind].columns), kind
            # the provenance and row ids as the engine registered them
            got = con.execute(f'SELECT row, _rid, _in_period FROM "{kind}" ORDER BY _rid').df()
            want = registered.frames[kind][["row", "_rid", "_in_period"]].reset_index(drop=True)
            pd.testing.assert_frame_equal(got, want, check_dtype=False)
        assert con.execute("SELECT count(*) FROM ledger_totals").fetchone() == (6,)
        types = dict(con.execute("SELECT column_name, data_type FROM information_schema.columns "
                                 "WHERE table_name = 'disbursements'").fetchall())
    assert (types["amount"], types["payment_date"], types["recipient_id_no"]) == ("BIGINT", "TIMESTAMP_NS", "VARCHAR")
    assert (types["file"], types["sheet"], types["row"], types["_in_period"]) == ("VARCHAR", "VARCHAR", "BIGINT",
                                                                                 "BOOLEAN")


def test_result_tables_are_the_runs_findings_refs_rules_inputs_and_run(masked: tuple[AuditResult, Path]) -> None:
    result, path = masked
    f = result.findings
    with _connect(path) as con:
        got = con.execute("SELECT id, fingerprint, rule, severity, kind, message, message_en, amount, "
                          "CAST(\"values\" AS VARCHAR) FROM findings ORDER BY id").fetchall()
        refs = con.execute("SELECT finding_id, position, kind, file, sheet, row, role FROM refs "
                           "ORDER BY finding_id, position").fetchall()
        rules = con.execute("SELECT id, status, findings, sql, view FROM rules").fetchall()
        run = con.execute("SELECT profile, region_code, period_start, period_end, masked, version FROM run").fetchall()
        inputs = con.execute("SELECT kind, rows_loaded, amount_total FROM inputs WHERE kind = 'dues'").fetchall()
        rejected = con.execute("SELECT count(*), count(*) FILTER (WHERE personal) FROM rejected_rows").fetchone()
        evidence = con.execute("SELECT count(*) FROM evidence").fetchone()
    assert len(got) == 68
    assert [g[:7] for g in got] == [tuple(r) for r in f[["id", "fingerprint", "rule", "severity", "kind", "message",
                                                          "message_en"]].itertuples(index=False)]
    assert [g[7] for g in got] == [None if pd.isna(v) else Decimal(int(v)) / 100 for v in f["amount_fen"]]
    assert got[0][7:] == (Decimal("2632.05"), '{"rate": "0.008"}')
    assert refs == [(fid, i, r["kind"], r["file"], r["sheet"], r["row"], r["role"])
                    for fid, rs in zip(f["id"], f["refs"], strict=True) for i, r in enumerate(rs)]
    assert len(refs) == 102  # 68 findings' own rows and the rows of other inputs they cite
    assert rules == [(r["id"], r["status"], r["findings"], r["sql"], f"rule_{r['id'].replace('-', '_')}")
                     for r in result.rules]
    assert run == [("anhui-2016", "341003", date(2016, 1, 1), date(2016, 12, 31), True, fundaudit.__version__)]
    assert inputs == [("dues", 353, Decimal("1546583.38"))]
    assert rejected == (len(result.rejected_rows), int(result.rejected_rows["personal"].sum()))
    cells = [len(e["cells"]) if isinstance(e.get("cells"), dict) else 1
             for entries in f.get("evidence", []) for e in entries or []]
    assert evidence == (sum(cells),)


def _prov(con: duckdb.DuckDBPyConnection, table: str, rids: set[int]) -> dict[tuple[Any, ...], bool]:
    """(kind, file, sheet, row) of rows ``rids`` of ``table`` -> whether the row is in the period."""
    kind = "kind" if table == "ledger_totals" else f"'{table}'"
    rows = con.execute(f'SELECT _rid, {kind}, file, sheet, row, _in_period FROM "{table}"').fetchall()
    return {(k, f, s, r): p for rid, k, f, s, r, p in rows if rid in rids}


def _view_vs_findings(path: Path) -> dict[str, tuple[set[Any], set[Any]]]:
    """Per rule with a view: (refs of its findings that are not rows its view returns, own or cited; rows its view
    returns in the period that no finding of it names)."""
    out = {}
    with _connect(path) as con:
        for rule, ledger, view in con.execute("SELECT id, ledger, view FROM rules WHERE view IS NOT NULL").fetchall():
            v = con.execute(f'SELECT * FROM "{view}"').df()
            tables = v["_table"] if "_table" in v else pd.Series(ledger, index=v.index, dtype=object)
            own: dict[tuple[Any, ...], bool] = {}
            for table, rids in v.groupby(tables)["_rid"]:
                own |= _prov(con, str(table), set(rids.astype(int)))
            cited: dict[tuple[Any, ...], bool] = {}
            for c in [c for c in v.columns if c.startswith("_ref:")]:
                cited |= _prov(con, c.split(":")[1], {int(x) for x in v[c].explode().dropna()})
            refs = set(con.execute("SELECT r.kind, r.file, r.sheet, r.row FROM refs AS r JOIN findings AS f "
                                   "ON f.id = r.finding_id WHERE f.rule = ?", [rule]).fetchall())
            out[rule] = (refs - set(own) - set(cited), {p for p, inside in own.items() if inside} - refs)
    return out


def test_every_rule_view_returns_the_rows_of_its_findings(unmasked: tuple[AuditResult, Path]) -> None:
    """Every ref of every finding is a row its rule's view returns (own or cited), and every in-period row a view
    returns is a ref of a finding of the rule: exactly, for all 41 rules (docs/audit-db.md)."""
    result, path = unmasked
    compared = _view_vs_findings(path)
    assert len(compared) == 41
    assert {rule: diff for rule, diff in compared.items() if diff != (set(), set())} == {}
    assert sum(r["findings"] for r in result.rules) == 68


def test_masked_views_differ_only_in_the_age_checks(masked: tuple[AuditResult, Path],
                                                    unmasked: tuple[AuditResult, Path]) -> None:
    """Pseudonyms keep every join and group: each view returns as many rows masked as unmasked, except DISB-ID,
    whose age check needs the birth date masking hides (documented)."""
    counts = []
    for _, path in (masked, unmasked):
        with _connect(path) as con:
            views = sorted(_names(con, "VIEW"))
            counts.append({v: con.execute(f'SELECT count(*) FROM "{v}"').fetchone()[0] for v in views})  # type: ignore[index]
    differ = {v: (counts[0][v], counts[1][v]) for v in counts[1] if counts[0][v] != counts[1][v]}
    assert differ == {"rule_DISB_ID": (3, 4)}
    compared = _view_vs_findings(masked[1])
    assert {rule: diff for rule, diff in compared.items() if diff != (set(), set())} == {
        "DISB-ID": ({("disbursements", "disbursements_2016.xlsx", "送温暖", 66)}, set())}


def _personal_values() -> tuple[set[str], set[str]]:
    """Every raw ID, account and phone the samples hold (tests/report/test_artefacts.py's list), and every home
    address (personal free text)."""
    ledgers = fundaudit.inputs.collect([SAMPLES])
    out: set[str] = set()
    addresses: set[str] = set()
    for ledger in ledgers.values():
        for name, col in ledger.spec.columns.items():
            if col.type in ("resident_id", "account", "phone") and name in ledger.frame:
                out |= {v for v in ledger.frame[name].dropna().astype(str) if len(v) >= 11}
            elif col.personal and name in ledger.frame:
                addresses |= set(ledger.frame[name].dropna().astype(str))
    return out, addresses


def _text_cells(path: Path) -> list[tuple[str, str, str]]:
    with _connect(path) as con:
        columns = con.execute("SELECT table_name, column_name FROM information_schema.columns WHERE data_type IN "
                              "('VARCHAR', 'JSON') AND table_name NOT LIKE 'rule_%'").fetchall()
        return [(t, c, v) for t, c in columns
                for (v,) in con.execute(f'SELECT DISTINCT CAST("{c}" AS VARCHAR) FROM "{t}"').fetchall() if v]


def test_no_raw_personal_value_anywhere_in_the_masked_file(masked: tuple[AuditResult, Path],
                                                           unmasked: tuple[AuditResult, Path]) -> None:
    numbers, addresses = _personal_values()
    assert (len(numbers), len(addresses)) == (480, 127)
    secrets = numbers | addresses
    data = masked[1].read_bytes()
    assert [s for s in secrets if s.encode() in data] == []
    assert all(s.encode() in unmasked[1].read_bytes() for s in secrets)  # the byte scan sees what is there
    cells = _text_cells(masked[1])
    assert [(t, c) for t, c, v in cells if any(s in v for s in secrets)] == []
    # code columns (e-voucher numbers, credit codes) are not personal: the scanner takes some for card numbers
    codes = {n for spec in catalogue().values() for n, col in spec.columns.items() if col.type in ("code",
                                                                                                   "taxpayer_id")}
    assert [(t, c, v) for t, c, v in cells if c not in codes and pii_found(v)] == []
    assert sum(1 for t, c, v in _text_cells(unmasked[1]) if c not in codes and pii_found(v)) == 819


def test_no_personal_data_in_any_form_from_hostile_input(tmp_path: Path) -> None:
    """IDs, phones and cards in full-width digits, split by spaces or dashes, with a typed letter, in the file and
    sheet names, the title row, the name and free-text columns and a rejected value (test_artefacts' hostile
    workbook): none in the masked file's bytes nor in any of its text cells; all there unmasked."""
    src, pack = hostile_input(tmp_path)
    for unmask in (False, True):
        result = fundaudit.audit({"disbursements": src}, rules=[pack], unmask=unmask)
        path = db.write_db(result, tmp_path / ("raw" if unmask else "masked") / "audit.duckdb")
        cells = "\n".join(v for _, _, v in _text_cells(path))
        data = path.read_bytes().decode("utf-8", "replace")
        if unmask:
            assert all(s.replace("O", "0") in normalised(cells).replace("O", "0") for s in HOSTILE_SECRETS)
        else:
            assert _leaks(cells) == []
            assert [s for s in HOSTILE_SECRETS if s in data] == []
            with _connect(path) as con:  # masked as refs show them, so the two join
                shown = con.execute("SELECT DISTINCT file, sheet FROM disbursements").fetchall()
                assert con.execute("SELECT DISTINCT file, sheet FROM refs").fetchall() == shown
            ((file, sheet),) = shown
            assert (Path(file).name, sheet) == ("送温暖_341003-********-0036.xlsx", "明细 *** **** 5678")


def test_personal_values_are_pseudonyms_that_keep_equality(masked: tuple[AuditResult, Path],
                                                           unmasked: tuple[AuditResult, Path]) -> None:
    """A pseudonym is the masked form, ``~`` and 16 letters a–p; equal values get equal pseudonyms, within a column
    and across tables (a payment's recipient and a register file's holder)."""
    result = unmasked[0]
    raw = result.ledgers["disbursements"].frame
    with _connect(masked[1]) as con:
        ids = con.execute("SELECT recipient_id_no, bank_account FROM disbursements ORDER BY _rid").fetchall()
        births = con.execute("SELECT count(recipient_id_no__birth) FROM disbursements").fetchone()
        joined = [con.execute(q).fetchone() for q in _EQUALITY_QUERIES]
    with _connect(unmasked[1]) as con:
        joined_raw = [con.execute(q).fetchone() for q in _EQUALITY_QUERIES]
        births_raw = con.execute("SELECT count(recipient_id_no__birth) FROM disbursements").fetchone()
    expect_id = mask_id(raw["recipient_id_no"].astype("str"))
    expect_account = mask_account(raw["bank_account"].astype("str"))
    for (pid, pacc), rid, racc, mid, macc in zip(ids, raw["recipient_id_no"], raw["bank_account"], expect_id,
                                                 expect_account, strict=True):
        for pseudo, value, shown in ((pid, rid, mid), (pacc, racc, macc)):
            if pd.isna(value):
                assert pseudo is None
            else:
                m = PSEUDONYM.match(pseudo)
                assert m is not None and m["shown"] == shown, (pseudo, shown)
    assert joined == joined_raw
    assert joined == [(241, 134), (230, 122), (9, 9), (1,), (26,), (1,)]
    assert (births, births_raw) == ((0,), (239,))


_EQUALITY_QUERIES = [
    "SELECT count(recipient_id_no), count(DISTINCT recipient_id_no) FROM disbursements",
    "SELECT count(bank_account), count(DISTINCT bank_account) FROM disbursements",
    "SELECT count(address), count(DISTINCT address__key) FROM staff",
    "SELECT count(*) FROM disbursements AS d JOIN staff AS s ON s.id_no = d.recipient_id_no",
    "SELECT count(*) FROM dues AS d JOIN unions AS u ON u.bank_account = d.grassroots_account AND d.row < 30",
    "SELECT count(*) FROM register AS r JOIN staff AS s ON s.address__key = r.address__key",
]


_SECRETS = st.sampled_from(["341003198001010029", "34100319800101001X", "341003198001010029 ", "6222020200112233445",
                            "13812345678", "138 1234 5678", "", "0", "黄山区平湖东路170号", "黄山区平湖东路170号 "])


@settings(max_examples=25, deadline=None)
@given(rows=st.lists(st.tuples(_SECRETS | st.none(), _SECRETS | st.none(), _SECRETS | st.none()),
                     min_size=1, max_size=8))
def test_pseudonyms_keep_exactly_the_equalities_of_the_values(rows: list[tuple[str | None, ...]]) -> None:
    """Over any values (IDs, accounts, phones, addresses, blanks, NULLs) in the three personal columns of staff and
    the register: two cells hold equal pseudonyms exactly when they held equal values, within a column and across
    columns and tables of one type; NULL stays NULL; no value of 5 characters or more survives whole."""
    frames = {}
    for kind in ("staff", "register"):
        frames[kind] = pd.DataFrame({"file": "f.csv", "sheet": None, "row": range(2, len(rows) + 2),
                                     "id_no": [r[0] for r in rows], "bank_account": [r[1] for r in rows],
                                     "address": [r[2] for r in rows]}).astype(
            {"file": TEXT, "sheet": TEXT, "id_no": TEXT, "bank_account": TEXT, "address": TEXT})
    none = pd.DataFrame()
    result = AuditResult(ledgers={k: Ledger(k, f, none, none, pd.DataFrame(columns=TOTALS_COLUMNS), [])
                                  for k, f in frames.items()}, run={"period": None})
    with tempfile.TemporaryDirectory() as tmp:
        path = db.write_db(result, Path(tmp) / "audit.duckdb")
        with _connect(path) as con:
            got = {k: con.execute(f'SELECT id_no, bank_account, address FROM "{k}" ORDER BY _rid').fetchall()
                   for k in frames}
    for column in range(3):
        raw = [r[column] for r in rows] * 2
        pseudo = [g[column] for k in frames for g in got[k]]
        assert [p is None for p in pseudo] == [v is None for v in raw]
        pairs = [(a, b) for a in range(len(raw)) for b in range(len(raw))]
        assert [pseudo[a] == pseudo[b] for a, b in pairs] == [raw[a] == raw[b] for a, b in pairs]
        assert all(PSEUDONYM.match(p) for p in pseudo if p is not None)
    leaked = {v for r in rows for v in r[:2] if v and len(v) >= 5} & {p.split("~")[0] for g in got.values()
                                                                     for row in g for p in row if p}
    assert leaked == set()


def test_two_files_of_one_run_have_unrelated_pseudonyms(masked: tuple[AuditResult, Path], tmp_path: Path) -> None:
    """The key is made per file and never written: the same value gets another hash in another file."""
    again = db.write_db(masked[0], tmp_path / "audit.duckdb")
    query = "SELECT recipient_id_no FROM disbursements WHERE _rid = 0"
    with _connect(masked[1]) as a, _connect(again) as b:
        first, second = a.execute(query).fetchone()[0], b.execute(query).fetchone()[0]  # type: ignore[index]
    assert first.split("~")[0] == second.split("~")[0] == "341003********5049"
    assert first != second


def test_evidence_rows_are_the_cells_of_each_ref(masked: tuple[AuditResult, Path], tmp_path: Path) -> None:
    """The findings' ``evidence`` (parallel to ``refs``) becomes one row per cell, and one row with the note for
    a row that cannot be shown; read defensively (a missing or malformed entry is skipped)."""
    result = _audit(unmask=False)
    f = result.findings.iloc[:3].copy()
    f["evidence"] = [
        [{"kind": "dues", "file": "dues_2016.xls", "sheet": "代收明细", "row": 107, "role": "dues_record",
          "cells": {"纳税人识别号": "91341003MA2N0AB12X", "税率": "0.008", "F": ""}}],
        [{"kind": "dues", "file": "x", "sheet": None, "row": 3, "role": "dues_record", "cells": None,
          "note": "the file changed since it was read"}, "not a dict"],
        None,
    ]
    result.findings = f
    path = db.write_db(result, tmp_path / "audit.duckdb")
    with _connect(path) as con:
        rows = con.execute("SELECT * FROM evidence ORDER BY finding_id, position, column_no").fetchall()
    assert rows == [("F000001", 0, 1, "纳税人识别号", "91341003MA2N0AB12X", None),
                    ("F000001", 0, 2, "税率", "0.008", None),
                    ("F000001", 0, 3, "F", "", None),
                    ("F000002", 0, None, None, None, "the file changed since it was read")]


def test_a_failed_write_leaves_nothing_and_keeps_the_previous_file(masked: tuple[AuditResult, Path], tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "audit.duckdb"
    path.write_bytes(b"previous")

    def broken(con: Any, result: AuditResult) -> None:
        con.execute("CREATE TABLE half AS SELECT 1 AS a")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(db, "_write", broken)
    with pytest.raises(OSError, match="No space"):
        db.write_db(masked[0], path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["audit.duckdb"]
    assert path.read_bytes() == b"previous"


def test_a_rule_whose_sql_is_no_view_is_listed_without_one(tmp_path: Path) -> None:
    with duckdb.connect(str(tmp_path / "x.duckdb")) as con:
        views = db._views(con, [{"id": "U-1", "sql": "SELECT * FROM nowhere"}, {"id": "U-2", "sql": None},
                                {"id": "U-3", "sql": "SELECT 1 AS one"}, {"id": "U-4", "sql": "SELEC nonsense ("}])
        assert views == {"U-3": "rule_U_3"}
        assert con.execute("SELECT * FROM rule_U_3").fetchall() == [(1,)]


def test_view_names() -> None:
    assert db.view_name("DISB-CASH") == "rule_DISB_CASH"
    assert db.view_name("XL-STAFF-RELATIVE") == "rule_XL_STAFF_RELATIVE"


# --- docs/audit-db.md -------------------------------------------------------------------------------------------

_SQL = re.compile(r"```sql\n(.*?)```\n", re.S)


def documented_queries() -> list[tuple[str, list[list[str]] | None]]:
    """Each ```sql block of docs/audit-db.md with the Markdown table that follows it before the next block or
    heading (header row first), or None when it has none."""
    text = DOC.read_text("utf-8")
    out = []
    blocks = list(_SQL.finditer(text))
    for i, m in enumerate(blocks):
        end = blocks[i + 1].start() if i + 1 < len(blocks) else len(text)
        after = text[m.end():end].split("\n#", 1)[0]
        lines = [ln for ln in after.splitlines() if ln.startswith("|")]
        table = [[c.strip() for c in ln.strip("|").split("|")] for ln in lines if not set(ln) <= set("|-: ")]
        out.append((m.group(1), table or None))
    return out


def cell(v: Any) -> str:
    """How the docs show a value."""
    if v is None:
        return "NULL"
    if isinstance(v, date):
        return v.isoformat()
    return str(v)


def run_query(con: duckdb.DuckDBPyConnection, query: str) -> list[list[str]]:
    """A query's result as the docs show it: header row, then each row's cells."""
    rel = con.execute(query)
    return [[d[0] for d in rel.description], *[[cell(v) for v in row] for row in rel.fetchall()]]


def test_documented_queries_return_what_the_docs_say(masked: tuple[AuditResult, Path]) -> None:
    queries = documented_queries()
    assert [table is not None for _, table in queries] == [True, True, False, True]
    with _connect(masked[1]) as con:
        for query, table in queries:
            got = run_query(con, query)
            if table is not None:
                assert got == table, query


def test_report_docs_link_the_database_page() -> None:
    assert "(audit-db.md)" in (ROOT / "docs" / "report.md").read_text("utf-8")
