"""The whole 核实 cycle on the samples (issue 16, "done when"): audit → export by union → answers filled as Excel
saves them (a re-sorted sheet, a deleted row) → import → the inputs change (one fault corrected, one changed,
one added, one row moved) → audit with --triage and --baseline: every status exact, nothing lost, excluded
findings out of the exit code; then a second verification round merged, and a run without the baseline."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from fundaudit import triage
from fundaudit.cli import main
from tests.test_triage import _fill

REGISTER = "register_2016.csv"
PERIOD = ["--profile", "anhui-2016", "--period", "2016"]


def _audit(src: Path, out: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    code = main(["audit", str(src), *PERIOD, "--out", str(out), "--format", "json,junit", "--quiet", *extra])
    return code, json.loads((out / "findings.json").read_text("utf-8"))


def _on(doc: dict[str, Any], rule: str, row: int) -> dict[str, Any]:
    """The one finding of ``rule`` whose first ref is register row ``row``."""
    (f,) = [f for f in doc["findings"] if f["rule"] == rule and f["refs"][0]["file"] == REGISTER
            and f["refs"][0]["row"] == row]
    return f


def _changed_register(src: Path, dst: Path) -> None:
    """The register as next quarter's export: row 100's missing 公示日期 filled in (fault corrected), row 101's
    公示日期 still after filing but another date (the same fault about the same person, a new finding), row 102
    published after filing (a new fault), and row 50 moved to the end of the file (every later row moves up)."""
    lines = src.read_bytes().decode("gb18030").split("\r\n")
    assert lines[-1] == ""
    rows = [line.split(",") for line in lines[:-1]]
    col = rows[0].index("公示日期")
    assert rows[99][col] == "" and rows[100][col] == "2016-04-14" and rows[101][col] == "2016-06-06"
    rows[99][col], rows[100][col], rows[101][col] = "2016-02-10", "2016-04-16", "2016-06-20"
    rows.append(rows.pop(49))
    dst.write_bytes("\r\n".join([*(",".join(r) for r in rows), ""]).encode("gb18030"))


@pytest.fixture(scope="module")
def cycle(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("cycle")
    code, first = _audit(Path("samples"), tmp / "q1")
    assert code == 1
    # export by union and answer as the unions would
    books = triage.export(tmp / "q1" / "findings.json", tmp / "sent", by="union")
    book = {p.name.removeprefix("疑点核实_").removesuffix(".xlsx"): p for p in books}
    late, old_id = _on(first, "REG-DISCLOSURE", 101), _on(first, "REG-ID", 45)
    missing = _on(first, "REG-DISCLOSURE", 100)
    eligible, overdue, exited = _on(first, "REG-ELIGIBILITY", 5), _on(first, "REG-REVIEW-OVERDUE", 8), \
        _on(first, "REG-EXIT-STATE", 51)
    (no_union,) = [f for f in first["findings"] if f["rule"] == "XL-MISSING-EMPLOYER"]
    assert late["union"] == eligible["union"] == "黄山区焦村电子科技有限公司工会"
    kept = [f for f in first["findings"] if f["union"] == late["union"] and f not in (late, eligible)]
    answers = [
        _fill(book[late["union"]], {
            late["fingerprint"]: ("确认", None, "底稿 3-1", "王会计", dt.datetime(2017, 3, 1)),
            eligible["fingerprint"]: ("排除", "收入含一次性补偿，已核实", "底稿 3-2", "王会计", "2017/3/2")},
            tmp / "a.xlsx", sort=True, delete=kept[0]["fingerprint"]),
        _fill(book[missing["union"]], {missing["fingerprint"]: ("整改中", "补公示")}, tmp / "b.xlsx"),
        _fill(book[overdue["union"]], {overdue["fingerprint"]: ("已整改", "已复核")}, tmp / "c.xlsx"),
        _fill(book[exited["union"]], {exited["fingerprint"]: ("in_progress",)}, tmp / "d.xlsx"),
        _fill(book[old_id["union"]], {old_id["fingerprint"]: ("confirmed",)}, tmp / "e.xlsx"),
        _fill(book["未归属基层工会"], {no_union["fingerprint"]: ("排除", "该单位已于 2015 年注销")}, tmp / "f.xlsx"),
    ]
    assert len({f["union"] for f in (late, missing, overdue, exited, old_id, no_union)}) == 6  # six workbooks
    assert main(["triage", "import", *(str(p) for p in reversed(answers)), "--out", str(tmp / "TRIAGE.csv")]) == 0
    # the next quarter's inputs
    src = tmp / "inputs"
    shutil.copytree("samples", src)
    _changed_register(Path("samples") / REGISTER, src / REGISTER)
    code2, second = _audit(src, tmp / "q2", "--triage", str(tmp / "TRIAGE.csv"),
                           "--baseline", str(tmp / "q1" / "findings.json"))
    return {"tmp": tmp, "first": first, "second": second, "code2": code2, "src": src, "late": late,
            "missing": missing, "eligible": eligible, "overdue": overdue, "exited": exited, "old_id": old_id,
            "no_union": no_union, "kept": kept[0]}


def test_every_decision_comes_back_on_its_finding(cycle: dict[str, Any]) -> None:
    second = {f["fingerprint"]: f for f in cycle["second"]["findings"]}
    status = {k: second[cycle[k]["fingerprint"]]["triage"]["status"]
              for k in ("eligible", "overdue", "exited", "old_id", "no_union", "kept")}
    assert status == {"eligible": "excluded", "overdue": "rectified", "exited": "in_progress",
                      "old_id": "confirmed", "no_union": "excluded", "kept": "pending"}
    t = second[cycle["eligible"]["fingerprint"]]["triage"]
    assert t == {"status": "excluded", "reason": "收入含一次性补偿，已核实", "evidence": "底稿 3-2", "by": "王会计",
                 "date": "2017-03-02"}
    # nothing lost: every finding of the first run is in the second or among the resolved, once
    resolved = [r["fingerprint"] for r in cycle["second"]["resolved_since_baseline"]]
    assert sorted(resolved) == sorted([cycle["missing"]["fingerprint"], cycle["late"]["fingerprint"]])
    assert {f["fingerprint"] for f in cycle["first"]["findings"]} == (set(second) | set(resolved)) - {
        f for f, x in second.items() if x["since_baseline"] == "new"}
    assert {r["fingerprint"]: r["triage"]["status"] for r in cycle["second"]["resolved_since_baseline"]} == {
        cycle["missing"]["fingerprint"]: "in_progress", cycle["late"]["fingerprint"]: "confirmed"}
    assert cycle["second"]["stale_decisions"] == []


def test_the_changed_inputs_are_new_persisting_resolved_and_recurring(cycle: dict[str, Any]) -> None:
    second = cycle["second"]
    new = [f for f in second["findings"] if f["since_baseline"] == "new"]
    assert sorted((f["rule"], f["refs"][0]["row"]) for f in new) == [("REG-DISCLOSURE", 100), ("REG-DISCLOSURE", 101)]
    assert len(second["findings"]) == len(cycle["first"]["findings"])  # one gone, one changed, one added
    assert second["summary"]["by_baseline"]["new"] == 2
    assert second["summary"]["by_baseline"]["persisting"] == len(cycle["first"]["findings"]) - 2
    assert second["summary"]["by_baseline"]["resolved"] == 2
    # the moved row: the same finding (fingerprint), cited at its new row
    moved = next(f for f in second["findings"] if f["fingerprint"] == cycle["exited"]["fingerprint"])
    assert moved["refs"][0]["row"] == 50  # row 51 moved up when row 50 went to the end
    (gone_to_end,) = [f for f in second["findings"] if f["rule"] == "REG-EXIT-STATE" and f["refs"][0]["row"] == 124]
    assert gone_to_end["since_baseline"] == "persisting"


def test_the_same_fault_about_the_same_person_recurs_after_its_decision(cycle: dict[str, Any]) -> None:
    new = [f for f in cycle["second"]["findings"] if f["since_baseline"] == "new"]
    again = next(f for f in new if f["refs"][0]["row"] == 100)  # 高生兵 was row 101 before row 50 moved
    assert again["recurs_after"] == {"fingerprint": cycle["late"]["fingerprint"], "status": "confirmed",
                                     "period": {"start": "2016-01-01", "end": "2016-12-31"}, "reason": "",
                                     "date": "2017-03-01"}
    assert cycle["second"]["run"]["recurrence"] == "ok"
    assert cycle["second"]["summary"]["by_baseline"]["recurring"] == 1
    added = next(f for f in new if f["refs"][0]["row"] == 101)
    assert (added["recurs_after"], added["triage"]["status"]) == (None, "pending")


def test_excluded_findings_leave_counts_money_and_exit_code(cycle: dict[str, Any]) -> None:
    second, tmp = cycle["second"], cycle["tmp"]
    excluded = [f for f in second["findings"] if f["triage"]["status"] == "excluded"]
    assert sorted(f["fingerprint"] for f in excluded) == sorted(
        [cycle["eligible"]["fingerprint"], cycle["no_union"]["fingerprint"]])
    s = second["summary"]
    assert s["findings"] == len(second["findings"]) - 2
    assert Counter(f["triage"]["status"] for f in second["findings"]) == Counter(
        {k: v["findings"] for k, v in s["by_triage"].items() if v["findings"]})
    assert cycle["code2"] == 1
    # a second round: every remaining error is excluded, merged into the decisions file → exit 0
    books = triage.export(tmp / "q2" / "findings.json", tmp / "sent2", by="none")
    errors = [f for f in second["findings"] if f["severity"] == "error" and f["triage"]["status"] != "excluded"]
    filled = _fill(books[0], {f["fingerprint"]: ("排除", "复核无误") for f in errors}, tmp / "round2.xlsx")
    assert main(["triage", "import", str(filled), "--out", str(tmp / "TRIAGE.csv"), "--merge"]) == 0
    code3, third = _audit(cycle["src"], tmp / "q3", "--triage", str(tmp / "TRIAGE.csv"),
                          "--baseline", str(tmp / "q2" / "findings.json"))
    assert code3 == 0 and third["summary"]["by_severity"]["error"] == 0
    assert "<failure" not in (tmp / "q3" / "junit.xml").read_text("utf-8")
    old_id = next(f for f in third["findings"] if f["fingerprint"] == cycle["old_id"]["fingerprint"])
    assert old_id["triage"]["status"] == "excluded"  # round 2's answer replaced round 1's, kept in history
    decisions = triage.read_decisions(tmp / "TRIAGE.csv")
    history = json.loads(decisions.set_index("fingerprint").loc[cycle["old_id"]["fingerprint"], "history"])
    assert [h["status"] for h in history] == ["confirmed"]
    # without the baseline, the decisions on findings gone are stale, never dropped
    _, fourth = _audit(cycle["src"], tmp / "q4", "--triage", str(tmp / "TRIAGE.csv"))
    assert sorted(d["fingerprint"] for d in fourth["stale_decisions"]) == sorted(
        [cycle["missing"]["fingerprint"], cycle["late"]["fingerprint"]])
    assert {(d["rule"], d["status"]) for d in fourth["stale_decisions"]} == {("REG-DISCLOSURE", "in_progress"),
                                                                             ("REG-DISCLOSURE", "confirmed")}
