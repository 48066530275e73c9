import numpy as np
import pytest
import torch
from scipy import stats

from rnnkit.data.panel import Panel
from rnnkit.data.panel_windows import Layout, PanelWindows, window_scale
from rnnkit.errors import InputError
from rnnkit.models.global_forecaster import GlobalConfig, GlobalForecaster
from rnnkit.models.global_nets import ESRNN, _Inputs
from rnnkit.models.likelihoods import LIKELIHOODS, pinball_loss
from rnnkit.train.settings import TrainSettings


def make_panel(values_per_series, ids=None):
    values = np.concatenate(values_per_series)[:, None]
    offsets = np.concatenate([[0], np.cumsum([len(v) for v in values_per_series])])
    ids = ids or [f"s{k}" for k in range(len(values_per_series))]
    return Panel(values, offsets, ids, ["y"])


def seasonal_panel(n_series=6, length=150, noise=0.1, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(length)
    return make_panel([(10 + 3 * k) * (1 + 0.3 * np.sin(2 * np.pi * (t + k) / 12))
                       + rng.normal(0, noise, length) for k in range(n_series)])


def windows(panel, layout, first, count):
    S = len(panel)
    return PanelWindows(panel, layout, first, count, np.arange(S), np.zeros((S, 0)),
                        np.zeros((S, 0), dtype=np.int64))


# ---- scaling and windows ---------------------------------------------------------------------

def test_windows_are_the_panel_rows_scaled_by_their_own_context():
    panel = make_panel([np.arange(1.0, 31.0), 100 + np.arange(20.0)])
    layout = Layout(lookback=5, horizon=3, pre=2)
    data = windows(panel, layout, np.array([6, 6]), np.array([20, 10]))
    assert len(data) == 30
    x, y = data[[0, 21]]  # series 0 origin 6; series 1 origin 7
    rows0 = np.arange(1.0, 31.0)[0:10]  # origin 6: rows 6-2-5+1=0 .. 6+3
    rows1 = (100 + np.arange(20.0))[1:11]
    for k, rows in enumerate([rows0, rows1]):
        scale = np.mean(np.abs(rows[2:7]))  # the L context rows, not the lag rows
        np.testing.assert_allclose(x[0][k].numpy(), rows / scale, rtol=1e-6)
        np.testing.assert_allclose(y[k, :, 0].numpy(), rows[2:] / scale, rtol=1e-6)
        np.testing.assert_allclose(y[k, :, 1].numpy(), scale, rtol=1e-6)


@pytest.mark.parametrize("scaling", ["mean_abs", "standard"])
def test_window_scaling_round_trip(scaling):
    rng = np.random.default_rng(1)
    context = rng.normal(5, 2, (4, 10))
    loc, scale = window_scale(context, scaling)
    z = (context - loc[:, None]) / scale[:, None]
    np.testing.assert_allclose(loc[:, None] + scale[:, None] * z, context)
    if scaling == "mean_abs":
        np.testing.assert_allclose(np.mean(np.abs(z), axis=1), 1.0)
    else:
        np.testing.assert_allclose(z.mean(axis=1), 0.0, atol=1e-12)
        np.testing.assert_allclose(z.std(axis=1), 1.0)


# ---- likelihoods -----------------------------------------------------------------------------

def test_gaussian_and_student_t_nll_match_scipy():
    params = torch.tensor([[0.5, 0.3, 1.0], [-1.0, -0.2, 0.1]])
    z = torch.tensor([1.2, -0.7])
    sigma = np.log1p(np.exp(params[:, 1].numpy()))
    expected = -stats.norm.logpdf(z.numpy(), params[:, 0].numpy(), sigma).mean()
    got = float(LIKELIHOODS["gaussian"]().nll(params[:, :2], z, torch.ones(2)))
    assert got == pytest.approx(expected, rel=1e-5)
    nu = 2 + np.log1p(np.exp(params[:, 2].numpy()))
    expected = -stats.t.logpdf(z.numpy(), nu, params[:, 0].numpy(), sigma).mean()
    got = float(LIKELIHOODS["student_t"]().nll(params, z, torch.ones(2)))
    assert got == pytest.approx(expected, rel=1e-5)


def test_negative_binomial_nll_matches_scipy_on_the_unscaled_counts():
    params = torch.tensor([[0.4, -0.5], [1.5, 0.2]])
    scale = torch.tensor([4.0, 9.0])
    counts = np.array([3.0, 12.0])
    mu = scale.numpy() * np.log1p(np.exp(params[:, 0].numpy()))
    alpha = np.log1p(np.exp(params[:, 1].numpy())) / np.sqrt(scale.numpy())
    r = 1 / alpha
    expected = -stats.nbinom.logpmf(counts, r, r / (r + mu)).mean()  # scipy: p = r / (r + mu)
    z = torch.tensor(counts) / scale
    got = float(LIKELIHOODS["negbin"]().nll(params, z.float(), scale))
    assert got == pytest.approx(expected, rel=1e-4)


def test_pinball_loss_is_the_quantile_loss():
    q = torch.tensor([[[1.0, 3.0]]])
    z = torch.tensor([[2.0]])
    # errors 1 and -1: 0.2 * 1 and (0.8 - 1) * -1
    assert float(pinball_loss(q, z, torch.tensor([0.2, 0.8]))) == pytest.approx(0.2)


# ---- ES-RNN's smoothing ----------------------------------------------------------------------

def test_esrnn_smoothing_is_holt_winters_with_the_learned_coefficients():
    m, n = 3, 9
    net = ESRNN("lstm", 4, 1, 0.0, lookback=n, horizon=2, pre=0, n_quantiles=1,
                inputs=_Inputs((), 0, 0, (), 1, 0), n_series=1, season=m)
    with torch.no_grad():
        net.smoothing.weight[:] = torch.tensor([[0.3, -0.4]])
        net.initial_season.weight[:] = torch.tensor([[0.1, -0.2, 0.05]])
    z = torch.tensor([[1.0, 2.0, 1.5, 1.2, 2.2, 1.4, 1.1, 2.4, 1.6]])
    levels, seasons = net.smooth(z, torch.tensor([0]), torch.tensor([1]))  # phase 1
    a, g = 1 / (1 + np.exp(-0.3)), 1 / (1 + np.exp(0.4))
    init = np.exp([0.1, -0.2, 0.05])
    s = [init[1], init[2], init[0]]  # phase 1: the window starts at seasonal index 1
    level = z[0, 0].item() / s[0]
    expected = []
    for t in range(n):
        level = a * z[0, t].item() / s[t] + (1 - a) * level
        expected.append(level)
        s.append(g * z[0, t].item() / level + (1 - g) * s[t])
    np.testing.assert_allclose(levels[0].detach().numpy(), expected, rtol=1e-5)
    np.testing.assert_allclose(seasons[0, : n + 2].detach().numpy(), s[: n + 2], rtol=1e-5)


# ---- the estimator ---------------------------------------------------------------------------

SMALL = TrainSettings(epochs=3, batch_size=64, patience=None)


@pytest.mark.parametrize("model", ["mqrnn", "deepar", "esrnn"])
def test_each_model_trains_forecasts_and_round_trips_through_its_state(model):
    panel = seasonal_panel()
    config = GlobalConfig(model=model, lookback=24, horizon=6, hidden_size=12, num_layers=1,
                          season=12, samples=50, lags=(12,) if model == "deepar" else ())
    fc = GlobalForecaster(config, SMALL)
    fc.fit(panel, progress=False)
    made = fc.predict(panel)
    assert made.point.shape == (6, 6) and made.quantiles.shape == (6, 6, 5)
    assert np.all(np.diff(made.quantiles, axis=-1) >= 0)  # quantiles do not cross
    state = fc.state()
    weights = {k: v.clone() for k, v in fc.net.state_dict().items()}
    again = GlobalForecaster.from_state(state, weights, "<test>").predict(panel)
    np.testing.assert_allclose(again.quantiles, made.quantiles, rtol=1e-5)


def test_direct_forecasts_do_not_read_the_future_rows():
    panel = seasonal_panel(n_series=3)
    fc = GlobalForecaster(GlobalConfig(lookback=24, horizon=6, hidden_size=8, num_layers=1),
                          SMALL)
    fc.fit(panel, progress=False)
    layout = fc._layout(panel)
    data = fc._windows(panel, np.full(3, 100), np.ones(3, dtype=np.int64))
    x, _ = data[[0, 1, 2]]
    changed = (x[0].clone(),) + x[1:]
    changed[0][:, layout.context :] = 1e3  # the horizon's values
    with torch.no_grad():
        torch.testing.assert_close(fc.net(*x), fc.net(*changed))


def test_global_model_learns_the_shared_pattern_and_beats_naive():
    panel = seasonal_panel(n_series=8, length=200, noise=0.05)
    train, test = panel.split_last(12)
    fc = GlobalForecaster(GlobalConfig(lookback=36, horizon=12, hidden_size=32, num_layers=1),
                          TrainSettings(epochs=12, batch_size=64, lr=3e-3, patience=None))
    fc.fit(train, progress=False)
    made = fc.predict(train)
    actual = np.stack([test.series(k).target_values[:, 0] for k in range(len(test))])
    last = np.stack([train.series(k).target_values[-1, 0] for k in range(len(train))])
    model_error = np.mean(np.abs(made.point - actual))
    naive_error = np.mean(np.abs(last[:, None] - actual))
    assert model_error < 0.5 * naive_error


@pytest.mark.parametrize("likelihood", ["gaussian", "negbin"])
def test_deepar_sampled_quantiles_cover_nominally(likelihood):
    rng = np.random.default_rng(3)
    length = 300
    if likelihood == "gaussian":
        series = [10 + rng.normal(0, 1, length) for _ in range(8)]
    else:
        series = [rng.poisson(6, length).astype(float) for _ in range(8)]
    panel = make_panel(series)
    train, test = panel.split_last(10)
    config = GlobalConfig(model="deepar", likelihood=likelihood, lookback=20, horizon=10,
                          hidden_size=16, num_layers=1, samples=300,
                          quantiles=(0.1, 0.5, 0.9))
    fc = GlobalForecaster(config, TrainSettings(epochs=6, batch_size=64, lr=3e-3,
                                                patience=None))
    fc.fit(train, progress=False)
    made = fc.predict(train)
    actual = np.stack([test.series(k).target_values[:, 0] for k in range(len(test))])
    inside = (actual >= made.quantiles[..., 0]) & (actual <= made.quantiles[..., 2])
    assert 0.6 <= inside.mean() <= 0.95  # nominal 0.8 over 80 values
    if likelihood == "negbin":  # counts stay non-negative integers
        assert made.quantiles.min() >= 0
        np.testing.assert_allclose(made.quantiles[..., 1], np.round(made.quantiles[..., 1]))


def test_bad_settings_and_data_are_refused_with_the_fix():
    panel = seasonal_panel(n_series=2, length=40)
    with pytest.raises(InputError, match="use a shorter --lookback"):
        GlobalForecaster(GlobalConfig(lookback=60, horizon=6)).check(panel)
    with pytest.raises(InputError, match="--likelihood 'poisson'"):
        GlobalForecaster(GlobalConfig(likelihood="poisson")).check(panel)
    negative = make_panel([np.linspace(-5, 5, 80)])
    with pytest.raises(InputError, match="esrnn needs positive values"):
        GlobalForecaster(GlobalConfig(model="esrnn", lookback=12, horizon=3)).check(negative)
    trained = GlobalForecaster(GlobalConfig(model="esrnn", lookback=12, horizon=3,
                                            hidden_size=4, num_layers=1), SMALL)
    trained.fit(seasonal_panel(n_series=2, length=60), progress=False)
    with pytest.raises(InputError, match="only the series it was trained on"):
        trained.predict(seasonal_panel(n_series=3, length=60))


def test_short_series_are_skipped_and_listed():
    panel = make_panel([np.ones(100) + np.arange(100) * 0.01, np.ones(10)], ids=["long", "tiny"])
    fc = GlobalForecaster(GlobalConfig(lookback=12, horizon=3, hidden_size=4, num_layers=1),
                          SMALL)
    assert "1 skipped: shorter than 18 rows" in fc.check(panel)
    fc.fit(panel, progress=False)
    made = fc.predict(panel)
    assert made.ids == ["long"] and made.skipped == ["tiny"]


def test_conformal_margins_make_the_intervals_cover_the_calibration_rows():
    panel = seasonal_panel(n_series=30, length=80, noise=1.0, seed=5)
    config = GlobalConfig(lookback=24, horizon=4, hidden_size=8, num_layers=1,
                          quantiles=(0.1, 0.5, 0.9), conformal=True)
    fc = GlobalForecaster(config, TrainSettings(epochs=1, batch_size=64, patience=None))
    fc.fit(panel, progress=False)
    assert set(fc.learned.margins) == {"0.1"} and len(fc.learned.margins["0.1"]) == 4
    train, valid = panel.split_last(4)
    actual = np.stack([valid.series(k).target_values[:, 0] for k in range(len(valid))])
    raw = fc.predict(train, calibrated=False).quantiles
    made = fc.predict(train).quantiles
    slack = 1e-9 * np.abs(actual)  # the series whose score is the margin lies on a bound
    inside = (actual >= made[..., 0] - slack) & (actual <= made[..., 2] + slack)
    # CQR: at each lead time at least ceil(0.8 * 31) = 25 of the 30 calibration series
    assert (inside.sum(axis=0) >= 25).all()
    margin = np.array(fc.learned.margins["0.1"])
    assert not np.allclose(made, raw) and np.isfinite(margin).all()
