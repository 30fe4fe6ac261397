"""Run every benchmark: loading (bench/load.py), auditing at scale (bench/audit.py) and the province-scale audit
on each engine (bench/province.py: 50M dues + 5M disbursements + 1M register from parquet, generated on first use).

Results are written to bench/results/latest.json (loading), bench/results/audit.json (auditing) and
bench/results/province.json (the province set and its audits).
"""

from bench import audit, load, province

if __name__ == "__main__":
    load.main([])
    audit.main([])
    province.main(["--no-load", "--audit", *province.ENGINE_ARGS])
