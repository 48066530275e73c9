import math

import numpy as np
import pytest

from rnnkit.evaluate import m4
from rnnkit.evaluate.panel_scores import quantile_loss, score_panel, weighted_quantile_loss

# Two series, h = 2. Scales (m = 1): series 0 steps by 1 -> 1; series 1 alternates by 2 -> 2.
INSAMPLE = [np.array([1.0, 2.0, 3.0, 4.0]), np.array([10.0, 8.0, 10.0, 8.0])]
ACTUAL = np.array([[5.0, 6.0], [10.0, 8.0]])
FORECAST = ACTUAL + 1
NAIVE2 = np.array([[4.0, 4.0], [8.0, 8.0]])  # the last values


def test_smape_mase_and_owa_on_a_hand_computed_panel():
    per_series, overall = score_panel(ACTUAL, FORECAST, INSAMPLE, m=1, naive2=NAIVE2)
    smape = [100 * (1 / 11 + 1 / 13), 100 * (1 / 21 + 1 / 17)]
    np.testing.assert_allclose(per_series["smape"], smape)
    np.testing.assert_allclose(per_series["mase"], [1.0, 0.5])
    naive2_smape = np.mean([100 * (1 / 9 + 2 / 10), 100 * (2 / 18 + 0)])
    naive2_mase = np.mean([(1 + 2) / 2 / 1, (2 + 0) / 2 / 2])  # 1.5 and 0.5
    assert math.isclose(overall["smape"], np.mean(smape))
    assert math.isclose(overall["mase"], 0.75)
    assert math.isclose(overall["naive2_smape"], naive2_smape)
    # OWA is the ratio of the means
    assert math.isclose(overall["owa"], 0.5 * (np.mean(smape) / naive2_smape + 0.75 / naive2_mase))
    # Naive2 computed from the training parts when not given: m = 1, so the last value
    assert score_panel(ACTUAL, FORECAST, INSAMPLE, m=1)[1] == overall
    assert "msis" not in per_series and "wql" not in overall


def test_msis_and_coverage_of_a_95_interval():
    lower, upper = ACTUAL - np.array([[1.0, -1.0], [0.0, 2.0]]), ACTUAL + 1
    # series 0: [4, 6] and [7, 7], widths 2 and 0, 6 lies 1 below 7 -> (2 + 0 + 40) / 2 / 1 = 21;
    # series 1: widths 1, 3, both inside -> (1 + 3) / 2 / 2 = 1
    per_series, overall = score_panel(ACTUAL, FORECAST, INSAMPLE, m=1, lower=lower, upper=upper)
    np.testing.assert_allclose(per_series["msis"], [21.0, 1.0])
    np.testing.assert_allclose(per_series["coverage_95"], [0.5, 1.0])
    assert math.isclose(overall["msis"], 11.0) and overall["coverage_95"] == 0.75
    with pytest.raises(ValueError, match="lower and upper go together"):
        score_panel(ACTUAL, FORECAST, INSAMPLE, m=1, lower=lower)


def test_quantile_forecasts_give_coverage_and_the_weighted_quantile_loss():
    quantiles = {0.1: ACTUAL - 1, 0.9: ACTUAL + np.array([[1.0, -1.0], [1.0, 1.0]]),
                 0.025: ACTUAL - 2, 0.975: ACTUAL + 2}
    per_series, overall = score_panel(ACTUAL, FORECAST, INSAMPLE, m=1, quantiles=quantiles)
    np.testing.assert_allclose(per_series["coverage_80"], [0.5, 1.0])
    np.testing.assert_allclose(per_series["coverage_95"], [1.0, 1.0])
    np.testing.assert_allclose(per_series["msis"], [4.0, 2.0])  # width 4, scales 1 and 2
    # Pinball: a quantile 1 off costs q (actual above it) or 1 - q (below); QL doubles the sum.
    # q0.1: four points 1 below the actuals -> 2 * 4 * 0.1; q0.9: one point 1 below (0.9),
    # three 1 above (0.1 each) -> 2 * 1.2; q0.025 and q0.975: 2 off -> 2 * 4 * 2 * 0.025.
    total = ACTUAL.sum()  # 29
    expected = np.mean([0.8, 2.4, 0.4, 0.4]) / total
    assert math.isclose(overall["wql"], expected)
    assert math.isclose(quantile_loss(ACTUAL, quantiles[0.9], 0.9), 2.4)
    assert math.isclose(weighted_quantile_loss(ACTUAL, quantiles), expected)
    with pytest.raises(ValueError, match="quantile level 90.0 is not in"):
        score_panel(ACTUAL, FORECAST, INSAMPLE, m=1, quantiles={90: ACTUAL})


def test_missing_intervals_are_left_out_of_the_means():
    nan_row = np.array([[np.nan, np.nan], [0.0, 0.0]])
    quantiles = {0.025: ACTUAL - 2 + nan_row, 0.975: ACTUAL + 2 + nan_row}
    per_series, overall = score_panel(ACTUAL, FORECAST, INSAMPLE, m=1, quantiles=quantiles)
    assert np.isnan(per_series["coverage_95"][0]) and overall["coverage_95"] == 1.0
    assert math.isclose(overall["msis"], 2.0)
    assert math.isclose(overall["wql"], weighted_quantile_loss(ACTUAL[1:], {
        q: f[1:] for q, f in quantiles.items()}))


def test_skill_against_a_baseline():
    per_series, overall = score_panel(ACTUAL, FORECAST, INSAMPLE, m=1, baseline=NAIVE2)
    # MASE 1 vs 1.5 and 0.5 vs 0.5
    np.testing.assert_allclose(per_series["skill"], [1 - 1 / 1.5, 0.0])
    assert math.isclose(overall["skill"], 1 - 0.75 / 1.0) and overall["beats_baseline"] == 0.5


def test_shapes_are_checked_with_the_argument_named():
    with pytest.raises(ValueError, match=r"forecast has shape \(2, 3\) but actual has shape "
                                         r"\(2, 2\)"):
        score_panel(ACTUAL, np.ones((2, 3)), INSAMPLE, m=1)
    with pytest.raises(ValueError, match="insample has 1 series but actual has 2"):
        score_panel(ACTUAL, FORECAST, INSAMPLE[:1], m=1)


def test_scores_match_m4_series_by_series():
    rng = np.random.default_rng(0)
    insample = [50 + rng.normal(size=n).cumsum() for n in (30, 40, 50)]
    actual = 50 + rng.normal(size=(3, 4))
    forecast = actual + rng.normal(size=(3, 4))
    per_series, _ = score_panel(actual, forecast, insample, m=2)
    expected = [m4.mase(a, f, y, 2) for a, f, y in zip(actual, forecast, insample, strict=True)]
    np.testing.assert_allclose(per_series["mase"], expected)
