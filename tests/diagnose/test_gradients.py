import pytest
import torch

from rnnkit import Recurrent
from rnnkit.data.synthetic import adding_problem
from rnnkit.diagnose import gradient_flow
from rnnkit.init import unit_forget_bias_


def first_last_ratio(cell, seed, length=50, hidden=32):
    """At initialisation, one batch of the adding problem, loss on the last step only."""
    torch.manual_seed(seed)
    layer = Recurrent(cell, 2, hidden).double()
    if cell == "lstm":
        unit_forget_bias_(layer)
    head = torch.nn.Linear(hidden, 1).double()
    x, y = adding_problem(32, length, seed=seed)
    out, _, trace = layer(x.double(), trace=True)
    loss = torch.nn.functional.mse_loss(head(out[:, -1]), y.double())
    return gradient_flow(loss, trace).first_last_ratio.item()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_tanh_rnn_gradient_vanishes_far_faster_than_lstm_with_forget_bias_1(seed):
    # measured over seeds 0-5 (hidden 16-64): tanh RNN 1e-15 .. 2e-10, LSTM 5e-6 .. 1e-4
    rnn, lstm = first_last_ratio("rnn", seed), first_last_ratio("lstm", seed)
    assert rnn < 1e-7
    assert lstm > 10 * rnn  # at least an order of magnitude; in fact over four


def test_identity_init_keeps_the_gradient():
    assert first_last_ratio("irnn", 0) > 0.1  # IRNN (Le et al. 2015): about 0.7 here


def test_norms_per_layer_direction_and_step():
    torch.manual_seed(0)
    layer = Recurrent("gru", 3, 4, num_layers=2, bidirectional=True)
    out, _, trace = layer(torch.randn(5, 6, 3), trace=True)
    flow = gradient_flow(out[:, 2].sum(), trace)
    assert flow.norms.shape == (2, 2, 6)
    # layer 1, forward: steps after t=2 do not reach the loss; reverse: steps before it
    assert (flow.norms[1, 0, 3:] == 0).all() and (flow.norms[1, 0, :3] > 0).all()
    assert (flow.norms[1, 1, 4:] == 0).all() and (flow.norms[1, 1, :4] > 0).all()
    torch.testing.assert_close(flow.first_last_ratio, flow.norms[..., 0] / flow.norms[..., -1])


def test_norms_equal_autograd_on_the_stacked_states():
    torch.manual_seed(0)
    layer = Recurrent("rnn", 2, 3)
    out, _, trace = layer(torch.randn(4, 5, 2), trace=True)
    loss = out[:, -1].pow(2).sum()
    expected = torch.autograd.grad(loss, trace[0][0].h, retain_graph=True)
    flow = gradient_flow(loss, trace)
    torch.testing.assert_close(flow.norms[0, 0], torch.stack([g.double().norm() for g in expected]))


def test_tiny_float32_gradients_do_not_underflow_in_the_norm():
    torch.manual_seed(0)
    layer = Recurrent("rnn", 2, 64)
    out, _, trace = layer(torch.rand(16, 100, 2), trace=True)
    ratio = gradient_flow(out[:, -1].sum(), trace).first_last_ratio.item()
    assert 0 < ratio < 1e-12  # squared in float32, elements of ~1e-20 would give a norm of 0


def test_loss_must_be_a_scalar():
    out, _, trace = Recurrent("rnn", 2, 3)(torch.randn(4, 5, 2), trace=True)
    with pytest.raises(ValueError, match=r"loss has shape \(4, 5, 3\); expected a scalar"):
        gradient_flow(out, trace)
