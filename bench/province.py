"""Province-scale data (issue 17): 50M dues rows, 5M disbursements, a 1M-file register, generated in chunks
(bench/scale.py), and what today's loader (``fundaudit.load``: every ledger read into pandas) does with them.

    python -m bench.province             # generate bench/data/province when needed, then measure the loader
    python -m bench.province --no-load   # only generate
    python -m bench.province --data /tmp/p --dues 48000 --disbursements 5000 --workers 1000  # a quick look
    python -m bench.province --no-load --audit duckdb spark   # the whole pack on it, each engine side by side

``--audit`` runs ``fundaudit audit`` (the CLI, profile anhui-2016, period 2016, findings.json) on the province set
from its parquet files, once per engine, each in a fresh process whose whole process tree (the Python driver and,
on Spark, its JVM) is sampled from /proc for the peak of their summed resident memory; both engines' findings must
be the same (fingerprints), and the figures go into ``audit`` of bench/results/province.json.

Generation and each load run in a fresh subprocess, so each peak memory (VmHWM) is its own. A ledger of several
part files is loaded whole only when the loads of its first part and first two parts, extrapolated, stay under
``--max-gib``; otherwise the estimate is reported instead. Writes bench/results/province.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
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


#: The CLI's options per engine for the province run: DuckDB out of core under a memory limit; Spark in local
#: mode on both cores (a cluster's figures depend on the cluster).
ENGINE_ARGS = {
    "duckdb": ["--engine", "duckdb", "--memory-limit", "8GB"],
    "spark": ["--engine", "spark", "--spark-master", "local[2]"],
}
SPARK_DRIVER_MEMORY = "12g"


def _tree_usage(root: int) -> tuple[int, float]:
    """The summed resident memory (KiB) and CPU seconds (user + system) of ``root`` and every process below it,
    from /proc (a JVM started by the driver is not waited for, so its CPU is not in the driver's rusage)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    cpu: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            pid, ppid, pages = int(entry), int(fields[1]), int(fields[21])
            cpu[pid] = (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(pid)
        rss[pid] = pages * (os.sysconf("SC_PAGE_SIZE") // 1024)
    total, seconds, todo = 0, 0.0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        seconds += cpu.get(pid, 0.0)
        todo += children.get(pid, [])
    return total, seconds


def _ledger_args(data: Path, manifest: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for kind, k in manifest["kinds"].items():
        out += ["--ledger", f"{kind}={data / k['path']}"]
    return out


def measure_audit(engine: str, data: Path, manifest: dict[str, Any], *, key: Path) -> dict[str, Any]:
    """``fundaudit audit`` of the province set on ``engine`` in a fresh process: wall and CPU seconds (the tree's),
    peak summed RSS of the tree, rows per second, findings; the fingerprints are returned apart for comparison."""
    out_dir = Path(tempfile.mkdtemp(prefix=f"province-{engine}-"))
    cmd = [sys.executable, "-m", "fundaudit", "audit", *_ledger_args(data, manifest), "--profile", "anhui-2016",
           "--period", "2016", "--format", "json", "--out", str(out_dir), "--fail-on", "never", "--quiet",
           *ENGINE_ARGS[engine]]
    env = {**os.environ, "FUNDAUDIT_SUBJECT_KEY": str(key),
           "PYSPARK_SUBMIT_ARGS": f"--driver-memory {SPARK_DRIVER_MEMORY} pyspark-shell"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak, tree_cpu = [0], [0.0]

    def sample() -> None:
        while proc.poll() is None:
            kib, cpu = _tree_usage(proc.pid)
            peak[0], tree_cpu[0] = max(peak[0], kib), max(tree_cpu[0], cpu)
            time.sleep(0.5)

    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    _, stderr = proc.communicate()
    seconds = time.perf_counter() - t0
    watcher.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        if proc.returncode != 0:
            return {"engine": engine, "failed": proc.returncode, "stderr": stderr[-4000:], "seconds": round(seconds)}
        doc = json.loads((out_dir / "findings.json").read_text(encoding="utf-8"))
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)
    rows = sum(i["rows_read"] for i in doc["inputs"] if not str(i["file"]).startswith("profile:"))  # the set's own
    statuses: dict[str, int] = {}
    for r in doc["rules"]:
        statuses[r["status"]] = statuses.get(r["status"], 0) + 1
    return {
        "engine": engine, "args": ENGINE_ARGS[engine], "seconds": round(seconds, 1),
        "cpu_seconds": round(max(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, tree_cpu[0]), 1),
        "peak_tree_rss_mib": round(peak[0] / 1024), "rows_read": rows, "rows_per_second": round(rows / seconds),
        "findings": len(doc["findings"]), "rules": statuses,
        "rule_errors": {r["id"]: r["reason"] for r in doc["rules"] if r["status"] == "error"},
        "fingerprints": hashlib.sha256("\n".join(sorted(f["fingerprint"] for f in doc["findings"])).encode())
        .hexdigest()[:16],
    }


def audit_all(engines: list[str], data: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """Audit the province set on each engine in turn; say whether their findings agree."""
    runs: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        key = Path(tmp) / "subject.key"
        key.write_bytes(os.urandom(32))
        for engine in engines:
            print(f"auditing the province set on {engine} …", flush=True)
            r = runs[engine] = measure_audit(engine, data, manifest, key=key)
            if "failed" in r:
                print(f"  {engine} failed (exit {r['failed']}):\n{r['stderr']}")
                continue
            print(f"  {engine}: {r['seconds']:,.0f} s wall, {r['cpu_seconds']:,.0f} s CPU, "
                  f"peak {r['peak_tree_rss_mib']:,} MiB (process tree), {r['rows_per_second']:,} rows/s, "
                  f"{r['findings']:,} findings, rules {r['rules']}")
    prints = {e: r["fingerprints"] for e, r in runs.items() if "fingerprints" in r}  # a digest of them, sorted
    same = len(set(prints.values())) == 1 if len(prints) > 1 else None
    if same is not None:
        print(f"  same findings on {', '.join(prints)}: {same}")
    return {"runs": runs, "same_findings": same, "when": time.strftime("%Y-%m-%d %H:%M")}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(prog="python -m bench.province")
    ap.add_argument("--data", type=Path, default=scale.DATA / "province")
    ap.add_argument("--no-load", action="store_true", help="only generate the data")
    ap.add_argument("--max-gib", type=float, default=16.0, help="load a ledger whole only under this estimate")
    ap.add_argument("--kinds", nargs="*", default=["register", "disbursements", "dues"])
    ap.add_argument("--no-save", action="store_true", help="do not write bench/results/province.json")
    ap.add_argument("--audit", nargs="*", choices=sorted(ENGINE_ARGS), default=[],
                    help="audit the province set with the whole pack on these engines")
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
    if args.audit:
        doc["audit"] = audit_all(args.audit, args.data, manifest)
    if args.no_save:
        return doc
    RESULTS.mkdir(exist_ok=True)
    if (RESULTS / "province.json").exists():  # keep the last audit figures of the engines not run this time
        last = json.loads((RESULTS / "province.json").read_text(encoding="utf-8")).get("audit")
        if last and not args.audit:
            doc["audit"] = last
        elif last:
            doc["audit"]["runs"] = {**{e: r for e, r in last["runs"].items() if e not in args.audit},
                                    **doc["audit"]["runs"]}
    (RESULTS / "province.json").write_text(json.dumps(doc, ensure_ascii=False, indent=2), encoding="utf-8")
    return doc


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        _run_child(sys.argv[2:])
    else:
        main()
