"""Register-matching check types: each payment read against the recipient's register files.

Implemented in ``fundaudit/engine/checks/register_match.py``; tested in ``tests/checks/test_register_match.py``.
"""

from __future__ import annotations

from fundaudit.rules.spec import Arg, Signature

__all__ = ["HARDSHIP_CATEGORIES", "SIGNATURES"]

HARDSHIP_CATEGORIES = ["深度困难", "相对困难", "意外致困"]

_MATCH = ("id_no", "file_no")
_FALLBACK = ("file_no", "id_no", "none")


def _sig_match(name: str, doc: str, *, fields: tuple[str, ...] = (), **args: Arg) -> Signature:
    """A check that reads payments against the register: ``args`` plus the two matching keys."""
    return Signature(name, doc, {**args, **_match_args()}, fields=("matched_on", "register_file_no", *fields))


def _match_args() -> dict[str, Arg]:
    """How a payment finds its register files: the key, and the key tried when the first finds none."""
    return {
        "match_on": Arg("choice", default="id_no", choices=_MATCH, doc="register key tried first"),
        "fallback_on": Arg(
            "choice",
            default="file_no",
            choices=_FALLBACK,
            doc="key tried when the first finds no file (file_no only where the IDs cannot disagree)",
        ),
    }


SIGNATURES: list[Signature] = [
    _sig_match(
        "paid_after_exit",
        "Was the recipient paid after every one of their files was closed (脱困, 撤档, death)?",
        fields=("exit_date", "exit_reason", "status"),
        grace_days=Arg("int", default=0, low=0),
    ),
    _sig_match(
        "category_matches_file",
        "Does the paid hardship category match the category of the file in force on the payment date?",
        fields=("file_category",),
        category_map=Arg("mapping", default={}, doc="paid category -> register categories accepted for it"),
        hardship_categories=Arg("values", default=HARDSHIP_CATEGORIES),
    ),
]
