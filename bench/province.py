"""Province-scale data (issue 17): 50M dues rows, 5M disbursements, a 1M-file register, generated in chunks
(bench/scale.py), and what today's loader (``fundaudit.load``: every ledger read into pandas) does with them.

    python -m bench.province             # generate bench/data/province when needed, then measure the loader
    python -m bench.province --no-load   # only generate
    python -m bench.province --data /tmp/p --dues 48000 --disbursements 5000 --workers 1000  # a quick look

Generation and each load run in a fresh subprocess, so each peak memory (VmHWM) is its own. A ledger of several
part files is loaded whole only when the loads of its first part and first two parts, extrapolated, stay under
``--max-gib``; otherwise the estimate is reported instead. Writes bench/results/province.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from bench import scale

RESULTS = Path(__file__).parent / "results"


def _files(path: Path) -> list[Path]:
    """A ledger's parquet files: the file itself, or a directory's parts in order."""
    return sorted(path.glob("part-*.parquet")) if path.is_dir() else [path]


def _child(args: list[str]) -> dict[str, Any]:
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
        paths = scale.build(Path(args[1]), **json.loads(args[2]))
        doc: dict[str, object] = {"kinds": {k: str(p) for k, p in paths.items()}}
    else:
        import fundaudit

        ledger = fundaudit.load(args[1], list(args[2:]))
        doc = {"rows": len(ledger.frame), "rejected": len(ledger.rejected)}
    doc.update(seconds=round(time.perf_counter() - t0, 2), cpu_seconds=round(time.process_time() - c0, 2),
               max_rss_mib=round(_peak_mib()))
    print(json.dumps(doc, ensure_ascii=False))


def measure_load(kind: str, path: Path, *, max_gib: float) -> dict[str, Any]:
    """Load the first part of a ledger and the first two, and the whole ledger if the line through those two
    points (fixed cost + cost per row) puts it under ``max_gib``; return the measurements and the estimate."""
    files = _files(path)
    rows = sum(pq.read_metadata(f).num_rows for f in files)
    first = _child(["load", kind, str(files[0])])
    out: dict[str, Any] = {"rows": rows, "files": len(files), "first_part": first}
    if len(files) == 1:
        out["whole"] = first
        return out
    two = _child(["load", kind, str(files[0]), str(files[1])])
    out["first_two_parts"] = two
    per_row = (two["max_rss_mib"] - first["max_rss_mib"]) / (two["rows"] - first["rows"])
    out["estimated_gib"] = round((first["max_rss_mib"] + per_row * (rows - first["rows"])) / 1024, 1)
    per_row_s = (two["seconds"] - first["seconds"]) / (two["rows"] - first["rows"])
    out["estimated_seconds"] = round(first["seconds"] + per_row_s * (rows - first["rows"]))
    if out["estimated_gib"] <= max_gib:
        out["whole"] = _child(["load", kind, *map(str, files)])
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(prog="python -m bench.province")
    ap.add_argument("--data", type=Path, default=scale.DATA / "province")
    ap.add_argument("--no-load", action="store_true", help="only generate the data")
    ap.add_argument("--max-gib", type=float, default=16.0, help="load a ledger whole only under this estimate")
    ap.add_argument("--kinds", nargs="*", default=["register", "disbursements", "dues"])
    ap.add_argument("--no-save", action="store_true", help="do not write bench/results/province.json")
    for name, value in (*scale.PROVINCE.items(), ("chunk_rows", scale.CHUNK_ROWS),
                        ("directory_above", scale.DIRECTORY_ABOVE)):
        ap.add_argument(f"--{name.replace('_', '-')}", type=int, default=value, help=f"default {value:,}")
    args = ap.parse_args(argv)

    sizes = {k: getattr(args, k) for k in ("dues", "disbursements", "workers", "chunk_rows", "directory_above")}
    gen = _child(["gen", str(args.data), json.dumps(sizes)])
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
            if "first_two_parts" in r:
                t = r["first_two_parts"]
                print(f"  first two parts {t['rows']:,} rows {t['seconds']:.1f} s peak {t['max_rss_mib']:,} MiB")
            if "whole" in r and r["whole"] is not f:
                w = r["whole"]
                print(f"  whole {w['rows']:,} rows {w['seconds']:.1f} s peak {w['max_rss_mib']:,} MiB")
    if args.no_save:
        return doc
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "province.json").write_text(json.dumps(doc, ensure_ascii=False, indent=2), encoding="utf-8")
    return doc


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        _run_child(sys.argv[2:])
    else:
        main()
