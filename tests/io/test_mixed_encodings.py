"""CSV lines in mixed encodings (issue 13, item 6): each line decoded correctly or rejected with its reason,
never garbled (a UTF-8 李四 in a GBK file is not 鏉庡洓)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fundaudit
from fundaudit.errors import UnreadableFileError
from fundaudit.io import read_grids
from fundaudit.io.delimited import _lines, _utf8_lines
from tests.io import fixtures as fx
from tests.test_conservation import assert_each_row_once

HEADER = "姓名,身份证号码,金额,发放日期\n"


def _line(name: str, amount: int) -> str:
    return f"{name},34100319800101001X,{amount},2016-03-01\n"


def test_gbk_csv_with_one_utf8_line_loads_every_name(tmp_path: Path) -> None:
    data = (HEADER + _line("张三", 100)).encode("gbk") + _line("李四", 200).encode("utf-8")
    data += (_line("王五", 300) + _line("阿依古丽·买买提", 400)).encode("gbk")
    ledger = fundaudit.load("disbursements", fx.write_bytes(tmp_path, "送温暖.csv", data))
    assert ledger.frame[["row", "recipient_name", "amount"]].values.tolist() == [
        [2, "张三", 10000], [3, "李四", 20000], [4, "王五", 30000], [5, "阿依古丽·买买提", 40000]]
    [s] = ledger.inputs
    assert s.encoding == "gb18030"
    assert [(n.code, n.fields) for n in s.notes if n.code.startswith("encoding")] == [
        ("encoding_mixed", {"rows": "3"})]


def test_a_line_in_neither_encoding_is_rejected_with_its_bytes(tmp_path: Path) -> None:
    lines = [_line(n, 100 + i) for i, n in enumerate("甲乙丙丁戊己庚辛壬癸")]
    data = HEADER.encode("gbk") + b"".join(x.encode("gbk") for x in lines[:4])
    data += b"\xff\xfe\x80,1,2,3\r\n" + b"".join(x.encode("gbk") for x in lines[4:])
    ledger = fundaudit.load("disbursements", fx.write_bytes(tmp_path, "a.csv", data))
    assert ledger.frame["recipient_name"].tolist() == list("甲乙丙丁戊己庚辛壬癸")
    assert ledger.frame["row"].tolist() == [2, 3, 4, 5, 7, 8, 9, 10, 11, 12]
    assert ledger.rejected[["row", "value", "reason", "action"]].values.tolist() == [
        [6, "\\xff\\xfe\\x80,1,2,3", "encoding_bad_line", "row_rejected"]]
    [s] = ledger.inputs
    assert (s.rows_read, s.rows_loaded, s.rows_rejected) == (11, 10, 1)
    assert len(assert_each_row_once(ledger)) == 11


def test_mostly_undecodable_text_is_still_refused_as_a_whole(tmp_path: Path) -> None:
    path = fx.write_bytes(tmp_path, "a.csv", b"name,city\n" + b"Jos\xe9,S\xe3o Paulo\xff\n" * 12)
    with pytest.raises(UnreadableFileError) as info:
        read_grids(path)
    assert info.value.code == "encoding_undetected"


@pytest.mark.parametrize(
    ("data", "expected"),
    [(b"", [False]), (b"a", [False]), ("李四".encode(), [True]), ("李四".encode("gbk"), [False]),
     (b"a\r\n" + "李".encode() + b"\rb\n", [False, True, False]), ("·".encode(), [False]),  # 2-byte only
     (b"\xe4\xb8", [False]), (b"\xe4\xb8\n\xad", [False, False]), (b"\xf0\x9f\x98\x80", [True]),
     (b"\xb8\xad", [False]), ("李".encode("gbk") + b"\xe4\n\xb8\xad" + "李".encode(), [False, False])],
)
def test_utf8_line_classifier(data: bytes, expected: list[bool]) -> None:
    starts, ends = _lines(data)
    assert _utf8_lines(np.frombuffer(data, dtype=np.uint8), starts, ends).tolist() == expected


def test_overlong_and_surrogate_forms_are_left_to_the_strict_decoder(tmp_path: Path) -> None:
    """The byte check lets ED A0 80 (a surrogate) through; the strict decoder then refuses it as UTF-8 and the
    line is read as GB18030 (or rejected), never passed on as invalid UTF-8."""
    lines = [_line(n, 100) for n in "甲乙丙丁戊己庚辛壬癸"]
    data = (HEADER + "".join(lines)).encode("gbk") + b"\xed\xa0\x80\xe4\xb8\xad,1,2,3\n" + _line("李四", 5).encode()
    ledger = fundaudit.load("disbursements", fx.write_bytes(tmp_path, "s.csv", data))
    assert ledger.frame["recipient_name"].tolist() == [*"甲乙丙丁戊己庚辛壬癸", "李四"]
    assert ledger.rejected[["row", "reason"]].values.tolist() == [[12, "encoding_bad_line"]]


# --- properties --------------------------------------------------------------------------------------------

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红娥玲燕凤洁梅琳素云莲真环雪荣爱妹霞香月莺媛"
_NAME = st.tuples(st.sampled_from(SURNAMES), st.text(st.sampled_from(GIVEN), min_size=1, max_size=2)).map("".join)
_SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_SETTINGS
@given(st.lists(st.tuples(_NAME, st.booleans()), min_size=1, max_size=25))
def test_mixed_lines_each_decoded_in_its_own_encoding(records: list[tuple[str, bool]]) -> None:
    data = HEADER.encode("gbk") + b"".join(
        _line(name, i).encode("utf-8" if utf8 else "gbk") for i, (name, utf8) in enumerate(records))
    with tempfile.TemporaryDirectory() as d:
        ledger = fundaudit.load("disbursements", fx.write_bytes(Path(d), "m.csv", data))
    assert ledger.frame["recipient_name"].tolist() == [name for name, _ in records]
    mixed = [n for n in ledger.inputs[0].notes if n.code == "encoding_mixed"]
    assert bool(mixed) == any(utf8 for _, utf8 in records)


@_SETTINGS
@given(st.lists(_NAME, min_size=1, max_size=50))
def test_gbk_ledger_lines_are_never_taken_for_utf8(names: list[str]) -> None:
    """What makes the per-line rule safe: a GBK ledger line is not valid UTF-8 with a 3-byte character."""
    data = "".join(_line(n, 100) for n in names).encode("gbk")
    starts, ends = _lines(data)
    assert not _utf8_lines(np.frombuffer(data, dtype=np.uint8), starts, ends).any()
