"""Points of the reliability.md §2 security checklist that had no test of their own (the rest are mapped to
their tests in docs/reliability-coverage.md). A strict xfail marks a gap found here."""

from __future__ import annotations

import importlib.util
import os
import stat
from pathlib import Path

import pytest

from fundaudit import RuleError
from fundaudit.cli import REPORT_FILES, main
from fundaudit.rules.located import MAX_PACK_BYTES
from fundaudit.rules.model import parse_pack
from tests.engine.test_packs import GOOD


def test_2e_openpyxl_parses_workbook_xml_through_defusedxml() -> None:
    """2.E: defusedxml is a hard dependency and openpyxl picks it up (the entity fixtures are refused in
    tests/io/test_sniff.py::test_xml_entities_are_refused)."""
    import openpyxl

    assert openpyxl.DEFUSEDXML is True


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_2d_every_report_file_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    """2.D: reports hold personal data (masked or not), so each is created 0600 whatever the umask."""
    src = tmp_path / "aid.csv"
    src.write_text("姓名,身份证号码,金额,发放日期,发放方式\n甲,34100319800101001X,100,2016-03-01,现金\n",
                   encoding="utf-8")
    out = tmp_path / "report"
    formats = [f for f in REPORT_FILES if f != "db" or importlib.util.find_spec("fundaudit.report.db")]
    old = os.umask(0o022)
    try:
        code = main(["audit", "--ledger", f"disbursements={src}", "--out", str(out),
                     "--format", ",".join(formats), "--fail-on", "never", "--quiet"])
    finally:
        os.umask(old)
    assert code == 0
    modes = {REPORT_FILES[f]: stat.S_IMODE((out / REPORT_FILES[f]).stat().st_mode) for f in formats}
    assert modes == dict.fromkeys(modes, 0o600)


def test_2c_a_pack_over_the_size_cap_is_refused_before_parsing() -> None:
    """2.C: a rule pack is capped (1 MiB) before YAML sees it."""
    text = GOOD + "#" + "x" * MAX_PACK_BYTES
    with pytest.raises(RuleError) as info:
        parse_pack(text, source="big.yaml")
    assert info.value.code == "pack_invalid"
    assert [p.code for p in info.value.problems] == ["pack_too_large"]
    [problem] = info.value.problems
    assert problem.render("en") == f"big.yaml the rule pack is larger than {MAX_PACK_BYTES} bytes"


def test_2c_yaml_1_2_words_stay_text_and_ids_are_not_octal() -> None:
    """2.C: under YAML 1.2 (the default) NO/yes stay words and 0123 is 123, never octal 83."""
    pack = parse_pack(GOOD.replace("cash_words: [现金]", "cash_words: [NO, yes, '0123', 0123]"), source="p.yaml")
    assert pack.rules[0].args["values"] == ["NO", "yes", "0123", 123]


YAML_VERSION = ("packs are YAML 1.2; remove the directive %YAML {v} "
                "(YAML 1.1 reads yes/no/on/off as true/false and 0123 as octal)")


def test_2c_yaml_1_1_yes_is_never_read_as_false() -> None:
    """2.C: under a %YAML 1.1 directive ``negate: yes`` would be a boolean, and a bool word other than 'true'
    read as false inverted the check. The directive is refused at its line: a pack is YAML 1.2 only."""
    with pytest.raises(RuleError) as info:
        parse_pack("%YAML 1.1\n---\n" + GOOD.replace("negate: true", "negate: yes"), source="p.yaml")
    assert [p.render("en") for p in info.value.problems] == ["p.yaml:1:1 " + YAML_VERSION.format(v="1.1")]


@pytest.mark.parametrize(
    ("text", "where", "version"),
    [
        ("# rules\n%YAML 1.1\n---\n" + GOOD, "p.yaml:2:1", "1.1"),  # after a comment
        ("%YAML 1.0\n---\n" + GOOD, "p.yaml:1:1", "1.0"),  # ruamel's parser asserted on 1.0 and 1.3: exit 3
        ("%YAML 1.3\n---\n" + GOOD, "p.yaml:1:1", "1.3"),
        (GOOD + "...\n%YAML 1.1\n---\nx: yes\n", "p.yaml:13:1", "1.1"),  # a second document's directive
    ],
)
def test_2c_every_yaml_version_but_1_2_is_refused_at_its_line(text: str, where: str, version: str) -> None:
    with pytest.raises(RuleError) as info:
        parse_pack(text, source="p.yaml")
    assert [p.render("en") for p in info.value.problems] == [f"{where} " + YAML_VERSION.format(v=version)]


def test_2c_an_explicit_yaml_1_2_directive_is_accepted() -> None:
    pack = parse_pack("%YAML 1.2\n---\n" + GOOD, source="p.yaml")
    assert pack.rules[0].args["negate"] is True


LINK_PACK = """\
pack: links
rules:
  - id: L-EVERY
    ledger: disbursements
    severity: error
    title: {zh: 每一行, en: every row}
    check: {type: range, column: amount, min: 0, max: 1}
    message: {zh: "名字 {recipient_name}", en: "name {recipient_name}"}
    amount: amount
"""
LINKS = ["external:C:\\Windows\\System32\\calc.exe", "http://evil.example/?x=1", "mailto:a@evil.example",
         "file:///etc/passwd", "=cmd|' /C calc'!A0"]


def test_2a_urls_stay_plain_text_and_a_negative_amount_stays_a_number(tmp_path: Path) -> None:
    """2.A payload corpus, the parts no other test has: xlsxwriter's ``external:``/``http:``/``mailto:``/``file:``
    link forms and the DDE payload in a findings message and name cell, next to a legitimate negative amount."""
    import pandas as pd
    from openpyxl import load_workbook

    import fundaudit
    from fundaudit.rules.shipped import shipped_packs
    from tests.report._checks import assert_inert_workbook

    shipped = [r.id for p in shipped_packs() for r in p.rules]
    pack = tmp_path / "links.yaml"
    pack.write_text(LINK_PACK + f"disable: [{', '.join(shipped)}]\n", encoding="utf-8")
    n = len(LINKS)
    df = pd.DataFrame({"姓名": LINKS, "金额": ["-5.25", *["100"] * (n - 1)], "发放方式": ["打卡"] * n,
                       "发放日期": ["2016-03-01"] * n})
    result = fundaudit.audit({"disbursements": df}, rules=[pack], period="2016")
    assert (result.findings["rule"] == "L-EVERY").sum() == n
    wb = load_workbook(result.to_excel(tmp_path / "findings.xlsx"))
    assert_inert_workbook(wb)
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value is not None]
    texts = [c.value for c in cells if isinstance(c.value, str)]
    for link in LINKS[:-1]:
        assert any(link in t for t in texts), link
    assert "名字 =cmd|' /C calc'!A0" in texts  # quoted inside the message, never at the start of a cell
    negatives = [(c.data_type, c.value) for c in cells if c.value == -5.25]
    assert negatives and set(negatives) == {("n", -5.25)}


def test_2e_zip_member_count_is_capped_before_parsing(tmp_path: Path) -> None:
    """2.E pre-parse gate: the number of parts in an .xlsx is checked from the central directory."""
    from fundaudit.errors import LimitExceededError
    from fundaudit.io import Limits, read_grids
    from tests.io import fixtures as fx

    path = fx.xlsx_table(tmp_path, [["姓名"], ["张三"]])
    with pytest.raises(LimitExceededError) as info:
        read_grids(path, limits=Limits(max_zip_members=3))
    assert info.value.code == "limit_exceeded" and info.value.fields["limit"] == "max_zip_members = 3"
    assert "zip container holds" in str(info.value.fields["what"])


def test_2h_a_reader_library_warning_becomes_a_note_and_never_reaches_the_caller(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """2.H: third-party warnings (pandas, xlrd, openpyxl, pyarrow) go into the run log, not to stderr."""
    import warnings

    import xlrd

    from fundaudit.io import read_grids
    from tests.io import fixtures as fx

    real = xlrd.open_workbook

    def noisy(*args: object, **kwargs: object) -> object:
        warnings.warn("PendingDeprecationWarning-like noise from xlrd", DeprecationWarning, stacklevel=1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(xlrd, "open_workbook", noisy)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning that escaped would fail the read
        [grid] = read_grids(fx.xls_table(tmp_path, [["姓名"], ["张三"]]))
    assert grid.cells.values.tolist() == [["姓名"], ["张三"]]
    assert sum("PendingDeprecationWarning-like noise from xlrd" in n for n in grid.notes) == 1


def test_2b_html_report_is_self_contained_behind_a_restrictive_csp() -> None:
    """2.B/2.H without a browser (tests/report/test_html_browser.py checks the same in Chromium when it is
    installed): a Content-Security-Policy forbids every load, and no tag or style points outside the file."""
    import re

    import pandas as pd

    import fundaudit
    from fundaudit.report.html import render_html

    df = pd.DataFrame({"姓名": ["<img src=http://evil.example/x.png>"], "金额": ["100"], "发放方式": ["现金"],
                       "发放日期": ["2016-03-01"]})
    html = render_html(fundaudit.audit({"disbursements": df}, period="2016"))
    [csp] = re.findall(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)">', html)
    assert csp.startswith("default-src 'none';") and "connect-src" not in csp and "http" not in csp
    assert not re.search(r"<(?:link|iframe|object|embed|img|base)\b", html, re.I)
    assert not re.search(r"""\b(?:src|href)\s*=\s*["'](?:https?:|//|file:)""", html, re.I)
    assert "@import" not in html and "url(http" not in html
    assert "&lt;img src=http://evil.example/x.png&gt;" in html
