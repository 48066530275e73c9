import csv
import math

import numpy as np
import pytest

from rnnkit.evaluate import m4


def test_smape_on_a_hand_checked_example():
    # 200 / 2 * (10 / 210 + 20 / 380)
    assert math.isclose(m4.smape(np.array([100.0, 200.0]), np.array([110.0, 180.0])),
                        100 * (10 / 210 + 20 / 380))


def test_mase_scales_by_the_in_sample_seasonal_naive_error():
    insample, actual, forecast = np.array([1.0, 3.0, 2.0, 6.0]), np.array([5.0, 7.0]), np.ones(2)
    # m = 2: |2 - 1| and |6 - 3| average 2; m = 1: |2|, |-1|, |4| average 7 / 3
    assert m4.mase(actual, forecast, insample, m=2) == (4 + 6) / 2 / 2
    assert math.isclose(m4.mase(actual, forecast, insample, m=1), 5 / (7 / 3))


def test_msis_adds_the_width_and_2_over_alpha_per_unit_missed():
    insample = np.array([1.0, 3.0, 2.0, 6.0])  # seasonal naive scale at m = 2: 2
    actual, lower, upper = np.array([5.0, 9.0, 1.0]), np.full(3, 4.0), np.array([6.0, 8.0, 6.0])
    # widths 2, 4, 2; misses: 9 above 8 by 1, 1 below 4 by 3; 2 / 0.05 = 40 per unit
    assert math.isclose(m4.msis(actual, lower, upper, insample, m=2),
                        (2 + 4 + 2 + 40 * (1 + 3)) / 3 / 2)
    assert math.isclose(m4.msis(actual, lower, upper, insample, m=2, alpha=0.5),
                        (8 + 4 * 4) / 3 / 2)


def test_owa_is_the_ratio_of_the_means_not_the_mean_of_the_ratios():
    smape_model, smape_naive2 = np.array([10.0, 30.0]), np.array([40.0, 40.0])
    mase_model, mase_naive2 = np.array([1.0, 1.0]), np.array([1.0, 3.0])
    # (20 / 40 + 1 / 2) / 2; per-series ratios would give ((0.25 + 1) + (0.75 + 1/3)) / 4
    assert m4.owa(smape_model, mase_model, smape_naive2, mase_naive2) == 0.5
    assert m4.owa(smape_naive2, mase_naive2, smape_naive2, mase_naive2) == 1.0


def test_scores_name_a_forecast_of_the_wrong_horizon():
    with pytest.raises(ValueError, match=r"forecast has shape \(3,\) but actual has shape \(2,\)"):
        m4.smape(np.ones(2), np.ones(3))
    with pytest.raises(ValueError, match=r"upper has shape \(1,\)"):
        m4.msis(np.ones(2), np.zeros(2), np.ones(1), np.arange(5.0), m=1)
    with pytest.raises(ValueError, match="m=4 needs 1 <= m < len.insample.; insample has 4"):
        m4.mase(np.ones(2), np.ones(2), np.arange(4.0), m=4)


def test_seasonal_naive_repeats_the_last_season():
    insample = np.arange(1.0, 8.0)
    np.testing.assert_array_equal(m4.seasonal_naive(insample, h=5, m=3), [5, 6, 7, 5, 6])
    np.testing.assert_array_equal(m4.seasonal_naive(insample, h=2, m=1), [7, 7])
    with pytest.raises(ValueError, match="h=0 and m=3 must be >= 1"):
        m4.seasonal_naive(insample, h=0, m=3)


def test_seasonality_test_says_yes_for_a_seasonal_series_and_no_for_noise():
    rng = np.random.default_rng(0)
    t = np.arange(240)
    seasonal = 10 + np.sin(2 * np.pi * t / 24) + 0.1 * rng.normal(size=240)
    assert m4.seasonality_test(seasonal, m=24)
    assert not m4.seasonality_test(rng.normal(size=240), m=24)
    # M4 tests only when m > 1 and there are at least 3 seasons
    assert not m4.seasonality_test(seasonal, m=1)
    assert not m4.seasonality_test(seasonal[:71], m=24)


def test_naive2_on_a_hand_computed_multiplicative_decomposition():
    # Nine seasons (1, 3), then the level doubles: (2, 6). Centred MA trend (m = 2: weights
    # 1/4, 1/2, 1/4) is 2 up to t = 16, 2.25 at t = 17, 3.25 at t = 18; ratios y / trend
    # average (4 + 2 / 3.25) / 9 on phase 0 and (12 + 3 / 2.25) / 9 on phase 1; their ratio
    # s0 / s1 = 9 / 26 survives the normalisation. The last value, 6, is phase 1, so the
    # forecast is 6 (adjusted, then back) on phase 1 and 6 * s0 / s1 on phase 0.
    y = np.array([1.0, 3.0] * 9 + [2.0, 6.0])
    assert m4.seasonality_test(y, m=2)
    np.testing.assert_allclose(m4.naive2(y, h=3, m=2), [6 * 9 / 26, 6, 6 * 9 / 26])


def test_naive2_of_an_exactly_seasonal_series_is_the_level_times_its_indices():
    indices = 1 + 0.5 * np.sin(2 * np.pi * np.arange(24) / 24)  # averages 1
    y = 100 * np.tile(indices, 10)[:-5]  # ends 5 steps before a whole season
    np.testing.assert_allclose(m4.naive2(y, h=30, m=24), 100 * np.resize(np.roll(indices, 5), 30))


def test_naive2_without_seasonality_is_the_last_value():
    y = np.random.default_rng(1).normal(10, 1, size=100)
    np.testing.assert_array_equal(m4.naive2(y, h=4, m=24), np.full(4, y[-1]))
    np.testing.assert_array_equal(m4.naive2(y, h=2, m=1), np.full(2, y[-1]))


def _read(path):
    with path.open(newline="") as f:
        rows = csv.reader(f)
        next(rows)
        return {row[0]: np.array([float(v) for v in row[1:] if v]) for row in rows}


# benchmarks/m4_baselines.py's per-series scores: Naive2 sMAPE, MASE; seasonal naive sMAPE, MASE
HOURLY = {
    "H1": (3.8076673136414456, 0.5732692891230973, 5.262880743360628, 0.8270141628553805),
    "H2": (7.444967696446001, 1.1091909150545174, 12.495601926093421, 1.9564215936614313),
    "H3": (5.439369322689438, 0.9949923831560645, 9.58350733419439, 1.6515810659616093),
    "H4": (8.503661319611329, 1.5773683867340964, 7.3998314703232095, 1.4657536137512948),
    "H5": (16.82456062026956, 2.3915507528903652, 7.669556102929338, 1.26022006778127),
}


def test_first_hourly_series_score_as_in_the_benchmark(data_dir):
    train = _read(data_dir / "m4" / "Hourly-train.csv")
    test = _read(data_dir / "m4" / "Hourly-test.csv")
    for sid, expected in HOURLY.items():
        insample, actual = train[sid], test[sid]
        scores = []
        for forecaster in (m4.naive2, m4.seasonal_naive):
            forecast = forecaster(insample, 48, 24)
            scores += [m4.smape(actual, forecast), m4.mase(actual, forecast, insample, 24)]
        np.testing.assert_allclose(scores, expected, rtol=1e-9, err_msg=sid)
