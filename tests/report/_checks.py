"""Checks shared by the report tests."""

from __future__ import annotations

from typing import Any

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "＝")
EXCEL_CELL_LIMIT = 32_767


def assert_inert_workbook(wb: Any) -> None:
    """No sheet of the openpyxl workbook ``wb`` has a hyperlink, a formula, or text a spreadsheet could take
    for one (formula-injection prefixes), and no text is longer than a cell holds."""
    for ws in wb.worksheets:
        assert not ws._hyperlinks, ws.title
        for row in ws.iter_rows():
            for c in row:
                assert c.data_type != "f", (ws.title, c.coordinate, c.value)
                if isinstance(c.value, str):
                    assert not c.value.startswith(FORMULA_PREFIXES), (ws.title, c.coordinate, c.value[:40])
                    assert len(c.value) <= EXCEL_CELL_LIMIT
