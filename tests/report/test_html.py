"""index.html (fundaudit/report/html.py): escaping of hostile values everywhere, masking, the
self-contained page, both languages, the sections, the DOM cap and the time 100k findings take."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import fundaudit
from fundaudit.report.html import render_html, strings, write_html
from tests.checks.harness import shipped

ROOT = Path(__file__).resolve().parents[2]

HOSTILE = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "javascript:alert(1)",
    "{{7*7}}",
    "<b>" + "x" * 40_000,
]
# A user pack whose texts are hostile too, and whose rule fires on every row.
HOSTILE_PACK = """\
pack: "<script>alert('pack')</script>"
version: "\\"><img src=x onerror=alert(1)>"
rules:
  - id: XSS-ALL
    ledger: disbursements
    severity: error
    title: {zh: "<script>alert(1)</script>标题", en: "\\"><img src=x onerror=alert(1)>"}
    params: {limit: 1}
    check: {type: range, column: amount, max: $limit}
    message:
      zh: "<script>alert(1)</script> {recipient_name} {remark} javascript:alert(1) {{7*7}} LONG"
      en: "\\"><img src=x onerror=alert(1)> {recipient_name} {employer} javascript:alert(1) LONG"
    amount: amount
  - id: XSS-SKIPPED
    ledger: register
    severity: warning
    title: {zh: "<img src=x onerror=alert(2)>", en: "<img src=x onerror=alert(2)>"}
    check: {type: not_null, columns: [name]}
    message: {zh: x, en: x}
"""

ALLOWED_TAGS = {
    "html", "head", "meta", "title", "style", "body", "nav", "a", "main", "section", "header", "h1", "h2", "h3",
    "p", "dl", "dt", "dd", "div", "strong", "span", "code", "b", "figure", "figcaption", "svg", "g", "text",
    "rect", "line", "table", "thead", "tbody", "tr", "th", "td", "form", "label", "input", "output", "footer",
    "script", "details", "summary",
}
ID_OR_ACCOUNT = re.compile(r"(?<![0-9A-Za-z])(?:\d{17}[\dXx]|\d{15,19})(?![0-9A-Za-z])")
_ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def _looks_like_resident_id(s: str) -> bool:
    """An 18-character ID with a valid GB 11643 check character, or a 15-digit one, either with a
    real birth date; other long digit runs (tax voucher numbers, all-digit credit codes) are not."""
    if len(s) == 18:
        check = "10X98765432"[sum(int(c) * w for c, w in zip(s[:17], _ID_WEIGHTS, strict=True)) % 11]
        birth = s[6:14]
        return s[17].upper() == check and _date_ok(birth)
    return len(s) == 15 and s.isdigit() and _date_ok("19" + s[6:12])


def _date_ok(yyyymmdd: str) -> bool:
    try:
        d = pd.Timestamp(f"{yyyymmdd[:4]}-{yyyymmdd[4:6]}-{yyyymmdd[6:8]}")
    except ValueError:
        return False
    return 1900 <= d.year <= 2020


def _personal_values(result: fundaudit.AuditResult) -> set[str]:
    """Every raw value of a personal column (IDs, accounts, phones…) in the audited inputs."""
    from fundaudit.columns import catalogue

    out: set[str] = set()
    for kind, ledger in result.ledgers.items():
        spec = catalogue().get(kind)
        if spec is None:
            continue
        for name, col in spec.columns.items():
            if name in ledger.frame and (col.personal or col.type in ("resident_id", "account", "phone")):
                out |= {v for v in ledger.frame[name].dropna().astype(str) if len(v) >= 7}
    return out


def assert_no_personal_data(html: str, result: fundaudit.AuditResult) -> None:
    ids = [m for m in ID_OR_ACCOUNT.findall(html) if _looks_like_resident_id(m)]
    assert not ids, ids[:5]
    leaked = sorted(v for v in _personal_values(result) if v in html)
    assert not leaked, leaked[:5]


class Page(HTMLParser):
    """Everything the escaping tests look at: tags with attributes, script bodies and text."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self.text: list[str] = []
        self._in_script = False
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._in_script = True
            self.scripts.append("")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts[-1] += data
        else:
            self.text.append(data)

    def attrs(self, name: str) -> list[str]:
        return [a[name] or "" for _, a in self.tags if name in a]

    @property
    def ids(self) -> set[str]:
        return set(self.attrs("id"))

    @property
    def all_text(self) -> str:
        return "".join(self.text)


def _our_script() -> str:
    return resources.files("fundaudit.report").joinpath("templates/report.js").read_text("utf-8")


def _check_structure(html: str) -> Page:
    """What every report must satisfy, whatever its data."""
    page = Page(html)
    tags = {t for t, _ in page.tags}
    assert tags <= ALLOWED_TAGS, tags - ALLOWED_TAGS
    scripts = [a for t, a in page.tags if t == "script"]
    assert scripts == [{}], scripts  # one script, ours, inline, no src
    assert page.scripts[0].strip() == _our_script().strip()
    for tag, attrs in page.tags:
        assert not any(k.lower().startswith("on") for k in attrs), (tag, attrs)  # no event handlers
        assert "src" not in attrs and "srcset" not in attrs and "style" not in attrs, (tag, attrs)
    for href in page.attrs("href"):
        assert href.startswith("#") and href[1:] in page.ids, href  # only anchors on this page
    assert "javascript:" not in "".join(page.attrs("href")).lower()
    csp = [a for t, a in page.tags if t == "meta" and (a.get("http-equiv") or "").lower() == "content-security-policy"]
    assert csp and (csp[0]["content"] or "").startswith("default-src 'none'")
    assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", html)  # nothing to fetch
    return page


def _hostile_result(tmp_path: Path) -> fundaudit.AuditResult:
    """Hostile values in ledger cells, a column header, a file name, a sheet name, a user pack's
    name, version, titles and messages, and rejected raw values."""
    df = pd.DataFrame({
        "姓名": HOSTILE, "身份证号码": ["341003198001010012"] * 5, "金额": ["100", "200", "300", "400", "500"],
        "发放日期": ["2016-01-05"] * 5, "基层工会": HOSTILE, "备注": HOSTILE, "单位": HOSTILE, HOSTILE[0]: HOSTILE,
        "发放方式": ["现金", HOSTILE[1], HOSTILE[2], "打卡", "打卡"], "审批日期": HOSTILE,
    })
    xlsx = tmp_path / '"><img src=x onerror=alert(1)>.xlsx'
    with pd.ExcelWriter(xlsx, engine="openpyxl") as writer:
        df.iloc[:4].to_excel(writer, sheet_name="<img src=x onerror=alert(1)>", index=False)
    pack = tmp_path / "hostile.yaml"
    pack.write_text(HOSTILE_PACK.replace("LONG", "L" * 40_000), encoding="utf-8")
    return fundaudit.audit({"disbursements": [df, xlsx]}, rules=[pack], period="2016",
                           limits=fundaudit.Limits(max_cell_chars=50_000),
                           argv=["fundaudit", "audit", "<script>alert('argv')</script>"])


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> fundaudit.AuditResult:
    return _hostile_result(tmp_path_factory.mktemp("hostile"))


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_hostile_values_never_survive_unescaped(hostile: fundaudit.AuditResult, tmp_path: Path, lang: str) -> None:
    rules = {r["id"]: r for r in hostile.rules}
    assert rules["XSS-ALL"]["findings"] == 9 and rules["XSS-SKIPPED"]["status"] == "skipped"
    assert len(hostile.rejected_rows) == 9
    assert any("<img" in str(i["file"]) and "<img" in str(i["sheet"]) for i in hostile.inputs)

    html = write_html(hostile, tmp_path / "index.html", lang=lang).read_text("utf-8")
    page = _check_structure(html)
    assert "<script>alert" not in html and "<img" not in html and "<b>x" not in html
    text = page.all_text
    # the payloads are shown as text (escaped), not dropped and not evaluated
    for payload in HOSTILE[:4]:
        assert payload in text, payload
    assert "<script>alert('pack')</script>" in text  # pack name in the manifest
    assert '"><img src=x onerror=alert(1)>' in text  # file/sheet name, pack version
    assert "<script>alert(" in text and "argv" in text  # argv in the manifest (shell-quoted)
    # the 40,000-character values are cut, and say so
    assert "x" * 1_001 not in html and "L" * 1_001 not in html
    assert strings()[lang]["truncated"].split("{n}")[0] in text
    assert "40,0" in text


def test_hostile_values_in_every_section(hostile: fundaudit.AuditResult) -> None:
    html = render_html(hostile)
    page = Page(html)
    ids = page.ids
    for section in ("overview", "by-rule", "findings", "rejected", "inputs", "not-run", "manifest"):
        assert section in ids
    # rejected raw value, unmapped column header, skipped rule title, file name: all escaped text
    evidence = re.findall(r'<details class="ev">.*?</details>', html, flags=re.S)
    assert len(evidence) == 27  # every finding's rows as read, shown on a click, quote the hostile cells again
    assert sum(e.count("&lt;script&gt;alert(1)&lt;/script&gt;") for e in evidence) == 63
    assert html.count("&lt;script&gt;alert(1)&lt;/script&gt;") == 36 + 63
    assert "&lt;img src=x onerror=alert(2)&gt;" in html  # skipped rule title


def _pii_frame() -> pd.DataFrame:
    ids = ["34100319800101001X", "341003197905061234", "110101199003077777"]
    return pd.DataFrame({
        "姓名": ["张三", "李四", "王五"], "身份证号码": ids,
        "银行账号": ["6222021234567890123", "6217003116648655897", "6228480012345678"],
        "金额": ["100", "200", "300"], "发放方式": ["打卡"] * 3,
        "发放日期": ["2016-01-05", "341003197905061234", "2016-03-05"],  # a rejected raw value holding an ID
        "基层工会": ["甲工会", "乙工会", "甲工会"],
    })


PII_PACK = """\
pack: pii
rules:
  - id: PII-ALL
    ledger: disbursements
    severity: warning
    title: {zh: 个人信息, en: personal data}
    check: {type: range, column: amount, max: 1}
    message: {zh: "{recipient_name} {recipient_id_no} {bank_account}", en: "{recipient_id_no} {bank_account}"}
    amount: amount
"""


@pytest.fixture(scope="module")
def pii_pack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    p = tmp_path_factory.mktemp("pii") / "pii.yaml"
    p.write_text(PII_PACK, encoding="utf-8")
    return p


def test_masked_report_has_no_full_ids_or_accounts(pii_pack: Path, tmp_path: Path) -> None:
    result = fundaudit.audit({"disbursements": _pii_frame()}, rules=[pii_pack], period="2016")
    assert result.masked and (len(result.findings), len(result.rejected_rows)) == (6, 1)
    for lang in ("zh", "en"):
        html = write_html(result, tmp_path / f"{lang}.html", lang=lang).read_text("utf-8")
        assert not ID_OR_ACCOUNT.findall(html), ID_OR_ACCOUNT.findall(html)[:5]  # no long digit run at all
        assert_no_personal_data(html, result)
        assert "341003********001X" in html and "***************5897" in html
        assert 'id="unmasked-banner"' not in html
        _check_structure(html)


def test_unmasked_report_shows_them_with_the_banner(pii_pack: Path, tmp_path: Path) -> None:
    result = fundaudit.audit({"disbursements": _pii_frame()}, rules=[pii_pack], period="2016", unmask=True,
                             argv=["fundaudit", "audit", "--unmask"])
    html = write_html(result, tmp_path / "index.html").read_text("utf-8")
    found = set(ID_OR_ACCOUNT.findall(html))
    assert {"34100319800101001X", "6217003116648655897"} <= found
    assert _personal_values(result) & found
    page = _check_structure(html)
    assert "unmasked-banner" in page.ids
    assert "本报告含未脱敏的个人信息" in page.all_text
    # the banner is on the first screen: before the KPIs and the charts
    assert html.index('id="unmasked-banner"') < html.index('class="kpis"') < html.index('class="charts"')
    en = render_html(result, lang="en")
    assert "contains unmasked personal data" in en


@pytest.fixture(scope="module")
def samples() -> fundaudit.AuditResult:
    return fundaudit.audit(paths=[ROOT / "samples"], profile="anhui-2016", period="2016")


def test_samples_report_masked_and_complete(samples: fundaudit.AuditResult, tmp_path: Path) -> None:
    html = write_html(samples, tmp_path / "index.html").read_text("utf-8")
    assert len(_personal_values(samples)) == 607
    assert_no_personal_data(html, samples)
    page = _check_structure(html)
    text = page.all_text
    # first screen: what was audited, counts, money, charts
    assert samples.run["profile"] in text and "2016-01-01" in text and samples.version in text
    for i in samples.inputs:
        assert str(i["file"]) in text
    at_issue = samples.findings["severity"].isin(["error", "warning"])  # info amounts are not money at issue
    total = int(pd.to_numeric(samples.findings.loc[at_issue, "amount_fen"], errors="coerce").fillna(0).sum())
    assert format(total / 100, ".2f") == samples.summary["amount_at_issue"]
    q, r = divmod(total, 100)
    assert f'<div class="v money">{q:,}.{r:02d}</div>' in html
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg" class="chart') == 3
    # every finding rendered (the samples are far below the cap), each with its provenance
    rows = [a for t, a in page.tags if t == "tr" and a.get("class") == "f"]
    assert len(rows) == len(samples.findings)
    for refs in samples.findings["refs"]:
        for ref in refs:
            assert str(ref["file"]) in text
    # every rule with findings has a group with its parameters
    for rid in samples.findings["rule"].unique():
        assert f"<code>{rid}</code>" in html


def test_english_report(samples: fundaudit.AuditResult) -> None:
    html = render_html(samples, lang="en")
    page = _check_structure(html)
    assert '<html lang="en">' in html
    text = page.all_text
    for key in ("title", "nav_findings", "nav_rejected", "nav_manifest", "chart_by_union"):
        assert strings()["en"][key] in text
    assert strings()["zh"]["nav_findings"] not in text
    first = samples.findings.iloc[0]
    assert str(first["message_en"])[:20] in text.replace("\n", " ")


def test_every_string_in_both_languages() -> None:
    s = strings()
    assert set(s["zh"]) == set(s["en"])
    assert all(v.strip() for lang in s.values() for v in lang.values())
    with pytest.raises(ValueError, match="lang"):
        render_html(fundaudit.audit({"disbursements": _pii_frame()}), lang="fr")


def test_charts_by_union_and_month(pii_pack: Path) -> None:
    result = fundaudit.audit({"disbursements": _pii_frame()}, rules=[pii_pack], period="2016")
    html = render_html(result)
    union = html[html.index('id="chart-by-union"'):html.index('id="chart-by-month"')]
    assert "甲工会" in union and "乙工会" in union
    month = html[html.index('id="chart-by-month"'):html.index("</figure>", html.index('id="chart-by-month"'))]
    assert month.count("<rect") == 13  # twelve months of 2016 and the row without a readable date
    first_rows = [refs[0]["row"] for refs in result.findings["refs"]]
    month_of = {2: "2016-01", 3: "—", 4: "2016-03"}  # the DataFrame's rows 2..4 (row 3 has no date)
    for m in ("2016-01", "2016-03", "—"):
        assert f"<title>{m}: {sum(month_of[r] == m for r in first_rows)}</title>" in month
    assert "<title>2016-02: 0</title>" in month


def test_rows_reconcile_and_rules_not_run(pii_pack: Path) -> None:
    result = fundaudit.audit({"disbursements": _pii_frame()}, rules=[pii_pack], period="2016")
    html = render_html(result)
    recon = html[html.index('id="reconciliation"'):]
    assert "✓ 3 = 3 + 0 + 0" in recon  # the blanked ID is a field note, not a rejected row
    result.ledgers["disbursements"].inputs[0].rows_read += 1
    broken = render_html(result)
    assert '<td class="bad nowrap">✗' in broken
    skipped = [r for r in result.rules if r["status"] == "skipped"]
    ran = {"DISB-ID", "DISB-CASH", "DISB-ACCOUNT-SHARED", "DISB-YEAR-END"}  # and the pack's own rule
    assert [r["id"] for r in skipped] == [rid for rid in shipped().rules if rid not in ran]
    not_run = broken[broken.index('id="not-run"'):broken.index('id="manifest"')]
    assert str(skipped[0]["id"]) in not_run and str(skipped[0]["reason"]) in not_run


def test_empty_result() -> None:
    # enough columns for one register rule to run (a ledger none of whose rules can run is refused)
    result = fundaudit.audit({"register": pd.DataFrame({"职工姓名": ["甲"], "档案编号": ["A1"],
                                                        "身份证号": ["34100319800101001X"]})})
    result.findings = result.findings.iloc[0:0]
    html = render_html(result)
    _check_structure(html)
    assert strings()["zh"]["no_findings"] in html
    assert 'id="filter"' not in html


def _synthetic(result: fundaudit.AuditResult, n: int, rules: int) -> fundaudit.AuditResult:
    f = result.findings
    big = f.iloc[np.arange(n) % len(f)].reset_index(drop=True).copy()
    big["id"] = [f"F{i:06d}" for i in range(1, n + 1)]
    big["rule"] = [f"SYN-{i % rules}" for i in range(n)]
    result.findings = big
    return result


def test_dom_cap_says_how_many_more(pii_pack: Path, tmp_path: Path) -> None:
    result = _synthetic(fundaudit.audit({"disbursements": _pii_frame()}, rules=[pii_pack], period="2016"), 5_000, 2)
    html = write_html(result, tmp_path / "index.html", max_rows_per_rule=300, max_rows=500).read_text("utf-8")
    page = Page(html)
    assert sum(1 for t, a in page.tags if t == "tr" and a.get("class") == "f") == 500
    assert "另有 2,200 条疑点未在此列出" in html and "另有 2,300 条疑点未在此列出" in html
    assert "findings.xlsx" in html
    assert ">5,000<" in html  # the counts cover every finding


def test_hundred_thousand_findings_render_quickly(samples: fundaudit.AuditResult, tmp_path: Path) -> None:
    result = _synthetic(samples, 100_000, 60)
    t0 = time.perf_counter()
    path = write_html(result, tmp_path / "index.html")
    elapsed = time.perf_counter() - t0
    size = path.stat().st_size
    assert elapsed < 30, elapsed  # about 1.5 s on the development machine
    assert size < 25_000_000, size
    html = path.read_text("utf-8")
    assert ">100,000<" in html
    assert html.count('<tr class="f"') == 10_000
    # rows as read for the first 100 findings of each rule rendered (6 rules fill the 10,000 rows), and the page
    # says so
    assert html.count('<details class="ev">') == 600
    assert "其余 9,400 条疑点的原始行见 findings.xlsx" in html


def test_written_atomically(pii_pack: Path, tmp_path: Path) -> None:
    result = fundaudit.audit({"disbursements": _pii_frame()}, rules=[pii_pack], period="2016")
    out = tmp_path / "new" / "index.html"
    assert write_html(result, out) == out
    assert [p.name for p in out.parent.iterdir()] == ["index.html"]
    assert out.read_bytes().startswith(b"<!DOCTYPE html>")


def _walk(obj: Any) -> Iterator[str]:
    if isinstance(obj, dict):
        for v in obj.values():
            yield from _walk(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _walk(v)
    elif isinstance(obj, str):
        yield obj


def test_templates_never_mark_data_safe() -> None:
    folder = resources.files("fundaudit.report").joinpath("templates")
    for name in ("report.html.j2", "_macros.html.j2"):
        src = re.sub(r"\{#.*?#\}", "", folder.joinpath(name).read_text("utf-8"), flags=re.S)  # comments
        assert "|safe" not in src.replace(" ", "") and "Markup" not in src and "autoescape false" not in src
        # every attribute value quoted
        assert not re.search(r"""\s[a-z-]+=(?!["'])\{\{""", src), name
    assert all(isinstance(s, str) for s in _walk(strings()))


def test_parameters_json_style_and_chinese_value_labels(samples: fundaudit.AuditResult) -> None:
    """No Python reprs (True/False/None) in the manifest; in zh, derived values have Chinese labels."""
    for lang in ("zh", "en"):
        html = render_html(samples, lang=lang)
        manifest = html[html.index('id="manifest"'):]
        assert not re.search(r"\b(True|False|None)\b", manifest), re.findall(r".{40}\b(?:True|False)\b", manifest)[:3]
        assert "ignore_correction_pairs = true" in html  # DUES-DUP, a boolean parameter
        assert 'key = ["taxpayer_id", "fund_type", "period_start", "period_end"]' in html.replace("&#34;", '"')
    zh = render_html(samples, lang="zh")
    labels = set(re.findall(r'<span class="k">([^<]*)</span>', zh))
    assert {"差额", "问题", "匹配依据"} <= labels
    english = sorted(k for k in labels if re.fullmatch(r"[a-z_]+", k))
    assert not english, english
    en = render_html(samples, lang="en")
    assert "difference" in set(re.findall(r'<span class="k">([^<]*)</span>', en))


def test_money_at_issue_leaves_out_info_findings() -> None:
    from fundaudit.run import AuditResult

    findings = pd.DataFrame({
        "id": ["F1", "F2", "F3"], "fingerprint": ["a", "b", "c"], "rule": ["R-E", "R-W", "R-I"],
        "severity": ["error", "warning", "info"], "kind": ["disbursements"] * 3, "message": ["m"] * 3,
        "message_en": ["m"] * 3, "amount": ["1.00", "2.00", "920.00"], "values": [{}] * 3, "refs": [[]] * 3,
        "amount_fen": [100, 200, 92_000],
    })
    rules = [{"id": rid, "title": rid, "title_en": rid, "ledger": "disbursements", "severity": sev, "status": "ran",
              "findings": 1, "params": {}} for rid, sev in (("R-E", "error"), ("R-W", "warning"), ("R-I", "info"))]
    result = AuditResult(ledgers={}, run={}, rules=rules, findings=findings)
    assert result.summary["amount_at_issue"] == "3.00"
    html = render_html(result)
    assert '<div class="v money">3.00</div>' in html
    assert "920.00" in html  # the info finding still shows its own amount
