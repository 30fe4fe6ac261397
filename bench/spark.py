"""The shipped pack on DuckDB and on Spark, side by side (issue 17 phase 1):
``python -m bench.spark [MASTER] [DIR]`` (MASTER default ``local-cluster[2,1,1024]``; DIR: a folder of canonical
parquet inputs such as ``bench/data/scale_200000_100000``, default the samples). The inputs are read and
normalised once (as ``audit`` does, profile anhui-2016, period 2016); then the rules run on DuckDB, and on Spark
twice (a cold JVM, then warm), after Spark's start-up, timed apart. Prints one JSON line; the findings of the
two engines must be identical (it says so)."""

import json
import sys
import time
from pathlib import Path
from typing import Any


def main() -> None:
    from fundaudit import engine
    from fundaudit.engine.spark import local_session
    from fundaudit.run import audit

    master = sys.argv[1] if len(sys.argv) > 1 else "local-cluster[2,1,1024]"
    folder = Path(sys.argv[2]) if len(sys.argv) > 2 else None
    run_rules = engine.run_rules
    seen: dict[str, Any] = {}

    def capture(ledgers, rules, **kw):  # type: ignore[no-untyped-def]
        seen.update(ledgers=ledgers, rules=rules, kw=kw)
        t = time.perf_counter()
        out = run_rules(ledgers, rules, **kw)
        seen["duckdb_s"] = time.perf_counter() - t
        return out

    engine.run_rules = capture  # audit() imports it at call time
    t0 = time.perf_counter()
    if folder is None:
        audit(paths=[Path(__file__).resolve().parents[1] / "samples"], profile="anhui-2016", period="2016")
    else:
        audit({p.stem: str(p) for p in sorted(folder.glob("*.parquet"))}, profile="anhui-2016", period="2016")
    audit_s = time.perf_counter() - t0
    engine.run_rules = run_rules
    kw = {k: v for k, v in seen["kw"].items() if k != "lang_progress"}
    duck = run_rules(seen["ledgers"], seen["rules"], **kw)

    t = time.perf_counter()
    spark = local_session(master)
    spark.sparkContext.setLogLevel("FATAL")
    startup_s = time.perf_counter() - t
    runs = []
    for _ in range(2):
        t = time.perf_counter()
        on_spark = run_rules(seen["ledgers"], seen["rules"], engine="spark", spark=spark, **kw)
        runs.append(round(time.perf_counter() - t, 2))
    spark.stop()

    def plain(r: Any) -> list[dict[str, Any]]:
        frame = r.findings.astype(object)
        return frame.where(frame.notna(), None).to_dict("records")

    same = plain(duck) == plain(on_spark) and [(s.id, s.status, s.findings) for s in duck.statuses] == [
        (s.id, s.status, s.findings) for s in on_spark.statuses]
    print(json.dumps({
        "inputs": str(folder or "samples"),
        "rows": {k: len(v.frame) for k, v in seen["ledgers"].items()},
        "master": master,
        "audit_duckdb_s": round(audit_s, 2),
        "rules_duckdb_s": round(seen["duckdb_s"], 2),
        "spark_startup_s": round(startup_s, 2),
        "rules_spark_s": runs,
        "findings": len(duck.findings),
        "identical": same,
    }))


if __name__ == "__main__":
    main()
