"""Points of the reliability.md §2 security checklist that had no test of their own (the rest are mapped to
their tests in docs/reliability-coverage.md). A strict xfail marks a gap found here."""

from __future__ import annotations

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
    old = os.umask(0o022)
    try:
        code = main(["audit", "--ledger", f"disbursements={src}", "--out", str(out),
                     "--format", "html,xlsx,json,junit", "--fail-on", "never", "--quiet"])
    finally:
        os.umask(old)
    assert code == 0
    modes = {name: stat.S_IMODE((out / name).stat().st_mode) for name in REPORT_FILES.values()}
    assert modes == dict.fromkeys(REPORT_FILES.values(), 0o600)


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


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="2.C: a pack that starts with a %YAML 1.1 directive gets YAML 1.1 booleans, and "
    "fundaudit/rules/located.py _scalar maps every bool-tagged word other than 'true' to False: "
    "'negate: yes' silently becomes negate: false (the check inverted). Refuse the 1.1 directive or map "
    "yes/on/y to True",
)
def test_2c_yaml_1_1_yes_is_never_read_as_false() -> None:
    pack = parse_pack("%YAML 1.1\n---\n" + GOOD.replace("negate: true", "negate: yes"), source="p.yaml")
    assert pack.rules[0].args["negate"] is True
