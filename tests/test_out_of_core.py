"""Out of core on one machine (issue 17 item 3): an audit whose parquet inputs are scanned into an on-disk DuckDB
store finds what the in-memory audit finds, writes the same reports, and leaves nothing behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import openpyxl
import pytest

from bench import scale
from fundaudit import scan
from fundaudit.errors import FundauditError, InputError
from fundaudit.inputs import LedgerArg
from fundaudit.run import AuditResult, audit
from tests.test_scan import samples_as_parquet

ROOT = Path(__file__).resolve().parents[1]
KEY = b"out-of-core test key, 32 bytes!!"
COMPARED = ["fingerprint", "rule", "severity", "kind", "union", "subject", "message", "message_en", "amount",
            "amount_fen", "values", "refs", "evidence"]


@pytest.fixture(scope="module")
def samples_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("samples_pq")
    samples_as_parquet(out, row_group_size=5)
    return out


@pytest.fixture(scope="module")
def bench_dir(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The bench's generated ledgers at a small size, big ledgers as directories of part files."""
    return scale.build(tmp_path_factory.mktemp("bench_pq"), dues=2400, disbursements=1200, chunk_rows=500,
                       directory_above=500)


def _records(result: AuditResult) -> list[dict[str, Any]]:
    f = result.findings[COMPARED].astype(object)
    return f.where(f.notna(), None).to_dict("records")


def assert_same_audit(memory: AuditResult, scanned: AuditResult) -> None:
    """Findings (fingerprints, refs, amounts, messages, evidence), rule statuses, inputs and rejected rows alike."""
    assert memory.run["out_of_core"] == []
    assert scanned.run["out_of_core"] != []
    assert len(memory.findings) > 0
    assert _records(memory) == _records(scanned)
    assert memory.findings["id"].tolist() == scanned.findings["id"].tolist()
    assert memory.rules == scanned.rules
    assert memory.inputs == scanned.inputs
    assert memory.rejected_rows.equals(scanned.rejected_rows)
    assert memory.summary == scanned.summary
    for kind, led in memory.ledgers.items():
        other = scanned.ledgers[kind]
        assert led.row_count == other.row_count
        assert led.non_data.reset_index(drop=True).equals(other.non_data.reset_index(drop=True))
        assert led.totals.reset_index(drop=True).equals(other.totals.reset_index(drop=True))


@pytest.mark.parametrize("batch_rows", [2, 1_000_000])
def test_samples_as_parquet_audited_out_of_core_equal_in_memory(samples_dir: Path, batch_rows: int,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scan, "BATCH_ROWS", batch_rows)
    kw: dict[str, Any] = {"paths": [samples_dir], "profile": "anhui-2016", "period": "2016", "subject_key": KEY}
    memory = audit(**kw, out_of_core="never")
    with audit(**kw, out_of_core="always") as scanned:
        assert scanned.run["out_of_core"] == ["budget", "caps", "dibao", "disbursements", "dues", "employers",
                                              "min_wage", "ratios", "register", "staff", "unions"]
        assert_same_audit(memory, scanned)
        assert all(led.stored is not None for led in scanned.ledgers.values())
        assert len(memory.findings) == 49


def test_bench_data_in_part_files_audited_out_of_core_equal_in_memory(bench_dir: dict[str, Path],
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    assert bench_dir["dues"].is_dir() and bench_dir["disbursements"].is_dir()
    monkeypatch.setattr(scan, "BATCH_ROWS", 333)
    inputs = {kind: str(path) for kind, path in bench_dir.items()}
    kw: dict[str, Any] = {"profile": "anhui-2016", "period": "2016", "subject_key": KEY}
    memory = audit(inputs, **kw, out_of_core="never")
    with audit(inputs, **kw, out_of_core="always") as scanned:
        assert_same_audit(memory, scanned)
        assert sorted(i["file"] for i in scanned.inputs if i["kind"] == "dues") == sorted(
            str(p) for p in bench_dir["dues"].glob("*.parquet"))


def test_progress_per_batch(samples_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scan, "BATCH_ROWS", 150)
    said: list[str] = []
    dues = str(next(samples_dir.glob("dues*.parquet")))
    with audit({"dues": dues}, profile="anhui-2016", period="2016", subject_key=KEY, out_of_core="always",
               progress=said.append):
        pass
    assert [m for m in said if "rows" in m] == [f"dues: {dues}  {n} / 356 rows" for n in (150, 300, 356)]


def test_threshold_decides_in_auto_mode(samples_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kw: dict[str, Any] = {"profile": "anhui-2016", "period": "2016", "subject_key": KEY}
    dues = str(next(samples_dir.glob("dues*.parquet")))
    with audit({"dues": dues}, **kw) as small:
        assert small.run["out_of_core"] == []
    monkeypatch.setattr(scan, "THRESHOLD_ROWS", 356)  # the dues sample's rows (353 loaded)
    with audit({"dues": dues}, **kw) as big:
        assert big.run["out_of_core"] == ["dues"]
        assert big.ledgers["dues"].stored is not None


def test_a_kind_from_a_spreadsheet_and_parquet_is_one_table(samples_dir: Path) -> None:
    """The in-memory part of a kind (a workbook) is appended to the scanned table (a parquet file): the rules see
    one ledger, and find what they find in memory."""
    parquet = str(next(samples_dir.glob("disbursements*金秋助学.parquet")))
    workbook = str(ROOT / "samples/disbursements_2016.xlsx")
    kw: dict[str, Any] = {"profile": "anhui-2016", "period": "2016", "subject_key": KEY,
                          "ledgers": [LedgerArg("register", str(ROOT / "samples/register_2016.csv"))]}
    memory = audit({"disbursements": [parquet, workbook]}, **kw, out_of_core="never")
    with audit({"disbursements": [parquet, workbook]}, **kw, out_of_core="always") as mixed:
        led = mixed.ledgers["disbursements"]
        assert led.stored is not None and mixed.ledgers["register"].stored is None
        assert [i.file for i in led.inputs] == [parquet, workbook, workbook]
        assert led.row_count == 36 + memory.ledgers["disbursements"].row_count - 36
        assert mixed.run["out_of_core"] == ["disbursements"]
        assert _records(memory) == _records(mixed)
        assert memory.rules == mixed.rules


def test_a_stated_kind_takes_a_directory_of_parquet_files(bench_dir: dict[str, Path]) -> None:
    """``--ledger dues=DIR`` (and ``inputs={"dues": DIR}``): each parquet file of the folder, in memory below the
    threshold, scanned at or above it; a folder holding other files is refused as before."""
    kw: dict[str, Any] = {"profile": "anhui-2016", "period": "2016", "subject_key": KEY,
                          "inputs": {k: str(p) for k, p in bench_dir.items() if k != "dues"}}
    with audit(ledgers=[LedgerArg("dues", str(bench_dir["dues"]))], **kw) as run:
        assert run.ledgers["dues"].row_count == 2400 and run.ledgers["dues"].stored is None
        assert len(run.ledgers["dues"].inputs) == 5
    (bench_dir["dues"] / "readme.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    try:
        with pytest.raises(InputError) as exc:
            audit(ledgers=[LedgerArg("dues", str(bench_dir["dues"]))], **kw)
        assert exc.value.code == "bad_source"
    finally:
        (bench_dir["dues"] / "readme.csv").unlink()


def _reports(result: AuditResult, out: Path) -> None:
    out.mkdir()
    result.to_json(out / "findings.json")
    result.to_excel(out / "findings.xlsx")
    result.to_html(out / "report.html")
    result.to_db(out / "audit.duckdb")


def _cells(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    wb = openpyxl.load_workbook(path)
    return {ws.title: [tuple(c.value for c in row) for row in ws.iter_rows()] for ws in wb.worksheets}


def _tables(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        names = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables "
                                           "WHERE table_type = 'BASE TABLE' ORDER BY 1").fetchall()]
        out = {}
        for name in names:
            if name == "run":
                continue
            cols = [r[0] for r in con.execute("SELECT column_name FROM information_schema.columns WHERE "
                                              "table_name = ? ORDER BY ordinal_position", [name]).fetchall()]
            out[name] = [cols, *con.execute(f'SELECT * FROM "{name}"').fetchall()]
        return out
    finally:
        con.close()


def test_reports_are_the_same(samples_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """findings.json (but when it ran and how), findings.xlsx cells, the HTML and audit.duckdb's tables (unmasked: a
    masked audit.duckdb hashes with keys made for each file)."""
    monkeypatch.setattr(scan, "BATCH_ROWS", 3)
    kw: dict[str, Any] = {"paths": [samples_dir], "profile": "anhui-2016", "period": "2016", "subject_key": KEY,
                          "unmask": True}
    memory = audit(**kw, out_of_core="never")
    with audit(**kw, out_of_core="always") as scanned:
        scanned.generated_at = memory.generated_at
        scanned.run = {**scanned.run, "out_of_core": [], "memory_limit": None}
        _reports(memory, tmp_path / "memory")
        _reports(scanned, tmp_path / "scanned")
    doc_m = json.loads((tmp_path / "memory/findings.json").read_text(encoding="utf-8"))
    doc_s = json.loads((tmp_path / "scanned/findings.json").read_text(encoding="utf-8"))
    assert doc_m == doc_s
    assert _cells(tmp_path / "memory/findings.xlsx") == _cells(tmp_path / "scanned/findings.xlsx")
    html_m = (tmp_path / "memory/report.html").read_text(encoding="utf-8")
    assert html_m == (tmp_path / "scanned/report.html").read_text(encoding="utf-8")
    tables = _tables(tmp_path / "memory/audit.duckdb")
    assert {"dues", "disbursements", "findings", "evidence"} <= set(tables)
    assert tables == _tables(tmp_path / "scanned/audit.duckdb")


def test_masked_audit_db_streams_stored_ledgers(samples_dir: Path, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A masked audit.duckdb of an out-of-core run holds each ledger whole, pseudonymised as the in-memory one."""
    from fundaudit.report import db

    monkeypatch.setattr(db, "_CHUNK_ROWS", 50)
    with audit(paths=[samples_dir], profile="anhui-2016", period="2016", subject_key=KEY,
               out_of_core="always") as scanned:
        scanned.to_db(tmp_path / "audit.duckdb")
        rows = scanned.ledgers["dues"].row_count
    con = duckdb.connect(str(tmp_path / "audit.duckdb"), read_only=True)
    try:
        assert con.execute('SELECT count(*), count(DISTINCT _rid), min(_rid), max(_rid) FROM "dues"').fetchall() == [
            (rows, rows, 0, rows - 1)]
        ids = [r[0] for r in con.execute('SELECT payer_id_no FROM "dues" WHERE payer_id_no IS NOT NULL').fetchall()] \
            if "payer_id_no" in [r[0] for r in con.execute("DESCRIBE dues").fetchall()] else []
        assert all("~" in v for v in ids)
    finally:
        con.close()


def test_nothing_is_left_after_a_run_or_a_failed_one(samples_dir: Path, tmp_path: Path) -> None:
    temp = tmp_path / "spill_here"
    temp.mkdir()
    kw: dict[str, Any] = {"paths": [samples_dir], "profile": "anhui-2016", "period": "2016", "subject_key": KEY,
                          "out_of_core": "always", "temp_dir": temp, "memory_limit": "300MB"}
    result = audit(**kw)
    assert result.run["memory_limit"] == "300MB"
    folders = list(temp.iterdir())
    assert len(folders) == 1 and folders[0].name.startswith("fundaudit-")
    result.close()
    assert list(temp.iterdir()) == []
    with pytest.raises(FundauditError):  # refused before any input is read: no store was made
        audit(**{**kw, "params": {"NO-SUCH-RULE": {"x": 1}}})
    assert list(temp.iterdir()) == []
    from fundaudit import engine

    def broken(*_a: Any, **_k: Any) -> Any:
        raise RuntimeError("the engine broke")

    original = engine.run_rules
    engine.run_rules = broken  # type: ignore[assignment]
    try:  # fails once the store holds every input
        with pytest.raises(RuntimeError):
            audit(**kw)
    finally:
        engine.run_rules = original
    assert list(temp.iterdir()) == []


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # the tests' subject key (conftest)
    return subprocess.run([sys.executable, "-m", "fundaudit", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600, check=False)


def test_cli_out_of_core_options(samples_dir: Path, tmp_path: Path) -> None:
    temp = tmp_path / "t"
    temp.mkdir()
    done = _cli("audit", str(samples_dir), "--profile", "anhui-2016", "--period", "2016", "--out", str(tmp_path / "r"),
                "--fail-on", "never", "--format", "json,db", "--out-of-core", "always", "--memory-limit", "200MB",
                "--temp-dir", str(temp), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    run = json.loads((tmp_path / "r/findings.json").read_text(encoding="utf-8"))["run"]
    assert run["out_of_core"][:3] == ["budget", "caps", "dibao"] and run["memory_limit"] == "200MB"
    assert str(temp) not in json.dumps({k: v for k, v in run.items() if k != "argv"})  # recorded as given only
    assert list(temp.iterdir()) == []


@pytest.mark.parametrize(("args", "code", "text"), [
    (["--memory-limit", "lots"], "bad_memory_limit", "invalid --memory-limit lots"),
    (["--temp-dir", "/no/such/folder"], "bad_temp_dir", "--temp-dir /no/such/folder cannot be used"),
    (["--out-of-core", "sometimes"], "", "invalid choice"),
])
def test_cli_refuses_bad_out_of_core_options(samples_dir: Path, tmp_path: Path, args: list[str], code: str,
                                             text: str) -> None:
    done = _cli("audit", str(samples_dir), "--lang", "en", "--out", str(tmp_path / "r"), *args, cwd=tmp_path)
    assert done.returncode == 2
    assert text in done.stderr
    assert not (tmp_path / "r" / "findings.json").exists()
