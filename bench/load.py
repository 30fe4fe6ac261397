"""Load benchmark: fundaudit.load on a 1M-row disbursement CSV and a 100k-row .xlsx, beside what a user
would otherwise write (pandas read as text + pandera coercion), each in a fresh subprocess so peak
memory (max RSS) is the run's own.

    python -m bench            # or: make bench
    python -m bench.load --rows 200000 --xlsx-rows 20000   # smaller, for a quick look
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time
from pathlib import Path

DATA = Path(__file__).parent / "data"
RESULTS = Path(__file__).parent / "results"
CHILD = Path(__file__).parent / "_child.py"

HEADER = [
    "序号",
    "姓名",
    "身份证号码",
    "档案编号",
    "工作单位",
    "基层工会",
    "帮扶项目",
    "困难类别",
    "金额",
    "发放方式",
    "开户银行",
    "银行账号",
    "账户名",
    "发放日期",
    "公示开始日期",
    "公示结束日期",
    "审批人",
    "审批日期",
    "经办人",
    "备注",
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"
PROGRAMS = ["送温暖", "生活救助", "医疗救助", "助学救助", "金秋助学", "夏送清凉"]
W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def _id(rng: random.Random) -> str:
    body = f"341003{rng.randint(1950, 1998)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}"
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, W, strict=True)) % 11]


def _rows(n: int, seed: int = 1) -> list[list[str]]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        name = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)
        m, d = rng.randint(1, 12), rng.randint(1, 28)
        amount = rng.choice(["500", "800.00", "1,200.00", "¥2,000.00", "300.5"])
        out.append(
            [
                str(i + 1),
                name,
                _id(rng),
                f"HS{rng.randint(1, 99999):05d}",
                "黄山某公司",
                "某基层工会",
                rng.choice(PROGRAMS),
                rng.choice(["深度困难", "相对困难"]),
                amount,
                rng.choice(["打卡", "银行代发", "现金"]),
                "徽商银行",
                f"6222{rng.randint(10**11, 10**12 - 1)}",
                name,
                f"2016-{m:02d}-{d:02d}",
                f"2016/{m}/1",
                f"2016年{m}月{min(d, 28)}日",
                "审批人甲",
                f"2016{m:02d}{d:02d}",
                "经办人乙",
                "",
            ]
        )
    return out


def make_csv(rows: int) -> Path:
    path = DATA / f"disbursements_{rows}.csv"
    if not path.exists():
        DATA.mkdir(parents=True, exist_ok=True)
        import csv

        with path.open("w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(HEADER)
            w.writerows(_rows(rows))
    return path


def make_xlsx(rows: int) -> Path:
    path = DATA / f"disbursements_{rows}.xlsx"
    if not path.exists():
        DATA.mkdir(parents=True, exist_ok=True)
        import xlsxwriter

        wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
        ws = wb.add_worksheet("送温暖")
        ws.write_row(0, 0, ["2016年送温暖发放明细表"])
        ws.write_row(1, 0, HEADER)
        for r, row in enumerate(_rows(rows), start=2):
            ws.write_row(r, 0, row)
        wb.close()
    return path


def run(tool: str, path: Path) -> dict[str, float]:
    out = subprocess.run([sys.executable, str(CHILD), tool, str(path)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench")
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--xlsx-rows", type=int, default=100_000)
    args = ap.parse_args(argv)
    results = []
    for label, path in (("csv", make_csv(args.rows)), ("xlsx", make_xlsx(args.xlsx_rows))):
        base = None
        for tool in ("pandas-text", "pandera-coerce", "fundaudit"):
            r = run(tool, path)
            base = base or r["seconds"]
            r.update(input=f"{label} {path.name}", tool=tool)
            results.append(r)
            print(
                f"{label:5} {tool:15} rows={r['rows']:>9,}  {r['seconds']:7.2f} s  "
                f"peak {r['max_rss_mib']:7.0f} MiB  ×{r['seconds'] / base:4.1f} of plain pandas"
            )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.json").write_text(
        json.dumps({"when": time.strftime("%Y-%m-%d %H:%M"), "results": results}, ensure_ascii=False, indent=2),
        encoding="utf-8",
    )


if __name__ == "__main__":
    main()
