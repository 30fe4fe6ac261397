"""Run every benchmark: loading (bench/load.py) and auditing at scale (bench/audit.py).

Results are written to bench/results/latest.json (loading) and bench/results/audit.json (auditing).
"""

from bench import audit, load

if __name__ == "__main__":
    load.main([])
    audit.main([])
