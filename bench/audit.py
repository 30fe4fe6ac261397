"""Audit benchmark: the whole shipped pack (profile ``anhui-2016``, period 2016) on generated ledgers at scale,
and the four report writers on 100k findings. Each measurement runs in a fresh subprocess, so its peak memory
(max RSS) is its own.

    python -m bench.audit                                   # 2M dues + 1M disbursements + 250k register
    python -m bench.audit --dues 20000 --disbursements 10000   # a quick look

Prints load time, rule time (per ledger and the slowest rules), findings per rule, report-writing time, and
writes bench/results/audit.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

DATA = Path(__file__).parent / "data"
RESULTS = Path(__file__).parent / "results"


def run_child(args: list[str]) -> dict:
    out = subprocess.run([sys.executable, "-m", "bench._child", *args], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"benchmark child failed:\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(prog="python -m bench.audit")
    ap.add_argument("--dues", type=int, default=2_000_000)
    ap.add_argument("--disbursements", type=int, default=1_000_000)
    ap.add_argument("--findings", type=int, default=100_000, help="findings for the report-writing run")
    ap.add_argument("--data", type=Path, default=DATA, help="where the generated parquet files go")
    ap.add_argument("--no-save", action="store_true", help="do not write bench/results/audit.json")
    args = ap.parse_args(argv)

    from bench.scale import build

    folder = args.data / f"scale_{args.dues}_{args.disbursements}"
    t0 = time.perf_counter()
    paths = build(folder, dues=args.dues, disbursements=args.disbursements)
    gen = time.perf_counter() - t0
    print(f"generated {folder} in {gen:.1f} s")

    full = run_child(["audit", *[f"{k}={p}" for k, p in paths.items()]])
    dues_only = run_child(["audit", f"dues={paths['dues']}", f"employers={paths['employers']}",
                           f"unions={paths['unions']}", "--only", "dues"])
    reports = run_child(["reports", str(args.findings)])

    for label, r in (("whole pack", full), ("dues rules only", dues_only)):
        rows = ", ".join(f"{k} {v:,}" for k, v in r["rows"].items())
        print(f"\n{label}: {rows}")
        print(f"  load {r['load_s']:.2f} s, rules {r['rules_s']:.2f} s, total {r['total_s']:.2f} s, "
              f"peak {r['max_rss_mib']:.0f} MiB, {r['findings']:,} findings")
        slow = sorted(r["rule_seconds"].items(), key=lambda kv: -kv[1])[:6]
        print("  slowest rules: " + ", ".join(f"{k} {v:.2f} s" for k, v in slow))
        not_ran = sorted(k for k, v in r["statuses"].items() if v != "ran")
        if not_ran:
            shown = ", ".join(not_ran[:6]) + (f" and {len(not_ran) - 6} more" if len(not_ran) > 6 else "")
            print(f"  skipped or disabled: {len(not_ran)} ({shown})")
    print(f"\nreports for {reports['findings']:,} findings: "
          + ", ".join(f"{k} {v:.2f} s" for k, v in reports["seconds"].items())
          + f", peak {reports['max_rss_mib']:.0f} MiB")
    doc = {"when": time.strftime("%Y-%m-%d %H:%M"), "whole_pack": full, "dues_only": dues_only, "reports": reports}
    if not args.no_save:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "audit.json").write_text(json.dumps(doc, ensure_ascii=False, indent=2), encoding="utf-8")
    return doc


if __name__ == "__main__":
    main()
