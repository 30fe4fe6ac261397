"""Regenerate docs/screenshots/triage-funnel.png: audit samples/ as `make demo` does, decide some of its findings as
the grassroots unions might answer (confirmed, in progress, rectified, excluded with a reason), compare with a
baseline (the same run with one finding gone and one that no longer occurs), write the HTML report and let
headless Chromium (Debian's /usr/bin/chromium) photograph its verification section (the funnel and the table per
grassroots union, its first rows).

    .venv/bin/python docs/screenshots/make_funnel.py [--lang en] [--out PATH]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
WIDTH, HEIGHT = 1400, 2400
CLIP_HEIGHT = 960  # the funnel and the first unions of the table

# (finding id, answer, reason): what the unions answered, for the picture
ANSWERS = [
    ("F000001", "confirmed", ""), ("F000002", "rectified", ""), ("F000003", "in_progress", ""),
    ("F000005", "confirmed", ""), ("F000006", "excluded", "代扣与补缴各一笔，已核对银行回单"),
    ("F000021", "confirmed", ""), ("F000022", "excluded", "身份证号已补正"), ("F000023", "rectified", ""),
    ("F000029", "in_progress", ""), ("F000030", "confirmed", ""), ("F000034", "excluded", "冲正后重发，非重复"),
    ("F000036", "confirmed", ""), ("F000045", "confirmed", ""), ("F000066", "in_progress", ""),
    ("F000068", "excluded", "合计行为手工小计，已更正"),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lang", choices=["zh", "en"], default="zh")
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("triage-funnel.png"))
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print("Chromium not installed: apt-get install chromium fonts-noto-cjk", file=sys.stderr)
        return 2

    sys.path.insert(0, str(ROOT))
    import pandas as pd

    import fundaudit
    from fundaudit.report.html import write_html
    from fundaudit.report.json import result_to_dict
    from tests.report.test_html_browser import chromium

    argv_shown = ["fundaudit", "audit", "samples/", "--profile", "anhui-2016", "--period", "2016"]
    first = fundaudit.audit(paths=[ROOT / "samples"], profile="anhui-2016", period="2016", argv=argv_shown)
    doc = result_to_dict(first)
    by_id = {f["id"]: f for f in doc["findings"]}
    decisions = pd.DataFrame([{"fingerprint": by_id[i]["fingerprint"], "rule": by_id[i]["rule"], "status": s,
                               "reason": why, "evidence": "", "by": "王会计", "date": "2017-03-01"}
                              for i, s, why in ANSWERS])
    gone = {**doc["findings"][0], "fingerprint": "f" * 20}
    baseline = {**doc, "findings": [*doc["findings"][1:], gone]}
    result = fundaudit.audit(paths=[ROOT / "samples"], profile="anhui-2016", period="2016", argv=argv_shown,
                             triage=decisions, baseline=baseline)
    with tempfile.TemporaryDirectory() as tmp:
        page_file = write_html(result, Path(tmp) / "index.html", lang=args.lang)
        out = args.out.resolve()
        with chromium(Path(tmp), width=WIDTH, height=HEIGHT) as page:
            page.goto(page_file.resolve().as_uri())
            box = page.eval("(() => { const r = document.getElementById('verification').getBoundingClientRect();"
                            " return {x: r.left + scrollX, y: r.top + scrollY, width: r.width,"
                            f" height: Math.min(r.height, {CLIP_HEIGHT})}}; }})()")
            shot = page.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True,
                                                        "clip": {**box, "scale": 1}})["data"]
    import base64

    out.write_bytes(base64.b64decode(shot))
    print(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
