import math
from dataclasses import asdict

import pytest
import torch

from rnnkit.errors import InputError
from rnnkit.io.weights import load_weights, save_weights
from rnnkit.reservoir import ESN, ESNConfig


def _sine(length, start=0):
    t = torch.arange(start, start + length, dtype=torch.float64)
    return torch.sin(t / 4).unsqueeze(-1)  # (length, 1), period ~25 steps


@pytest.fixture(scope="module")
def sine_esn():
    s = _sine(500)
    return ESN(ESNConfig(units=100, seed=1)).fit(s[:-1], s[1:], washout=100)


@pytest.mark.parametrize("readout", ["linear", "quadratic"])
def test_esn_continues_a_sine_wave_in_closed_loop(readout):
    s = _sine(500)
    esn = ESN(ESNConfig(units=100, readout=readout, seed=1)).fit(s[:-1], s[1:], washout=100)
    future = esn.generate(200, warmup=s)  # 8 periods fed back on itself
    assert (future - _sine(200, start=500)).abs().max() < 1e-3


def test_predict_is_one_step_ahead_and_keeps_the_input_shape(sine_esn):
    s = _sine(300, start=1000)
    one_step = sine_esn.predict(s[:-1])
    assert one_step.shape == (299, 1)
    assert (one_step[100:] - s[101:]).abs().max() < 1e-4
    batched = sine_esn.predict(torch.stack([s[:-1], -s[:-1]]))  # (2, 299, 1)
    torch.testing.assert_close(batched[0], one_step)
    assert (batched[1, 100:] + s[101:]).abs().max() < 1e-3  # -sin(t) is the same wave shifted


def test_generate_continues_each_sequence_of_a_batch(sine_esn):
    warmups = torch.stack([_sine(300, start=k) for k in (0, 7, 13)])  # (3, 300, 1)
    future = sine_esn.generate(30, warmup=warmups)
    assert future.shape == (3, 30, 1)
    for row, k in enumerate((0, 7, 13)):
        assert (future[row] - _sine(30, start=300 + k)).abs().max() < 1e-3


def test_fit_on_a_batch_of_sequences():
    s = torch.stack([_sine(301, start=k) for k in (0, 50)])  # (2, 301, 1)
    esn = ESN(ESNConfig(units=80)).fit(s[:, :-1], s[:, 1:], washout=100)
    assert (esn.generate(50, warmup=_sine(200)) - _sine(50, start=200)).abs().max() < 1e-3


def test_multivariate_inputs_and_targets():
    s = _sine(401)
    inputs = torch.cat([s, s.roll(1, 0)], dim=-1)[:-1]  # (400, 2): value and previous value
    targets = torch.cat([s[1:], 2 * s[1:]], dim=-1)  # (400, 2)
    esn = ESN(ESNConfig(input_size=2, output_size=2, units=60)).fit(inputs, targets, washout=50)
    prediction = esn.predict(inputs)
    assert prediction.shape == (400, 2)
    assert (prediction[50:] - targets[50:]).abs().max() < 1e-3


def test_config_round_trips_through_asdict():
    config = ESNConfig(units=64, spectral_radius=1.1, leak_rate=0.4, readout="quadratic", seed=9)
    assert ESNConfig(**asdict(config)) == config


def test_state_dict_round_trips_through_safetensors(sine_esn, tmp_path):
    path = save_weights(tmp_path / "model.safetensors", sine_esn)
    restored = ESN(ESNConfig(**asdict(sine_esn.config)))
    assert not bool(restored.readout.fitted)
    restored.load_state_dict(load_weights(path))
    s = _sine(200)
    assert torch.equal(restored.generate(20, warmup=s), sine_esn.generate(20, warmup=s))


def test_state_noise_changes_the_fit_reproducibly():
    s = _sine(300)
    fits = [
        ESN(ESNConfig(units=50, state_noise=noise, seed=2)).fit(s[:-1], s[1:], washout=50)
        for noise in (0.0, 1e-4, 1e-4)
    ]
    weights = [esn.readout.weight for esn in fits]
    assert not torch.equal(weights[0], weights[1])
    assert torch.equal(weights[1], weights[2])


def test_washout_must_leave_training_steps():
    s = _sine(101)
    esn = ESN(ESNConfig(units=20))
    for washout in (100, 150, -1):
        with pytest.raises(InputError) as err:
            esn.fit(s[:-1], s[1:], washout=washout)
        assert f"washout={washout}: must be >= 0 and < the training length 100" in str(err.value)


@pytest.mark.parametrize("where", ["inputs", "targets"])
def test_nan_in_the_data_is_an_input_error_naming_where(where):
    s = _sine(101)
    data = {"inputs": s[:-1].clone(), "targets": s[1:].clone()}
    data[where][42, 0] = math.nan
    with pytest.raises(InputError) as err:
        ESN(ESNConfig(units=20)).fit(data["inputs"], data["targets"], washout=10)
    assert f"{where} contains NaN or inf (first at index (42, 0))" in str(err.value)


def test_shape_errors_name_the_argument_and_the_fix():
    esn = ESN(ESNConfig(units=20))
    with pytest.raises(InputError, match=r"inputs has shape \(100,\); .*unsqueeze"):
        esn.fit(torch.zeros(100), torch.zeros(100, 1), washout=10)
    with pytest.raises(InputError, match=r"inputs has 3 features .* ESNConfig\(input_size=3\)"):
        esn.fit(torch.zeros(100, 3), torch.zeros(100, 1), washout=10)
    with pytest.raises(InputError, match="same batch and time dimensions"):
        esn.fit(torch.zeros(100, 1), torch.zeros(90, 1), washout=10)


def test_generate_and_predict_need_a_fit_and_generate_needs_matching_sizes(sine_esn):
    with pytest.raises(InputError, match=r"not fitted yet; call fit\(inputs, targets, washout\)"):
        ESN(ESNConfig(units=20)).predict(torch.zeros(10, 1))
    esn = ESN(ESNConfig(input_size=2, units=20)).fit(
        torch.randn(50, 2), torch.randn(50, 1), washout=5
    )
    with pytest.raises(InputError, match="input_size=2 must equal output_size=1"):
        esn.generate(5, warmup=torch.zeros(10, 2))
    with pytest.raises(InputError, match="n_steps=0: must be >= 1"):
        sine_esn.generate(0, warmup=_sine(10))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(spectral_radius=0), "spectral_radius=0: must be > 0"),
        (dict(leak_rate=0), "leak_rate=0: must be in (0, 1]"),
        (dict(state_noise=-1e-9), "state_noise=-1e-09: must be >= 0"),
        (dict(readout="cubic"), "readout='cubic': choose 'linear'"),
        (dict(output_size=0), "output_size=0: must be >= 1"),
        (dict(ridge=-1), "ridge=-1: must be >= 0"),
    ],
)
def test_bad_config_is_refused_when_the_esn_is_built(kwargs, message):
    with pytest.raises(InputError) as err:
        ESN(ESNConfig(**kwargs))
    assert message in str(err.value)
