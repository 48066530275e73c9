import math

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from rnnkit.models.classifier import ClassifierConfig, SequenceClassifier
from rnnkit.models.ensemble import Ensemble, member_cross_entropy


def members(k=3):
    torch.manual_seed(0)
    config = ClassifierConfig(vocab_size=30, num_classes=3, embedding_dim=6, hidden_size=5,
                              num_layers=1, word_dropout=0.0, embedding_dropout=0.0,
                              output_dropout=0.0)
    return [SequenceClassifier(config) for _ in range(k)]


def test_eval_output_is_the_log_of_the_mean_member_probability():
    nets = members()
    ensemble = Ensemble(nets).eval()
    tokens, lengths = torch.randint(2, 30, (4, 7)), torch.tensor([7, 3, 5, 1])
    expected = torch.stack([F.softmax(n.eval()(tokens, lengths), -1) for n in nets]).mean(0)
    out = ensemble(tokens, lengths)
    assert out.shape == (4, 3)
    torch.testing.assert_close(out.exp(), expected)
    # the members differ (each drew its own initial weights), so the average is not one of them
    assert not torch.allclose(F.softmax(nets[0](tokens, lengths), -1), expected, atol=1e-4)
    logits, trace = ensemble(tokens[:1, :3], trace=True)
    torch.testing.assert_close(logits, ensemble(tokens[:1, :3]))
    assert trace[0][0].stack("f").shape == (1, 3, 5)  # the first member's gates
    assert ensemble.config is nets[0].config and ensemble.rnn is nets[0].rnn


def test_training_output_keeps_each_member_and_the_loss_is_their_mean():
    nets = members(2)
    ensemble = Ensemble(nets).train()
    tokens, lengths = torch.randint(2, 30, (4, 6)), torch.tensor([6, 6, 2, 4])
    y = torch.tensor([0, 2, 1, 1])
    out = ensemble(tokens, lengths)
    assert out.shape == (4, 2, 3)
    loss = member_cross_entropy(out, y)
    mean = (F.cross_entropy(out[:, 0], y) + F.cross_entropy(out[:, 1], y)) / 2
    torch.testing.assert_close(loss, mean)
    loss.backward()  # each member gets the gradient of its own loss only
    assert all(p.grad is not None for n in nets for p in n.parameters() if p.requires_grad)
    logits = torch.randn(4, 3)
    torch.testing.assert_close(member_cross_entropy(logits, y), F.cross_entropy(logits, y))
    with pytest.raises(ValueError, match="at least 2 members"):
        Ensemble([nn.Linear(2, 2)])
    assert math.isfinite(loss.item())


def test_a_mean_ensemble_averages_forecasts_and_traces_its_first_member():
    from rnnkit.models.forecast_nets import forecast_network
    from rnnkit.models.forecaster import ForecasterConfig

    torch.manual_seed(0)
    config = ForecasterConfig(model="segrnn", lookback=8, horizon=4, segment_length=4,
                              hidden_size=6, n_targets=2)
    nets = [forecast_network(config) for _ in range(3)]
    ensemble = Ensemble(nets, combine="mean").eval()
    x = torch.randn(5, 8, 2)
    expected = torch.stack([n.eval()(x) for n in nets]).mean(0)
    torch.testing.assert_close(ensemble(x), expected)
    assert not torch.allclose(nets[0](x), expected, atol=1e-4)
    forecast, trace = ensemble(x, trace=True)
    torch.testing.assert_close(forecast, expected)
    assert trace[0][0].stack("z").shape == (10, 2, 6)  # first member: B*C rows, N=2 segments
    out = ensemble.train()(x)
    assert out.shape == (5, 3, 4, 2)
    torch.testing.assert_close(out[:, 1], nets[1].train()(x))
    with pytest.raises(ValueError, match="combine='median'"):
        Ensemble(nets, combine="median")
