"""Province-scale data (issue 17): 50M dues rows, 5M disbursements, a 1M-file register, generated in chunks
(bench/scale.py), and what today's loader (``fundaudit.load``: every ledger read into pandas) does with them.

    python -m bench.province             # generate bench/data/province when needed, then measure the loader
    python -m bench.province --no-load   # only generate

Generation and each load run in a fresh subprocess, so each peak memory (VmHWM) is its own. A ledger is loaded
whole only when a first load of part of it, scaled up, stays under ``--max-gib``; otherwise the estimate is
reported instead. Writes bench/results/province.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq

from bench import scale

RESULTS = Path(__file__).parent / "results"


def _files(path: Path) -> list[Path]:
    """A ledger's parquet files: the file itself, or a directory's parts in order."""
    return sorted(path.glob("part-*.parquet")) if path.is_dir() else [path]


def _child(args: list[str]) -> dict:  # type: ignore[type-arg]
    """Run this module's ``--child`` mode in a fresh process; its last line of output is a JSON object."""
    out = subprocess.run([sys.executable, "-m", "bench.province", "--child", *args], capture_output=True, text=True,
                         check=False)
    if out.returncode != 0:
        raise SystemExit(f"province child failed:\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _run_child(args: list[str]) -> None:
    """``gen OUT`` (build the province set) or ``load KIND FILE...`` (``fundaudit.load`` of the files as one
    ledger): print seconds, CPU seconds, rows and this process's peak RSS."""
    from bench._child import _peak_mib

    t0, c0 = time.perf_counter(), time.process_time()
    if args[0] == "gen":
        paths = scale.build(Path(args[1]), **scale.PROVINCE)
        doc: dict[str, object] = {"kinds": {k: str(p) for k, p in paths.items()}}
    else:
        import fundaudit

        ledger = fundaudit.load(args[1], list(args[2:]))
        doc = {"rows": len(ledger.frame), "rejected": len(ledger.rejected)}
    doc.update(seconds=round(time.perf_counter() - t0, 2), cpu_seconds=round(time.process_time() - c0, 2),
               max_rss_mib=round(_peak_mib()))
    print(json.dumps(doc, ensure_ascii=False))


def measure_load(kind: str, path: Path, *, max_gib: float) -> dict:  # type: ignore[type-arg]
    """Load the first part of a ledger, then the whole ledger if the first load scaled to its size stays under
    ``max_gib``; return both measurements (or the estimate that stopped the second)."""
    files = _files(path)
    rows = sum(pq.read_metadata(f).num_rows for f in files)
    first = _child(["load", kind, str(files[0])])
    out: dict = {"rows": rows, "files": len(files), "first_part": first}  # type: ignore[type-arg]
    if len(files) == 1:
        out["whole"] = first
        return out
    estimate = first["max_rss_mib"] * rows / first["rows"] / 1024
    out["estimated_gib"] = round(estimate, 1)
    out["estimated_seconds"] = round(first["seconds"] * rows / first["rows"])
    if estimate <= max_gib:
        out["whole"] = _child(["load", kind, *map(str, files)])
    return out


def main(argv: list[str] | None = None) -> dict:  # type: ignore[type-arg]
    ap = argparse.ArgumentParser(prog="python -m bench.province")
    ap.add_argument("--data", type=Path, default=scale.DATA / "province")
    ap.add_argument("--no-load", action="store_true", help="only generate the data")
    ap.add_argument("--max-gib", type=float, default=16.0, help="load a ledger whole only under this estimate")
    ap.add_argument("--kinds", nargs="*", default=["register", "disbursements", "dues"])
    args = ap.parse_args(argv)

    gen = _child(["gen", str(args.data)])
    manifest = json.loads((args.data / "manifest.json").read_text(encoding="utf-8"))
    print(f"generated {args.data}: {gen['seconds']:.0f} s, peak {gen['max_rss_mib']:,} MiB (0 s when already there)")
    for kind, k in manifest["kinds"].items():
        print(f"  {kind:14} {k['rows']:>12,} rows {k['bytes'] / 2**20:>9,.1f} MiB  written in {k['seconds']:.1f} s")
    doc = {"when": time.strftime("%Y-%m-%d %H:%M"), "generate": gen, "manifest": manifest, "load": {}}
    if not args.no_load:
        for kind in args.kinds:
            r = measure_load(kind, args.data / manifest["kinds"][kind]["path"], max_gib=args.max_gib)
            doc["load"][kind] = r
            f = r["first_part"]
            print(f"fundaudit.load {kind}: first part {f['rows']:,} rows {f['seconds']:.1f} s "
                  f"peak {f['max_rss_mib']:,} MiB" + (f"; whole: estimated {r['estimated_gib']} GiB, "
                                                     f"{r['estimated_seconds']} s" if "estimated_gib" in r else ""))
            if "whole" in r and r["whole"] is not f:
                w = r["whole"]
                print(f"  whole {w['rows']:,} rows {w['seconds']:.1f} s peak {w['max_rss_mib']:,} MiB")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "province.json").write_text(json.dumps(doc, ensure_ascii=False, indent=2), encoding="utf-8")
    return doc


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        _run_child(sys.argv[2:])
    else:
        main()
