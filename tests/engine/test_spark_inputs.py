"""Inputs Spark reads itself (issue 17 phase 2): parquet files, directories and ``spark:`` tables, normalised per
partition on the executors by the loader's own code, give the findings, rejected rows and input counts the
in-memory DuckDB audit of the same parquet files gives, and only results reach the driver. Skipped, saying why,
where pyspark or Java is absent (``tests/conftest.py::spark``)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import fundaudit
from fundaudit.cli import main
from fundaudit.columns import catalogue
from fundaudit.inputs import collect
from fundaudit.normalize import format_fen_series
from fundaudit.run import AuditResult
from fundaudit.spark_inputs import FILE_BITS, SparkTable

pytestmark = pytest.mark.spark

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
KINDS = ("dues", "disbursements", "register", "unions", "staff", "employers", "budget")
ALIASED = "disbursements"  # its parquet headers are the catalogue's Chinese aliases, not canonical names
SHOWN = ["fingerprint", "rule", "severity", "union", "subject", "message", "message_en", "amount", "refs", "values"]
COUNTS = ["kind", "file", "sheet", "format", "header_row", "rows_read", "rows_loaded", "rows_rejected",
          "rows_non_data", "amount_total", "columns", "unmapped_columns"]


def _as_text(frame: pd.DataFrame, kind: str) -> pd.DataFrame:
    """A canonical frame as a parquet export would hold it: money as yuan text, dates as dates, the rest text."""
    spec = catalogue()[kind]
    out = {}
    for c in [c for c in frame.columns if c in spec.columns]:
        header = (spec.columns[c].header_zh or c) if kind == ALIASED else c
        typ = spec.columns[c].type
        if typ == "money":
            out[header] = format_fen_series(frame[c])
        elif typ == "date":
            out[header] = frame[c]
        else:
            s = frame[c].astype(object)
            out[header] = s.where(s.notna(), None).map(lambda v: None if v is None else str(v))
    return pd.DataFrame(out)


def _bad_dues(columns: list[str]) -> pd.DataFrame:
    """Dues rows a loader must reject or set aside: an unreadable amount, a bad taxpayer ID, a blank row, a 合计."""
    rows = [{"taxpayer_id": "91341000MA2N0000X1", "taxpayer_name": "某某公司", "amount_paid": "十二元"},
            {"taxpayer_id": "!!bad!!", "taxpayer_name": "另一公司", "amount_paid": "12.5"},
            {},
            {"taxpayer_id": "合计", "amount_paid": "24.50"},
            {"taxpayer_id": "91341000MA2N0000X2", "taxpayer_name": "第三公司", "amount_paid": "1.234"}]
    return pd.DataFrame([{c: r.get(c) for c in columns} for r in rows], columns=columns).astype(object)


@pytest.fixture(scope="module")
def parquet(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """The samples as parquet parts, three per ledger (one per reference table), the dues with a fourth part of bad
    rows; paths by kind."""
    root = tmp_path_factory.mktemp("parquet")
    ledgers = collect([SAMPLES])
    out: dict[str, list[str]] = {}
    for kind in KINDS:
        frame = _as_text(ledgers[kind].frame, kind)
        (root / kind).mkdir()
        parts = np.array_split(np.arange(len(frame)), 3 if catalogue()[kind].ledger else 1)
        for i, at in enumerate(parts):
            frame.iloc[at].to_parquet(root / kind / f"part-{i}.parquet", index=False, coerce_timestamps="ms")
        if kind == "dues":  # the parts' own types: Spark reads every part of a directory with one schema
            schema = pq.read_schema(root / kind / "part-0.parquet").remove_metadata()
            table = pa.Table.from_pandas(_bad_dues(list(frame.columns)), schema=schema, preserve_index=False)
            pq.write_table(table, root / kind / f"part-{len(parts)}.parquet")
        out[kind] = sorted(str(p) for p in (root / kind).iterdir())
    return out


def _audit(inputs: dict[str, Any], **kw: Any) -> AuditResult:
    return fundaudit.audit(inputs=inputs, profile="anhui-2016", period="2016", **kw)


def _same(on_spark: AuditResult, on_duckdb: AuditResult, files: dict[str, str] | None = None) -> None:
    """Findings (but evidence), rule statuses, rejected rows and inputs' counts equal; ``files`` renames files of
    the Spark run (a table's part file) to the DuckDB run's."""
    rename = files or {}

    def refs(f: pd.DataFrame) -> list[dict[str, Any]]:
        out = f[SHOWN].to_dict("records")
        for r in out:
            r["refs"] = [{**ref, "file": rename.get(ref["file"], ref["file"])} for ref in r["refs"]]
            for lang in ("message", "message_en"):  # a 合计 row's finding names its file
                for short, long in rename.items():
                    r[lang] = r[lang] if long in r[lang] else r[lang].replace(short, long)
        return out

    assert on_spark.rules == [{**r, "sql": s["sql"]} for r, s in zip(on_duckdb.rules, on_spark.rules, strict=True)]
    assert len(on_duckdb.findings) > 0
    assert refs(on_spark.findings) == refs(on_duckdb.findings)
    assert on_spark.summary == on_duckdb.summary
    rejected = on_spark.rejected_rows.assign(file=on_spark.rejected_rows["file"].map(lambda f: rename.get(f, f)))
    pd.testing.assert_frame_equal(rejected, on_duckdb.rejected_rows)
    counts = [{k: i[k] for k in COUNTS} for i in on_spark.inputs]
    for c in counts:
        c["file"] = rename.get(c["file"], c["file"])
    assert counts == [{k: i[k] for k in COUNTS} for i in on_duckdb.inputs]


def test_parquet_parts_on_spark_find_what_duckdb_finds(parquet: dict[str, list[str]], spark: Any) -> None:
    """Every kind's parquet parts read by Spark (one kind under its Chinese headers, a part of bad rows among the
    dues): the findings, refs (file and row), rule statuses, rejected rows and counts of DuckDB's in-memory audit
    of the same files; the dues' non-data rows and declared totals too."""
    on_duckdb = _audit(dict(parquet))
    on_spark = _audit(dict(parquet), engine="spark", spark=spark)
    _same(on_spark, on_duckdb)
    for kind in KINDS:
        assert isinstance(on_spark.ledgers[kind].stored, SparkTable)
        assert on_spark.ledgers[kind].row_count == len(on_duckdb.ledgers[kind].frame)
    spark_dues, duck_dues = on_spark.ledgers["dues"], on_duckdb.ledgers["dues"]
    pd.testing.assert_frame_equal(spark_dues.non_data, duck_dues.non_data)
    pd.testing.assert_frame_equal(spark_dues.totals, duck_dues.totals)
    bad = parquet["dues"][-1]
    assert on_spark.rejected_rows.loc[on_spark.rejected_rows["file"] == bad,
                                      ["row", "field", "reason", "action"]].values.tolist() == [
        [2, "amount_paid", "amount_unparseable", "row_rejected"],
        [3, "taxpayer_id", "id_bad_chars", "field_blanked"],
        [6, "amount_paid", "more_than_two_decimals", "field_flagged"]]
    assert spark_dues.totals[["file", "row", "declared", "covers_from", "covers_to"]].values.tolist() == [
        [bad, 5, 2450, 2, 4]]
    assert spark_dues.non_data[["file", "row", "type"]].values.tolist() == [[bad, 4, "blank"], [bad, 5, "total"]]


def test_every_column_is_what_the_in_memory_loader_gives(parquet: dict[str, list[str]], spark: Any) -> None:
    """The canonical values and derived facts held on Spark, fetched back by row id, equal the in-memory ledger's
    with its facts (same dtypes too), row for row; row ids are file ordinal × 2**40 + row index."""
    from fundaudit.engine import input_tables
    from fundaudit.period import parse_period

    per = parse_period("2016")
    duck = input_tables(collect(ledgers=[], frames={k: parquet[k] for k in KINDS}), per).frames
    got = fundaudit.spark_inputs.read_spark({k: parquet[k] for k in KINDS}, spark, period=per)
    for kind in KINDS:
        stored = got[kind].stored
        assert stored is not None
        whole = duck[kind]
        rids = np.sort(np.asarray(stored.distinct("_rid"), dtype=np.int64))
        ours = stored.rows(rids).drop(columns="_rid")
        assert list(ours.columns) == [c for c in whole.columns if c != "_rid"], kind
        pd.testing.assert_frame_equal(ours, whole.drop(columns="_rid"), obj=kind)
        files = {f: i for i, f in enumerate(parquet[kind])}
        expected = [(files[f] << FILE_BITS) + r - 2 for f, r in zip(whole["file"], whole["row"], strict=True)]
        assert rids.tolist() == expected
        stored.close()


@pytest.fixture
def database(spark: Any, tmp_path: Path) -> Iterator[str]:
    """A database of the session's catalog in a temporary folder, dropped afterwards."""
    name = f"fundaudit_test_{uuid.uuid4().hex[:8]}"
    spark.sql(f"CREATE DATABASE {name} LOCATION '{tmp_path / name}'")
    yield name
    spark.sql(f"DROP DATABASE {name} CASCADE")


def test_a_directory_and_a_spark_table(parquet: dict[str, list[str]], spark: Any, database: str,
                                       tmp_path: Path) -> None:
    """Dues given as their directory (files shown relative to it) and the register as a table of the session's
    catalog (``spark:db.table``, files shown under the table's name): the findings of DuckDB's audit of the same
    rows, each ref citing the table's part file and the row in it."""
    register = tmp_path / "register.parquet"
    pd.concat([pd.read_parquet(p) for p in parquet["register"]]).to_parquet(register, index=False,
                                                                           coerce_timestamps="ms")
    spark.read.parquet(str(register)).coalesce(1).write.saveAsTable(f"{database}.register")
    (part,) = [p.name for p in (tmp_path / database / "register").iterdir() if p.suffix == ".parquet"]
    dues_dir = str(Path(parquet["dues"][0]).parent)
    on_duckdb = _audit({**parquet, "dues": parquet["dues"], "register": str(register)})
    on_spark = _audit({**parquet, "dues": dues_dir, "register": f"spark:{database}.register"}, engine="spark",
                      spark=spark)
    rename = {f"{database}.register/{part}": str(register), **{Path(p).name: p for p in parquet["dues"]}}
    _same(on_spark, on_duckdb, rename)


def _arrow(frame: pd.DataFrame) -> pa.Table:
    """``frame`` as Arrow for ``createDataFrame``, timestamps in microseconds (Spark's)."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    return table.cast(pa.schema([pa.field(f.name, pa.timestamp("us")) if pa.types.is_timestamp(f.type) else f
                                 for f in table.schema]))


def test_a_spark_table_carrying_its_own_provenance(parquet: dict[str, list[str]], spark: Any, database: str,
                                                   tmp_path: Path) -> None:
    """A table whose rows carry their own ``file`` and ``row`` (a table built from other sources): those are the
    provenance, so its findings cite the files and rows it names, as DuckDB's audit of those files does; a table
    whose row numbers cannot be used is refused, exit 2."""
    register = tmp_path / "register.parquet"
    whole = pd.concat([pd.read_parquet(p) for p in parquet["register"]], ignore_index=True)
    whole.to_parquet(register, index=False, coerce_timestamps="ms")
    own = whole.assign(file=str(register), row=np.arange(2, len(whole) + 2).astype(str))
    spark.createDataFrame(_arrow(own)).write.saveAsTable(f"{database}.register_own")
    on_duckdb = _audit({**parquet, "register": str(register)})
    on_spark = _audit({**parquet, "register": f"spark:{database}.register_own"}, engine="spark", spark=spark)
    assert on_spark.findings[SHOWN].to_dict("records") == on_duckdb.findings[SHOWN].to_dict("records")
    pd.testing.assert_frame_equal(on_spark.rejected_rows, on_duckdb.rejected_rows)
    (entry,) = [i for i in on_spark.inputs if i["kind"] == "register"]
    assert (entry["file"], entry["format"], entry["rows_read"], entry["rows_loaded"], entry["unmapped_columns"]) == (
        f"{database}.register_own", "dataframe", len(whole), len(whole), ["file", "row"])
    spark.createDataFrame(_arrow(own.assign(row="x").iloc[:3])).write.saveAsTable(f"{database}.register_bad")
    with pytest.raises(fundaudit.ConfigError) as e:
        _audit({"register": f"spark:{database}.register_bad"}, engine="spark", spark=spark)
    assert e.value.message("en") == (
        f"the provenance columns (file, row) of the Spark table {database}.register_bad cannot be used: every row "
        "needs a positive whole row number, and no (file, sheet, row) may repeat")


def test_only_results_reach_the_driver(parquet: dict[str, list[str]], spark: Any,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing the driver collects from Spark during a whole audit is ledger-sized: every collect and Arrow
    result has fewer rows than the dues (the findings' own rows, side records, single rows by id)."""
    from pyspark.sql.classic.dataframe import DataFrame

    sizes: list[int] = []
    to_arrow, collect_ = DataFrame.toArrow, DataFrame.collect

    def arrow(self: Any) -> Any:
        got = to_arrow(self)
        sizes.append(got.num_rows)
        return got

    def rows(self: Any) -> Any:
        got = collect_(self)
        sizes.append(len(got))
        return got

    monkeypatch.setattr(DataFrame, "toArrow", arrow)
    monkeypatch.setattr(DataFrame, "collect", rows)
    result = _audit({"dues": parquet["dues"]}, engine="spark", spark=spark)
    dues = result.ledgers["dues"].row_count
    assert dues == 355 and len(result.findings) > 0
    assert sizes and max(sizes) < dues // 2, sizes


@pytest.mark.parametrize("engine", ["duckdb", "spark"])
def test_which_sources_spark_reads(engine: str, tmp_path: Path) -> None:
    """With the Spark engine, parquet files, directories, URIs and ``spark:`` tables go to Spark, spreadsheets,
    CSVs and DataFrames stay on the driver; without it nothing goes to Spark."""
    from fundaudit.inputs import LedgerArg
    from fundaudit.spark_inputs import split_sources

    frame = pd.DataFrame({"x": [1]})
    ledgers = [LedgerArg("dues", str(tmp_path)), LedgerArg("dues", "a.xlsx"), LedgerArg("register", "r.parquet"),
               LedgerArg("staff", "s3a://b/staff/"), LedgerArg("unions", "u.csv")]
    inputs = {"disbursements": ["spark:db.disb", "d.xlsx"], "employers": frame, "budget": "file:///b.parquet"}
    if engine == "duckdb":
        assert split_sources(ledgers, {"employers": frame}, engine) == ({}, ledgers, {"employers": frame})
        return
    spark, rest, others = split_sources(ledgers, inputs, engine)
    assert spark == {"dues": [str(tmp_path)], "register": ["r.parquet"], "staff": ["s3a://b/staff/"],
                     "disbursements": ["spark:db.disb"], "budget": ["file:///b.parquet"]}
    assert rest == [ledgers[1], ledgers[4]]
    assert others == {"disbursements": ["d.xlsx"], "employers": frame}


@pytest.mark.parametrize("where", ["cli", "api"])
def test_a_spark_table_without_the_spark_engine_is_refused(where: str, capsys: pytest.CaptureFixture[str],
                                                          tmp_path: Path) -> None:
    """Refused before any input is read (the missing file beside it is never looked at)."""
    if where == "api":
        with pytest.raises(fundaudit.ConfigError) as e:
            fundaudit.audit(inputs={"dues": "spark:db.dues"}, paths=[tmp_path / "missing.xlsx"])
        assert e.value.code == "spark_source_without_engine"
        return
    assert main(["audit", str(tmp_path / "missing.xlsx"), "--ledger", "dues=spark:db.dues", "--out",
                 str(tmp_path / "r"), "--lang", "en"]) == 2
    assert capsys.readouterr().err == ("fundaudit: the input spark:db.dues is a Spark table, which only the Spark "
                                       "engine reads: add --engine spark\n")


def test_a_missing_table_or_path_is_refused(spark: Any, capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    import fundaudit.run as run_mod

    monkeypatch.setattr(run_mod, "_engine_session", lambda engine, master: spark)  # the tests' session
    assert main(["audit", "--ledger", "dues=spark:nodb.nodues", "--engine", "spark", "--out", str(tmp_path / "r"),
                 "--lang", "en"]) == 2
    assert capsys.readouterr().err == "fundaudit: the Spark session's catalog has no table nodb.nodues " \
                                      "(spark:nodb.nodues)\n"
    missing = tmp_path / "none.parquet"
    assert main(["audit", "--ledger", f"dues={missing}", "--engine", "spark", "--out", str(tmp_path / "r"),
                 "--lang", "en"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"fundaudit: Spark cannot read {missing}: [PATH_NOT_FOUND] Path does not exist: "), err
