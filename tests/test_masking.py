"""Masking keeps the first 6 and last 4 characters of IDs and the last 4 of accounts and phones."""

import re

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from fundaudit.masking import mask_account, mask_id, mask_text


def test_mask_id() -> None:
    s = pd.Series(["11010519491231002X", "110105491231002", "", None], dtype="str")
    assert mask_id(s).tolist()[:3] == ["110105********002X", "110105*****1002", ""]
    assert pd.isna(mask_id(s).iloc[3])


def test_mask_account() -> None:
    assert mask_account(pd.Series(["6222020200112233445"], dtype="str")).iloc[0] == "*" * 15 + "3445"


@given(st.from_regex(r"[1-6][0-9]{16}[0-9X]", fullmatch=True), st.from_regex(r"[0-9]{16,19}", fullmatch=True),
       st.text(alphabet=st.characters(blacklist_categories=["Nd"]), max_size=20))
def test_mask_text_leaves_no_seven_digit_run(id_no: str, account: str, noise: str) -> None:
    out = mask_text(f"{noise}{id_no} {noise} {account}{noise}")
    assert id_no not in out
    assert account not in out
    assert not re.search(r"[0-9]{7,}", out)


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
