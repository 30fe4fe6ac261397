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


def main() -> None:
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
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"rows": n, "seconds": secs, "max_rss_mib": peak}))


if __name__ == "__main__":
    main()
