"""Audit sampling statistics (issue 18 items 2-3): sample sizes and bounds against published reference values,
the documented uniform generator, and the selection's invariants (hypothesis)."""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fundaudit import sampling
from fundaudit.errors import ConfigError

# --- sample sizes against published tables -------------------------------------------------------------------


def test_mus_size_jfa_documented_examples() -> None:
    """jfa's documented planning examples (tests/testthat/test-planning.R, ids f5-v0.1.0-t1 and -t2, and the
    package's planning() help): Poisson, 95 %, no expected errors: materiality 5 % → 60 items, 1 % → 300."""
    assert sampling.mus_size(0.95, 0.05).n == 60
    assert sampling.mus_size(0.95, 0.01).n == 300


def test_mus_size_touw_hoogduin() -> None:
    """Touw & Hoogduin (2011), Statistiek voor audit en controlling, p. 23 (as benchmarked by jfa's
    test-touwhoogduin.R): materiality 100,000 / 5,000,000 = 2 %: 150 items at 95 %, 104 at 87.5 %."""
    assert sampling.mus_size(0.95, 100_000 / 5_000_000).n == 150
    assert sampling.mus_size(0.875, 100_000 / 5_000_000).n == 104


#: AICPA Audit Guide "Audit Sampling" (2017), Appendix C, Table C-1: monetary-unit sample sizes, 5 % risk of
#: incorrect acceptance; rows: ratio of expected to tolerable misstatement; columns: tolerable as a share of the
#: population (transcribed as in jfa's tests/testthat/test-aicpa-appendix-c.R).
TOLERABLE_C1 = (0.5, 0.3, 0.1, 0.08, 0.06, 0.05, 0.04, 0.03, 0.02, 0.01, 0.005)
TABLE_C1_5 = {
    0.0: (6, 10, 30, 38, 50, 60, 75, 100, 150, 300, 600),
    0.1: (8, 13, 37, 46, 62, 74, 92, 123, 184, 368, 736),
    0.2: (10, 16, 47, 58, 78, 93, 116, 155, 232, 463, 925),
    0.3: (12, 20, 60, 75, 100, 120, 150, 200, 300, 600, 1199),
    0.4: (17, 27, 81, 102, 135, 162, 203, 270, 405, 809, 1618),
    0.5: (24, 39, 116, 145, 193, 231, 289, 385, 577, 1154, 2308),
}
#: The same table at 10 % risk (rows 0, 0.2 … 0.5).
TABLE_C1_10 = {
    0.0: (5, 8, 24, 29, 39, 47, 58, 77, 116, 231, 461),
    0.2: (7, 12, 35, 43, 57, 69, 86, 114, 171, 341, 682),
    0.3: (9, 15, 44, 55, 73, 87, 109, 145, 217, 433, 866),
    0.4: (12, 20, 58, 72, 96, 115, 143, 191, 286, 572, 1144),
    0.5: (16, 27, 80, 100, 134, 160, 200, 267, 400, 799, 1597),
}


@pytest.mark.parametrize(("confidence", "table"), [(0.95, TABLE_C1_5), (0.90, TABLE_C1_10)])
def test_mus_size_aicpa_table_c1(confidence: float, table: dict[float, tuple[int, ...]]) -> None:
    """AICPA Audit Sampling guide (2017), Appendix C, Table C-1 (MUS sample sizes), every cell of these rows."""
    got = {ratio: tuple(sampling.mus_size(confidence, t, t * ratio).n for t in TOLERABLE_C1) for ratio in table}
    assert got == table


#: AICPA Audit Guide "Audit Sampling" (2017), Appendix A, Table A-1: statistical sample sizes for tests of
#: controls, 5 % risk of overreliance (binomial); expected deviation rates (%) → size, per tolerable rate.
EXPECTED_A1 = (0, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75, 2, 2.25, 2.5, 2.75, 3, 3.25, 3.5, 3.75, 4, 5, 6, 7, 8)
TABLE_A1 = {
    0.05: (59, 93, 93, 93, 93, 124, 124, 153, 181, 208, 234, 286, 361, 458, 624, 877, 1348),
    0.10: (29, 46, 46, 46, 46, 46, 46, 46, 46, 61, 61, 61, 61, 61, 76, 76, 89, 116, 179, 298, 649),
    0.04: (74, 117, 117, 117, 156, 156, 192, 227, 294, 390, 513, 722, 1098, 1936),
}


@pytest.mark.parametrize("tolerable", sorted(TABLE_A1))
def test_attribute_size_aicpa_table_a1(tolerable: float) -> None:
    """AICPA Audit Sampling guide (2017), Appendix A, Table A-1 (5 % risk): 59 items at 5 % tolerable and no
    expected deviation, 93 with 0.25 %–1 % expected, and the rest of the column."""
    want = TABLE_A1[tolerable]
    got = tuple(sampling.attribute_size(0.95, tolerable, e / 100).n for e in EXPECTED_A1[:len(want)])
    assert got == want


#: AICPA Audit Sampling guide, Table C-3 (confidence factors for MUS evaluation, Poisson): factors for 0, 1, 2 …
#: overstatements, as printed (rounded up to two decimals).
FACTORS = {0.95: (3.00, 4.75, 6.30, 7.76, 9.16, 10.52), 0.90: (2.31, 3.89, 5.33, 6.69, 8.00, 9.28)}


@pytest.mark.parametrize("confidence", sorted(FACTORS))
def test_poisson_factors_aicpa_table(confidence: float) -> None:
    got = tuple(math.ceil(round(sampling.poisson_factor(confidence, k), 6) * 100) / 100 for k in range(6))
    assert got == FACTORS[confidence]


def test_size_refuses_impossible_requests() -> None:
    with pytest.raises(ConfigError) as e:
        sampling.mus_size(0.95, 0.05, 0.05)
    assert e.value.code == "sample_expected_too_high"
    with pytest.raises(ConfigError) as e:
        sampling.mus_size(0.95, 1e-9)
    assert e.value.code == "sample_size_too_large"


# --- bounds --------------------------------------------------------------------------------------------------


def test_stringer_no_errors_is_jfa_reference() -> None:
    """jfa's evaluation(method = "stringer.poisson") of a 60-item sample with no misstatement (test-evaluation.R,
    id f3-v0.7.0-t1): upper bound 0.04992887 of the population (interval 1/60)."""
    got = sampling.stringer_bound([0.0] * 60, [1] * 60, 60, 1 / 60, 0.95)
    assert got["upper"] == pytest.approx(0.04992887, abs=1e-8)
    assert got["projected"] == 0.0
    assert got["steps"] == []


def test_stringer_with_taints_follows_the_aicpa_factors() -> None:
    """Interval 10,000, overstatement taints 0.2 and 0.5 and one understatement: basic precision 10,000 × 3.00, plus
    the taints in descending order times the factor increments (4.75 − 3.00, 6.30 − 4.75) of the AICPA table:
    41,850 with the table's rounded factors; the exact factors differ from them by less than 0.01 each."""
    got = sampling.stringer_bound([0.2, 0.0, -0.1, 0.5], [1, 1, 1, 1], 4, 10_000, 0.95)
    assert [s["taint"] for s in got["steps"]] == [0.5, 0.2]
    assert abs(got["upper"] - 41_850) <= 10_000 * (0.01 + 0.5 * 0.02 + 0.2 * 0.02)
    assert got["projected_overstatement"] == pytest.approx(7_000)
    assert got["projected_understatement"] == pytest.approx(1_000)
    assert got["projected"] == pytest.approx(6_000)


def test_stringer_counts_an_item_as_often_as_it_was_hit() -> None:
    once = sampling.stringer_bound([0.5, 0.5], [1, 1], 2, 100, 0.95)
    twice = sampling.stringer_bound([0.5], [2], 2, 100, 0.95)
    assert twice["upper"] == pytest.approx(once["upper"])
    assert twice["projected"] == pytest.approx(100.0)


def test_difference_bound_against_the_t_table() -> None:
    """d = 0, 0, 10, 0, −5 over N = 100: projected 100 · mean = 100, s = √30, SE = 100 · √30 / √5 · √(1 − 5/100);
    the upper bound uses t(0.95, 4) = 2.132 (Student's t table)."""
    got = sampling.difference_bound([0, 0, 10, 0, -5], 100, 0.95)
    se = 100 * math.sqrt(30) / math.sqrt(5) * math.sqrt(0.95)
    assert got["projected"] == pytest.approx(100.0)
    assert got["standard_error"] == pytest.approx(se)
    assert got["t"] == pytest.approx(2.132, abs=5e-4)
    assert got["upper"] == pytest.approx(100 + 2.132 * se, abs=0.5)


def test_stratified_bound_sums_the_strata() -> None:
    """Two strata: projected Σ N_h · mean(d_h) = 50 · 2 + 10 · 0 = 100; variance Σ N_h² (1 − n_h/N_h) s_h² / n_h
    with t on Σ (n_h − 1) = 4 degrees of freedom (2.132)."""
    got = sampling.stratified_bound([([0, 4, 2], 50), ([0, 0, 0], 10)], 0.95)
    var = 50 ** 2 * (1 - 3 / 50) * 4 / 3
    assert got["projected"] == pytest.approx(100.0)
    assert got["standard_error"] == pytest.approx(math.sqrt(var))
    assert got["df"] == 4
    assert got["upper"] == pytest.approx(100 + 2.132 * math.sqrt(var), abs=0.5)


@pytest.mark.parametrize(("upper", "projected", "verdict"), [(4_999, 100, "accept"), (5_000, 100, "accept"),
                                                              (6_000, 100, "extend"), (9_000, 5_001, "reject")])
def test_conclusion(upper: float, projected: float, verdict: str) -> None:
    assert sampling.conclusion(upper, projected, 5_000) == verdict


# --- the uniforms --------------------------------------------------------------------------------------------


def _splitmix_reference(seed: int, stream: str, counter: int) -> float:
    """docs/sampling.md's algorithm, written out with Python integers (independent of numpy)."""
    key = int.from_bytes(hashlib.sha256(f"fundaudit-sample/1:{seed}:{stream}".encode()).digest()[:8], "big")
    mask = (1 << 64) - 1
    z = (key + (counter + 1) * 0x9E3779B97F4A7C15) & mask
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
    z ^= z >> 31
    return (z >> 11) / 2**53


def test_uniforms_are_the_documented_function() -> None:
    counters = [0, 1, 2, 10**6, 2**40]
    got = sampling.uniforms(2016, "random", counters)
    assert got.tolist() == [_splitmix_reference(2016, "random", c) for c in counters]
    assert sampling.ALGORITHM == "fundaudit-splitmix64"
    assert sampling.ALGORITHM_VERSION == 1


def test_uniforms_are_pinned() -> None:
    """The first uniforms of seed 2016 never change (a change is a new ALGORITHM_VERSION)."""
    assert sampling.uniforms(2016, "mus-start", [0]).tolist() == [_splitmix_reference(2016, "mus-start", 0)]
    assert sampling.uniforms(2016, "x", [0, 1, 2]).round(8).tolist() == [0.66861676, 0.78884836, 0.12666314]


def test_uniforms_are_roughly_uniform() -> None:
    u = sampling.uniforms(7, "check", np.arange(100_000))
    assert u.min() >= 0 and u.max() < 1
    counts = np.histogram(u, bins=10, range=(0, 1))[0]
    assert counts.min() > 9_600 and counts.max() < 10_400


# --- selection invariants ------------------------------------------------------------------------------------


@given(count=st.integers(1, 400), n=st.integers(1, 450), seed=st.integers(0, 2**31))
@settings(max_examples=80, deadline=None)
def test_random_selection_never_repeats(count: int, n: int, seed: int) -> None:
    pos = sampling.select_random(count, n, seed)
    assert len(pos) == min(count, n)
    assert len(set(pos.tolist())) == len(pos)
    assert pos.min() >= 0 and pos.max() < count
    assert pos.tolist() == sorted(pos.tolist())


@given(count=st.integers(1, 400), n=st.integers(1, 450), start=st.floats(0, 1, exclude_max=True))
@settings(max_examples=80, deadline=None)
def test_systematic_selection_never_repeats(count: int, n: int, start: float) -> None:
    pos, interval = sampling.select_systematic(count, n, start)
    assert len(pos) == min(count, n)
    assert len(set(pos.tolist())) == len(pos)
    assert pos.min() >= 0 and pos.max() < count
    assert interval >= 1


@given(amounts=st.lists(st.integers(1, 10**6), min_size=1, max_size=200), n=st.integers(1, 100),
       start=st.floats(1e-9, 1, exclude_max=True))
@settings(max_examples=80, deadline=None)
def test_mus_selection_hits(amounts: list[int], n: int, start: float) -> None:
    """Each item is selected once at most, with its hit count: the points in its monetary units, which is the
    floor or the ceiling of its amount over the interval; the hits add up to n."""
    pos, hits, interval = sampling.select_mus(np.asarray(amounts), n, start)
    assert len(set(pos.tolist())) == len(pos)
    assert int(hits.sum()) == n
    a = np.asarray(amounts, dtype=np.float64)
    every = np.zeros(len(a), dtype=np.int64)
    every[pos] = hits
    assert (every >= np.floor(a / interval) - 1e-9).all() and (every <= np.ceil(a / interval) + 1e-9).all()


@given(weights=st.lists(st.integers(0, 10**13), min_size=1, max_size=8), data=st.data())  # fen or counts
@settings(max_examples=80, deadline=None)
def test_allocation_adds_up(weights: list[int], data: st.DataObject) -> None:
    capacity = data.draw(st.lists(st.integers(1, 50), min_size=len(weights), max_size=len(weights)))
    n = data.draw(st.integers(1, 300))
    got = sampling.allocate(weights, capacity, n)
    floor = sum(min(2, c) for c in capacity)  # every stratum gets 2 items (for its variance) when it has them
    assert sum(got) == min(max(n, floor), sum(capacity))
    assert all(0 <= g <= c for g, c in zip(got, capacity, strict=True))
    assert all(g >= min(2, c) for g, c in zip(got, capacity, strict=True))


@given(c1=st.floats(0.5, 0.99), c2=st.floats(0.5, 0.99), t1=st.floats(0.01, 0.5), t2=st.floats(0.01, 0.5))
@settings(max_examples=40, deadline=None)
def test_sizes_are_monotone(c1: float, c2: float, t1: float, t2: float) -> None:
    """More confidence never needs fewer items; a larger tolerable misstatement never needs more."""
    lo_c, hi_c = sorted((c1, c2))
    lo_t, hi_t = sorted((t1, t2))
    for size in (sampling.mus_size, sampling.attribute_size):
        assert size(lo_c, lo_t).n <= size(hi_c, lo_t).n
        assert size(lo_c, hi_t).n <= size(lo_c, lo_t).n


def _frame(amounts: list[int]) -> pd.DataFrame:
    return pd.DataFrame({"file": ["a.csv"] * len(amounts), "sheet": [None] * len(amounts),
                         "row": np.arange(2, len(amounts) + 2), "amount": pd.array(amounts, dtype="Int64")})


@given(amounts=st.lists(st.integers(-50_000, 2_000_000), min_size=1, max_size=150),
       method=st.sampled_from(["mus", "random", "systematic"]), seed=st.integers(0, 10**6),
       high=st.one_of(st.none(), st.integers(100_000, 1_500_000)))
@settings(max_examples=60, deadline=None)
def test_full_examination_is_out_of_the_sample_frame(amounts: list[int], method: str, seed: int,
                                                     high: int | None) -> None:
    """Every 全查 item is out of the sample; every row is in exactly one of sample frame, 全查 and left out;
    nothing is selected twice."""
    opts = sampling.Options(kind="disbursements", method=method, column="amount", confidence=0.95,
                            tolerable=500_000, expected=0, size=None if method == "mus" else 10, high_value=high,
                            seed=seed)
    if method == "mus" and not any(a > 0 for a in amounts):
        return
    plan = sampling.plan_frame(_frame(amounts), opts)
    picked = list(zip(plan.items["file"], plan.items["row"], strict=True))
    full = set(zip(plan.full["file"], plan.full["row"], strict=True))
    out = set(zip(plan.excluded["file"], plan.excluded["row"], strict=True))
    assert len(set(picked)) == len(picked)
    assert not set(picked) & full and not set(picked) & out and not full & out
    assert plan.plan["sampling_population"]["count"] + len(full) + len(out) == len(amounts)
    if high is not None:
        assert (plan.full["book"] >= high).sum() == sum(1 for a in amounts if a >= high
                                                        and (method != "mus" or a > 0))
    if method == "mus":
        assert all(a <= 0 for a in plan.excluded["book"])
        assert (plan.items["book"] < float(plan.plan["interval_fen"])).all()


def test_selection_does_not_depend_on_input_order() -> None:
    rng = np.random.default_rng(0)  # only to make test data; the selection uses no numpy generator
    amounts = rng.integers(1, 500_000, 300).tolist()
    frame = _frame(amounts)
    opts = sampling.Options(kind="disbursements", method="mus", column="amount", confidence=0.95,
                            tolerable=2_000_000, expected=0, size=None, high_value=None, seed=11)
    a = sampling.plan_frame(frame, opts)
    b = sampling.plan_frame(frame.sample(frac=1, random_state=3), opts)
    assert a.items.drop(columns=[]).equals(b.items)
    assert a.plan == b.plan


def test_mus_leaves_out_zero_and_negative_amounts() -> None:
    opts = sampling.Options(kind="disbursements", method="mus", column="amount", confidence=0.95,
                            tolerable=100_000, expected=0, size=None, high_value=None, seed=1)
    plan = sampling.plan_frame(_frame([10_000, 0, -5_000, 20_000, 30_000]), opts)
    assert plan.plan["excluded"] == {"count": 2, "value": "-50.00"}
    assert plan.excluded["row"].tolist() == [3, 4]
    assert plan.excluded["reason"].tolist() == ["non_positive", "non_positive"]


def test_stratified_allocation_by_value_and_by_count() -> None:
    amounts = [1_000] * 50 + [100_000] * 10
    for allocation, want in (("value", [2, 8]), ("count", [8, 2])):
        opts = sampling.Options(kind="disbursements", method="stratified", column="amount", confidence=0.95,
                                tolerable=None, expected=0, size=10, high_value=None, seed=5, strata=(50_000,),
                                allocation=allocation)
        plan = sampling.plan_frame(_frame(amounts), opts)
        assert [s["size"] for s in plan.strata] == want
        assert [s["count"] for s in plan.strata] == [50, 10]
        assert plan.items.groupby("stratum").size().tolist() == want
