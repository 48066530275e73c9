import numpy as np
import pytest

from rnnkit.data.panel import read_m4
from rnnkit.evaluate import m4
from rnnkit.evaluate.panel_baselines import BASELINES, baseline_forecasts


def official_naive2(y: np.ndarray, h: int, m: int) -> np.ndarray:
    """M4's Naive2 written out from its R code (SeasonalityTest, decompose, naive, SIout)."""
    n = len(y)
    if m > 1 and n >= 3 * m:
        centred = y - y.mean()
        r = np.array([centred[k:] @ centred[:n - k] for k in range(m + 1)]) / (centred @ centred)
        limit = 1.645 / np.sqrt(n) * np.sqrt(1 + 2 * np.sum(r[1:m] ** 2))
        if abs(r[m]) > limit:
            weights = np.r_[0.5, np.ones(m - 1), 0.5] / m  # R's filter for an even m
            trend = np.full(n, np.nan)
            trend[m // 2:n - m // 2] = np.convolve(y, weights, mode="valid")
            ratios = y / trend
            figure = np.array([np.nanmean(ratios[p::m]) for p in range(m)])
            figure /= figure.mean()
            seasonal = np.resize(figure, n)
            return y[-1] / seasonal[-1] * np.resize(seasonal[-m:], h)
    return np.full(h, y[-1])


@pytest.fixture
def hourly(data_dir):
    train, test = read_m4(data_dir / "m4" / "Hourly-train.csv", data_dir / "m4" / "Hourly-test.csv")
    keep = [0, 1, 100, 200, 300, 413]
    return ([train.series(k).target_values[:, 0] for k in keep],
            test.values[:, 0].reshape(len(test), 48)[keep])


def test_naive2_follows_m4s_rule_on_real_hourly_series(hourly):
    insample, _ = hourly
    result = baseline_forecasts(insample, h=48, m=24, names=("naive2", "seasonal_naive"))
    expected = np.stack([official_naive2(y, 48, 24) for y in insample])
    assert any(m4.seasonality_test(y, 24) for y in insample)
    np.testing.assert_allclose(result.forecasts["naive2"], expected, rtol=1e-10)
    np.testing.assert_array_equal(result.forecasts["seasonal_naive"],
                                  np.stack([np.resize(y[-24:], 48) for y in insample]))


def test_theta_and_ets_give_finite_forecasts_and_intervals_on_real_series(hourly):
    insample, actual = hourly
    result = baseline_forecasts(insample, h=48, m=24)
    assert list(result.forecasts) == list(BASELINES)
    for name in BASELINES:
        assert result.forecasts[name].shape == (6, 48)
        assert np.all(np.isfinite(result.forecasts[name])) and result.fallbacks[name] == 0
    quantiles = result.quantiles["ets"]
    assert sorted(quantiles) == [0.025, 0.1, 0.9, 0.975]
    assert np.all(quantiles[0.025] <= quantiles[0.1]) and np.all(quantiles[0.9] <= quantiles[0.975])
    assert np.mean((actual >= quantiles[0.025]) & (actual <= quantiles[0.975])) > 0.5


def test_theta_and_ets_beat_naive2_on_trending_seasonal_series():
    rng = np.random.default_rng(0)
    t = np.arange(120 + 12)
    season = 1 + 0.3 * np.sin(2 * np.pi * t / 12)
    series = [(50 + slope * t) * season * np.exp(0.02 * rng.normal(size=len(t)))
              for slope in (0.5, 1.0, 2.0)]
    insample, actual = [y[:120] for y in series], np.stack([y[120:] for y in series])
    result = baseline_forecasts(insample, h=12, m=12)
    error = {name: np.mean(np.abs(f - actual)) for name, f in result.forecasts.items()}
    assert error["theta"] < 0.75 * error["naive2"]  # theta = 2 extrapolates half the slope
    assert error["ets"] < 0.6 * error["naive2"]


def test_degenerate_series_fall_back_to_naive2_and_are_counted():
    rng = np.random.default_rng(1)
    good = 100 + np.arange(40.0) + rng.normal(size=40)
    insample = [good, np.full(30, 7.0), np.array([3.0, 4.0])]  # constant; too short
    result = baseline_forecasts(insample, h=3, m=1, names=("theta", "ets"))
    assert result.fallbacks == {"theta": 2, "ets": 1}  # ETS fits a constant series (ANN)
    np.testing.assert_array_equal(result.forecasts["theta"][1:], [[7.0] * 3, [4.0] * 3])
    np.testing.assert_array_equal(result.forecasts["ets"][2], [4.0] * 3)
    assert np.all(np.isnan(result.quantiles["ets"][0.975][2]))
    assert np.all(np.isfinite(result.quantiles["ets"][0.975][:2]))


def test_arguments_are_checked():
    with pytest.raises(ValueError, match="unknown baseline 'arima'; choose from seasonal_naive"):
        baseline_forecasts([np.ones(5)], h=2, m=1, names=("arima",))
    with pytest.raises(ValueError, match=r"insample\[1\] has shape \(0,\)"):
        baseline_forecasts([np.ones(5), []], h=2, m=1)
