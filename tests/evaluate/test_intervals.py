import numpy as np
import pytest

from rnnkit.evaluate.intervals import conformal_halfwidth


def test_conformal_halfwidth_is_the_ceil_n_plus_1_level_smallest_residual():
    residuals = np.random.default_rng(0).permutation(np.arange(1.0, 101.0))  # 1..100
    assert conformal_halfwidth(residuals, 0.9) == 91  # ceil(101 * 0.9) = 91st smallest
    assert conformal_halfwidth(-residuals, 0.5) == 51  # absolute values; ceil(50.5) = 51
    # 100 * 0.55 is 55.000000000000007 in floats; the rank is still ceil(55) = 55
    assert conformal_halfwidth(np.arange(1.0, 100.0), 0.55) == 55
    both = np.stack([residuals, 2 * residuals], axis=1)  # (N, 2): each column on its own
    assert conformal_halfwidth(both, 0.9).tolist() == [91, 182]


def test_conformal_halfwidth_is_the_largest_residual_when_the_rank_passes_n():
    residuals = np.array([3.0, -1.0, 2.0])  # ceil(4 * 0.9) = 4 > 3 residuals
    assert conformal_halfwidth(residuals, 0.9) == 3
    assert conformal_halfwidth(residuals, 0.75) == 3  # ceil(4 * 0.75) = 3: exactly the max
    assert conformal_halfwidth(residuals, 0.5) == 2
    with pytest.raises(ValueError, match="no calibration residuals"):
        conformal_halfwidth(np.zeros((0, 2)), 0.9)
