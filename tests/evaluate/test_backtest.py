import math

import numpy as np

from rnnkit.evaluate import baselines
from rnnkit.evaluate.backtest import evaluate

H = 3


def _walk(rows=400, seed=0):
    """A random walk (T, 1), the test origins 100.. and the persistence forecasts from them."""
    y = np.cumsum(np.random.default_rng(seed).normal(size=rows))[:, None]
    origins = np.arange(100, rows - H)
    return y, origins, baselines.persistence(y, origins, H)


def _actual(y, origins):
    return y[origins[:, None] + np.arange(1, H + 1)]  # (N, H, 1)


def test_a_model_identical_to_persistence_ties_with_interval_zero():
    y, origins, naive = _walk()
    ev = evaluate(y, origins, naive.copy(), 100, None)
    assert ev.skill_interval == (0.0, 0.0)
    assert ev.metrics["model"]["skill_lo95"] == ev.metrics["model"]["skill_hi95"] == 0
    rmse = ev.metrics["model"]["rmse"]
    assert ev.verdict() == (
        "The model ties with persistence ('tomorrow = today'): the 95% interval of its RMSE "
        f"skill (+0.0% to +0.0%) includes zero; RMSE {rmse:.4g} vs {rmse:.4g}, RMSE skill "
        "+0.0%.")


def test_a_model_with_half_the_error_beats_persistence_with_the_interval_above_zero():
    y, origins, naive = _walk()
    actual = _actual(y, origins)
    noise = np.random.default_rng(1).uniform(0, 1, size=(len(origins), 1, 1))
    ev = evaluate(y, origins, actual + noise * (naive - actual), 100, None)  # half on average
    lo, hi = ev.skill_interval
    skill = ev.metrics["model"]["skill"]
    assert 0 < lo < skill < hi < 1
    assert [ev.metrics["model"][k] for k in ("skill_lo95", "skill_hi95")] == [lo, hi]
    assert ev.verdict() == (
        "The model beats persistence ('tomorrow = today'): RMSE "
        f"{ev.metrics['model']['rmse']:.4g} vs {ev.metrics['persistence']['rmse']:.4g}, "
        f"RMSE skill {skill:+.1%} (95% interval {lo:+.1%} to {hi:+.1%}).")


def test_a_slightly_better_but_noisy_model_ties():
    y, origins, naive = _walk()
    actual = _actual(y, origins)
    # persistence's error at each origin times a random factor of mean square 0.9
    factor = np.sqrt(np.random.default_rng(1).exponential(0.9, size=(len(origins), 1, 1)))
    ev = evaluate(y, origins, actual + factor * (naive - actual), 100, None)
    lo, hi = ev.skill_interval
    assert ev.metrics["model"]["rmse"] < ev.metrics["persistence"]["rmse"]  # better on average
    assert lo < 0 < ev.metrics["model"]["skill"] < hi
    assert ev.verdict().startswith("The model ties with persistence ('tomorrow = today'): the "
                                   f"95% interval of its RMSE skill ({lo:+.1%} to {hi:+.1%}) "
                                   "includes zero;")
    assert "beats persistence" not in ev.verdict()


def test_a_model_with_more_error_is_worse_than_persistence():
    y, origins, naive = _walk()
    actual = _actual(y, origins)
    ev = evaluate(y, origins, actual + 1.5 * (naive - actual), 100, None)
    lo, hi = ev.skill_interval
    assert lo < hi < 0
    assert ev.verdict() == (
        "The model is WORSE than persistence ('tomorrow = today'): RMSE "
        f"{ev.metrics['model']['rmse']:.4g} vs {ev.metrics['persistence']['rmse']:.4g}, "
        f"RMSE skill {ev.metrics['model']['skill']:+.1%} (95% interval {lo:+.1%} to "
        f"{hi:+.1%}); simply repeating the last value forecasts better.")


def test_the_verdict_on_a_hand_checked_example():
    y = np.arange(10.0)[:, None]
    origins = np.array([5, 6, 7, 8])  # 4 origins: blocks of ceil(4 ** (1 / 3)) = 2
    good = evaluate(y, origins, (origins + 1.0)[:, None, None], 5, None)
    assert good.metrics["model"]["rmse"] == 0 and good.skill_interval == (1, 1)
    assert good.verdict() == ("The model beats persistence ('tomorrow = today'): RMSE 0 vs 1, "
                              "RMSE skill +100.0% (95% interval +100.0% to +100.0%).")
    bad = evaluate(y, origins, (origins - 5.0)[:, None, None], 5, None)  # 6 too low
    assert "WORSE than persistence" in bad.verdict()
    assert "RMSE 6 vs 1, RMSE skill -500.0% (95% interval -500.0% to -500.0%);" in bad.verdict()
    assert bad.metrics["persistence"]["skill"] == 0


def test_the_verdict_says_when_too_few_forecasts_leave_the_interval_undefined():
    y = np.arange(10.0)[:, None]
    origins = np.array([5, 6, 7])  # 3 origins < 2 blocks of 2
    ev = evaluate(y, origins, (origins + 1.0)[:, None, None], 5, None)
    assert all(math.isnan(x) for x in ev.skill_interval)
    assert ev.verdict() == (
        "The model cannot be judged against persistence ('tomorrow = today'): RMSE 0 vs 1, "
        "RMSE skill +100.0%, but the 95% interval of the RMSE skill is undefined: 3 forecast "
        "origins are fewer than 2 blocks of 2 consecutive origins.")
    flat = evaluate(np.ones((10, 1)), np.array([5, 6, 7, 8]), np.full((4, 1, 1), 2.0), 5, None)
    assert flat.verdict().endswith("undefined: persistence has no error on some resampled "
                                   "origins.")
