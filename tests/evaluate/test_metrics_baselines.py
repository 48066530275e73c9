import math

import numpy as np

from rnnkit.evaluate import baselines, metrics
from rnnkit.evaluate.backtest import evaluate


def test_metrics_on_a_hand_checked_example():
    actual, pred = np.array([1.0, 2.0, 4.0]), np.array([2.0, 2.0, 2.0])
    assert metrics.rmse(actual, pred) == math.sqrt(5 / 3)
    assert metrics.mae(actual, pred) == 1.0
    assert math.isclose(metrics.mape(actual, pred), 100 * (1 + 0 + 0.5) / 3)
    assert math.isnan(metrics.mape(np.array([0.0]), np.array([1.0])))
    # in-sample naive MAE of [1, 3, 6] is (2 + 3) / 2 = 2.5
    assert metrics.mase(actual, pred, np.array([1.0, 3.0, 6.0])) == 1.0 / 2.5
    assert metrics.skill(1.0, 2.0) == 0.5 and metrics.skill(3.0, 2.0) == -0.5


def test_smape_on_hand_checked_examples():
    # 200 / 3 * (1 / 3 + 0 / 4 + 2 / 6)
    assert math.isclose(metrics.smape(np.array([1.0, 2.0, 4.0]), np.array([2.0, 2.0, 2.0])),
                        400 / 9)
    # 0 / 0 counts 0; a sign flip costs the most (200 %); 200 / 4 * (0 + 2 / 4 + 1 + 0)
    assert metrics.smape(np.array([0.0, 1.0, -1.0, 5.0]), np.array([0.0, 3.0, 1.0, 5.0])) == 75
    assert metrics.smape(np.zeros((2, 3)), np.zeros((2, 3))) == 0


def test_baselines_on_a_hand_checked_example():
    y = np.array([1.0, 2.0, 4.0, 7.0, 11.0])[:, None]
    origins = np.array([2, 3])
    assert baselines.persistence(y, origins, 2)[..., 0].tolist() == [[4, 4], [7, 7]]
    # drift from y[0] = 1 to y[2] = 4 over 2 steps: slope 1.5
    assert baselines.drift(y, origins, 2)[0, :, 0].tolist() == [5.5, 7.0]
    assert baselines.mean(y, origins, 1)[:, 0, 0].tolist() == [7 / 3, 14 / 4]
    # period 2: row 3 <- row 1, row 4 <- row 2, row 5 <- row 3 (one season back)
    assert baselines.seasonal_naive(y, np.array([2]), 3, 2)[0, :, 0].tolist() == [2, 4, 2]


def test_infer_period():
    rng = np.random.default_rng(0)
    assert baselines.infer_period(np.sin(np.arange(600) * 2 * np.pi / 12)
                                  + 0.1 * rng.normal(size=600)) == 12
    assert baselines.infer_period(np.cumsum(rng.normal(size=1000))) is None


def test_every_forecaster_has_smape_and_a_zero_actual_does_not_crash():
    y = np.array([0.0, 1.0, 0.0, 2.0, 0.0, 1.0, 0.0, 2.0, 0.0, 1.0])[:, None]
    origins = np.array([5, 6, 7])  # actuals 0, 2, 0
    ev = evaluate(y, origins, np.array([0.0, 1.0, 1.0])[:, None, None], 5, None)
    for scores in ev.metrics.values():
        assert 0 <= scores["smape"] <= 200 and not math.isnan(scores["smape"])
        assert math.isnan(scores["mape"])  # undefined where an actual is 0
    # model: 0 / 0, |2 - 1| / 3, |0 - 1| / 1; persistence repeats 1, 0, 2
    assert math.isclose(ev.metrics["model"]["smape"], 200 / 3 * (1 / 3 + 1))
    assert math.isclose(ev.metrics["persistence"]["smape"], 200 / 3 * (1 + 1 + 1))


def test_the_seasonal_period_of_each_calendar_and_none_for_minutes():
    import pandas as pd

    from rnnkit.evaluate.baselines import infer_period

    noise = np.random.default_rng(0).normal(size=300)
    periods = {freq: infer_period(noise, pd.date_range("2020-01-01", periods=300, freq=freq))
               for freq in ("h", "D", "W-SAT", "MS", "QS-JAN", "min", "15min")}
    # minutes are not months: without a calendar period, noise has no season either
    assert periods == {"h": 24, "D": 7, "W-SAT": 52, "MS": 12, "QS-JAN": 4, "min": None,
                       "15min": None}
