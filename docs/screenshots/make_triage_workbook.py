"""Regenerate docs/screenshots/triage-workbook.png: audit samples/ as `make demo` does, export the findings for
verification by grassroots union (`fundaudit triage export --by union`), answer two findings of one union's
workbook as its verifier would, convert that workbook to PDF with LibreOffice headless and render its first page
to PNG with pdftoppm (the top of its first page, printed as the workbook sets it: A4 landscape, one page wide).

    .venv/bin/python docs/screenshots/make_triage_workbook.py [--union 黄山区焦村电子科技有限公司工会] [--out PATH]

Needs Debian's libreoffice-calc-nogui (or libreoffice-calc), poppler-utils and fonts-noto-cjk.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FILL = 9  # the first column to fill (核实结论), 1-based


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--union", default="黄山区焦村电子科技有限公司工会", help="whose workbook to show")
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("triage-workbook.png"))
    args = parser.parse_args(argv)
    soffice, pdftoppm = (shutil.which(n) for n in ("soffice", "pdftoppm"))
    if not (soffice and pdftoppm):
        print("needs LibreOffice and poppler: apt-get install libreoffice-calc-nogui poppler-utils fonts-noto-cjk",
              file=sys.stderr)
        return 2

    sys.path.insert(0, str(ROOT))
    import openpyxl

    import fundaudit
    from fundaudit import triage

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        result = fundaudit.audit(paths=[ROOT / "samples"], profile="anhui-2016", period="2016",
                                 subject_key=b"screenshot-key-not-secret")
        result.to_json(folder / "findings.json")
        books = {p.name: p for p in triage.export(folder / "findings.json", folder / "sent", by="union")}
        name = f"疑点核实_{args.union}.xlsx"
        if name not in books:
            print(f"no workbook for {args.union}", file=sys.stderr)
            return 2
        wb = openpyxl.load_workbook(books[name])
        ws = wb.worksheets[0]
        answers = [("确认", None, "底稿 3-1", "王会计", dt.datetime(2017, 3, 1)),
                   ("排除", "家庭收入含一次性补偿，已核实", "底稿 3-2", "王会计", dt.datetime(2017, 3, 2))]
        for r, values in zip(range(4, ws.max_row + 1), answers, strict=False):
            for c, v in enumerate(values, start=FILL):
                ws.cell(r, c).value = v
        filled = folder / "filled.xlsx"
        wb.save(filled)
        subprocess.run([soffice, f"-env:UserInstallation={(folder / 'profile').as_uri()}", "--headless",  # noqa: S603
                        "--convert-to", "pdf", "--outdir", str(folder), str(filled)], check=True, capture_output=True)
        # the top of the first page (A4 landscape at 150 dpi is 1754 pixels wide): title, header, first findings
        subprocess.run([pdftoppm, "-png", "-r", "150", "-f", "1", "-l", "1", "-x", "0", "-y", "0",  # noqa: S603
                        "-W", "1754", "-H", "560", "-singlefile", str(folder / "filled.pdf"), str(folder / "page")],
                       check=True)
        args.out.write_bytes((folder / "page.png").read_bytes())
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
