"""The result type every normaliser returns."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

__all__ = ["Parsed"]


@dataclass(frozen=True)
class Parsed:
    """Typed values plus, per row, why a value could not be used.

    ``values`` has the canonical dtype and the input's index; it is missing (``<NA>``/``NaT``) both
    where the cell was blank and where it was rejected. ``reason`` (object dtype, same index) is
    ``None`` for fine or blank cells and a reason code from the ``reasons`` section of the message
    catalogue otherwise, so "blank" and "rejected" stay distinguishable.
    """

    values: pd.Series
    reason: pd.Series

    @property
    def invalid(self) -> pd.Series:
        """Boolean mask of rejected cells (a reason code is set)."""
        return self.reason.notna()

    @property
    def blank(self) -> pd.Series:
        """Boolean mask of cells that are missing without a reason (blank or a placeholder)."""
        return self.values.isna() & self.reason.isna()
