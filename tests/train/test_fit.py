import math

import pytest
import torch
from torch import nn

from rnnkit.errors import TrainingDiverged
from rnnkit.train.fit import fit


class Batches(torch.utils.data.Dataset):
    def __init__(self, batches):
        self.batches = batches

    def __len__(self):
        return len(self.batches)

    def __getitem__(self, i):
        return self.batches[i]


def loader(batches):
    return torch.utils.data.DataLoader(Batches(batches), batch_size=None)


class TupleModel(nn.Module):
    """Takes two inputs, as text models take tokens and lengths."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(3, 2)

    def forward(self, x, scale):
        return self.linear(x) * scale[:, None]


def data(n=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, generator=g)
    y = (x[:, 0] > 0).long()
    return x, torch.ones(n), y


def accuracy_on(x, s, y):
    return lambda model: float((model(x, s).argmax(-1) == y).float().mean())


def test_tuple_inputs_and_a_monitored_score_restore_the_best_epoch():
    x, s, y = data()
    xv, sv, yv = data(seed=1)
    train = loader([((x[k:k + 16], s[k:k + 16]), y[k:k + 16]) for k in range(0, 64, 16)])
    val = loader([((xv, sv), yv)])
    model = TupleModel()
    result = fit(model, nn.functional.cross_entropy, train, val, epochs=5, lr=0.05,
                 progress=False, val_score=accuracy_on(xv, sv, yv), higher_is_better=True)
    scores = result.history["val_score"]
    assert len(scores) == 5 and len(result.history["val_loss"]) == 5
    best = max(scores)
    assert result.best_epoch in range(0, 6)
    if result.best_epoch > 0:
        assert scores[result.best_epoch - 1] == best
    # the restored weights score what the kept epoch scored
    assert accuracy_on(xv, sv, yv)(model) >= best


def test_patience_stops_early_and_keeps_the_untrained_model_when_it_was_best():
    x, s, y = data()
    train = loader([((x, s), y)])
    model = TupleModel()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    result = fit(model, nn.functional.cross_entropy, train, train, epochs=20, lr=0.1,
                 patience=2, progress=False, val_score=lambda m: 0.0, higher_is_better=True)
    assert result.stopped_early and len(result.history["train_loss"]) == 2
    assert result.best_epoch == 0
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k])


def test_divergence_names_the_epoch():
    x = torch.randn(8, 3)
    y = torch.full((8,), math.inf)
    model = nn.Linear(3, 1)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(TrainingDiverged, match=r"training loss became (nan|inf) in epoch 1, "
                       r"step 1; the weights of the last good epoch are kept"):
        fit(model, lambda out, t: ((out[:, 0] - t) ** 2).mean(), loader([(x, y)]), epochs=3,
            progress=False)
    for k, v in model.state_dict().items():  # left at the last good weights, not NaN
        assert torch.equal(v, before[k])
