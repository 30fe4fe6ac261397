"""End to end: a finance system's HTML ".xls" (GBK, a title line before the table) and SpreadsheetML ".xls" are
audited exactly like the same ledger saved as .xlsx: same rows, same findings."""

from __future__ import annotations

import html
import json
import shutil
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from fundaudit.cli import main
from fundaudit.io import Grid, read_grids

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
TITLE_LINES = 2  # the sample's title and 编制单位 rows: written as paragraphs above the HTML table


def _sample_sheet() -> Grid:
    [grid] = read_grids(SAMPLES / "disbursements_2016.xlsx", sheet="送温暖")
    return grid


def _as_xlsx(grid: Grid, path: Path) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "送温暖"
    for row in grid.cells.itertuples(index=False):
        ws.append([v if v != "" else None for v in row])
    for r0, r1, c0, c1 in grid.merged:
        ws.merge_cells(start_row=r0 + 1, end_row=r1 + 1, start_column=c0 + 1, end_column=c1 + 1)
    wb.save(path)
    return path


def _as_html(grid: Grid, path: Path) -> Path:
    spans = {(r0, c0): (r1 - r0 + 1, c1 - c0 + 1) for r0, r1, c0, c1 in grid.merged if r0 >= TITLE_LINES}
    covered = {(r, c) for (r0, c0), (rs, cs) in spans.items() for r in range(r0, r0 + rs) for c in range(c0, c0 + cs)}
    values = grid.cells.values.tolist()
    parts = [f"<p>{html.escape(values[r][0])}</p>\n" for r in range(TITLE_LINES)]
    parts.append('<table border="1">\n')
    for r in range(TITLE_LINES, len(values)):
        cells = []
        for c, v in enumerate(values[r]):
            if (r, c) in covered and (r, c) not in spans:
                continue
            rs, cs = spans.get((r, c), (1, 1))
            attrs = (f' rowspan="{rs}"' if rs > 1 else "") + (f' colspan="{cs}"' if cs > 1 else "")
            cells.append(f"<td{attrs} style=\"mso-number-format:'\\@'\">{html.escape(v)}</td>")
        parts.append(" <tr>" + "".join(cells) + "</tr>\n")
    parts.append("</table>\n")
    page = ('<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312"></head><body>\n'
            + "".join(parts) + "</body></html>\n")
    path.write_bytes(page.encode("gb18030"))
    return path


def _as_spreadsheetml(grid: Grid, path: Path) -> Path:
    merges = {(r0, c0): (r1 - r0, c1 - c0) for r0, r1, c0, c1 in grid.merged}
    rows = []
    for r, values in enumerate(grid.cells.values.tolist()):
        cells = []
        for c, v in enumerate(values):
            down, across = merges.get((r, c), (0, 0))
            if v == "" and not (down or across):
                continue
            attrs = f' ss:Index="{c + 1}"'
            attrs += f' ss:MergeAcross="{across}"' if across else ""
            attrs += f' ss:MergeDown="{down}"' if down else ""
            data = f'<Data ss:Type="String">{html.escape(v)}</Data>' if v != "" else ""
            cells.append(f"<Cell{attrs}>{data}</Cell>")
        rows.append(f'<Row ss:Index="{r + 1}">' + "".join(cells) + "</Row>")
    xml = ('<?xml version="1.0" encoding="UTF-8"?>\n<?mso-application progid="Excel.Sheet"?>\n'
           '<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet" '
           'xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet"><Worksheet ss:Name="送温暖"><Table>'
           + "".join(rows) + "</Table></Worksheet></Workbook>\n")
    path.write_text(xml, encoding="utf-8")
    return path


def _audit(folder: Path, out: Path) -> dict[str, Any]:
    code = main(["audit", str(folder), "--out", str(out), "--format", "json,xlsx,html", "--period", "2016"])
    assert code == 1  # the sample has error findings
    result: dict[str, Any] = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    return result


def _comparable(result: dict[str, Any]) -> list[tuple[Any, ...]]:
    return sorted(
        (f["rule"], f["severity"], f["amount"], f["message_en"].replace("发放.xlsx", "发放.xls"),
         tuple((r["kind"], r["row"]) for r in f["refs"]))
        for f in result["findings"]
    )


@pytest.mark.parametrize("form", ["html", "spreadsheetml"])
def test_html_and_xml_xls_give_the_same_findings_as_xlsx(tmp_path: Path, form: str) -> None:
    grid = _sample_sheet()
    a, b = tmp_path / "xlsx", tmp_path / form
    for folder in (a, b):
        folder.mkdir()
        for ref in ("register_2016.csv", "staff.csv"):
            shutil.copy(SAMPLES / ref, folder / ref)
    _as_xlsx(grid, a / "发放.xlsx")
    (_as_html if form == "html" else _as_spreadsheetml)(grid, b / "发放.xls")
    want, got = _audit(a, tmp_path / "out-xlsx"), _audit(b, tmp_path / f"out-{form}")
    [inp] = [i for i in got["inputs"] if i["kind"] == "disbursements"]
    [ref] = [i for i in want["inputs"] if i["kind"] == "disbursements"]
    assert inp["format"] == form
    assert inp["file"] == "发放.xls"
    assert inp["notes"][0] == "发放.xls is named .xls but its content is " + (
        "an HTML table" if form == "html" else "an Excel 2003 XML Spreadsheet (SpreadsheetML)"
    ) + "; it was read by its content"
    keys = ("header_row", "rows_read", "rows_loaded", "rows_rejected", "rows_non_data", "amount_total", "title")
    assert {k: inp[k] for k in keys} == {k: ref[k] for k in keys}
    assert (inp["header_row"], inp["rows_read"]) == (4, 212)
    assert len(want["findings"]) == 39  # the sample sheet with its register and staff list
    assert _comparable(got) == _comparable(want)
    assert [(r["row"], r["reason"]) for r in got["rejected_rows"]] == [
        (r["row"], r["reason"]) for r in want["rejected_rows"]
    ]
