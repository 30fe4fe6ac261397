"""Identity check types: resident IDs (GB 11643).

Implemented in ``fundaudit/engine/checks/identity.py``; tested in ``tests/checks/test_identity.py``.
"""

from __future__ import annotations

from fundaudit.rules.spec import Arg, Signature, signature

__all__ = ["SIGNATURES"]

SIGNATURES: list[Signature] = [
    signature(
        "resident_id",
        "Does the resident ID pass GB 11643 (18 characters, check character, real birth date), "
        "and is the person's age on the date (default: the end of the audit period) in range?",
        fields=("age", "birth", "id_status", "problem", "problem_en"),
        column=Arg("column", True, types=("resident_id",)),
        date=Arg("column", types=("date",), doc="age at this date; default the end of the audit period"),
        age_range=Arg("values", default=[16, 100], items="int", low=0, high=150, length=2, ascending=True),
        allow_15_digit=Arg("bool", default=False),
    ),
]
