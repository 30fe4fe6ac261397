"""Regenerate docs/screenshots/workpaper.png: audit samples/ as `make demo` does (with an entity and a preparer;
the reviewer is left blank, to sign), write workpapers.xlsx, convert it to PDF with LibreOffice headless, and
render one page of one paper (by default the page of FA-XL-STAFF-RELATIVE with its findings, their rows as read
and its conclusion) to PNG with pdftoppm.

    .venv/bin/python docs/screenshots/make_workpaper.py [--paper FA-XL-STAFF-RELATIVE] [--page 2] [--lang en]
                                                        [--out PATH]

Needs Debian's libreoffice-calc-nogui (or libreoffice-calc), poppler-utils and fonts-noto-cjk.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paper", default="FA-XL-STAFF-RELATIVE", help="the index number of the paper to show")
    parser.add_argument("--page", type=int, default=2, help="which page of the paper (1 = its first)")
    parser.add_argument("--lang", choices=["zh", "en"], default="zh")
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("workpaper.png"))
    args = parser.parse_args(argv)
    soffice, pdftotext, pdftoppm = (shutil.which(n) for n in ("soffice", "pdftotext", "pdftoppm"))
    if not (soffice and pdftotext and pdftoppm):
        print("needs LibreOffice and poppler: apt-get install libreoffice-calc-nogui poppler-utils fonts-noto-cjk",
              file=sys.stderr)
        return 2

    sys.path.insert(0, str(ROOT))
    import fundaudit

    result = fundaudit.audit(paths=[ROOT / "samples"], profile="anhui-2016", period="2016",
                             entity="黄山区总工会" if args.lang == "zh" else "Huangshan district trade union",
                             preparer="张审计" if args.lang == "zh" else "A. Preparer")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        book = result.to_workpapers(folder / "workpapers.xlsx", lang=args.lang)
        subprocess.run([soffice, f"-env:UserInstallation={(folder / 'profile').as_uri()}", "--headless",  # noqa: S603
                        "--convert-to", "pdf", "--outdir", str(folder), str(book)], check=True, capture_output=True)
        pdf = folder / "workpapers.pdf"
        text = subprocess.run([pdftotext, str(pdf), "-"], check=True, capture_output=True,  # noqa: S603
                              text=True).stdout
        pages = [n for n, page in enumerate(text.split("\f"), start=1)
                 if re.search(rf"(索引号|Index no\.) {re.escape(args.paper)}(?![A-Z0-9-])", page)]
        if len(pages) < args.page:
            print(f"paper {args.paper} has {len(pages)} page(s) in the workbook", file=sys.stderr)
            return 2
        page = str(pages[args.page - 1])
        subprocess.run([pdftoppm, "-png", "-r", "110", "-f", page, "-l", page,  # noqa: S603
                        "-singlefile", str(pdf), str(folder / "page")], check=True)
        args.out.write_bytes((folder / "page.png").read_bytes())
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
