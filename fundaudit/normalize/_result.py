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

    ``flag`` (optional, object dtype, same index) names cells whose value *was* kept but deserves a
    word in the load report (an amount with more than two decimals, rounded to fen): a reason code or
    ``None``. ``None`` for the whole Series means nothing was flagged.
    """

    values: pd.Series
    reason: pd.Series
    flag: pd.Series | None = None

    @property
    def invalid(self) -> pd.Series:
        """Boolean mask of rejected cells (a reason code is set)."""
        return self.reason.notna()

    @property
    def blank(self) -> pd.Series:
        """Boolean mask of cells that are missing without a reason (blank or a placeholder)."""
        return self.values.isna() & self.reason.isna()

    @property
    def flagged(self) -> pd.Series:
        """Boolean mask of kept-but-flagged cells (see ``flag``)."""
        if self.flag is None:
            return pd.Series(False, index=self.reason.index)
        return self.flag.notna()
