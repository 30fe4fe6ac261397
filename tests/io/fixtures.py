"""Builders for every reader fixture: real workbooks written by xlwt/openpyxl/xlsxwriter, zip rewrites, and
byte-level text files. Each builder writes into the directory it is given and returns the path."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

ID_TEXT = "110101199003077777"  # an 18-digit ID stored as text: every digit must survive
ID_NUMBER = 110101199003071234.0  # the same kind of ID typed as a number: already damaged in the file
SHEET_XML = "xl/worksheets/sheet1.xml"


# --- .xls (xlwt, BIFF8) --------------------------------------------------------------------------------


def xls_ledger(directory: Path, name: str = "ledger.xls") -> Path:
    """A 送温暖 ledger as Chinese finance offices export it.

    Row 1: merged title (A1:F1). Row 3: 发放情况 merged over D3:E3; row 4: sub-headers. Rows 5-7: data, with
    an ID typed as a number in C5, a date-formatted D5, an error cell F6, a boolean F7; row 7 is hidden.
    Row 9: 合计 with a SUM formula that has no cached value. A second sheet 隐藏 is hidden.
    """
    import xlwt

    date_style = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    time_style = xlwt.easyxf(num_format_str="YYYY-MM-DD HH:MM:SS")
    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet("明细")
    ws.write_merge(0, 0, 0, 5, "2016年第一季度送温暖发放明细表")
    ws.write(2, 0, "序号")
    ws.write(2, 1, "姓名")
    ws.write(2, 2, "身份证号")
    ws.write_merge(2, 2, 3, 4, "发放情况")
    ws.write(3, 3, "日期")
    ws.write(3, 4, "金额")
    ws.write(4, 0, 1)
    ws.write(4, 1, " 张三 ")
    ws.write(4, 2, ID_NUMBER)
    ws.write(4, 3, dt.date(2016, 3, 1), date_style)
    ws.write(4, 4, 800.0)
    ws.write(5, 0, 2)
    ws.write(5, 1, "阿依古丽·买买提")
    ws.write(5, 2, ID_TEXT)
    ws.write(5, 3, dt.datetime(2016, 3, 2, 8, 30), time_style)
    ws.write(5, 4, 1234.5)
    ws.row(5).set_cell_error(5, "#DIV/0!")
    ws.write(6, 0, 3)
    ws.write(6, 1, "李四")
    ws.write(6, 3, 20160301.0)
    ws.write(6, 4, -0.5)
    ws.row(6).set_cell_boolean(5, True)
    ws.row(6).hidden = True
    ws.write(8, 0, "合计")
    ws.write(8, 4, xlwt.Formula("SUM(E5:E7)"))
    hidden = wb.add_sheet("隐藏")
    hidden.visibility = 1
    hidden.write(0, 0, "备注")
    path = directory / name
    wb.save(str(path))
    return path


def xls_1904(directory: Path, name: str = "mac.xls") -> Path:
    """A workbook in the 1904 date system: date cells, a time-only cell, serial 60, a plain number."""
    import xlwt

    date_style = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    time_style = xlwt.easyxf(num_format_str="HH:MM:SS")
    wb = xlwt.Workbook(encoding="utf-8")
    wb.dates_1904 = True
    ws = wb.add_sheet("日期")
    ws.write(0, 0, dt.date(2016, 3, 1), date_style)
    ws.write(1, 0, 60.0, date_style)
    ws.write(2, 0, dt.time(8, 30), time_style)
    ws.write(3, 0, 42430.0)
    path = directory / name
    wb.save(str(path))
    return path


def xls_1900_serials(directory: Path, name: str = "serials.xls") -> Path:
    """1900-system date cells around the Lotus phantom day: serials 1, 59, 60, 61, 0.5."""
    import xlwt

    date_style = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet("s")
    for r, v in enumerate([1.0, 59.0, 60.0, 61.0, 0.5, 42430.75]):
        ws.write(r, 0, v, date_style)
    path = directory / name
    wb.save(str(path))
    return path


def xls_table(directory: Path, rows: list[list[object]], name: str = "table.xls") -> Path:
    """A plain one-sheet ``.xls`` with ``rows`` written from A1 (None cells left empty)."""
    import xlwt

    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet("Sheet1")
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is not None:
                ws.write(r, c, value)
    path = directory / name
    wb.save(str(path))
    return path


# --- .xlsx (openpyxl, xlsxwriter) ----------------------------------------------------------------------


def xlsx_openpyxl(directory: Path, name: str = "ledger.xlsx") -> Path:
    """Table starting at C3 with merged cells, text-stored IDs, numbers, dates, a hidden row and sheet."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "明细"
    ws["C3"], ws["D3"], ws["E3"], ws["F3"] = "姓名", "身份证号", "金额", "日期"
    ws["C4"], ws["D4"], ws["E4"], ws["F4"] = "张三", ID_TEXT, 800, dt.date(2016, 3, 1)
    ws["C5"], ws["D5"], ws["E5"], ws["F5"] = " 李四\u3000", "00123", 1234.5, dt.datetime(2016, 3, 1, 8, 30)
    ws["C6"], ws["D6"], ws["E6"] = "王五", ID_NUMBER, 20160301
    ws["F6"] = dt.time(14, 5, 9)
    ws["C7"], ws["E7"] = "合计", 2054.5
    ws["G4"] = True
    ws["C9"] = "单位"
    ws.merge_cells("C9:D10")
    ws.row_dimensions[6].hidden = True
    hidden = wb.create_sheet("隐藏")
    hidden.sheet_state = "hidden"
    hidden["A1"] = "x"
    very = wb.create_sheet("很隐藏")
    very.sheet_state = "veryHidden"
    path = directory / name
    wb.save(path)
    return path


def xlsx_xlsxwriter(directory: Path, name: str = "xw.xlsx") -> Path:
    """xlsxwriter: two-level merged header, error cells written as formulas with error values, dates."""
    import xlsxwriter

    path = directory / name
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("送温暖")
    date_format = wb.add_format({"num_format": "yyyy-mm-dd"})
    ws.merge_range("A1:D1", "2016年送温暖发放表")
    ws.write("A2", "姓名")
    ws.merge_range("B2:C2", "发放情况")
    ws.write("B3", "金额")
    ws.write("C3", "日期")
    ws.write_string("A4", "张三")
    ws.write_number("B4", 500)
    ws.write_datetime("C4", dt.datetime(2016, 3, 1), date_format)
    ws.write_string("D4", ID_TEXT)
    ws.write_string("A5", "李四")
    ws.write_formula("B5", "=1/0", None, "#DIV/0!")
    ws.write_formula("C5", "=NA()", None, "#N/A")
    ws.write("A6", "合计")
    ws.write_formula("B6", "=SUM(B4:B5)", None, 500)
    ws.set_row(4, None, None, {"hidden": True})
    other = wb.add_worksheet("备查")
    other.write("A1", "备注")
    other.hide()
    wb.close()
    return path


def xlsx_table(directory: Path, rows: list[list[object]], name: str = "table.xlsx") -> Path:
    """A plain one-sheet ``.xlsx`` (openpyxl) with ``rows`` written from A1 (None cells left empty)."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row, start=1):
            if value is not None:
                ws.cell(row=r, column=c, value=value)
    path = directory / name
    wb.save(path)
    return path


def rewrite_zip(
    src: Path, dst: Path, edits: dict[str, Callable[[bytes], bytes]], compression: int = zipfile.ZIP_DEFLATED
) -> Path:
    """Copy a zip, passing the members named in ``edits`` through their function."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", compression) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename in edits:
                data = edits[info.filename](data)
            zout.writestr(info.filename, data)
    return dst


def xlsx_error_cells(directory: Path) -> Path:
    """An openpyxl workbook whose sheet XML is rewritten to hold error cells and a formula without value."""
    src = xlsx_table(
        directory, [["姓名", "金额", "比例"], ["张三", 1, 2], ["李四", 3, 4], ["合计", 4, 6]], name="plain.xlsx"
    )

    def edit(xml: bytes) -> bytes:
        text = xml.decode()
        text = text.replace('<c r="B2" t="n"><v>1</v></c>', '<c r="B2" t="e"><v>#DIV/0!</v></c>')
        text = text.replace('<c r="C3" t="n"><v>4</v></c>', '<c r="C3" t="e"><v>#REF!</v></c>')
        text = text.replace('<c r="B4" t="n"><v>4</v></c>', '<c r="B4"><f>SUM(B2:B3)</f><v/></c>')
        text = text.replace('<c r="C4" t="n"><v>6</v></c>', '<c r="C4" t="e"><f>C2/0</f><v>#N/A</v></c>')
        return text.encode()

    return rewrite_zip(src, directory / "errors.xlsx", {SHEET_XML: edit})


def xlsx_bomb(directory: Path, rows: int = 2_000_000) -> Path:
    """A small xlsx whose sheet XML is rewritten to ``rows`` rows of one number (≈156 KB → 64 MB)."""
    src = xlsx_table(directory, [["金额"], [1]], name="seed.xlsx")

    def edit(xml: bytes) -> bytes:
        head, _, rest = xml.partition(b"<sheetData>")
        _, _, tail = rest.partition(b"</sheetData>")
        body = b'<row><c t="n"><v>1</v></c></row>' * rows
        return head + b"<sheetData>" + body + b"</sheetData>" + tail

    return rewrite_zip(src, directory / "bomb.xlsx", {SHEET_XML: edit})


ENTITY_PAYLOADS = {
    "internal": (b'<!DOCTYPE worksheet [<!ENTITY e "INJECTED">]>', b"&e;"),
    "billion_laughs": (
        b'<!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
        b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>',
        b"&d;",
    ),
    "external": (b'<!DOCTYPE worksheet [<!ENTITY xxe SYSTEM "file:///etc/hostname">]>', b"&xxe;"),
}


def xlsx_entities(directory: Path, kind: str, part: str = SHEET_XML) -> Path:
    """A workbook whose ``part`` declares a DTD with entities (``kind`` from ``ENTITY_PAYLOADS``)."""
    src = xlsx_table(directory, [["姓名"], ["PLACEHOLDER"]], name=f"seed-{kind}.xlsx")
    doctype, reference = ENTITY_PAYLOADS[kind]

    def edit(xml: bytes) -> bytes:
        if xml.startswith(b"<?xml"):
            decl_end = xml.index(b"?>") + 2
            xml = xml[:decl_end] + doctype + xml[decl_end:]
        else:
            xml = doctype + xml
        return xml.replace(b"PLACEHOLDER", reference)

    return rewrite_zip(src, directory / f"entity-{kind}.xlsx", {part: edit})


def xlsx_strict(directory: Path) -> Path:
    """An approximate Strict Open XML workbook: transitional namespaces swapped for purl.oclc.org ones."""
    src = xlsx_table(directory, [["姓名", "金额"], ["张三", 800]], name="transitional.xlsx")
    swaps = {
        b"http://schemas.openxmlformats.org/spreadsheetml/2006/main": b"http://purl.oclc.org/ooxml/spreadsheetml/main",
        b"http://schemas.openxmlformats.org/officeDocument/2006/relationships": b"http://purl.oclc.org/ooxml/officeDocument/relationships",
    }

    def edit(xml: bytes) -> bytes:
        for old, new in swaps.items():
            xml = xml.replace(old, new)
        return xml

    with zipfile.ZipFile(src) as z:
        names = [n for n in z.namelist() if n.endswith((".xml", ".rels")) and "Content_Types" not in n]
    return rewrite_zip(src, directory / "strict.xlsx", dict.fromkeys(names, edit))


def xlsx_encrypted(directory: Path) -> Path:
    """A password-protected xlsx (OOXML agile encryption inside an OLE2 container)."""
    from msoffcrypto.format.ooxml import OOXMLFile

    src = xlsx_table(directory, [["姓名"], ["张三"]], name="plain-for-encryption.xlsx")
    dst = directory / "encrypted.xlsx"
    with src.open("rb") as fin, dst.open("wb") as fout:
        OOXMLFile(fin).encrypt("pw", fout)
    return dst


def truncate(src: Path, dst: Path, keep: float = 0.6) -> Path:
    """The first ``keep`` fraction of ``src``'s bytes, as an interrupted download leaves it."""
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * keep)])
    return dst


# --- text and other bytes ------------------------------------------------------------------------------


def write_bytes(directory: Path, name: str, data: bytes) -> Path:
    path = directory / name
    path.write_bytes(data)
    return path


HTML_AS_XLS = (
    b'<html xmlns:o="urn:schemas-microsoft-com:office:office" xmlns:x="urn:schemas-microsoft-com:office:excel">'
    b'<head><meta charset="gbk"></head><body><table><tr><td>\xd0\xd5\xc3\xfb</td></tr></table></body></html>'
)
SPREADSHEETML = (
    b'<?xml version="1.0"?>\n<?mso-application progid="Excel.Sheet"?>\n'
    b'<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet" '
    b'xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet"><Worksheet ss:Name="Sheet1"><Table><Row>'
    b'<Cell><Data ss:Type="String">x</Data></Cell></Row></Table></Worksheet></Workbook>'
)
MHTML = (
    b"MIME-Version: 1.0\r\nX-Document-Type: Workbook\r\n"
    b'Content-Type: multipart/related; boundary="----=_NextPart"\r\n\r\n------=_NextPart\r\n'
)
TSV_GBK = "姓名\t金额\t身份证号\n张三\t800\t110101199003077777\n".encode("gbk")


# --- HTML tables and SpreadsheetML 2003 saved as ".xls" (what finance and tax systems export) -------------


def html_page(body: str, *, charset: str | None = "gbk", encoding: str = "gbk", bom: bytes = b"") -> bytes:
    """An Excel-style HTML page around ``body``; ``charset`` is what the page declares, ``encoding`` what it is."""
    meta = f'<meta http-equiv="Content-Type" content="text/html; charset={charset}">' if charset else ""
    page = (
        '<html xmlns:o="urn:schemas-microsoft-com:office:office" xmlns:x="urn:schemas-microsoft-com:office:excel">\n'
        f"<head>{meta}<title>导出</title><style>td {{ mso-number-format:\\@; }}</style>"
        "<script>document.write('<tr><td>x</td></tr>')</script></head>\n"
        f"<body>\n{body}\n</body></html>\n"
    )
    return bom + page.encode(encoding)


HTML_LEDGER_BODY = """<p>2016年送温暖发放明细表</p>
<!-- exported by 财务系统 -->
<table border="1">
 <tr><td rowspan="2">序号</td><td rowspan="2">姓名</td><td rowspan="2">身份证号码</td><td rowspan="2">金额</td>
     <td colspan="2">公示情况</td><td rowspan="2">发放日期</td></tr>
 <tr><td>公示开始日期</td><td>公示结束日期</td></tr>
 <tr><td>1</td><td>张  三</td><td>110101199003077777</td><td>1,500.00</td><td>2016-01-04</td><td>2016-01-10</td>
     <td>2016-01-13</td></tr>
 <tr><td>2</td><td>李四<br>（代领）</td><td>34100319641225504X</td><td>abc</td><td>2016-01-04</td><td>2016-01-10</td>
     <td>2016-01-13</td></tr>
 <tr><td rowspan="2">序号</td><td rowspan="2">姓名</td><td rowspan="2">身份证号码</td><td rowspan="2">金额</td>
     <td colspan="2">公示情况</td><td rowspan="2">发放日期</td></tr>
 <tr><td>公示开始日期</td><td>公示结束日期</td></tr>
 <tr><td>3</td><td>王&#20116;</td><td>110101199003071234</td><td>800</td><td>2016-02-01</td><td>2016-02-05</td>
     <td>2016-02-10</td></tr>
 <tr><td colspan="3">合计</td><td>2300</td><td></td><td></td><td></td></tr>
</table>
<p>制表人：程晓燕</p>"""


def spreadsheetml(sheets: dict[str, str], *, prolog: str = "") -> bytes:
    """A SpreadsheetML 2003 workbook: ``sheets`` maps each worksheet name to the XML inside its ``<Table>``."""
    worksheets = "".join(
        f'<Worksheet ss:Name="{name}"><Table>{table}</Table></Worksheet>\n' for name, table in sheets.items()
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        + prolog
        + '<?mso-application progid="Excel.Sheet"?>\n'
        '<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet" '
        'xmlns:o="urn:schemas-microsoft-com:office:office" xmlns:x="urn:schemas-microsoft-com:office:excel" '
        'xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet">\n'
        + worksheets
        + "</Workbook>\n"
    ).encode("utf-8")


def ss_row(*cells: str, attrs: str = "") -> str:
    """A ``<Row>`` of String cells; a cell given as ``'<Cell…'`` is used as written."""
    inner = "".join(c if c.startswith("<Cell") else f'<Cell><Data ss:Type="String">{c}</Data></Cell>' for c in cells)
    return f"<Row{(' ' + attrs) if attrs else ''}>{inner}</Row>"


def parquet_file(directory: Path, name: str = "ledger.parquet") -> Path:
    """A parquet table with int64 IDs, decimal amounts, tz-aware and naive timestamps, dates and nulls."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "身份证号": pa.array([110101199003077777, None, 42], type=pa.int64()),
            "金额": pa.array([Decimal("1234.50"), Decimal("-0.01"), None], type=pa.decimal128(18, 2)),
            "时间": pa.array(
                [dt.datetime(2016, 3, 31, 16, 30, tzinfo=dt.UTC), dt.datetime(2016, 3, 1, 0, 0, tzinfo=dt.UTC), None],
                type=pa.timestamp("us", tz="UTC"),
            ),
            "本地时间": pa.array(
                [dt.datetime(2016, 3, 1), dt.datetime(2016, 3, 1, 8, 0, 5, 250000), None], type=pa.timestamp("us")
            ),
            "日期": pa.array([dt.date(2016, 3, 1), None, dt.date(1999, 12, 31)], type=pa.date32()),
            "比例": pa.array([0.5, 800.0, float("nan")], type=pa.float64()),
            "姓名": pa.array(["张三", None, ""], type=pa.string()),
            "在职": pa.array([True, False, None], type=pa.bool_()),
        }
    )
    path = directory / name
    pq.write_table(table, path)
    return path


def csv_bytes(text: str, encoding: str = "utf-8") -> bytes:
    return text.encode(encoding)


def buffer_of(path: Path) -> io.BytesIO:
    return io.BytesIO(path.read_bytes())


# --- hostile workbooks (issue 13 item 8): tiny files whose naive reading costs gigabytes or minutes -------

_CONTENT_TYPES = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    b'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    b'<Default Extension="xml" ContentType="application/xml"/>'
    b'<Override PartName="/xl/workbook.xml" '
    b'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    b'<Override PartName="/xl/worksheets/sheet1.xml" '
    b'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    b"</Types>"
)
_ROOT_RELS = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    b'officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
_WORKBOOK = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    b'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    b'<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    b'worksheet" Target="worksheets/sheet1.xml"/>'
    b'<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    b'sharedStrings" Target="sharedStrings.xml"/></Relationships>'
)
_SHEET_OPEN = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
)


def xlsx_raw(
    directory: Path, name: str, sheet_data: bytes, *, shared: list[bytes] | None = None, dimension: str = "A1"
) -> Path:
    """A one-sheet ``.xlsx`` written by hand: ``sheet_data`` is the inside of ``<sheetData>``; ``shared``
    the (already escaped) texts of ``xl/sharedStrings.xml``. Nothing is checked, so the file may lie."""
    sheet = (
        _SHEET_OPEN
        + f'<dimension ref="{dimension}"/>'.encode()
        + b"<sheetData>"
        + sheet_data
        + b"</sheetData></worksheet>"
    )
    path = directory / name
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", _CONTENT_TYPES)
        z.writestr("_rels/.rels", _ROOT_RELS)
        z.writestr("xl/workbook.xml", _WORKBOOK)
        z.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        z.writestr(SHEET_XML, sheet)
        if shared is not None:
            items = b"".join(b"<si><t>" + s + b"</t></si>" for s in shared)
            z.writestr(
                "xl/sharedStrings.xml",
                b'<?xml version="1.0" encoding="UTF-8"?>'
                b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                + f'count="{len(shared)}" uniqueCount="{len(shared)}">'.encode()
                + items
                + b"</sst>",
            )
    return path


def xlsx_far_cell(directory: Path, ref: str = "ALL200000", name: str = "far.xlsx") -> Path:
    """A ≈1 KB workbook: a header in A1 and one number at ``ref``; ``<dimension>`` says A1 (a lie).
    At ALL200000 the used range is 200,000 rows × 1,000 columns: gigabytes for a dense reader."""
    row = "".join(ch for ch in ref if ch.isdigit())
    data = (
        b'<row r="1"><c r="A1" t="inlineStr"><is><t>header</t></is></c></row>'
        + f'<row r="{row}"><c r="{ref}"><v>1</v></c></row>'.encode()
    )
    return xlsx_raw(directory, name, data)


def xlsx_shared_amplified(directory: Path, cells: int = 100_000, chars: int = 32_767) -> Path:
    """A ≈300 KB workbook: one shared string of ``chars`` characters referenced by ``cells`` cells (column A),
    so a reader that expands shared strings builds ``cells × chars`` characters (3.3 GB by default)."""
    data = b"".join(f'<row r="{r}"><c r="A{r}" t="s"><v>0</v></c></row>'.encode() for r in range(1, cells + 1))
    return xlsx_raw(directory, "amplified.xlsx", data, shared=[b"x" * chars], dimension=f"A1:A{cells}")


def xlsx_no_row_end(directory: Path, rows: int = 400_000) -> Path:
    """A workbook whose rows never close (no ``</row>``): not well-formed, and a scan that waits for
    ``</row>`` before looking at its buffer holds (and re-copies) the whole sheet."""
    data = b"".join(f'<row r="{r}"><c r="A{r}"><v>{r}</v></c>'.encode() for r in range(1, rows + 1))
    return xlsx_raw(directory, "norowend.xlsx", data)


def xlsx_selfclosing_errors(directory: Path, cells: int = 20_000, name: str = "selfclosing.xlsx") -> Path:
    """A workbook of ``cells`` self-closing error cells (``<c r="A1" t="e"/>``, no ``</c>`` anywhere): a
    pattern that looks for each error cell's ``</c>`` scans to the end of the sheet once per cell."""
    data = b"".join(f'<row r="{r}"><c r="A{r}" t="e"/></row>'.encode() for r in range(1, cells + 1))
    return xlsx_raw(directory, name, data)


def xls_far_cell(directory: Path, row: int = 65_535, col: int = 255, name: str = "far.xls") -> Path:
    """A ≈6 KB ``.xls``: a header in A1 and one number at the last cell BIFF8 allows (IV65536 by default)."""
    import xlwt

    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet("Sheet1")
    ws.write(0, 0, "header")
    ws.write(row, col, 1)
    path = directory / name
    wb.save(str(path))
    return path


def xlsx_utf16_sheet(directory: Path, ref: str = "Z300") -> Path:
    """:func:`xlsx_far_cell` with the sheet XML encoded as UTF-16 (legal XML; calamine returns no cells)."""
    src = xlsx_far_cell(directory, ref=ref, name="utf8.xlsx")

    def edit(xml: bytes) -> bytes:
        return xml.replace(b'encoding="UTF-8"', b'encoding="UTF-16"').decode().encode("utf-16")

    return rewrite_zip(src, directory / "utf16.xlsx", {SHEET_XML: edit})


def two_far_sheets(directory: Path, fmt: str) -> Path:
    """A workbook (``fmt`` 'xls' or 'xlsx') of two sheets, each with one number at J100 (1,000 cells each)."""
    if fmt == "xls":
        import xlwt

        wb = xlwt.Workbook(encoding="utf-8")
        for name in ("一", "二"):
            wb.add_sheet(name).write(99, 9, 1)
        path = directory / "two.xls"
        wb.save(str(path))
        return path
    import openpyxl

    book = openpyxl.Workbook()
    first = book.active
    first.title = "一"
    for ws in (first, book.create_sheet("二")):
        ws.cell(row=100, column=10, value=1)
    path = directory / "two.xlsx"
    book.save(path)
    return path
