import math

import numpy as np
import pytest

from rnnkit.evaluate.skill import block_length, origin_sse, skill_interval


def test_origin_sse_sums_each_origin_over_lead_times_and_targets():
    actual = np.zeros((2, 3, 2))
    predicted = np.ones((2, 3, 2))
    predicted[1] = 2.0
    assert origin_sse(actual, predicted).tolist() == [6.0, 24.0]


def test_block_length_is_the_cube_root_rounded_up_or_the_horizon():
    assert block_length(27, 1) == 3  # 27 ** (1 / 3) is 3.0000000000000004 in floats
    assert block_length(28, 1) == 4
    assert block_length(100_000, 1) == 47
    assert block_length(100_000, 720) == 720  # origins closer than H share target rows


def _reference(model_sse, persistence_sse, block, level, resamples, seed):
    """The textbook moving-block bootstrap: glue k = ceil(N / b) blocks of consecutive
    origins, cut to N, recompute the skill; a percentile interval of the resamples."""
    n = len(model_sse)
    k = math.ceil(n / block)
    starts = np.random.default_rng(seed).integers(0, n - block + 1, size=(resamples, k))
    skills = []
    for row in starts:
        index = np.concatenate([np.arange(s, s + block) for s in row])[:n]
        skills.append(1 - math.sqrt(model_sse[index].sum() / persistence_sse[index].sum()))
    return tuple(np.quantile(skills, [(1 - level) / 2, (1 + level) / 2]))


def test_skill_interval_is_the_moving_block_bootstrap_percentile_interval():
    rng = np.random.default_rng(1)
    model, naive = rng.exponential(1.0, 50), rng.exponential(1.2, 50)
    for block in (1, 4, 7):
        got = skill_interval(model, naive, block, resamples=300, seed=3)
        assert got == pytest.approx(_reference(model, naive, block, 0.95, 300, 3), abs=1e-12)


def test_skill_interval_is_reproducible_and_contains_the_point_estimate():
    rng = np.random.default_rng(2)
    model, naive = rng.exponential(1.0, 400), rng.exponential(1.5, 400)
    point = 1 - math.sqrt(model.sum() / naive.sum())
    lo, hi = skill_interval(model, naive, block_length(400, 5))
    assert (lo, hi) == skill_interval(model, naive, block_length(400, 5))
    assert lo < point < hi
    assert (lo, hi) != skill_interval(model, naive, block_length(400, 5), seed=1)


def test_skill_interval_is_zero_for_equal_errors_and_undefined_with_too_few_blocks():
    errors = np.random.default_rng(3).exponential(1.0, 30)
    assert skill_interval(errors, errors.copy(), 3) == (0.0, 0.0)
    assert all(math.isnan(x) for x in skill_interval(errors, 2 * errors, 16))  # 30 < 2 * 16
    assert not math.isnan(skill_interval(errors, 2 * errors, 15)[0])


def test_skill_interval_is_fast_for_a_hundred_thousand_origins():
    rng = np.random.default_rng(4)
    model, naive = rng.exponential(1.0, 100_000), rng.exponential(1.1, 100_000)
    for block in (block_length(100_000, 1), block_length(100_000, 720)):
        lo, hi = skill_interval(model, naive, block)
        assert lo < 1 - math.sqrt(model.sum() / naive.sum()) < hi
