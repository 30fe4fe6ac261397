"""Masking keeps the first 6 and last 4 characters of IDs and the last 4 of accounts and phones, in every form
people write them, and leaves amounts, dates, hashes, codes and counts alone."""

import io
import re
import sys
import unicodedata

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fundaudit.masking import MaskedStreams, mask_account, mask_data, mask_id, mask_series, mask_text


def test_mask_id() -> None:
    s = pd.Series(["11010519491231002X", "110105491231002", "", None], dtype="str")
    assert mask_id(s).tolist()[:3] == ["110105********002X", "110105*****1002", ""]
    assert pd.isna(mask_id(s).iloc[3])


def test_mask_account() -> None:
    assert mask_account(pd.Series(["6222020200112233445"], dtype="str")).iloc[0] == "*" * 15 + "3445"


def test_error_messages_mask_quoted_data_but_not_where(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    """A headerless file's first row is quoted in the error: masked unless --unmask; the file name is kept."""
    from fundaudit.cli import main

    src = tmp_path / "20161231.csv"
    src.write_text("34100319800101001X,6222020200112233445,13912345678\n", encoding="utf-8")
    assert main(["audit", str(src), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "341003********001X" in err and "***************3445" in err and "*******5678" in err
    assert "34100319800101001X" not in err and "6222020200112233445" not in err and "13912345678" not in err
    assert "20161231.csv" in err
    assert main(["audit", str(src), "--out", str(tmp_path / "o"), "--unmask", "--lang", "en"]) == 2
    assert "34100319800101001X" in capsys.readouterr().err


@pytest.mark.parametrize(("text", "masked"), [
    ("身份证34100319800101001X号", "身份证341003********001X号"),
    ("３４１００３１９８００１０１００１Ｘ", "３４１００３********００１Ｘ"),  # full-width digits and X
    ("341003 19800101 001X", "341003 ******** 001X"),  # split by spaces
    ("341003\u300019800101\u3000001x", "341003\u3000********\u3000001x"),  # ideographic space, lower-case x
    ("341003-1980-0101-001X", "341003-****-****-001X"),
    ("3410 0319 8001 0100 1X", "3410 03** **** **00 1X"),  # grouped by 4, the X alone in the last group
    ("3410031980O101001X", "341003********001X"),  # the letter O typed for a zero: still an ID
    ("34100319801301001X", "341003********001X"),  # no such birth date: still an ID
    ("341003198013010019", "**************0019"),  # all digits, no birth date: an account or a code, last 4 kept
    ("110105491231002", "110105*****1002"),  # a 15-digit legacy ID
    ("ID34100319800101001X", "ID341003********001X"),  # glued to a label
    ("电话138-1234-5678", "电话***-****-5678"),
    ("+86 138 1234 5678", "+** *** **** 5678"),
    ("0086 13812345678", "**** *******5678"),
    ("138.1234.5678", "***.****.5678"),
    ("１３８\u00a0１２３４\u00a0５６７８", "***\u00a0****\u00a0５６７８"),  # NBSP
    ("Tel:13812345678", "Tel:*******5678"),
    ("０５５１－６２３４５６７８", "****－****５６７８"),  # a landline with its area code, full-width dash
    ("010-12345678", "***-****5678"),
    ("(0551) 6234 5678", "(****) **** 5678"),
    ("（0551）62345678", "（****）****5678"),
    ("卡号 6222 0202 0011 2233 445", "卡号 **** **** **** ***3 445"),
    ("6222‐0202‐0011‐2233", "****‐****‐****‐2233"),  # U+2010 hyphen
    ("6222020200112233445,13912345678", "***************3445,*******5678"),
    ("913401001234567890", "**************7890"),  # an all-digit 18 without a birth date: a code or an account
    ("913401198001017890", "913401********7890"),  # … with one: cannot be told from a resident ID
])
def test_every_written_form_is_masked(text: str, masked: str) -> None:
    assert mask_text(text) == masked


@pytest.mark.parametrize("text", [
    "金额 1,234,567.00 元", "12345678.90", "13812345678.50", "0.13812345678",  # amounts, decimals
    "2016-03-01", "20160301", "20160101-20161231", "2016-01-01..2016-12-31", "2016-03-01 12:30",  # dates
    "export_20160301123045.xls",  # a timestamp
    "sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "fp 1234567890abcdef1234",  # hashes
    "row 1234567", "rows 12, 15, 17", "读取 1000000 = 载入 999990 + 拒收 10",  # counts and row numbers
    "  1  3500  3400  100  0  ", "1 3500 3400 100 0",  # a table of counts
    "DISB-ID", "F000001", "LT-REMARK",  # rule and finding ids
    "91340100MA2N0XXXX1", "9134100368500322XG", "91341003694313596W",  # social credit codes with a letter
    "62345678",  # a local number without its area code: the shape of an amount or a date
])
def test_amounts_dates_hashes_codes_and_counts_are_left_alone(text: str) -> None:
    assert mask_text(text) == text


def test_a_code_the_text_quotes_stays_unless_it_is_shaped_like_an_id_or_a_phone() -> None:
    """An e-voucher number is 18 digits: masked in free text, kept when the finding says it is a code."""
    text = "电子税票号码 334103116100001396 重复"
    assert mask_text(text) == "电子税票号码 **************1396 重复"
    assert mask_text(text, codes={"334103116100001396"}) == text
    assert mask_text("档案 34100319800101001X", codes={"34100319800101001X"}) == "档案 341003********001X"
    assert mask_text("编号 13812345678", codes={"13812345678"}) == "编号 *******5678"


_SEPARATORS = [" ", "-", "\u3000", "\u00a0", "\u2010", "\uff0d"]
_FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")


@st.composite
def _written(draw: st.DrawFn) -> tuple[str, str, str]:
    """(what a person wrote, its plain digits, the digits a masked text may still show), in a random form."""
    kind = draw(st.sampled_from(["id", "id15", "mobile", "card"]))
    if kind == "id":
        plain = draw(st.from_regex(r"[1-6][0-9]{5}(19|20)[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|1[0-9]|2[0-8])[0-9]{3}[0-9X]",
                                   fullmatch=True))
        groups, shown = [6, 8, 4], plain[:6] + plain[-4:]
    elif kind == "id15":
        plain = draw(st.from_regex(r"[1-6][0-9]{7}(0[1-9]|1[0-2])(0[1-9]|1[0-9]|2[0-8])[0-9]{3}", fullmatch=True))
        groups, shown = [6, 6, 3], plain[:6] + plain[-4:]
    elif kind == "mobile":
        plain = draw(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True))
        groups, shown = [3, 4, 4], plain[-4:]
    else:
        plain = draw(st.from_regex(r"[3-6]([0-9]{15}|[0-9]{16}|[0-9]{18})", fullmatch=True))
        groups, shown = [4] * (len(plain) // 4) + ([len(plain) % 4] if len(plain) % 4 else []), plain[-4:]
        if groups[-1] < 2:  # a last group of one digit is not how cards are written
            groups = [*groups[:-2], groups[-2] + groups[-1]]
    sep = draw(st.sampled_from(["", *_SEPARATORS]))
    parts, at = [], 0
    for g in groups:
        parts.append(plain[at: at + g])
        at += g
    written = sep.join(parts)
    if draw(st.booleans()):
        written = written.translate(_FULL_WIDTH)
    if kind == "mobile" and draw(st.booleans()):
        written = "+86 " + written  # the country code is hidden too
    return written, plain, shown


_NOISE = st.text(alphabet=st.characters(blacklist_categories=["Nd", "Lu", "Ll", "Lt", "Lm"],
                                        blacklist_characters="._"), max_size=12)


def _digits(text: str) -> str:
    return "".join(str(unicodedata.digit(c)) if c.isdecimal() else "X" for c in text if c.isdecimal() or c in "XxＸｘ")


@given(_written(), _NOISE, _NOISE)
def test_masked_text_shows_only_the_kept_digits(number: tuple[str, str, str], before: str, after: str) -> None:
    """Whatever the form and the text around it, only the contract's kept digits survive."""
    written, _plain, shown = number
    out = mask_text(f"{before} {written} {after}")
    assert _digits(out) == shown
    assert mask_text(out) == out  # masking twice changes nothing


@given(st.sampled_from(["1,234,567.00", "12345678.90", "2016-03-01", "20160301", "1234567",
                        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "DISB-ID"]),
       _NOISE, _NOISE)
def test_amounts_dates_and_hashes_survive_in_any_text(value: str, before: str, after: str) -> None:
    text = f"{before} {value} {after}"
    assert mask_text(text) == text


def test_series_masked_once_per_distinct_value(monkeypatch: pytest.MonkeyPatch) -> None:
    from fundaudit import masking

    calls: list[str] = []
    real = masking.mask_text
    monkeypatch.setattr(masking, "mask_text", lambda t, **kw: calls.append(t) or real(t, **kw))
    s = pd.Series(["电话 13812345678", "无", None, "电话 13812345678"] * 250_000, dtype=object)
    out = mask_series(s)
    assert out.iloc[:4].tolist() == ["电话 *******5678", "无", None, "电话 *******5678"]
    assert len(out) == 1_000_000
    assert calls == ["电话 13812345678"]  # "无" cannot hold a number: not even looked at in Python
    plain = pd.Series(["无", "1,234.00"])
    assert mask_series(plain) is plain


def test_nested_data_masked_with_hashes_and_notes() -> None:
    from fundaudit.errors import note

    data = {"file": "送温暖_341003-19800202-0036.xlsx", "sha256": "1234567890123456789",
            "columns": {"电话13812345678": "phone"}, "rows": 3,
            "notes": [note("hidden_rows", sheet="明细 138 1234 5678", count=3)]}
    got = mask_data(data)
    assert got["file"] == "送温暖_341003-********-0036.xlsx"
    assert got["sha256"] == "1234567890123456789"
    assert got["columns"] == {"电话*******5678": "phone"}
    assert got["notes"][0].render("zh") == "工作表 明细 *** **** 5678 有 3 个隐藏行，与其他行一样读取"
    assert got["notes"][0].code == "hidden_rows"
    untouched = {"a": ["b", 1]}
    assert mask_data(untouched) is untouched


def test_audit_result_masks_what_is_set_on_it() -> None:
    """A writer cannot forget: findings, run and rules set on a masked result are masked as they are set."""
    from fundaudit.run import AuditResult

    findings = pd.DataFrame({"id": ["F000001"], "fingerprint": ["12345678901234567890"], "rule": ["X-1"],
                             "message": ["张三 13812345678"], "message_en": ["Zhang 138 1234 5678"],
                             "values": [{"remark": "卡号 6222 0202 0011 2233 445"}],
                             "refs": [[{"kind": "disbursements", "file": "34100319800101001X.csv", "sheet": None,
                                        "row": 2}]]})
    result = AuditResult(ledgers={}, run={"argv": ["fundaudit", "audit", "34100319800101001X.csv"]})
    result.findings = findings
    f = result.findings
    assert f.loc[0, "message"] == "张三 *******5678"
    assert f.loc[0, "message_en"] == "Zhang *** **** 5678"
    assert f.loc[0, "values"] == {"remark": "卡号 **** **** **** ***3 445"}
    assert f.loc[0, "refs"] == [{"kind": "disbursements", "file": "341003********001X.csv", "sheet": None, "row": 2}]
    assert f.loc[0, "fingerprint"] == "12345678901234567890"
    assert result.run["argv"] == ["fundaudit", "audit", "341003********001X.csv"]
    assert findings.loc[0, "message"] == "张三 13812345678"  # the frame given is not changed
    unmasked = AuditResult(ledgers={}, run={}, masked=False)
    unmasked.findings = findings
    assert unmasked.findings is findings


def test_streams_masked_line_by_line_and_let_through_when_unmasked() -> None:
    saved = sys.stdout
    sys.stdout = buf = io.StringIO()
    try:
        with MaskedStreams() as streams:
            print("电话 138", "1234", "5678", sep=" ")  # one number written in pieces
            sys.stdout.write("no newline 13812345678")
            sys.stdout.flush()
            streams.masked = False
            print("\n13812345678")
    finally:
        sys.stdout = saved
    assert buf.getvalue() == "电话 *** **** 5678\nno newline *******5678\n13812345678\n"


def test_error_on_stderr_quoting_a_full_width_id_is_masked(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    from fundaudit.cli import main

    src = tmp_path / "341003-19800202-0036.csv"
    src.write_text("３４１００３１９８００１０１００１Ｘ,6222 0202 0011 2233 445,139-1234-5678\n", encoding="utf-8")
    assert main(["audit", str(src), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "３４１００３********００１Ｘ" in err and "**** **** **** ***3 445" in err and "***-****-5678" in err
    assert "341003-********-0036.csv" in err
    assert re.findall(r"[0-9０-９]{5,}", err) == ["341003", "３４１００３"]
    assert main(["audit", str(src), "--out", str(tmp_path / "o"), "--unmask"]) == 2
    assert "３４１００３１９８００１０１００１Ｘ" in capsys.readouterr().err


def test_usage_errors_are_masked_too(capsys) -> None:  # type: ignore[no-untyped-def]
    from fundaudit.cli import main

    with pytest.raises(SystemExit):
        main(["audit", "x.csv", "--fail-on", "13812345678"])
    err = capsys.readouterr().err
    assert "*******5678" in err and "13812345678" not in err
