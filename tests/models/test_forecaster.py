from dataclasses import asdict

import numpy as np
import pytest
import torch

from rnnkit.configs import config_from_dict
from rnnkit.data.scalers import Scaler
from rnnkit.data.series import Series
from rnnkit.data.windows import origins_between, windows
from rnnkit.errors import InputError
from rnnkit.evaluate.backtest import evaluate
from rnnkit.models.forecast_nets import forecast_network
from rnnkit.models.forecaster import LOSSES, Forecaster, ForecasterConfig
from rnnkit.train.fit import fit
from rnnkit.train.loader import TensorBatches
from rnnkit.train.settings import TrainSettings


def sine(n=300, features=False):
    t = np.arange(n)
    y = 10 + np.sin(2 * np.pi * t / 20) + 0.01 * t
    if features:
        return Series(np.column_stack([y, np.cos(2 * np.pi * t / 20)]), ["y"], ["x"])
    return Series(y, ["y"])


def quick(**model):
    return Forecaster(ForecasterConfig(hidden_size=16, num_layers=1, lookback=24, **model),
                      TrainSettings(epochs=3, batch_size=64, patience=None))


def test_untrained_default_net_is_persistence():
    net = forecast_network(ForecasterConfig(n_targets=2, horizon=3))
    x = torch.randn(5, 60, 2)
    torch.testing.assert_close(net(x), x[:, -1:, :].expand(5, 3, 2))


def test_fit_forecast_shapes_and_learning():
    series = sine()
    fc = Forecaster(ForecasterConfig(hidden_size=16, num_layers=1, lookback=24, horizon=4),
                    TrainSettings(epochs=10, batch_size=64, lr=1e-2, patience=None))
    result = fc.fit(series.slice(0, 240), progress=False)  # rows 240.. are never seen
    assert len(result.history["train_loss"]) == 10 and len(result.history["val_loss"]) == 10
    val = result.history["val_loss"]
    assert val[result.best_epoch - 1] == min(val) < 0.2 * val[0]
    # the untrained network forecasts persistence (test above); the trained one beats it
    origins = np.arange(240, 296)
    actual = series.target_values[origins[:, None] + np.arange(1, 5)]  # (56, 4, 1)
    persistence = np.mean((actual - series.target_values[origins][:, None]) ** 2)
    assert np.mean((fc.forecast(series, origins) - actual) ** 2) < 0.2 * persistence
    assert fc.forecast(series, np.array([100, 200])).shape == (2, 4, 1)
    assert fc.predict(sine(), horizon=10).shape == (10, 1)  # recursive beyond the horizon
    assert fc.rolling(sine(), 250).shape == (50, 1)


def test_the_seed_architecture():
    fc = Forecaster.from_preset("seed", epochs=1)
    net = forecast_network(fc.config)
    assert net.rnn.num_layers == 4 and net.rnn.hidden_size == 50 and net.rnn.dropout == 0.2
    assert net.drop.p == 0.2 and net.head.out_features == 1
    forget = (net.rnn.cells["l2"].bias_ih + net.rnn.cells["l2"].bias_hh)[50:100]
    assert torch.equal(forget.detach(), torch.ones(50))  # Keras: unit forget bias
    assert fc.train_config.epochs == 1 and fc.config.val_fraction == 0
    with pytest.raises(InputError, match="--preset 'keras' is not known"):
        Forecaster.from_preset("keras")


@pytest.mark.parametrize("name,train,segment", [
    ("etth1-m", (1e-3, "decay", "mse", 12), 24),  # SegRNN's own setting at L = 96
    ("etth1-s", (3e-4, "halving", "mae", 8), 48),
])
def test_the_etth1_presets_are_valid(name, train, segment):
    fc = Forecaster.from_preset(name, horizon=720)
    fc.config.validate()
    fc.train_config.validate()
    t = fc.train_config
    assert (t.lr, t.lr_schedule, fc.config.loss, t.epochs) == train
    assert fc.config.segment_length == segment
    assert fc.config.model == "segrnn" and 720 % fc.config.segment_length == 0
    fc = Forecaster.from_preset(name, lr_schedule="wavy")
    with pytest.raises(InputError, match="--lr-schedule 'wavy' is not known; choose one of"):
        fc.train_config.validate()


def test_scaler_sees_training_rows_only_and_validation_does_not_leak():
    """Changing the validation rows changes nothing learned from the training rows."""
    base = sine(200)
    changed = Series(base.values.copy(), ["y"])
    changed.values[180:] += 100.0  # the last 10% = the validation part
    runs = []
    for series in (base, changed):
        fc = quick()
        fc.config.val_fraction = 0.1
        result = fc.fit(series, progress=False)
        runs.append((fc.scaler.to_dict(), result.history["train_loss"]))
    assert runs[0][0] == runs[1][0]
    assert runs[0][1] == runs[1][1]


def test_features_and_horizon_limits():
    fc = quick(horizon=2)
    fc.fit(sine(features=True), progress=False)
    assert fc.predict(sine(features=True)).shape == (2, 1)
    with pytest.raises(InputError, match="with feature columns their future values are unknown"):
        fc.predict(sine(features=True), horizon=5)
    with pytest.raises(InputError, match="the model was trained on"):
        fc.forecast(sine(), np.array([50]))


def test_config_round_trip_and_unknown_keys():
    config = ForecasterConfig(cell="gru", horizon=3)
    assert config_from_dict(ForecasterConfig, asdict(config), "x") == config
    with pytest.raises(InputError, match=r"x: unknown ForecasterConfig keys \['evil'\]"):
        config_from_dict(ForecasterConfig, {**asdict(config), "evil": 1}, "x")


def test_state_round_trip_gives_equal_forecasts():
    fc = quick()
    fc.fit(sine(), progress=False)
    again = Forecaster.from_state(fc.state(), fc.scaler.to_dict(), fc.net.state_dict(), "memory")
    np.testing.assert_array_equal(again.forecast(sine(), np.arange(30, 60)),
                                  fc.forecast(sine(), np.arange(30, 60)))
    weights = dict(fc.net.state_dict())
    weights["head.weight"] = torch.zeros(3, 16)
    with pytest.raises(InputError, match="weights do not fit the config"):
        Forecaster.from_state(fc.state(), fc.scaler.to_dict(), weights, "memory")


def test_bad_settings():
    with pytest.raises(InputError, match="--cell 'lsmt' is not known"):
        quick(cell="lsmt").fit(sine(), progress=False)
    fc = quick()
    fc.config.lookback = 400
    with pytest.raises(InputError, match="lookback=400 with horizon=1 needs at least 401 rows"):
        fc.fit(sine(), progress=False)
    fc = quick()
    fc.train_config.epochs = 0
    with pytest.raises(InputError, match="--epochs 0; expected at least 1"):
        fc.fit(sine(), progress=False)


def test_historical_forecasts_walk_forward():
    fc = quick(horizon=2)
    fc.fit(sine(), progress=False)
    origins, forecasts, *_ = fc.historical_forecasts(sine(), start=250, stride=10)
    assert origins.tolist() == [249, 259, 269, 279, 289]
    assert forecasts.shape == (5, 2, 1)
    np.testing.assert_array_equal(forecasts, fc.forecast(sine(), origins))


def test_fit_leaves_its_own_settings_as_given():
    fc = quick(horizon=2)
    given = asdict(fc.config), asdict(fc.train_config)
    plan = fc.check(sine(features=True))
    assert plan.startswith("forecast: 1xLSTM(16) on ") and "validation windows" in plan
    fc.fit(sine(features=True), progress=False)
    assert (asdict(fc.config), asdict(fc.train_config)) == given
    assert (fc.network.n_targets, fc.network.n_features) == (1, 1)  # learned: state
    assert fc.state()["network"] == {"n_targets": 1, "n_features": 1, "reservoir_seed": 0}


def test_a_backtest_with_refits_scores_each_origin_with_its_own_scale_and_interval():
    series = sine(300)
    fc = quick(horizon=2)
    fc.fit(series.slice(0, 200), progress=False)
    kept = fc.scaler.to_dict(), fc.halfwidth.copy()
    back = fc.historical_forecasts(series, start=250, stride=20, retrain=True)
    assert back.origins.tolist() == [249, 269, 289]
    for k, origin in enumerate(back.origins):  # each refit saw rows 0..origin, 10% validating
        n_train = origin + 1 - round((origin + 1) * 0.1)
        own = Scaler.fit(series.values[:n_train], "standard")
        np.testing.assert_array_equal(back.shift[k, 0], own.shift)
        np.testing.assert_array_equal(back.scale[k, 0], own.scale)
    assert not np.array_equal(back.shift[0], back.shift[-1])  # the level rises: scales differ
    assert back.halfwidth.shape == (3, 2, 1)
    assert not np.allclose(back.halfwidth[0], back.halfwidth[-1])
    assert fc.scaler.to_dict() == kept[0] and np.array_equal(fc.halfwidth, kept[1])
    ev = evaluate(series.target_values, back.origins, back.forecasts, 250, None,
                  (back.shift, back.scale), back.halfwidth, 0.9)
    z, zf = ((v - back.shift) / back.scale for v in (ev.actual, back.forecasts))
    assert ev.scaled["model"]["mse"] == pytest.approx(float(np.mean((z - zf) ** 2)))
    inside = np.abs(ev.actual - back.forecasts) <= back.halfwidth
    assert ev.interval["coverage"] == pytest.approx(float(inside.mean()))


def test_an_echo_state_network_warms_up_over_at_least_its_washout():
    with pytest.raises(InputError, match="over each 24-row window, but its readout was fitted "
                                         "only after --washout 100 steps; use --lookback 100"):
        quick(cell="esn", washout=100).fit(sine(), progress=False)
    fc = quick(cell="esn", washout=20)
    fc.fit(sine(), progress=False)
    assert fc.predict(sine(), horizon=3).shape == (3, 1)


def naive_fit_and_forecast(fc, series):
    """What Forecaster.fit and forecast compute, done with copies: the whole series scaled to
    float32 at once, every window copied, torch's own samplers."""
    c, t = fc.network, fc.train_config
    n_train = len(series) - int(round(len(series) * c.val_fraction))
    scaled = torch.as_tensor(fc.scaler.transform(series.values), dtype=torch.float32)

    def loader(first, stop, batch, shuffle):
        x, y = windows(scaled, c.lookback, c.horizon, c.n_targets,
                       origins_between(first, stop, c.horizon, c.lookback))
        data = TensorBatches(x.clone(), y.clone())
        order = (torch.utils.data.RandomSampler(data, generator=torch.Generator().manual_seed(
            t.seed)) if shuffle else torch.utils.data.SequentialSampler(data))
        return torch.utils.data.DataLoader(data, batch_size=None, sampler=torch.utils.data.
                                           BatchSampler(order, batch, drop_last=False))

    torch.manual_seed(t.seed)
    net = forecast_network(c)
    fit(net, LOSSES[c.loss], loader(c.lookback, n_train, t.batch_size, True),
        loader(n_train, len(series), 256, False), t, progress=False)
    padded = torch.cat([scaled, torch.zeros(c.horizon, scaled.shape[1])])

    @torch.no_grad()
    def forecast(origins):
        x, _ = windows(padded, c.lookback, c.horizon, c.n_targets, torch.as_tensor(origins))
        out = torch.cat([net(chunk) for chunk in x.split(1024)]).double().numpy()
        return fc.scaler.inverse_transform(out, slice(0, c.n_targets))
    return net, forecast


@pytest.mark.parametrize("model", [dict(), dict(cell="gru", normalize="none", horizon=3),
                                   dict(channel_independent=True, normalize="revin")])
@pytest.mark.parametrize("fortran", [False, True])
def test_lean_windows_train_and_forecast_bit_for_bit_as_copies(model, fortran):
    values = sine(400, features=True).values * np.array([1.0, 1e3])
    series = Series(np.asfortranarray(values) if fortran else values, ["y"], ["x"])
    fc = Forecaster(ForecasterConfig(hidden_size=8, num_layers=1, lookback=16, **model),
                    TrainSettings(epochs=2, batch_size=48, patience=None, device="cpu"))
    fc.fit(series, progress=False)
    net, forecast = naive_fit_and_forecast(fc, series)
    for (name, mine), theirs in zip(fc.net.state_dict().items(), net.state_dict().values(),
                                    strict=True):
        assert torch.equal(mine, theirs), name
    # consecutive origins (views) up to the last row, a selection (copies), more than a chunk
    for origins in (np.arange(15, 400), np.array([399, 40, 17]), np.arange(16, 1400) % 384 + 15):
        assert np.array_equal(fc.forecast(series, origins), forecast(origins))


def test_forecast_from_no_origin_is_empty():
    fc = quick()
    fc.fit(sine(), progress=False)
    assert fc.forecast(sine(), np.array([], dtype=int)).shape == (0, 1, 1)


def test_an_ensemble_forecaster_averages_its_members_and_reloads():
    from rnnkit.models.ensemble import Ensemble

    fc = quick(horizon=2, ensemble=2)
    result = fc.fit(sine(), progress=False)
    assert isinstance(fc.net, Ensemble) and len(fc.net.members) == 2
    origins = np.arange(30, 60)
    both = fc.forecast(sine(), origins)
    ensemble = fc.net
    alone = []
    for member in ensemble.members:
        fc.net = member
        alone.append(fc.forecast(sine(), origins))
    fc.net = ensemble
    np.testing.assert_allclose(both, (alone[0] + alone[1]) / 2, rtol=1e-5)
    assert not np.allclose(alone[0], alone[1])  # two independently drawn networks
    again = Forecaster.from_state(fc.state(), fc.scaler.to_dict(), fc.net.state_dict(), "memory")
    np.testing.assert_array_equal(again.forecast(sine(), origins), both)
    state = fc.state()
    state["model"]["ensemble"] = 1
    with pytest.raises(InputError, match="weights do not fit the config"):
        Forecaster.from_state(state, fc.scaler.to_dict(), fc.net.state_dict(), "memory")
    assert result.epochs_run == 6 and len(result.members) == 2
    with pytest.raises(InputError, match="ensemble=0; expected at least 1"):
        quick(ensemble=0).fit(sine(), progress=False)
    with pytest.raises(InputError, match="--ensemble 2: an echo state network"):
        quick(cell="esn", ensemble=2).fit(sine(), progress=False)


def test_ensemble_members_are_the_forecasters_of_seeds_seed_to_seed_plus_k():
    """Member k is exactly the network one forecaster fits with seed + k: its own initial
    weights, batch order, dropout masks and early stopping (not side by side, not alike)."""
    def make(**kw):
        return Forecaster(ForecasterConfig(hidden_size=8, num_layers=2, dropout=0.2, lookback=24,
                                           horizon=2, **kw),
                          TrainSettings(epochs=12, batch_size=32, patience=2, lr=3e-2, seed=5))

    series = sine()
    fc = make(ensemble=3)
    result = fc.fit(series, progress=False)
    alone = []
    for k in range(3):
        single = make()
        single.train_config.seed = 5 + k
        alone.append(single.fit(series, progress=False))
        for name, tensor in single.net.state_dict().items():
            assert torch.equal(fc.net.members[k].state_dict()[name], tensor), (k, name)
        assert result.members[k].history == alone[k].history
        assert result.members[k].best_epoch == alone[k].best_epoch
    assert len({r.epochs_run for r in result.members}) > 1  # each stopped on its own
    assert result.seconds == pytest.approx(sum(r.seconds for r in result.members))
    assert fc.halfwidth is not None and fc.halfwidth.shape == (2, 1)


def test_join_builds_an_ensemble_of_trained_members_and_refuses_a_mismatch():
    series = sine()
    fc = quick(horizon=2, ensemble=2)
    members = [fc.member(k) for k in range(2)]
    assert [m.train_config.seed for m in members] == [0, 1]
    assert all(m.config.ensemble == 1 for m in members)
    with pytest.raises(InputError, match="member 0 is not trained yet"):
        fc.join(members, series)
    for member in members:
        member.fit(series, progress=False)
    fc.join(members, series)
    origins = np.arange(30, 60)
    expected = (members[0].forecast(series, origins) + members[1].forecast(series, origins)) / 2
    np.testing.assert_allclose(fc.forecast(series, origins), expected, rtol=1e-6)
    with pytest.raises(InputError, match="needs 2 trained members; got 1"):
        fc.join(members[:1], series)
    other = quick(horizon=2, dropout=0.1)
    other.fit(series, progress=False)
    with pytest.raises(InputError, match=r"member 1 has other .*: dropout=0.1 \(not 0.0\)"):
        fc.join([members[0], other], series)
    shifted = Series(series.values + 5.0, ["y"])
    moved = fc.member(1)
    moved.fit(shifted, progress=False)
    with pytest.raises(InputError, match="member 1 was trained on other data"):
        fc.join([members[0], moved], series)


def test_an_interrupted_ensemble_resumes_its_members_to_the_same_weights(tmp_path):
    from rnnkit.runs import resume_config
    from rnnkit.train.checkpoint import member_folder

    series = sine()
    reference = quick(horizon=2, ensemble=2)
    reference.fit(series, progress=False)
    cut = quick(horizon=2, ensemble=2)
    folder = tmp_path / "checkpoint"
    cut.fit(series, progress=False, checkpoint_dir=folder)
    assert (member_folder(folder, 0) / "checkpoint.json").is_file()
    for path in member_folder(folder, 1).iterdir():  # as if stopped before member 1 began
        path.unlink()
    (tmp_path / "config.json").write_text("{}")
    assert resume_config(tmp_path) == {}  # a run whose checkpoints are its members'
    resumed = quick(horizon=2, ensemble=2)
    result = resumed.fit(series, progress=False, checkpoint_dir=folder, resume=True)
    assert len(result.members[0].history["train_loss"]) == 3
    assert result.members[0].seconds == 0 < result.members[1].seconds  # restored; trained
    for name, tensor in reference.net.state_dict().items():
        assert torch.equal(resumed.net.state_dict()[name], tensor), name
    with pytest.raises(InputError, match="nothing to resume"):
        quick(horizon=2, ensemble=2).fit(series, progress=False,
                                         checkpoint_dir=tmp_path / "none", resume=True)
