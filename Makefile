# fundaudit developer commands. Each target creates .venv on first use and reinstalls only when
# pyproject.toml changes, so repeated runs are fast.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
OUT    ?= report

.PHONY: demo test fuzz lint typecheck bench samples clean help

help:
	@echo "make demo   - install into .venv, audit samples/, write $(OUT)/"
	@echo "make test   - install fundaudit[test,spark] into .venv and run lint, types and the test suite"
	@echo "make fuzz   - the fuzz tests of tests/fuzz with 25 times their make-test budget (FUZZ_FACTOR=25)"
	@echo "make lint   - ruff and mypy"
	@echo "make bench  - loading beside pandas/pandera, the whole pack at scale, report writing (bench/)"

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e .
	@touch $@

# the test environment includes the spark extra: the Spark equivalence tests run wherever Java is installed
$(VENV)/.installed-test: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e ".[test,spark]"
	@touch $(VENV)/.installed $@

$(VENV)/.installed-bench: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e ".[test,spark,bench]"
	@touch $(VENV)/.installed $(VENV)/.installed-test $@

demo: $(VENV)/.installed
	$(BIN)/fundaudit audit samples/ --profile anhui-2016 --period 2016 --out $(OUT) --fail-on never

test: $(VENV)/.installed-test lint
	$(BIN)/pytest -n auto -q

# the fuzz tests run in `make test` too, with a small budget; here with FUZZ_FACTOR times as many examples,
# freshly random each run (a failure prints the example that falsified it, reproducible with @reproduce_failure)
FUZZ_FACTOR ?= 25
fuzz: $(VENV)/.installed-test
	HYPOTHESIS_PROFILE=fuzz FUZZ_FACTOR=$(FUZZ_FACTOR) $(BIN)/pytest -n auto -q tests/fuzz

lint: $(VENV)/.installed-test
	$(BIN)/ruff check fundaudit tests bench samples
	$(BIN)/mypy

bench: $(VENV)/.installed-bench
	$(PY) -m bench

samples: $(VENV)/.installed-test
	$(PY) samples/generate.py

clean:
	rm -rf $(VENV) $(OUT) fundaudit-report .pytest_cache .mypy_cache .ruff_cache .hypothesis
