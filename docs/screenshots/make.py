"""Regenerate docs/screenshots/report-first-screen.png: audit samples/ as `make demo` does, write the
HTML report, and let headless Chromium (Debian's /usr/bin/chromium) photograph its first screen.

    .venv/bin/python docs/screenshots/make.py [--lang en] [--out PATH]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
WIDTH, HEIGHT = 1400, 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lang", choices=["zh", "en"], default="zh")
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("report-first-screen.png"))
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print("Chromium not installed: apt-get install chromium fonts-noto-cjk", file=sys.stderr)
        return 2

    sys.path.insert(0, str(ROOT))
    import fundaudit
    from fundaudit.report.html import write_html

    result = fundaudit.audit(paths=[ROOT / "samples"], profile="anhui-2016", period="2016",
                             argv=["fundaudit", "audit", "samples/", "--profile", "anhui-2016", "--period", "2016"])
    with tempfile.TemporaryDirectory() as tmp:
        page = write_html(result, Path(tmp) / "index.html", lang=args.lang)
        out = args.out.resolve()
        subprocess.run(  # noqa: S603 - fixed executable and flags, paths we created
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--hide-scrollbars", f"--user-data-dir={Path(tmp) / 'profile'}", f"--window-size={WIDTH},{HEIGHT}",
             f"--screenshot={out}", page.resolve().as_uri()],
            check=True, capture_output=True, timeout=120,
        )
    print(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
