"""Run every benchmark and print a table; results are also written to bench/results/latest.json."""

from bench.load import main

if __name__ == "__main__":
    main()
