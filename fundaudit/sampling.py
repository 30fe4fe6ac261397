"""Audit sampling (ISA 530 / 中国注册会计师审计准则第1314号): plan, size, selection and evaluation.

Pure functions on arrays and frames; :func:`sample` and :func:`evaluate_sample` (the API and the CLI's
``fundaudit sample`` / ``sample evaluate``) tie them to fundaudit's inputs and to the workbook
(:mod:`fundaudit.report.sample`). The statistics come from scipy (imported inside the functions that use it, so
``import fundaudit`` does not pay for it); the methods, formulas and reference values are in docs/sampling.md.

Reproducibility does not rest on numpy's generators (their algorithms may change between versions): every
uniform is a documented function of (seed, stream, counter) (:func:`uniforms`), and the population is put in a
canonical order (file, sheet, row) before anything is selected, so the same seed and inputs select the same rows
on every run, platform and version. The algorithm's name and version are recorded in every plan.

Money is integer fen throughout; only the statistics (factors, taints, t quantiles) are floats, and each bound is
rounded up to the fen (never down) when it is reported.
"""

from __future__ import annotations

import hashlib
import math
import os
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fundaudit.errors import ConfigError

__all__ = ["ALGORITHM", "ALGORITHM_VERSION", "METHODS", "SamplePlan", "allocate", "attribute_size",
           "difference_bound", "evaluate", "evaluate_sample", "mus_size", "poisson_factor", "sample",
           "select_mus", "select_random", "select_systematic", "stratified_bound", "stringer_bound", "uniforms"]

#: The selection methods.
METHODS = ("mus", "random", "systematic", "stratified")
#: The uniform generator: SplitMix64 over a SHA-256-derived key, 53 bits per float (docs/sampling.md).
ALGORITHM = "fundaudit-splitmix64"
ALGORITHM_VERSION = 1
#: How stratified samples are spread over the strata.
ALLOCATIONS = ("value", "count")
_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
MAX_SIZE = 100_000  # a computed size beyond this is not a sample: refused (the tolerable is too small)


# --- the uniforms --------------------------------------------------------------------------------------------

def stream_key(seed: int, stream: str) -> int:
    """The 64-bit key of one stream: the first 8 bytes (big-endian) of SHA-256 of
    ``"fundaudit-sample/1:<seed>:<stream>"`` (UTF-8)."""
    digest = hashlib.sha256(f"fundaudit-sample/{ALGORITHM_VERSION}:{int(seed)}:{stream}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def uniforms(seed: int, stream: str, counters: np.ndarray | Sequence[int]) -> np.ndarray:
    """Uniforms in [0, 1), one per counter: SplitMix64's output for state ``key + (counter + 1) * γ`` (mod 2^64,
    γ = 0x9E3779B97F4A7C15, key = :func:`stream_key`), its top 53 bits divided by 2^53. Vectorised, and the same
    on every platform and numpy version (only unsigned 64-bit wrap-around arithmetic)."""
    c = np.asarray(counters, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = np.uint64(stream_key(seed, stream)) + (c + np.uint64(1)) * _GAMMA
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) / float(2**53)


# --- sample sizes --------------------------------------------------------------------------------------------

def poisson_factor(confidence: float, errors: float) -> float:
    """The Poisson upper-limit (confidence) factor for ``errors`` errors: ``qgamma(confidence, 1 + errors)``
    (AICPA Audit Sampling guide, Table C-3: 3.00, 4.75, 6.30 … at 95 %)."""
    from scipy.stats import gamma

    return float(gamma.ppf(confidence, 1.0 + errors))


@dataclass(frozen=True)
class Size:
    """A computed sample size and how it was found."""

    n: int
    model: str              # "poisson" | "binomial"
    expected_errors: float  # errors (taints) the size allows for in the sample
    factor: float           # the upper limit at n: a rate
    formula: str            # the working, with the numbers


def mus_size(confidence: float, tolerable_rate: float, expected_rate: float = 0.0) -> Size:
    """MUS sample size from the Poisson model, as jfa's ``planning(likelihood = "poisson")``: the smallest n with
    ``qgamma(confidence, 1 + k) / n < tolerable_rate``, where ``k = n * expected_rate`` (the expected taint in the
    sample). 95 %, no expected error, 5 % tolerable: 60."""
    _check_rates(confidence, tolerable_rate, expected_rate)
    from scipy.stats import gamma

    def bounds(n: np.ndarray) -> np.ndarray:
        return np.asarray(gamma.ppf(confidence, 1.0 + n * expected_rate), dtype=np.float64) / n

    n = _smallest(bounds, tolerable_rate, lambda n: n > n * expected_rate)
    k = n * expected_rate
    bound = float(bounds(np.asarray([n], dtype=np.float64))[0])
    bound = float(f"{bound:.10g}")  # recorded to 10 digits: the same in every scipy version's last bits
    return Size(n, "poisson", k, bound,
                f"n = min{{n : qgamma({confidence:g}, 1 + {expected_rate:.6g}·n) / n < {tolerable_rate:.6g}}} = {n}; "
                f"qgamma({confidence:g}, {1 + k:.6g}) / {n} = {bound:.6f}")


def attribute_size(confidence: float, tolerable_rate: float, expected_rate: float = 0.0) -> Size:
    """Item sample size from the binomial attribute model, as the AICPA guide's Table A-1 and jfa's
    ``planning(likelihood = "binomial")``: the smallest n with ``qbeta(confidence, 1 + k, n - k) < tolerable_rate``,
    ``k = ceil(n * expected_rate)``. 95 %, no expected deviation, 5 % tolerable: 59."""
    _check_rates(confidence, tolerable_rate, expected_rate)
    from scipy.stats import beta

    def errors(n: np.ndarray) -> np.ndarray:
        return np.ceil(n * expected_rate - 1e-12)

    def bounds(n: np.ndarray) -> np.ndarray:
        k = errors(n)
        return np.asarray(beta.ppf(confidence, 1 + k, np.maximum(n - k, 1e-300)), dtype=np.float64)

    n = _smallest(bounds, tolerable_rate, lambda n: n > errors(n))
    k = int(errors(np.asarray([n], dtype=np.float64))[0])
    bound = float(bounds(np.asarray([n], dtype=np.float64))[0])
    bound = float(f"{bound:.10g}")
    return Size(n, "binomial", float(k), bound,
                f"n = min{{n : qbeta({confidence:g}, 1 + k, n − k) < {tolerable_rate:.6g}, "
                f"k = ⌈{expected_rate:.6g}·n⌉}} = {n}; k = {k}, qbeta({confidence:g}, {1 + k}, {n - k}) = {bound:.6f}")


def _smallest(bounds: Any, limit: float, valid: Any, chunk: int = 4096) -> int:
    """The smallest n in 1 … MAX_SIZE with ``valid(n)`` and ``bounds(n) < limit``, searched a chunk at a time."""
    for lo in range(1, MAX_SIZE + 1, chunk):
        n = np.arange(lo, min(lo + chunk, MAX_SIZE + 1), dtype=np.float64)
        ok = valid(n)
        b = np.full(len(n), np.inf)
        b[ok] = bounds(n[ok])
        hit = np.flatnonzero(b < limit)
        if len(hit):
            return int(n[hit[0]])
    raise ConfigError("sample_size_too_large", size=MAX_SIZE)


def _check_rates(confidence: float, tolerable_rate: float, expected_rate: float) -> None:
    if not 0 < confidence < 1:
        raise ConfigError("sample_bad_confidence", value=confidence)
    if not tolerable_rate > 0:
        raise ConfigError("sample_bad_tolerable", value=tolerable_rate)
    if not 0 <= expected_rate < tolerable_rate:
        raise ConfigError("sample_expected_too_high", expected=expected_rate, tolerable=tolerable_rate)


# --- selection -----------------------------------------------------------------------------------------------

def select_random(count: int, n: int, seed: int, stream: str = "random") -> np.ndarray:
    """Simple random sampling without replacement: each of ``count`` items (canonical positions) gets the key
    ``uniforms(seed, stream, position)`` and the ``n`` smallest keys are taken (ties, which need two equal
    53-bit keys, broken by position). Returned sorted by position."""
    if n >= count:
        return np.arange(count, dtype=np.int64)
    keys = uniforms(seed, stream, np.arange(count))
    order = np.lexsort((np.arange(count), keys))
    return np.sort(order[:n]).astype(np.int64)


def select_systematic(count: int, n: int, start: float) -> tuple[np.ndarray, float]:
    """Systematic (interval) item selection: interval ``count / n``, positions ``floor((start + j) * interval)``
    for j = 0 … n−1, ``start`` a uniform in [0, 1). Never a position twice (the interval is ≥ 1)."""
    if n >= count:
        return np.arange(count, dtype=np.int64), 1.0
    interval = count / n
    pos = np.floor((start + np.arange(n)) * interval).astype(np.int64)
    return np.minimum(pos, count - 1), interval


def select_mus(amounts: np.ndarray, n: int, start: float) -> tuple[np.ndarray, np.ndarray, float]:
    """Monetary-unit selection, systematic over the cumulative amounts (fen, all > 0, canonical order) with a
    random start: interval ``B / n``, selection points ``(start + j) * interval`` for j = 0 … n−1, and the item
    whose monetary units ``(cum_{i-1}, cum_i]`` hold a point is selected. Returns the positions selected
    (sorted), how many points each holds (an item larger than the interval can hold two: one item, its hit
    count recorded) and the interval (fen)."""
    a = np.asarray(amounts, dtype=np.int64)
    total = int(a.sum())
    interval = total / n
    points = (start + np.arange(n)) * interval  # in (0, total): start > 0 is ensured by the caller's uniform
    cum = np.cumsum(a)
    pos = np.searchsorted(cum, points, side="left")  # first item whose cumulative total reaches the point
    pos = np.minimum(pos, len(a) - 1)
    unique, hits = np.unique(pos, return_counts=True)
    return unique.astype(np.int64), hits.astype(np.int64), interval


def allocate(weights: Sequence[float], capacity: Sequence[int], n: int, minimum: int = 2) -> list[int]:
    """``n`` spread over strata in proportion to ``weights``, each stratum between ``min(minimum, capacity)`` (so each
    has a variance; the total is raised to their sum when ``n`` is smaller) and its ``capacity`` (its item count):
    ``clip(λ · weight, low, capacity)`` with λ such that the shares add up to ``n`` (water-filling), the fractions
    then given by largest remainder (ties to the earlier stratum). Strata of zero weight get their minimum, and
    the capacity the others cannot take, in proportion to their capacity."""
    cap = np.asarray(capacity, dtype=np.float64)
    lo = np.minimum(cap, minimum)
    w = np.asarray(weights, dtype=np.float64)
    w = w / w.max() if w.max() > 0 else w  # weights are fen or counts: scaled, λ stays in range
    n = int(min(max(n, int(lo.sum())), int(cap.sum())))
    pos = w > 0
    if not pos.any():
        w, pos = cap.copy(), cap > 0

    def total(lam: float) -> float:
        return float(np.where(pos, np.clip(lam * w, lo, cap), lo).sum())

    top = float(np.max(cap[pos] / w[pos]))
    if total(top) <= n:  # the weighted strata full: the rest to the others by capacity
        share = np.where(pos, cap, lo)
        rest = ~pos
        if n > share.sum() and rest.any():
            extra = allocate(list(cap[rest] - lo[rest]), list((cap - lo)[rest].astype(np.int64)),
                             int(n - share.sum()), 0)
            share[rest] += extra
    else:
        # total() is piecewise linear in λ, with a kink where a stratum reaches its low or its capacity
        kinks = np.unique(np.concatenate([[0.0], lo[pos] / w[pos], cap[pos] / w[pos]]))
        at = np.asarray([total(k) for k in kinks])  # one step per stratum bound, not per row
        j = int(np.searchsorted(at, n, side="left"))
        a, b = kinks[j - 1], kinks[j]
        lam = b if at[j] == at[j - 1] else a + (n - at[j - 1]) / (at[j] - at[j - 1]) * (b - a)
        share = np.where(pos, np.clip(lam * w, lo, cap), lo)
    x = np.minimum(np.floor(share + 1e-9), cap).astype(np.int64)
    short = n - int(x.sum())
    if short > 0:
        remainder = np.where(x < cap, share - x, -1.0)
        order = sorted(range(len(cap)), key=lambda i: (-remainder[i], i))  # one step per stratum, not per row
        for i in order[:short]:
            x[i] += 1
    return [int(v) for v in x]


# --- evaluation ----------------------------------------------------------------------------------------------

def stringer_bound(taints: Sequence[float], hits: Sequence[int], n: int, interval: float,
                   confidence: float) -> dict[str, Any]:
    """The Stringer bound of an MUS sample, in money: basic precision ``interval * UL(0)`` plus, for the
    overstatement taints in descending order (each counted as often as its item was hit), ``interval * t_(i) *
    (UL(i) − UL(i−1))`` with UL the Poisson upper-limit factors (:func:`poisson_factor`). Understatements (negative
    taints) do not reduce the bound; they are projected apart. Taints above 1 count as 1 in the bound."""
    t = np.repeat(np.asarray(taints, dtype=np.float64), np.asarray(hits, dtype=np.int64))
    over = np.sort(np.minimum(t[t > 0], 1.0))[::-1]
    factors = [poisson_factor(confidence, i) for i in range(len(over) + 1)]
    steps = []
    for i, ti in enumerate(over, start=1):
        steps.append({"rank": i, "taint": float(ti), "factor": factors[i], "increment": factors[i] - factors[i - 1],
                      "amount": interval * float(ti) * (factors[i] - factors[i - 1])})
    basic = interval * factors[0]
    projected_over = interval * float(t[t > 0].sum())
    projected_under = interval * float(-t[t < 0].sum()) + 0.0  # never -0.0
    upper = basic + sum(s["amount"] for s in steps)
    return {"method": "stringer", "n": int(n), "interval": interval, "basic_precision": basic,
            "factors": factors, "steps": steps, "projected": projected_over - projected_under,
            "projected_overstatement": projected_over, "projected_understatement": projected_under,
            "upper": upper}


def difference_bound(differences: Sequence[float], population_count: int, confidence: float) -> dict[str, Any]:
    """Difference estimation for a simple random (or systematic) item sample: projected misstatement
    ``N * mean(d)``, standard error ``N * s_d / sqrt(n) * sqrt(1 − n/N)``, one-sided upper bound ``projected +
    t(confidence, n − 1) * SE`` (d: book − audited per item, fen)."""
    from scipy.stats import t as student

    d = np.asarray(differences, dtype=np.float64)
    n, big_n = len(d), int(population_count)
    projected = big_n * float(d.mean()) if n else 0.0
    s = float(d.std(ddof=1)) if n > 1 else 0.0
    fpc = math.sqrt(max(0.0, 1 - n / big_n)) if big_n else 0.0
    se = big_n * s / math.sqrt(n) * fpc if n else 0.0
    tq = float(student.ppf(confidence, n - 1)) if n > 1 else float("nan")
    upper = projected + (tq * se if n > 1 else 0.0)
    return {"method": "difference", "n": n, "population_count": big_n, "mean_difference": float(d.mean()) if n else 0.0,
            "sd_difference": s, "fpc": fpc, "standard_error": se, "t": tq, "df": n - 1, "projected": projected,
            "upper": upper, "misstated_items": int((d != 0).sum())}


def stratified_bound(strata: Sequence[tuple[Sequence[float], int]], confidence: float) -> dict[str, Any]:
    """Stratified difference estimation: projected ``Σ N_h * mean(d_h)``, variance ``Σ N_h² (1 − n_h/N_h) s_h² /
    n_h``, one-sided upper bound with t on ``Σ (n_h − 1)`` degrees of freedom. ``strata``: (differences, N_h)."""
    from scipy.stats import t as student

    rows = []
    projected = var = 0.0
    df = 0
    for d_h, big in strata:
        d = np.asarray(d_h, dtype=np.float64)
        n = len(d)
        p = big * float(d.mean()) if n else 0.0
        s2 = float(d.var(ddof=1)) if n > 1 else 0.0
        v = big * big * (1 - n / big) * s2 / n if n and big else 0.0
        projected += p
        var += v
        df += max(n - 1, 0)
        rows.append({"n": n, "population_count": int(big), "projected": p, "variance": v,
                     "misstated_items": int((d != 0).sum())})
    se = math.sqrt(var)
    tq = float(student.ppf(confidence, df)) if df > 0 else float("nan")
    upper = projected + (tq * se if df > 0 else 0.0)
    return {"method": "stratified_difference", "strata": rows, "projected": projected, "standard_error": se,
            "t": tq, "df": df, "upper": upper}


def conclusion(upper: float, projected: float, tolerable: float) -> str:
    """``accept`` when the upper bound is at most the tolerable misstatement; ``reject`` when the projected
    misstatement alone exceeds it; else ``extend`` (the sample cannot tell: 需扩大样本)."""
    if upper <= tolerable:
        return "accept"
    if projected > tolerable:
        return "reject"
    return "extend"


CONCLUSIONS = ("accept", "reject", "extend")


# --- the plan ------------------------------------------------------------------------------------------------

@dataclass
class SamplePlan:
    """One sample: its plan (``plan``: method, parameters, seed, size and its working, population and interval),
    the selected items (``items``), the items examined in full (``full``) and the rows left out of the population
    (``excluded``), as frames with provenance (file, sheet, row), the book amount (fen) and, once read, the row as
    read (``evidence``). :meth:`to_dict` is sample.json; :meth:`write` writes sample.json and sample.xlsx."""

    plan: dict[str, Any]
    items: pd.DataFrame
    full: pd.DataFrame
    excluded: pd.DataFrame
    strata: list[dict[str, Any]] = field(default_factory=list)
    inputs: list[dict[str, Any]] = field(default_factory=list)
    rejected: int = 0
    masked: bool = True
    generated_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def to_dict(self) -> dict[str, Any]:
        """sample.json's document (docs/sampling.md), with ``plan_sha256`` over everything but the timestamp."""
        from fundaudit.report.sample import plan_document

        return plan_document(self)

    def write(self, out: str | os.PathLike[str], *, lang: str = "zh") -> list[Path]:
        """Write sample.json and sample.xlsx into ``out`` as one set (replacing the previous run's)."""
        from fundaudit.report.sample import write_plan

        return write_plan(self, Path(out), lang=lang)


@dataclass(frozen=True)
class Options:
    """The checked options of a sample (everything but the inputs)."""

    kind: str
    method: str
    column: str
    confidence: float
    tolerable: int | None    # fen
    expected: int            # fen
    size: int | None
    high_value: int | None   # fen
    seed: int
    strata: tuple[int, ...] | None = None  # amount boundaries, fen
    strata_column: str | None = None
    allocation: str = "value"


def _money_option(name: str, value: Any) -> int | None:
    """An amount option (yuan, as text or number) as fen; None when not given."""
    if value is None or value == "":
        return None
    from fundaudit.normalize import parse_money

    parsed = parse_money(pd.Series([str(value)], dtype=object))
    fen = parsed.values.iloc[0]
    if pd.isna(fen) or parsed.reason.iloc[0] is not None:
        raise ConfigError("sample_bad_amount", option=name, value=value)
    return int(fen)


def check_options(kind: str, method: str, *, confidence: float = 0.95, tolerable: Any = None, expected: Any = None,
                  size: int | None = None, strata: str | Sequence[Any] | None = None, high_value: Any = None,
                  seed: int | None = None, column: str | None = None, allocation: str = "value") -> Options:
    """Every option checked before any input is read (ConfigError, exit 2)."""
    from fundaudit.columns import catalogue, kinds

    spec = catalogue().get(kind)
    if spec is None:
        raise ConfigError("unknown_kind", kind=kind, kinds=", ".join(kinds()))
    if method not in METHODS:
        raise ConfigError("sample_bad_method", value=method, allowed=", ".join(METHODS))
    col = column or spec.amount
    if not col or col not in spec.columns or spec.columns[col].type != "money":
        money = ", ".join(c for c, s in spec.columns.items() if s.type == "money") or "-"
        raise ConfigError("sample_bad_column", kind=kind, column=col or "-", columns=money)
    try:
        conf = float(confidence)
    except (TypeError, ValueError):
        raise ConfigError("sample_bad_confidence", value=confidence) from None
    if not 0.5 <= conf < 1:
        raise ConfigError("sample_bad_confidence", value=confidence)
    tol = _money_option("--tolerable", tolerable)
    exp = _money_option("--expected", expected) or 0
    high = _money_option("--high-value", high_value)
    if tol is not None and tol <= 0:
        raise ConfigError("sample_bad_amount", option="--tolerable", value=tolerable)
    if exp < 0 or (tol is not None and exp >= tol):
        raise ConfigError("sample_expected_too_high", expected=expected, tolerable=tolerable)
    if high is not None and high <= 0:
        raise ConfigError("sample_bad_amount", option="--high-value", value=high_value)
    if size is not None and (int(size) != size or size < 1 or size > MAX_SIZE):
        raise ConfigError("sample_bad_size", value=size, max=MAX_SIZE)
    if size is None and tol is None:
        raise ConfigError("sample_needs_size", method=method)
    if allocation not in ALLOCATIONS:
        raise ConfigError("sample_bad_allocation", value=allocation, allowed=", ".join(ALLOCATIONS))
    bounds: tuple[int, ...] | None = None
    strata_col: str | None = None
    if method == "stratified":
        if strata is None or (isinstance(strata, str) and not strata.strip()):
            raise ConfigError("sample_needs_strata")
        parts = [p.strip() for p in strata.split(",")] if isinstance(strata, str) else [str(p) for p in strata]
        if len(parts) == 1 and parts[0] in spec.columns:
            strata_col = parts[0]
        else:
            try:
                fen = [_money_option("--strata", p) for p in parts]
            except ConfigError:
                raise ConfigError("sample_bad_strata", value=strata, columns=", ".join(spec.columns)) from None
            if any(f is None for f in fen) or list(fen) != sorted(set(fen)):  # type: ignore[type-var]
                raise ConfigError("sample_bad_strata", value=strata, columns=", ".join(spec.columns))
            bounds = tuple(int(f) for f in fen if f is not None)
    elif strata is not None and strata != "":
        raise ConfigError("sample_strata_not_stratified", method=method)
    if seed is None:
        seed = secrets.randbelow(10**9)
    elif int(seed) != seed or seed < 0:
        raise ConfigError("sample_bad_seed", value=seed)
    return Options(kind=kind, method=method, column=col, confidence=conf, tolerable=tol, expected=exp,
                   size=None if size is None else int(size), high_value=high, seed=int(seed), strata=bounds,
                   strata_column=strata_col, allocation=allocation)


def _order(frame: pd.DataFrame) -> np.ndarray:
    """The canonical order of a frame's rows: by file, sheet (blank first), row."""
    return np.lexsort((pd.to_numeric(frame["row"]).to_numpy(), frame["sheet"].fillna("").astype(str).to_numpy(),
                       frame["file"].astype(str).to_numpy()))


def canonical(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """The population's rows (file, sheet, row, amount in fen) in canonical order: by file, sheet, row. Input order
    does not matter after this."""
    out = pd.DataFrame({"file": frame["file"].astype(str).to_numpy(),
                        "sheet": frame["sheet"].astype(object).where(frame["sheet"].notna(), None).to_numpy(),
                        "row": pd.to_numeric(frame["row"]).astype("int64").to_numpy(),
                        "book": frame[column].astype("Int64").to_numpy()})
    return out.iloc[_order(frame)].reset_index(drop=True)


def plan_frame(frame: pd.DataFrame, opts: Options, *, strata_values: pd.Series | None = None) -> SamplePlan:
    """Plan and select a sample of ``frame`` (a ledger's canonical frame). MUS: rows whose amount is zero or
    negative (or empty) are not in the population and are listed apart; items at or above ``high_value`` and,
    for MUS, at or above the sampling interval (found by iterating: removing them lowers the interval) are
    examined in full. The rest is the sampling population."""
    pop = canonical(frame, opts.column)
    if strata_values is not None:
        keyed = frame.assign(_sv=strata_values.astype(object).where(strata_values.notna(), None))
        pop["stratum_value"] = _canonical_column(keyed, "_sv").to_numpy()
    book = pop["book"]
    blank = book.isna()
    bad = blank | (book.fillna(0) <= 0 if opts.method == "mus" else blank)
    excluded = pop[bad].assign(reason=np.where(blank[bad], "amount_blank", "non_positive"))
    pop = pop[~bad].reset_index(drop=True)
    pop["book"] = pop["book"].astype("int64")
    full_mask = np.zeros(len(pop), dtype=bool)
    full_reason = np.array([""] * len(pop), dtype=object)
    if opts.high_value is not None:
        hv = pop["book"].to_numpy() >= opts.high_value
        full_mask |= hv
        full_reason[hv] = "high_value"
    plan: dict[str, Any] = {
        "kind": opts.kind, "column": opts.column, "method": opts.method, "seed": opts.seed,
        "confidence": opts.confidence, "tolerable": _fen(opts.tolerable), "expected": _fen(opts.expected),
        "size_given": opts.size, "high_value": _fen(opts.high_value),
        "algorithm": {"name": ALGORITHM, "version": ALGORITHM_VERSION},
        "population": {"count": int(len(pop) + len(excluded)), "value": _fen(int(frame[opts.column].fillna(0).sum()))},
        "excluded": {"count": len(excluded), "value": _fen(int(excluded["book"].fillna(0).sum()))},
    }
    strata: list[dict[str, Any]] = []
    if opts.method == "mus":
        items, size, interval, start = _plan_mus(pop, opts, full_mask, full_reason)
        plan.update(size.__dict__ if size else {})
        plan["interval"] = _fen_float(interval)
        plan["interval_fen"] = interval
        plan["start"] = start
    elif opts.method in ("random", "systematic"):
        items, size, interval, start = _plan_items(pop, opts, full_mask)
        plan.update(size.__dict__ if size else {})
        if opts.method == "systematic":
            plan["interval"] = interval
            plan["start"] = start
    else:
        items, size, strata = _plan_stratified(pop, opts, full_mask)
        plan.update(size.__dict__ if size else {})
    value = int(pop["book"][~full_mask].clip(lower=0).sum())
    if size is not None and value > 0:
        plan["formula"] = (f"T / B = {_fen(opts.tolerable)} / {_fen(value)} = {(opts.tolerable or 0) / value:.6g}; "
                           f"E / B = {_fen(opts.expected)} / {_fen(value)} = {opts.expected / value:.6g}; "
                           + size.formula)
    elif opts.size is not None:
        plan["model"] = "given"
        plan["formula"] = f"n = --size = {opts.size}"
    else:  # every row examined in full: nothing left to sample
        plan["model"] = None
        plan["formula"] = "B = 0"
    plan.pop("n", None)
    full = pop[full_mask].assign(reason=full_reason[full_mask]).reset_index(drop=True)
    rest = ~full_mask
    plan["full_examination"] = {"count": int(full_mask.sum()), "value": _fen(int(pop["book"][full_mask].sum()))}
    plan["sampling_population"] = {"count": int(rest.sum()), "value": _fen(int(pop["book"][rest].sum()))}
    plan["size"] = len(items)
    plan["hits"] = int(items["hits"].sum()) if len(items) else 0
    return SamplePlan(plan=plan, items=items, full=full, excluded=excluded.reset_index(drop=True), strata=strata)


def _canonical_column(frame: pd.DataFrame, name: str) -> pd.Series:
    """``frame[name]`` in the canonical order of :func:`canonical`."""
    return frame[name].iloc[_order(frame)].reset_index(drop=True)


def _fen(v: int | None) -> str | None:
    from fundaudit.normalize import format_fen

    return None if v is None else format_fen(int(v))


def _fen_float(v: float) -> str:
    """An interval or bound (fen, float) as yuan text rounded to the fen."""
    from fundaudit.normalize import format_fen

    return format_fen(math.floor(v + 0.5))


def _plan_mus(pop: pd.DataFrame, opts: Options, full_mask: np.ndarray,
              full_reason: np.ndarray) -> tuple[pd.DataFrame, Size | None, float, float]:
    """MUS: size on the sampling population (tolerable and expected as rates of its value), items at or above
    the interval moved to 全查 until none is left, then the selection."""
    amounts = pop["book"].to_numpy()
    size: Size | None = None
    while True:
        rest = ~full_mask
        value = int(amounts[rest].sum())
        if value <= 0 or not rest.any():
            return _items(pop, np.array([], dtype=np.int64), np.array([], dtype=np.int64)), size, 0.0, 0.0
        if opts.size is None:
            assert opts.tolerable is not None
            size = mus_size(opts.confidence, opts.tolerable / value, opts.expected / value)
            n = size.n
        else:
            n = opts.size
        interval = value / n
        over = rest & (amounts >= interval)
        if not over.any():
            break
        full_mask |= over
        full_reason[over & (full_reason == "")] = "interval"
    start = float(uniforms(opts.seed, "mus-start", [0])[0])
    start = start if start > 0 else 0.5  # a point at 0 would select nothing: never happens but is defined
    idx = np.flatnonzero(rest)
    pos, hits, interval = select_mus(amounts[idx], n, start)
    return _items(pop, idx[pos], hits), size, interval, start


def _item_size(amounts: np.ndarray, opts: Options) -> tuple[Size | None, int]:
    """The size of an item sample: ``--size`` as given (no model), else the attribute model's on the sampling
    population's value (``amounts``, fen) with the tolerable and expected amounts as rates of it."""
    if opts.size is not None:
        return None, opts.size
    value = int(amounts.clip(min=0).sum())
    if value <= 0:
        raise ConfigError("sample_population_empty", kind=opts.kind)
    assert opts.tolerable is not None
    size = attribute_size(opts.confidence, opts.tolerable / value, opts.expected / value)
    return size, size.n


def _plan_items(pop: pd.DataFrame, opts: Options,
                full_mask: np.ndarray) -> tuple[pd.DataFrame, Size | None, float, float]:
    """Random or systematic item selection from the sampling population."""
    idx = np.flatnonzero(~full_mask)
    size, n = _item_size(pop["book"].to_numpy()[idx], opts)
    if opts.method == "random":
        pos = select_random(len(idx), n, opts.seed)
        return _items(pop, idx[pos], np.ones(len(pos), dtype=np.int64)), size, 0.0, 0.0
    start = float(uniforms(opts.seed, "systematic-start", [0])[0])
    pos, interval = select_systematic(len(idx), n, start)
    return _items(pop, idx[pos], np.ones(len(pos), dtype=np.int64)), size, interval, start


def _plan_stratified(pop: pd.DataFrame, opts: Options,
                     full_mask: np.ndarray) -> tuple[pd.DataFrame, Size | None, list[dict[str, Any]]]:
    """Strata by amount boundaries or a column's values; ``n`` (given or from the attribute model on the whole
    sampling population) allocated by value or count, each stratum selected at random on its own stream."""
    idx = np.flatnonzero(~full_mask)
    amounts = pop["book"].to_numpy()
    if opts.strata is not None:
        edges = np.asarray(opts.strata, dtype=np.int64)
        label = np.searchsorted(edges, amounts[idx], side="right")
        names = []
        for i in range(len(edges) + 1):
            low = None if i == 0 else _fen(int(edges[i - 1]))
            high = None if i == len(edges) else _fen(int(edges[i]))
            names.append((low, high))
        groups = [(f"{i + 1}", names[i], idx[label == i]) for i in range(len(edges) + 1)]
    else:
        values = pop["stratum_value"].to_numpy()[idx]
        text = np.array(["" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v) for v in values],
                        dtype=object)
        groups = [(str(v), (None, None), idx[text == v]) for v in sorted(set(text.tolist()))]
    groups = [g for g in groups if len(g[2])]
    size, n = _item_size(amounts[idx], opts)
    weights = [float(np.abs(amounts[g[2]]).sum()) if opts.allocation == "value" else float(len(g[2]))
               for g in groups]
    sizes = allocate(weights, [len(g[2]) for g in groups], n)
    frames, strata = [], []
    for (name, (low, high), members), n_h in zip(groups, sizes, strict=True):
        pos = select_random(len(members), n_h, opts.seed, f"stratum:{name}")
        frames.append(_items(pop, members[pos], np.ones(len(pos), dtype=np.int64)).assign(stratum=name))
        strata.append({"stratum": name, "low": low, "high": high, "count": len(members),
                       "value": _fen(int(amounts[members].sum())), "size": int(n_h)})
    items = pd.concat(frames, ignore_index=True) if frames else _items(pop, np.array([], dtype=np.int64),
                                                                       np.array([], dtype=np.int64))
    return items, size, strata


def _items(pop: pd.DataFrame, positions: np.ndarray, hits: np.ndarray) -> pd.DataFrame:
    out = pop.iloc[positions][["file", "sheet", "row", "book"]].reset_index(drop=True)
    out["hits"] = hits
    return out


# --- the API -------------------------------------------------------------------------------------------------

def sample(inputs: Mapping[str, Any] | None = None, *, paths: Iterable[str | os.PathLike[str]] = (),
           ledgers: Iterable[Any] = (), kind: str, method: str, confidence: float = 0.95,
           tolerable: Any = None, expected: Any = None, size: int | None = None, strata: Any = None,
           high_value: Any = None, seed: int | None = None, column: str | None = None, allocation: str = "value",
           unmask: bool = False, limits: Any = None, progress: Any = None,
           columns: Mapping[str, str] | None = None) -> SamplePlan:
    """Plan and select an audit sample of the ``kind`` rows, the inputs read exactly as :func:`fundaudit.audit`
    reads them (the same rows loaded, the same rows rejected). Amounts (``tolerable``, ``expected``,
    ``high_value``, amount ``strata`` boundaries) are yuan; options are checked before any input is read.
    Returns the :class:`SamplePlan`; ``plan.write(out)`` writes sample.json and sample.xlsx."""
    from fundaudit.inputs import collect
    from fundaudit.masking import mask_data

    opts = check_options(kind, method, confidence=confidence, tolerable=tolerable, expected=expected, size=size,
                         strata=strata, high_value=high_value, seed=seed, column=column, allocation=allocation)
    loaded = collect(paths, list(ledgers), inputs, limits=limits, progress=progress, skipped=[], columns=columns)
    ledger = loaded.get(opts.kind)
    if ledger is None:
        raise ConfigError("sample_no_kind", kind=opts.kind, kinds=", ".join(sorted(loaded)) or "-")
    frame = ledger.frame
    if opts.column not in frame.columns:
        raise ConfigError("sample_bad_column", kind=opts.kind, column=opts.column, columns="-")
    sv = None
    if opts.strata_column is not None:
        if opts.strata_column not in frame.columns:
            raise ConfigError("sample_bad_strata", value=opts.strata_column, columns=", ".join(frame.columns))
        sv = frame[opts.strata_column].astype(object).where(frame[opts.strata_column].notna(), None)
        if unmask is False:
            from fundaudit.masking import mask_series

            sv = mask_series(sv.astype(object))
    out = plan_frame(frame, opts, strata_values=sv)
    out.plan["strata"] = (None if opts.method != "stratified" else
                          {"column": opts.strata_column} if opts.strata_column else
                          {"bounds": [_fen(b) for b in opts.strata or ()]})
    out.plan["allocation"] = opts.allocation if opts.method == "stratified" else None
    out.masked = not unmask
    out.inputs = [i.to_dict() for i in ledger.inputs]
    if out.masked:
        out.inputs = mask_data(out.inputs)
    out.rejected = int(sum(i.rows_rejected for i in ledger.inputs))
    _attach_evidence(out, loaded, masked=not unmask)
    return out


def _attach_evidence(plan: SamplePlan, ledgers: Mapping[str, Any], *, masked: bool) -> None:
    """Each selected and 全查 row's cells as read (masked unless ``masked`` is False), as findings carry theirs."""
    from fundaudit.engine.findings import add_evidence

    kind = plan.plan["kind"]
    for name in ("items", "full", "excluded"):
        f: pd.DataFrame = getattr(plan, name)
        refs = pd.DataFrame({"refs": [[{"kind": kind, "file": r.file, "sheet": r.sheet, "row": int(r.row)}]
                                      for r in f.itertuples()]}, index=f.index)  # one per selected item, not per row
        got = add_evidence(refs, ledgers, masked=masked)
        f["evidence"] = [e[0] if e else {} for e in got["evidence"]] if len(f) else pd.Series(dtype=object)


def evaluate_sample(plan: str | os.PathLike[str] | Mapping[str, Any], results: str | os.PathLike[str], *,
                    partial: bool = False) -> dict[str, Any]:
    """Evaluate a filled sample.xlsx (``results``) against its plan (sample.json, or its parsed document): every
    bad cell raises one :class:`~fundaudit.report.sample.SampleResultsError` (file, sheet, row); a blank 审定金额
    is an item not yet examined, an error unless ``partial`` (then it counts as wholly misstated). Returns
    evaluation.json's document."""
    from fundaudit.report.sample import read_plan, read_results

    doc = read_plan(plan)
    answers = read_results(results, doc, partial=partial)
    return evaluate(doc, answers)


def evaluate(doc: Mapping[str, Any], answers: pd.DataFrame) -> dict[str, Any]:
    """The evaluation of a sample: ``doc`` is sample.json's document, ``answers`` one row per item and 全查 item
    (``item``, ``book`` and ``audited`` in fen, ``examined``). Misstatement per item ``book − audited``; the 全查
    items' misstatement is added as known; the sample's is projected and bounded by the method's estimator;
    the conclusion compares the upper bound with the tolerable misstatement."""
    from fundaudit.errors import render
    from fundaudit.normalize import format_fen

    plan = doc["plan"]
    conf = float(plan["confidence"])
    a = answers.copy()
    a["misstatement"] = a["book"] - a["audited"]
    sampled = a[a["item"].str.startswith("S")]
    full = a[a["item"].str.startswith("H")]
    known = int(full["misstatement"].sum())
    known_over = int(full["misstatement"].clip(lower=0).sum())
    method = plan["method"]
    by_item = {i["item"]: i for i in doc["items"]}
    if method == "mus":
        interval = float(plan["interval_fen"])
        hits = sampled["item"].map(lambda k: int(by_item[k].get("hits", 1))).to_numpy()
        taints = (sampled["misstatement"] / sampled["book"]).to_numpy(dtype=np.float64)
        est = stringer_bound(taints, hits, int(hits.sum()), interval, conf)
    elif method == "stratified":
        groups = []
        for s in doc.get("strata", []):
            members = sampled[sampled["item"].map(lambda k: by_item[k].get("stratum")) == s["stratum"]]
            groups.append((members["misstatement"].to_numpy(dtype=np.float64), int(s["count"])))
        est = stratified_bound(groups, conf)
        for s, row in zip(doc.get("strata", []), est["strata"], strict=True):
            row["stratum"] = s["stratum"]
    else:
        est = difference_bound(sampled["misstatement"].to_numpy(dtype=np.float64),
                               int(plan["sampling_population"]["count"]), conf)
    tolerable = _fen_of(plan["tolerable"]) if plan.get("tolerable") else None
    upper_total = est["upper"] + known_over
    projected_total = est["projected"] + known
    verdict = conclusion(upper_total, projected_total, tolerable) if tolerable is not None else None
    items = [{"item": r.item, "book": format_fen(int(r.book)), "audited": format_fen(int(r.audited)),
              "misstatement": format_fen(int(r.misstatement)), "examined": bool(r.examined),
              "taint": (float(r.misstatement) / float(r.book)) if r.book else None, "note": r.note}
             for r in a.itertuples()]
    return {
        "schema": "fundaudit-sample-evaluation", "schema_version": 1,
        "plan_sha256": doc.get("plan_sha256"), "method": method, "estimator": est["method"],
        "confidence": conf, "tolerable": plan.get("tolerable"),
        "examined": int(a["examined"].sum()), "not_examined": int((~a["examined"]).sum()),
        "sample": {"items": len(sampled), "misstated": int((sampled["misstatement"] != 0).sum()),
                   "misstatement": format_fen(int(sampled["misstatement"].sum()))},
        "known_misstatement": format_fen(known), "known_overstatement": format_fen(known_over),
        "projected_misstatement": _fen_float(est["projected"]),
        "upper_bound_sample": _fen_up(est["upper"]),
        "projected_total": _fen_float(projected_total), "upper_bound": _fen_up(upper_total),
        "conclusion": verdict, "conclusion_text": {lang: render("values", f"sample.{verdict}", lang)
                                                   for lang in ("zh", "en")} if verdict else None,
        "working": _jsonable(_yuan(est)), "items": items,
    }


#: The keys of an estimator's working that hold money (fen): shown in yuan in evaluation.json.
_MONEY_KEYS = frozenset({"interval", "basic_precision", "amount", "projected", "projected_overstatement",
                         "projected_understatement", "upper", "standard_error", "mean_difference", "sd_difference"})


def _yuan(v: Any) -> Any:
    """The working with every money value (fen, float) as yuan text to the fen; a variance (fen²) dropped."""
    if isinstance(v, dict):
        return {k: (f"{x / 100 + 0.0:.2f}" if k in _MONEY_KEYS and isinstance(x, float | int) else _yuan(x))
                for k, x in v.items() if k != "variance"}
    if isinstance(v, list):
        return [_yuan(x) for x in v]
    return v


def _fen_of(text: Any) -> int:
    """An amount written by fundaudit (yuan text, two decimals) as fen."""
    from fundaudit.normalize import parse_money

    return int(parse_money(pd.Series([str(text)], dtype=object)).values.iloc[0])


def _fen_up(v: float) -> str:
    """A bound (fen) rounded up to the fen, as yuan text."""
    from fundaudit.normalize import format_fen

    return format_fen(math.ceil(v - 1e-9))


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    if isinstance(v, float):
        return None if math.isnan(v) else round(v, 10)
    if isinstance(v, np.generic):
        return _jsonable(v.item())
    return v
