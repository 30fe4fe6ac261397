"""No English in the Chinese texts and no Chinese words in the English texts the catalogue makes (issue 14
item 4): every zh finding message of the samples run and of every shipped rule (with every optional column,
and with only the columns it needs) has no English word but IDs, file names and product names; the en
problem texts a check type puts into a finding have no Chinese; the Chinese report shows a value's code
(``bad_checksum``, ``union_fund``, ``id_no``) by its catalogue name."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import pandas as pd
import pytest

import fundaudit
from fundaudit.errors import catalogue
from fundaudit.ledger import Ledger
from fundaudit.report.html import _Context, strings
from fundaudit.rules.model import Rule, RuleSet
from fundaudit.rules.profiles import apply_profile, load_profile
from fundaudit.rules.shipped import shipped_packs
from tests.engine.test_messages import _only, _run, _with_every_column

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
ASCII_RUN = re.compile(r"[A-Za-z0-9_.*+\-]+")
# ASCII words a Chinese message may hold: product and format names (single letters are ledger flags: 结算标记 E)
ALLOWED_WORDS = {"Excel", "WPS", "CSV", "SHA-256"}


def english_words(text: str) -> list[str]:
    """ASCII words of ``text`` that are not IDs, numbers, file names or allowed names."""
    return [
        w for w in ASCII_RUN.findall(text)
        if re.search(r"[A-Za-z]{2}", w) and not re.search(r"\d", w) and w not in ALLOWED_WORDS
        and not w.endswith((".xlsx", ".xls", ".csv"))
    ]


@pytest.fixture(scope="module")
def result() -> fundaudit.AuditResult:
    return fundaudit.audit(paths=[SAMPLES], profile="anhui-2016", period="2016")


@pytest.fixture(scope="module")
def rules() -> list[Rule]:
    return apply_profile(RuleSet.build(shipped_packs()), load_profile("anhui-2016")).active()


def _zh_leaks(messages: Iterable[tuple[str, str]]) -> list[tuple[str, list[str], str]]:
    return [(rule, words, m) for rule, m in messages if (words := english_words(m))]


def test_english_words_finds_english_not_ids() -> None:
    assert english_words("档案 HSQ2015004（余峰波）：被 Excel 存成数字 3.4100*E+17，见 a_2016.xlsx") == []
    assert english_words("缴纳工会经费 paid but 单位尚未建会") == ["paid", "but"]


def test_samples_zh_messages_have_no_english(result: fundaudit.AuditResult) -> None:
    found = result.findings
    assert len(found) == 68
    assert _zh_leaks(zip(found["rule"], found["message"], strict=True)) == []


def test_every_rule_zh_messages_have_no_english(result: fundaudit.AuditResult, rules: list[Rule]) -> None:
    loaded: dict[str, Ledger] = result.ledgers
    every, _ = _run({k: _with_every_column(v) for k, v in loaded.items()}, rules)
    messages = list(zip(every["rule"], every["message"], strict=True))
    for rule in rules:  # each rule with only the columns it needs (what test_messages finds by asking it)
        if rule.ledger not in loaded:
            continue
        needed: set[str] = set()
        for _ in range(10):
            findings, status = _run({**loaded, rule.ledger: _only(loaded[rule.ledger], needed)}, [rule])
            st = status[rule.id]
            if st.status == "skipped" and st.skip_code == "skip_no_columns" and st.skip_fields["table"] == rule.ledger:
                needed |= set(st.skip_fields["missing"])
                continue
            break
        messages += list(zip(findings["rule"], findings["message"], strict=True))
    assert {r for r, _ in messages} == {r.id for r in rules}
    assert _zh_leaks(messages) == []


def test_en_problem_texts_have_no_chinese(result: fundaudit.AuditResult) -> None:
    """The en twin of every text a check type makes (problem_en, fund_name_en…) is English throughout:
    XL-UNION-STATUS said '工会经费 paid but the employer had no union'."""
    leaks = [
        (f["rule"], k, v)
        for f in result.findings.to_dict("records")
        for k, v in f["values"].items()
        if k.endswith("_en") and isinstance(v, str) and CJK.search(v) and k != "relation_note_en"
    ]
    assert leaks == []
    union = result.findings[result.findings["rule"] == "XL-UNION-STATUS"]
    assert sorted(v["problem_en"] for v in union["values"]) == [
        "union fund paid but the employer had no union for the period",
        "union-founding reserve fund paid although the employer's union already existed",
    ]


def test_zh_report_shows_value_codes_by_their_names(result: fundaudit.AuditResult) -> None:
    ctx = _Context(result, "zh", strings()["zh"])
    names = catalogue()["values"]
    shown: dict[tuple[str, str], set[str]] = {}
    for f in result.findings.to_dict("records"):
        items = dict(ctx.value_items(f["kind"], f["values"]))
        for k, v in f["values"].items():
            if isinstance(v, str) and f"{k}.{v.split(', ')[0]}" in names:
                shown.setdefault((k, v), set()).add(items[ctx.label(f["kind"], k)])
    assert shown[("id_status", "excel_number")] == {"被 Excel 存成数字"}
    assert shown[("id_status", "bad_checksum")] == {"校验码不符"}
    assert shown[("fund_type", "prep_fund")] == {"建会筹备金"}
    assert shown[("matched_on", "id_no")] == {"身份证号"}
    assert shown[("matched_on", "id_no, bank_account, phone, address")] == {"身份证号、银行账号、电话、住址"}
    leaks = {key: texts for key, texts in shown.items() if any(english_words(t) for t in texts)}
    assert leaks == {}
    assert isinstance(result.findings, pd.DataFrame)
