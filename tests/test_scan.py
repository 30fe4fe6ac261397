"""fundaudit.scan (issue 17 item 3): parquet scanned batch by batch into an on-disk DuckDB store gives the ledger a
whole-file load gives, whatever the batch size; the store is private and leaves nothing behind."""

from __future__ import annotations

import gc
import os
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fundaudit.errors import ConfigError, FundauditError
from fundaudit.facts import add_facts
from fundaudit.io import Limits
from fundaudit.ledger import Ledger, load, read_sources
from fundaudit.period import parse_period
from fundaudit.scan import Store, check_memory_limit, check_temp_dir, scan_parquet

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
HEADERS = ["序号", "姓名", "身份证号码", "金额", "发放日期"]


def samples_as_parquet(out: Path, row_group_size: int = 7) -> list[tuple[str, Path]]:
    """Each sheet of the samples with a detected kind, as a parquet file of text columns named by its headers (the
    body rows below the header as read: data, 合计, blank and note rows alike)."""
    found = []
    for src in sorted(SAMPLES.glob("*.*")):
        if src.suffix not in (".csv", ".xls", ".xlsx"):
            continue
        for kind, grid, layout in read_sources(src):
            if not kind:
                continue
            body = grid.cells.iloc[layout.data_start:]
            names = [h if h.strip() else f"col{j}" for j, h in enumerate(layout.headers)]
            table = pa.table({n: pa.array(body[j].astype(str).tolist(), type=pa.string())
                              for j, n in enumerate(names)})
            path = out / f"{src.stem}{'_' + grid.sheet if grid.sheet else ''}.parquet"
            pq.write_table(table, path, row_group_size=row_group_size)
            found.append((kind, path))
    return found


@pytest.fixture(scope="module")
def sample_parquet(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, Path]]:
    return samples_as_parquet(tmp_path_factory.mktemp("samples_parquet"))


def sorted_rejected(frame: pd.DataFrame) -> pd.DataFrame:
    """Rejected entries as the reports list them: by file, row, then field (one row's entries in column order)."""
    return frame.sort_values(["file", "row", "field", "reason"], kind="stable").reset_index(drop=True)


def assert_same_ledger(whole: Ledger, scanned: Ledger, period: object = None) -> None:
    """``scanned`` (stored) holds what ``whole`` (in memory) holds: rows with their facts, values and dtypes;
    input summaries; rejected, non-data and totals entries."""
    assert scanned.stored is not None
    expected = add_facts(whole.kind, whole.frame, period)  # type: ignore[arg-type]
    got = scanned.stored.rows(np.arange(scanned.stored.count()))
    assert list(got.columns) == list(expected.columns)
    assert got.dtypes.to_dict() == expected.dtypes.to_dict()
    pd.testing.assert_frame_equal(got.reset_index(drop=True), expected.reset_index(drop=True))
    assert list(scanned.frame.columns) == list(whole.frame.columns)
    assert scanned.frame.dtypes.to_dict() == whole.frame.dtypes.to_dict()
    assert len(scanned.frame) == 0
    assert [i.to_dict() for i in scanned.inputs] == [i.to_dict() for i in whole.inputs]
    assert [i.units for i in scanned.inputs] == [i.units for i in whole.inputs]
    pd.testing.assert_frame_equal(sorted_rejected(scanned.rejected), sorted_rejected(whole.rejected))
    pd.testing.assert_frame_equal(scanned.non_data.reset_index(drop=True), whole.non_data.reset_index(drop=True))
    pd.testing.assert_frame_equal(scanned.totals.reset_index(drop=True), whole.totals.reset_index(drop=True))


@pytest.mark.parametrize("batch_rows", [1, 3, 1000])
def test_samples_scanned_in_batches_equal_whole_loads(sample_parquet: list[tuple[str, Path]], batch_rows: int) -> None:
    period = parse_period("2016")
    for kind, path in sample_parquet:
        whole = load(kind, path, name=path.name)
        with Store() as store:  # a store per sheet: two sheets of one kind would share its table
            scanned = scan_parquet(kind, [path], store, names=[path.name], period=period, batch_rows=batch_rows)
            assert_same_ledger(whole, scanned, period)


def test_sample_dues_has_what_batches_must_carry(sample_parquet: list[tuple[str, Path]]) -> None:
    """The equivalence above means something: the dues sample as parquet has 合计 and note rows and
    rejected rows that batches of one row see one at a time."""
    path = next(p for k, p in sample_parquet if k == "dues")
    whole = load("dues", path)
    assert set(whole.non_data["type"]) == {"note", "total"}
    assert len(whole.totals) > 0 and len(whole.rejected) > 0


def _write(path: Path, rows: list[list[str | None]], row_group_size: int = 4) -> Path:
    table = pa.table({h: pa.array([r[j] for r in rows], type=pa.string()) for j, h in enumerate(HEADERS)})
    pq.write_table(table, path, row_group_size=row_group_size)
    return path


_DATA = st.tuples(st.sampled_from(["张三", "李四", "", "王五"]),
                  st.sampled_from(["341003196412255049", "341003197901091676", "123", ""]),
                  st.sampled_from(["1500", "20.5", "abc", "", "12.345", "-3"]),
                  st.sampled_from(["2016-01-13", "2016-02-30", "", "2015-12-31"]))


def _row(kind: str, data: tuple[str, str, str, str], n: int) -> list[str | None]:
    name, id_no, amount, date = data
    if kind == "data":
        return [str(n), name, id_no, amount, date]
    if kind == "blank":
        return [None, "", None, " ", None]
    if kind == "total":
        return ["合计", None, None, "3000", None]
    if kind == "subtotal":
        return ["本页小计", None, None, "500", None]
    if kind == "header":
        return list(HEADERS)
    if kind == "other":  # the header of another table stacked below
        return ["纳税人名称", "实缴金额", None, None, None]
    if kind == "note":
        return ["注：以上为测试数据", None, None, None, None]
    return ["单位：万元", None, None, None, None]  # a unit line below the data


_ROWS = st.lists(st.tuples(st.sampled_from(["data"] * 6 + ["blank", "total", "subtotal", "header", "other",
                                                            "note", "unit"]), _DATA), min_size=0, max_size=25)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=_ROWS, batch_rows=st.integers(1, 5))
def test_any_batch_size_gives_the_whole_file_ledger(tmp_path: Path, rows: list[tuple[str, tuple[str, str, str, str]]],
                                                    batch_rows: int) -> None:
    path = _write(tmp_path / "disb.parquet", [_row(k, d, n) for n, (k, d) in enumerate(rows, start=1)])
    try:
        whole = load("disbursements", path, name="disb.parquet")
    except FundauditError as exc:  # two unit lines that disagree: refused alike
        with Store() as store, pytest.raises(FundauditError) as got:
            scan_parquet("disbursements", [path], store, names=["disb.parquet"], batch_rows=batch_rows)
        assert got.value.code == exc.code
        return
    with Store() as store:
        scanned = scan_parquet("disbursements", [path], store, names=["disb.parquet"], batch_rows=batch_rows)
        assert_same_ledger(whole, scanned)


def test_a_unit_line_met_in_a_later_batch_scales_the_earlier_ones(tmp_path: Path) -> None:
    rows = [["1", "张三", "341003196412255049", "1.5", "2016-01-13"],
            ["2", "李四", "341003197901091676", "2", "2016-01-14"],
            ["3", "王五", "341003197901091676", "3", "2016-01-15"],
            ["单位：万元", None, None, None, None]]
    path = _write(tmp_path / "wan.parquet", rows)
    whole = load("disbursements", path, name="wan.parquet")
    with Store() as store:
        scanned = scan_parquet("disbursements", [path], store, names=["wan.parquet"], batch_rows=1)
        amounts = scanned.stored.rows(np.arange(3), ["amount"])["amount"].tolist()  # type: ignore[union-attr]
        assert amounts == [1_500_000, 2_000_000, 3_000_000]  # fen: 1.5 万元 is 15,000 元
        assert scanned.inputs[0].units == {"amount": "万元"}
        assert_same_ledger(whole, scanned)


def test_a_subtotal_covers_rows_of_earlier_batches(tmp_path: Path) -> None:
    rows = [["1", "张三", "341003196412255049", "100", "2016-01-13"],
            ["2", "李四", "341003197901091676", "200", "2016-01-14"],
            ["本页小计", None, None, "300", None],
            ["3", "王五", "341003197901091676", "50", "2016-01-15"],
            ["合计", None, None, "350", None]]
    path = _write(tmp_path / "sub.parquet", rows)
    with Store() as store:
        scanned = scan_parquet("disbursements", [path], store, names=["sub.parquet"], batch_rows=1)
        covers = scanned.totals[["row", "type", "covers_from", "covers_to"]].to_dict("records")
        assert covers == [{"row": 4, "type": "subtotal", "covers_from": 2, "covers_to": 3},
                          {"row": 6, "type": "total", "covers_from": 2, "covers_to": 5}]


def test_another_table_spanning_batches_is_noted_once(tmp_path: Path) -> None:
    rows = [["1", "张三", "341003196412255049", "100", "2016-01-13"],
            ["纳税人名称", "实缴金额", None, None, None],
            ["某公司", "300", None, None, None],
            ["某公司", "400", None, None, None],
            list(HEADERS),
            ["2", "李四", "341003197901091676", "200", "2016-01-14"]]
    path = _write(tmp_path / "other.parquet", rows)
    whole = load("disbursements", path, name="other.parquet")
    with Store() as store:
        scanned = scan_parquet("disbursements", [path], store, names=["other.parquet"], batch_rows=2)
        assert scanned.non_data["type"].tolist() == ["other_table", "other_table", "other_table", "repeated_header"]
        assert_same_ledger(whole, scanned)


def test_scanned_files_are_not_bound_by_max_rows(tmp_path: Path) -> None:
    """``max_rows`` protects pandas memory, which a scanned file never fills; the other limits still hold."""
    rows = [[str(n), "张三", "341003196412255049", "100", "2016-01-13"] for n in range(1, 31)]
    path = _write(tmp_path / "many.parquet", rows)
    small = Limits(max_rows=10)
    with pytest.raises(FundauditError, match="max_rows"):
        load("disbursements", path, limits=small)
    with Store() as store:
        scanned = scan_parquet("disbursements", [path], store, limits=small, batch_rows=7)
        assert scanned.row_count == 30
        with pytest.raises(FundauditError, match="max_columns"):
            scan_parquet("disbursements", [path], store, limits=Limits(max_columns=3))


def test_stored_rows_come_in_the_order_asked_repeats_included(tmp_path: Path) -> None:
    rows = [[str(n), f"人{n}", "341003196412255049", str(n * 10), "2016-01-13"] for n in range(1, 9)]
    path = _write(tmp_path / "order.parquet", rows)
    whole = add_facts("disbursements", load("disbursements", path).frame)
    with Store() as store:
        stored = scan_parquet("disbursements", [path], store, batch_rows=3).stored
        assert stored is not None
        want = np.array([5, 0, 5, 7, 2])
        got = stored.rows(want, ["recipient_name", "amount"])
        pd.testing.assert_frame_equal(got, whole.iloc[want][["recipient_name", "amount"]])
        assert stored.distinct("recipient_name") == [f"人{n}" for n in sorted(range(1, 9), key=lambda n: f"人{n}")]
        keys = pd.DataFrame({"file": [str(path), "nope", str(path)], "sheet": [None, None, None], "row": [3, 3, 99]})
        looked = stored.lookup(keys, ["amount"])
        assert looked["amount"].tolist()[0] == 2000 and looked["amount"].isna().tolist() == [False, True, True]


def test_store_is_private_and_removed_when_closed(tmp_path: Path) -> None:
    store = Store(temp_dir=tmp_path, memory_limit="200MB")
    folder = store.folder
    assert folder.parent == tmp_path
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    store.append("t", pd.DataFrame({"_rid": np.arange(3, dtype="int64"), "x": ["a", "b", "c"]}))
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert files and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in files)
    assert store.con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0] in ("190.7 MiB", "200.0 MB")
    store.close()
    assert not folder.exists() and store.closed
    store.close()  # idempotent


def test_store_dropped_without_close_leaves_nothing(tmp_path: Path) -> None:
    store = Store(temp_dir=tmp_path)
    folder = store.folder
    assert folder.exists()
    del store
    gc.collect()
    assert not folder.exists()
    assert list(tmp_path.iterdir()) == []


def test_store_spills_under_a_small_memory_limit(tmp_path: Path) -> None:
    """A sort of far more than the memory limit completes by spilling to the store's own spill folder."""
    with Store(temp_dir=tmp_path, memory_limit="100MB") as store:
        n = 300_000
        frame = pd.DataFrame({"_rid": np.arange(n, dtype="int64"),
                              "t": pd.Series(np.char.add("x" * 200, np.arange(n).astype(str)), dtype="str")})
        for _ in range(3):
            store.append("big", frame.assign(_rid=frame["_rid"] + store.count("big")))
        got = store.con.execute(
            'SELECT count(*) FROM (SELECT t, _rid FROM "big" ORDER BY md5(t) DESC)').fetchall()[0][0]
        assert got == 3 * n
        assert store.count("big") == 3 * n


def test_memory_limit_and_temp_dir_are_checked(tmp_path: Path) -> None:
    assert check_memory_limit("4GB") == "4GB"
    assert check_memory_limit(" 1.5 gib ") == "1.5GiB"
    assert check_memory_limit(None) is None
    for bad in ("4", "lots", "-1GB", "0GB", "4 GBs"):
        with pytest.raises(ConfigError) as exc:
            check_memory_limit(bad)
        assert exc.value.code == "bad_memory_limit"
    assert check_temp_dir(tmp_path) == tmp_path
    with pytest.raises(ConfigError) as exc:
        check_temp_dir(tmp_path / "missing")
    assert exc.value.code == "bad_temp_dir"
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError):
        check_temp_dir(tmp_path / "file")
    if os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        with pytest.raises(ConfigError):
            check_temp_dir(locked)
