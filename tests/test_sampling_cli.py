"""``fundaudit sample`` and ``sample evaluate`` (issue 18 items 2-3, "done when"): the workbook round trip on the
samples, reproducibility across processes, every bad answer named at once, options refused before reading."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from fundaudit import sampling
from fundaudit.cli import main
from fundaudit.report.sample import SampleResultsError

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
EXAMPLE = ["--kind", "disbursements", "--method", "mus", "--tolerable", "5000", "--seed", "2016"]


def _run(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "fundaudit", *args], capture_output=True, text=True, env=env,
                          cwd=tmp, check=False)


def _without_timestamp(path: Path) -> bytes:
    return b"".join(line for line in path.read_bytes().splitlines(keepends=True) if b'"generated_at"' not in line)


def _fill(path: Path, out: Path, audited: dict[str, Any] | None = None, *, blank: set[str] = frozenset(),
          misstatement: dict[str, Any] | None = None) -> Path:
    """The workbook filled as an auditor would, saved by openpyxl: 审定金额 = 账面金额 unless ``audited`` gives it,
    left blank for ``blank``; 错报金额 from ``misstatement``."""
    audited, misstatement = audited or {}, misstatement or {}
    wb = openpyxl.load_workbook(path)
    for ws in wb.worksheets[1:3]:
        head = [c.value for c in ws[3]]
        item, book = head.index("样本编号") + 1, head.index("账面金额") + 1
        aud, mis, con = head.index("审定金额") + 1, head.index("错报金额") + 1, head.index("检查结论") + 1
        for r in range(4, ws.max_row + 1):
            key = ws.cell(r, item).value
            if key in blank:
                continue
            ws.cell(r, aud).value = audited.get(key, ws.cell(r, book).value)
            ws.cell(r, con).value = "相符" if key not in audited else "多付"
            if key in misstatement:
                ws.cell(r, mis).value = misstatement[key]
    wb.save(out)
    return out


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """docs/sampling.md's worked example: ``fundaudit sample samples/ --kind disbursements --method mus
    --tolerable 5000 --seed 2016 --out DIR``."""
    out = tmp_path_factory.mktemp("example") / "s"
    assert main(["sample", str(SAMPLES), *EXAMPLE, "--out", str(out)]) == 0
    return out


def test_the_worked_example(example: Path) -> None:
    doc = json.loads((example / "sample.json").read_text("utf-8"))
    plan = doc["plan"]
    assert plan["population"] == {"count": 241, "value": "353860.00"}
    assert plan["excluded"] == {"count": 0, "value": "0.00"}
    assert plan["full_examination"] == {"count": 66, "value": "199060.00"}
    assert plan["sampling_population"] == {"count": 175, "value": "154800.00"}
    assert plan["size"] == 93
    assert plan["interval"] == "1664.52"
    assert plan["model"] == "poisson"
    assert plan["formula"].startswith("T / B = 5000.00 / 154800.00 = 0.0322997; ")
    assert plan["algorithm"] == {"name": "fundaudit-splitmix64", "version": 1}
    assert len(doc["items"]) == 93 and len(doc["full"]) == 66
    assert {i["reason"] for i in doc["full"]} == {"interval"}
    full = {(i["file"], i["sheet"], i["row"]) for i in doc["full"]}
    assert not full & {(i["file"], i["sheet"], i["row"]) for i in doc["items"]}
    assert all(float(i["book"]) < 1664.52 for i in doc["items"])
    assert sorted(p.name for p in example.iterdir()) == [".fundaudit-report", "sample.json", "sample.xlsx"]


def test_workbook_layout(example: Path) -> None:
    wb = openpyxl.load_workbook(example / "sample.xlsx")
    assert wb.sheetnames == ["抽样方案", "样本", "全查项目", "未纳入总体", "_fundaudit"]
    assert wb["_fundaudit"].sheet_state == "veryHidden"
    ws = wb["样本"]
    head = [c.value for c in ws[3]]
    assert head == ["样本编号", "源文件", "工作表", "行号", "命中次数", "账面金额", "原始行（读取所见）", "审定金额",
                    "错报金额", "检查结论"]
    assert ws.protection.sheet
    assert [ws.cell(4, c).protection.locked for c in range(1, 11)] == [True] * 7 + [False] * 3
    assert ws.max_row == 3 + 93
    plan = {r[0]: r[1] for r in wb["抽样方案"].iter_rows(min_row=3, values_only=True)}
    assert plan["样本量"] == "93 (命中次数 93)"
    assert plan["随机种子"] == "2016"
    assert plan["随机数算法"] == "fundaudit-splitmix64 v1"


def test_evidence_is_masked_unless_unmasked(example: Path, tmp_path: Path) -> None:
    doc = json.loads((example / "sample.json").read_text("utf-8"))
    ids = [i["cells"]["身份证号码"] for i in doc["items"]]
    assert all("*" in v and len(v) == 18 for v in ids)
    assert main(["sample", str(SAMPLES), *EXAMPLE, "--unmask", "--out", str(tmp_path / "u")]) == 0
    raw = json.loads((tmp_path / "u" / "sample.json").read_text("utf-8"))
    assert all("*" not in i["cells"]["身份证号码"] for i in raw["items"])
    assert [i["row"] for i in raw["items"]] == [i["row"] for i in doc["items"]]


def test_round_trip_stringer(example: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Two items found overstated by half: Stringer bound = interval × (3.00 + 0.5 × (4.74 − 3.00) + 0.5 × (6.30 −
    4.74)) = 7732.95 > 5000, projected 1664.52 < 5000: 需扩大样本."""
    doc = json.loads((example / "sample.json").read_text("utf-8"))
    s1, s4 = doc["items"][0], doc["items"][3]
    filled = _fill(example / "sample.xlsx", tmp_path / "filled.xlsx",
                   {s1["item"]: float(s1["book"]) / 2, s4["item"]: float(s4["book"]) / 2})
    assert main(["sample", "evaluate", str(example / "sample.json"), "--results", str(filled),
                 "--out", str(tmp_path / "ev")]) == 0
    assert "结论：需扩大样本；推断错报 1664.52，上限 7732.95，可容忍 5000.00" in capsys.readouterr().out
    ev = json.loads((tmp_path / "ev" / "evaluation.json").read_text("utf-8"))
    assert ev["estimator"] == "stringer"
    assert ev["sample"] == {"items": 93, "misstated": 2, "misstatement": "1050.00"}
    assert ev["projected_misstatement"] == "1664.52"
    assert ev["upper_bound"] == "7732.95"
    assert ev["conclusion"] == "extend"
    assert ev["conclusion_text"] == {"zh": "需扩大样本", "en": "extend the sample"}
    assert [s["taint"] for s in ev["working"]["steps"]] == [0.5, 0.5]
    assert ev["working"]["basic_precision"] == "4986.44"
    wb = openpyxl.load_workbook(tmp_path / "ev" / "evaluation.xlsx")
    lines = {r[0]: r[1] for r in wb["抽样评价"].iter_rows(min_row=3, values_only=True)}
    assert lines["基本精确度"] == "1664.52 × 2.9957 = 4986.44"
    assert lines["结论"] == "需扩大样本"


def test_clean_sample_is_accepted_and_full_items_add_known_misstatement(example: Path, tmp_path: Path) -> None:
    """No misstatement in the sample: upper bound = basic precision 4986.4469… ≤ 5000 (可以接受; a bound is rounded up
    to the fen: 4986.45); a 全查 item 100.00 overstated is added as known, which tips it over: 5086.45 > 5000,
    需扩大样本."""
    clean = _fill(example / "sample.xlsx", tmp_path / "clean.xlsx")
    ev = sampling.evaluate_sample(example / "sample.json", clean)
    assert (ev["upper_bound"], ev["conclusion"]) == ("4986.45", "accept")
    doc = json.loads((example / "sample.json").read_text("utf-8"))
    h1 = doc["full"][0]
    known = _fill(example / "sample.xlsx", tmp_path / "known.xlsx", {h1["item"]: float(h1["book"]) - 100})
    ev = sampling.evaluate_sample(example / "sample.json", known)
    assert (ev["known_misstatement"], ev["upper_bound"], ev["conclusion"]) == ("100.00", "5086.45", "extend")


def test_resorted_workbook_reads_the_same(example: Path, tmp_path: Path) -> None:
    """Items are matched by 样本编号, not by position: the sample sheet sorted by amount, descending, evaluates the
    same."""
    doc = json.loads((example / "sample.json").read_text("utf-8"))
    s1 = doc["items"][0]
    filled = _fill(example / "sample.xlsx", tmp_path / "f.xlsx", {s1["item"]: float(s1["book"]) / 2})
    wb = openpyxl.load_workbook(filled)
    ws = wb["样本"]
    rows = [[c.value for c in row] for row in ws.iter_rows(min_row=4)]
    rows.sort(key=lambda r: -float(r[5]))
    for r, values in enumerate(rows, start=4):
        for c, v in enumerate(values, start=1):
            ws.cell(r, c).value = v
    wb.save(tmp_path / "sorted.xlsx")
    a = sampling.evaluate_sample(example / "sample.json", filled)
    b = sampling.evaluate_sample(example / "sample.json", tmp_path / "sorted.xlsx")
    assert a == b
    assert a["upper_bound"] == "6441.35"


def test_evaluation_beside_the_plan_keeps_the_plan(example: Path, tmp_path: Path) -> None:
    import shutil

    folder = tmp_path / "copy"
    shutil.copytree(example, folder)
    filled = _fill(folder / "sample.xlsx", tmp_path / "f.xlsx")
    assert main(["sample", "evaluate", str(folder / "sample.json"), "--results", str(filled)]) == 0
    assert sorted(p.name for p in folder.iterdir()) == [".fundaudit-report", "evaluation.json", "evaluation.xlsx",
                                                        "sample.json", "sample.xlsx"]
    # a new sample into the folder replaces the set: the old evaluation goes with the old plan
    assert main(["sample", str(SAMPLES), *EXAMPLE, "--out", str(folder)]) == 0
    assert sorted(p.name for p in folder.iterdir()) == [".fundaudit-report", "sample.json", "sample.xlsx"]


def test_every_bad_answer_in_one_error(example: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = json.loads((example / "sample.json").read_text("utf-8"))
    s = [i["item"] for i in doc["items"]]
    filled = _fill(example / "sample.xlsx", tmp_path / "bad.xlsx", {s[1]: "一百元", s[2]: 100},
                   blank={s[5], s[6]}, misstatement={s[2]: 5})
    wb = openpyxl.load_workbook(filled)
    wb["样本"].cell(4 + 7, 1).value = "S9999"  # an item number typed over
    wb.save(filled)
    code = main(["sample", "evaluate", str(example / "sample.json"), "--results", str(filled)])
    err = capsys.readouterr().err
    assert code == 2
    assert "6 处抽样检查结果无法评价" in err
    assert f"[样本] 第 5 行（{s[1]}）：审定金额“一百元”不是金额" in err
    assert f"[样本] 第 6 行（{s[2]}）：错报金额 5 不等于账面金额减审定金额" in err
    assert f"[样本] 第 9 行（{s[5]}）：审定金额为空（尚未检查）" in err
    assert f"[样本] 第 10 行（{s[6]}）：审定金额为空（尚未检查）" in err
    assert "[样本] 第 11 行：样本编号 S9999 不在本抽样方案中" in err
    assert f"bad.xlsx：1 个样本项目不在工作簿中（{s[7]}）" in err  # the row typed over lost its own item
    assert not (example / "evaluation.json").exists()


def test_missing_item_and_partial(example: Path, tmp_path: Path) -> None:
    """A blank 审定金额 with --partial counts the item as wholly misstated (taint 1): the bound rises by the interval
    times the first increment."""
    doc = json.loads((example / "sample.json").read_text("utf-8"))
    s = doc["items"][10]["item"]
    filled = _fill(example / "sample.xlsx", tmp_path / "p.xlsx", blank={s})
    with pytest.raises(SampleResultsError) as e:
        sampling.evaluate_sample(example / "sample.json", filled)
    assert [code for code, _ in e.value.problems] == ["sample_not_examined"]
    ev = sampling.evaluate_sample(example / "sample.json", filled, partial=True)
    assert (ev["examined"], ev["not_examined"]) == (158, 1)
    assert [st["taint"] for st in ev["working"]["steps"]] == [1.0]
    assert ev["conclusion"] == "extend"


def test_workbook_of_another_plan_or_none(example: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    assert main(["sample", str(SAMPLES), *EXAMPLE[:-1], "7", "--out", str(other)]) == 0
    filled = _fill(other / "sample.xlsx", tmp_path / "o.xlsx")
    with pytest.raises(SampleResultsError) as e:
        sampling.evaluate_sample(example / "sample.json", filled)
    assert [code for code, _ in e.value.problems] == ["sample_other_plan"]
    plain = tmp_path / "plain.xlsx"
    openpyxl.Workbook().save(plain)
    with pytest.raises(SampleResultsError) as e:
        sampling.evaluate_sample(example / "sample.json", plain)
    assert [code for code, _ in e.value.problems] == ["sample_not_export"]


def test_edited_plan_is_refused(example: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = json.loads((example / "sample.json").read_text("utf-8"))
    doc["plan"]["tolerable"] = "50000.00"
    edited = tmp_path / "sample.json"
    edited.write_text(json.dumps(doc, ensure_ascii=False), "utf-8")
    filled = _fill(example / "sample.xlsx", tmp_path / "f.xlsx")
    assert main(["sample", "evaluate", str(edited), "--results", str(filled)]) == 2
    assert "抽样方案在生成后被修改过" in capsys.readouterr().err


@pytest.mark.parametrize("method", ["mus", "random", "systematic", "stratified"])
def test_reproducible_in_separate_processes(tmp_path: Path, method: str) -> None:
    """The same seed and inputs give the same sample.json, byte for byte but the timestamp, in two processes."""
    extra = {"mus": ["--tolerable", "5000"], "random": ["--size", "30"], "systematic": ["--size", "30"],
             "stratified": ["--strata", "500,1000", "--tolerable", "20000"]}[method]
    args = ["sample", str(SAMPLES), "--kind", "disbursements", "--method", method, "--seed", "99", *extra]
    one, two = _run(tmp_path, *args, "--out", "a"), _run(tmp_path, *args, "--out", "b")
    assert (one.returncode, two.returncode) == (0, 0), one.stderr + two.stderr
    a, b = tmp_path / "a" / "sample.json", tmp_path / "b" / "sample.json"
    assert _without_timestamp(a) == _without_timestamp(b)
    assert json.loads(a.read_text("utf-8"))["plan"]["size"] > 0


def _csv(path: Path, rows: list[tuple[str, str]]) -> Path:
    lines = ["姓名,身份证号码,基层工会,帮扶项目,金额,发放日期"]
    lines += [f"{name},110101199003071234,甲工会,送温暖,{amount},2016-01-05" for name, amount in rows]
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


def test_input_order_does_not_matter(tmp_path: Path) -> None:
    a = _csv(tmp_path / "a.csv", [(f"甲{i}", str(100 + 37 * i)) for i in range(60)])
    b = _csv(tmp_path / "b.csv", [(f"乙{i}", str(900 - 11 * i)) for i in range(60)])
    common = ["--kind", "disbursements", "--method", "random", "--size", "12", "--seed", "5"]
    assert main(["sample", "--ledger", f"disbursements={a}", "--ledger", f"disbursements={b}", *common,
                 "--out", str(tmp_path / "ab")]) == 0
    assert main(["sample", "--ledger", f"disbursements={b}", "--ledger", f"disbursements={a}", *common,
                 "--out", str(tmp_path / "ba")]) == 0
    ab = json.loads((tmp_path / "ab" / "sample.json").read_text("utf-8"))
    ba = json.loads((tmp_path / "ba" / "sample.json").read_text("utf-8"))
    assert ab["items"] == ba["items"]


def test_mus_population_leaves_out_non_positive_and_rejected_rows(tmp_path: Path) -> None:
    """Inputs read as audit reads them: the unparseable amount is a rejected row (not in any list), the zero and
    negative amounts are listed apart with their count and value, the high-value item is examined in full."""
    src = _csv(tmp_path / "d.csv", [("甲", "400"), ("乙", "0"), ("丙", "-200"), ("丁", "abc"), ("戊", "50000"),
                                     *[(f"己{i}", str(300 + i)) for i in range(40)]])
    out = tmp_path / "o"
    assert main(["sample", "--ledger", f"disbursements={src}", "--kind", "disbursements", "--method", "mus",
                 "--tolerable", "3000", "--high-value", "20000", "--seed", "1", "--out", str(out)]) == 0
    doc = json.loads((out / "sample.json").read_text("utf-8"))
    assert doc["rows_rejected"] == 1
    assert doc["plan"]["population"] == {"count": 44, "value": "62980.00"}
    assert doc["plan"]["excluded"] == {"count": 2, "value": "-200.00"}
    assert [(e["row"], e["reason"]) for e in doc["excluded"]] == [(3, "non_positive"), (4, "non_positive")]
    assert [(f["row"], f["reason"]) for f in doc["full"]] == [(6, "high_value")]
    wb = openpyxl.load_workbook(out / "sample.xlsx")
    assert [r[2] for r in wb["未纳入总体"].iter_rows(min_row=4, values_only=True)] == [3, 4]


@pytest.mark.parametrize(("args", "message"), [
    (["--method", "mus", "--confidence", "1.5", "--tolerable", "100"], "置信水平“1.5”无效"),
    (["--method", "mus"], "mus 抽样需要 --tolerable"),
    (["--method", "mus", "--tolerable", "100", "--expected", "100"], "预期错报 100 须不小于 0 且小于可容忍错报 100"),
    (["--method", "random", "--size", "0"], "--size 的值“0”无效"),
    (["--method", "stratified", "--size", "10"], "分层抽样需要 --strata"),
    (["--method", "stratified", "--size", "10", "--strata", "500,abc"], "--strata 的值“500,abc”无效"),
    (["--method", "random", "--size", "10", "--strata", "500"], "--strata 只用于分层抽样"),
    (["--method", "mus", "--tolerable", "-5"], "--tolerable 的值“-5”不是正的金额"),
    (["--method", "mus", "--tolerable", "100", "--column", "bank_account"], "disbursements 没有可抽样的金额列"),
])
def test_bad_options_exit_2_before_reading(args: list[str], message: str, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["sample", str(tmp_path / "no-such-dir"), "--kind", "disbursements", *args,
                 "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert "找不到" not in err  # refused before any input was read
    assert not (tmp_path / "o").exists()


def test_stratified_by_column_and_english(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "s"
    assert main(["sample", str(SAMPLES), "--kind", "disbursements", "--method", "stratified", "--strata",
                 "grassroots_union", "--size", "40", "--seed", "3", "--lang", "en", "--out", str(out)]) == 0
    # every union (stratum) gets two items at least, for its variance: 40 allocated by value becomes 42
    assert capsys.readouterr().out.startswith("42 items sampled (0 examined in full, 0 not in the population)")
    doc = json.loads((out / "sample.json").read_text("utf-8"))
    assert doc["plan"]["strata"] == {"column": "grassroots_union"}
    assert sum(s["size"] for s in doc["strata"]) == len(doc["items"]) == 42
    assert min(s["size"] for s in doc["strata"]) == 2
    assert sum(s["count"] for s in doc["strata"]) == 241
    assert openpyxl.load_workbook(out / "sample.xlsx").sheetnames[:3] == ["Plan", "Sample", "Examined in full"]
    filled = tmp_path / "f.xlsx"
    wb = openpyxl.load_workbook(out / "sample.xlsx")
    ws = wb["Sample"]
    head = [c.value for c in ws[3]]
    for r in range(4, ws.max_row + 1):
        ws.cell(r, head.index("Audited amount") + 1).value = ws.cell(r, head.index("Book amount") + 1).value
    wb.save(filled)
    ev = sampling.evaluate_sample(out / "sample.json", filled)
    assert ev["estimator"] == "stratified_difference"
    assert (ev["projected_misstatement"], ev["upper_bound"]) == ("0.00", "0.00")
    assert ev["conclusion"] is None  # no tolerable misstatement was given: nothing to conclude against
