import numpy as np
import pytest
import torch

from rnnkit.evaluate.intervals import conformal_halfwidth, coverage
from rnnkit.models.forecast_nets import forecast_network
from rnnkit.models.forecaster import ForecasterConfig
from rnnkit.models.normalization import InstanceNorm
from rnnkit.models.segrnn import SegRNN


@pytest.mark.parametrize("mode", ["last", "revin", "none"])
def test_instance_norm_round_trips(mode):
    torch.manual_seed(0)
    norm = InstanceNorm(mode, 3)
    if mode == "revin":
        with torch.no_grad():
            norm.weight.uniform_(0.5, 2.0)
            norm.bias.uniform_(-1, 1)
    x = torch.randn(4, 12, 3) * 5 + 7
    z, stats = norm(x)
    torch.testing.assert_close(norm.restore(z, stats), x, atol=1e-4, rtol=1e-5)
    if mode == "last":
        assert z[:, -1].abs().max() == 0
    if mode == "revin":  # each window and channel standardised before the affine
        plain = (z - norm.bias) / norm.weight
        torch.testing.assert_close(plain.mean(1), torch.zeros(4, 3), atol=1e-5, rtol=0)


def test_segrnn_equals_a_direct_computation():
    torch.manual_seed(0)
    model = SegRNN(lookback=8, horizon=12, channels=2, segment_length=4, hidden_size=6,
                   dropout=0.0).eval()
    x = torch.randn(3, 8, 2)
    gru = torch.nn.GRU(6, 6, batch_first=True)
    gru.load_state_dict(model.rnn.state_dict())
    out = model(x)
    assert out.shape == (3, 12, 2)
    for b in range(3):
        for k in range(2):
            segments = x[b, :, k].reshape(2, 4)  # N = 2 segments of w = 4
            embedded = torch.relu(segments @ model.embed[0].weight.T + model.embed[0].bias)
            _, h = gru(embedded[None])
            for m in range(3):  # M = 3 output segments, each one step from h_N
                query = torch.cat([model.position[m], model.channel[k]])[None, None]
                y, _ = gru(query, h)
                expected = y[0, 0] @ model.out.weight.T + model.out.bias
                torch.testing.assert_close(out[b, 4 * m:4 * m + 4, k], expected, atol=1e-5,
                                           rtol=0)


def test_segrnn_needs_whole_segments():
    with pytest.raises(ValueError, match="segment_length=48 must divide lookback=100"):
        SegRNN(100, 96, 1)


@pytest.mark.parametrize("model,independent", [("rnn", False), ("rnn", True), ("segrnn", False)])
def test_joint_and_channel_independent_shapes(model, independent):
    config = ForecasterConfig(model=model, channel_independent=independent, lookback=8,
                              horizon=4, segment_length=4, hidden_size=6, num_layers=1,
                              n_targets=3, n_features=2)
    net = forecast_network(config)
    assert net(torch.randn(5, 8, 5)).shape == (5, 4, 3)
    if model == "rnn":
        assert net.rnn.input_size == (1 if independent else 5)


def test_channel_independent_rnn_treats_channels_alike():
    config = ForecasterConfig(channel_independent=True, lookback=8, horizon=2, hidden_size=6,
                              num_layers=1, n_targets=2, normalize="none")
    net = forecast_network(config)
    torch.nn.init.normal_(net.head.weight)
    x = torch.randn(3, 8, 1)
    both = net(torch.cat([x, x], dim=2))
    torch.testing.assert_close(both[..., 0], both[..., 1])


def test_conformal_interval_coverage_is_near_nominal():
    rng = np.random.default_rng(0)
    calibration = rng.normal(size=(2000, 3))
    q = conformal_halfwidth(calibration, 0.9)
    assert q.shape == (3,)
    fresh = rng.normal(size=(20000, 3))
    share = coverage(fresh, -q, q)
    assert 0.88 <= share <= 0.92
    with pytest.raises(ValueError, match="level=1.5"):
        conformal_halfwidth(calibration, 1.5)
