"""One measured run in a fresh process: ``python bench/_child.py TOOL PATH`` prints rows, seconds, peak RSS."""

import json
import resource
import sys
import time


def _read_text(path: str):  # type: ignore[no-untyped-def]
    import pandas as pd

    if path.endswith(".csv"):
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    return pd.read_excel(path, dtype=str, header=1, engine="calamine")


def _audit(args: list[str]) -> dict:  # type: ignore[type-arg]
    """``audit KIND=PATH ... [--only LEDGER]``: the shipped pack on the inputs; load and rule time apart."""
    import fundaudit
    from fundaudit import engine
    from fundaudit.run import audit

    timed: dict[str, float] = {}
    run_rules = engine.run_rules

    def timed_run_rules(*a, **k):  # type: ignore[no-untyped-def]
        res = run_rules(*a, **k)
        timed.update({st.id: round(st.seconds, 3) for st in res.statuses})
        return res

    engine.run_rules = timed_run_rules  # audit() imports it at call time

    only = args[args.index("--only") + 1] if "--only" in args else None
    options = {}  # --out-of-core MODE, --memory-limit SIZE (issue 17: out of core on one machine)
    for flag, name in (("--out-of-core", "out_of_core"), ("--memory-limit", "memory_limit")):
        if flag in args:
            options[name] = args[args.index(flag) + 1]
    inputs = dict(a.split("=", 1) for a in args if "=" in a)
    stamps: list[float] = []

    def progress(msg: str) -> None:
        if msg.startswith("[1/"):
            stamps.append(time.perf_counter())

    t0 = time.perf_counter()
    if only:
        result = _audit_only(audit, inputs, progress, only)
    else:
        result = audit(inputs, profile="anhui-2016", period="2016", progress=progress, **options)
    t1 = time.perf_counter()
    loaded = stamps[0] if stamps else t1
    return {
        "fundaudit": fundaudit.__version__,
        "rows": {i["kind"]: i["rows_loaded"] for i in result.inputs},
        "load_s": loaded - t0,
        "rules_s": t1 - loaded,
        "total_s": t1 - t0,
        "findings": len(result.findings),
        "by_rule": {str(k): int(v) for k, v in result.findings["rule"].value_counts().items()},
        "rule_seconds": timed,
        "statuses": {r["id"]: r["status"] for r in result.rules},
        "out_of_core": result.run.get("out_of_core"),
        "fingerprints": __import__("hashlib").sha256("\n".join(sorted(result.findings["fingerprint"])).encode())
        .hexdigest()[:16],
    }


def _audit_only(audit, inputs, progress, only):  # type: ignore[no-untyped-def]
    """The audit with a user pack that disables every shipped rule not on ``only`` (as a user would)."""
    import tempfile
    from pathlib import Path

    from fundaudit.rules.model import RuleSet
    from fundaudit.rules.shipped import shipped_packs

    rules = RuleSet.build(shipped_packs()).rules
    off = sorted(rid for rid, r in rules.items() if r.ledger not in (only, "*"))
    with tempfile.TemporaryDirectory() as d:
        pack = Path(d) / "only.yaml"
        pack.write_text("pack: bench-only\nversion: '1'\ndisable: [" + ", ".join(off) + "]\n", encoding="utf-8")
        return audit(inputs, profile="anhui-2016", period="2016", progress=progress, rules=[pack])


def _reports(n: int) -> dict:  # type: ignore[type-arg]
    """``reports N``: the samples' findings repeated to N, written by each of the four writers."""
    import tempfile
    from pathlib import Path

    import pandas as pd

    from fundaudit.run import audit

    samples = Path(__file__).resolve().parent.parent / "samples"
    result = audit(paths=[samples], profile="anhui-2016", period="2016")
    base = result.findings
    big = pd.concat([base] * (n // len(base) + 1), ignore_index=True).head(n)
    big["id"] = [f"F{i:06d}" for i in range(1, len(big) + 1)]
    result.findings = big
    seconds = {}
    with tempfile.TemporaryDirectory() as d:
        for name, writer in (("json", result.to_json), ("junit", result.to_junit), ("xlsx", result.to_excel),
                             ("html", result.to_html)):
            t0 = time.perf_counter()
            writer(Path(d) / f"out.{name}")
            seconds[name] = time.perf_counter() - t0
    return {"findings": len(big), "seconds": seconds}


def _peak_mib() -> float:
    """This process's own peak RSS. Linux keeps ru_maxrss across fork and exec, so a child started by a big
    parent would report the parent's peak; VmHWM belongs to the new address space alone."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    if sys.argv[1] in ("audit", "reports"):
        t0 = time.perf_counter()
        out = _audit(sys.argv[2:]) if sys.argv[1] == "audit" else _reports(int(sys.argv[2]))
        out["seconds_in_child"] = time.perf_counter() - t0
        out["max_rss_mib"] = _peak_mib()
        print(json.dumps(out, ensure_ascii=False))
        return
    tool, path = sys.argv[1], sys.argv[2]
    t0 = time.perf_counter()
    if tool == "fundaudit":
        import fundaudit

        n = len(fundaudit.load("disbursements", path).frame)
    elif tool == "pandas-text":
        n = len(_read_text(path))
    elif tool == "pandera-coerce":
        import pandera.pandas as pa

        df = _read_text(path)
        df["金额"] = df["金额"].str.replace(r"[¥,]", "", regex=True)
        schema = pa.DataFrameSchema({
            "金额": pa.Column(float, coerce=True),
            "发放日期": pa.Column("datetime64[ns]", coerce=True),
            "身份证号码": pa.Column(str, pa.Check.str_length(18, 18)),
        })
        n = len(schema.validate(df, lazy=True))
    else:
        raise SystemExit(f"unknown tool {tool}")
    secs = time.perf_counter() - t0
    peak = _peak_mib()
    print(json.dumps({"rows": n, "seconds": secs, "max_rss_mib": peak}))


if __name__ == "__main__":
    main()
