"""Masking keeps the first 6 and last 4 characters of IDs and the last 4 of accounts and phones."""

import re

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from fundaudit.report.masking import mask_account, mask_id, mask_text


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
