import json
import math

import pytest
import torch
from torch import nn

from rnnkit.errors import InputError, TrainingDiverged
from rnnkit.train import fit as fit_module
from rnnkit.train.fit import fit
from rnnkit.train.settings import TrainSettings


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
    with torch.no_grad():
        initial = accuracy_on(xv, sv, yv)(model.eval())
    result = fit(model, nn.functional.cross_entropy, train, val,
                 settings=TrainSettings(epochs=5, lr=0.05, clip=None, patience=None),
                 progress=False, val_score=accuracy_on(xv, sv, yv), higher_is_better=True)
    scores = result.history["val_score"]
    assert len(scores) == 5 and len(result.history["val_loss"]) == 5
    best = max(scores)
    # the first epoch with the best score, or 0 when the untrained model scored as well
    assert result.best_epoch == (0 if initial >= best else 1 + scores.index(best))
    # the restored weights score what the kept epoch scored
    assert accuracy_on(xv, sv, yv)(model) >= best


def test_patience_stops_early_and_keeps_the_untrained_model_when_it_was_best():
    x, s, y = data()
    train = loader([((x, s), y)])
    model = TupleModel()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    result = fit(model, nn.functional.cross_entropy, train, train,
                 settings=TrainSettings(epochs=20, lr=0.1, patience=2, clip=None), progress=False,
                 val_score=lambda m: 0.0, higher_is_better=True)
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
        fit(model, lambda out, t: ((out[:, 0] - t) ** 2).mean(), loader([(x, y)]),
            settings=TrainSettings(epochs=3, clip=None, patience=None), progress=False)
    for k, v in model.state_dict().items():  # left at the last good weights, not NaN
        assert torch.equal(v, before[k])


class Recording(nn.Module):
    """A linear model that records its weights at every training forward (one per step)."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(3)
        self.linear = nn.Linear(3, 2)
        self.seen = []

    def forward(self, x, scale):
        if self.training:
            self.seen.append([p.detach().clone() for p in self.parameters()])
        return self.linear(x) * scale[:, None]


def batches_of(x, s, y, size=16):
    return loader([((x[k:k + size], s[k:k + size]), y[k:k + size])
                   for k in range(0, len(y), size)])


def test_ema_returns_the_moving_average_of_the_weights_of_every_step():
    x, s, y = data()
    plain = Recording()
    fit(plain, nn.functional.cross_entropy, batches_of(x, s, y),
        settings=TrainSettings(epochs=3, lr=0.05, clip=None, patience=None), progress=False)
    trajectory = plain.seen[1:] + [[p.detach() for p in plain.parameters()]]  # after each step
    averaged = Recording()
    fit(averaged, nn.functional.cross_entropy, batches_of(x, s, y),
        settings=TrainSettings(epochs=3, lr=0.05, ema=0.9, clip=None, patience=None),
        progress=False)
    # training itself is unchanged: the same raw weights at every step
    assert all(torch.equal(a, b) for seen_a, seen_b in zip(averaged.seen, plain.seen, strict=True)
               for a, b in zip(seen_a, seen_b, strict=True))
    expected = [p.clone() for p in plain.seen[0]]
    for t, weights in enumerate(trajectory, start=1):
        d = min(0.9, (1 + t) / (10 + t))
        expected = [d * e + (1 - d) * w for e, w in zip(expected, weights, strict=True)]
    final = [p.detach() for p in averaged.parameters()]
    for got, want, raw in zip(final, expected, trajectory[-1], strict=True):
        assert torch.allclose(got, want, atol=1e-6)
        assert not torch.allclose(got, raw, atol=1e-4)  # not simply the last weights


def test_ema_weights_are_the_ones_scored_and_kept():
    x, s, y = data()
    xv, sv, yv = data(seed=1)
    scored = []

    def score(model):
        scored.append([p.detach().clone() for p in model.parameters()])
        return float((model(xv, sv).argmax(-1) == yv).float().mean()) + 1e-3 * len(scored)

    model = Recording()
    result = fit(model, nn.functional.cross_entropy, batches_of(x, s, y),
                 loader([((xv, sv), yv)]), settings=TrainSettings(epochs=3, lr=0.05, ema=0.95,
                     clip=None,
                     patience=None), progress=False, val_score=score, higher_is_better=True)
    assert result.best_epoch == 3  # the tie-breaker favours later epochs
    for kept, was_scored in zip(model.parameters(), scored[-1], strict=True):
        assert torch.equal(kept.detach(), was_scored)
    # what was scored after epoch 1 is not the raw weights training continued from
    raw_after_epoch_1 = model.seen[len(y) // 16]
    assert not all(torch.allclose(a, b) for a, b in zip(scored[1], raw_after_epoch_1,
                                                        strict=True))
    assert len(result.history["val_loss"]) == 3


def test_ema_run_resumes_to_the_same_weights(tmp_path):
    x, s, y = data()
    whole = Recording()
    fit(whole, nn.functional.cross_entropy, batches_of(x, s, y),
        settings=TrainSettings(epochs=4, lr=0.05, ema=0.9, clip=None, patience=None),
        progress=False)
    first = Recording()
    fit(first, nn.functional.cross_entropy, batches_of(x, s, y),
        settings=TrainSettings(epochs=2, lr=0.05, ema=0.9, clip=None, patience=None),
        progress=False, checkpoint_dir=tmp_path)
    resumed = Recording()
    fit(resumed, nn.functional.cross_entropy, batches_of(x, s, y),
        settings=TrainSettings(epochs=4, lr=0.05, ema=0.9, clip=None, patience=None),
        progress=False, checkpoint_dir=tmp_path, resume=True)
    for a, b in zip(resumed.parameters(), whole.parameters(), strict=True):
        assert torch.equal(a, b)


def test_cosine_schedule_sets_the_learning_rate_of_every_step(tmp_path):
    x, s, y = data()
    epochs, steps = 3, 4  # 64 examples in batches of 16
    for done in range(1, epochs + 1):
        model = Recording()
        fit(model, nn.functional.cross_entropy, batches_of(x, s, y),
            settings=TrainSettings(epochs=done, lr=0.1, lr_schedule="cosine", clip=None,
                                   patience=None),
            progress=False, checkpoint_dir=tmp_path / str(done))
        last_step = done * steps - 1  # the lr of the last step taken, over `done` epochs
        lr = json.loads((tmp_path / str(done) / "checkpoint.json").read_text())[
            "optimizer"]["param_groups"][0]["lr"]
        assert lr == pytest.approx(0.05 * (1 + math.cos(math.pi * last_step / (done * steps))))
    with pytest.raises(InputError, match="--lr-schedule 'linear' is not known"):
        fit(Recording(), nn.functional.cross_entropy, batches_of(x, s, y),
            settings=TrainSettings(epochs=1, lr_schedule="linear", clip=None, patience=None),
            progress=False)


@pytest.mark.parametrize("schedule, rates", [
    # halved after every epoch, from the first (LTSF "type1" would keep 0.1 for two epochs)
    ("halving", [0.1, 0.05, 0.025, 0.0125, 0.00625, 0.003125]),
    # four epochs at 0.1, then x0.8 after each (SegRNN's "type3")
    ("decay", [0.1, 0.1, 0.1, 0.1, 0.08, 0.064]),
])
def test_epoch_schedules_set_the_learning_rate_of_each_epoch(tmp_path, schedule, rates):
    x, s, y = data()
    for epochs, rate in enumerate(rates, start=1):
        fit(Recording(), nn.functional.cross_entropy, batches_of(x, s, y),
            settings=TrainSettings(epochs=epochs, lr=0.1, lr_schedule=schedule, clip=None,
                                   patience=None),
            progress=False, checkpoint_dir=tmp_path / str(epochs))
        lr = json.loads((tmp_path / str(epochs) / "checkpoint.json").read_text())[
            "optimizer"]["param_groups"][0]["lr"]
        assert lr == pytest.approx(rate)  # the lr of the last epoch run
    with pytest.raises(ValueError, match="ema"):
        fit(Recording(), nn.functional.cross_entropy, batches_of(x, s, y),
            settings=TrainSettings(epochs=1, ema=1.0, clip=None, patience=None), progress=False)


class Clock:
    """A fake clock for the time budget: it moves only when a model says a step took time."""

    def __init__(self):
        self.now = 0.0

    def perf_counter(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    fake = Clock()
    monkeypatch.setattr(fit_module, "time", fake)  # the engine reads time.perf_counter only
    return fake


class Slow(nn.Module):
    """A linear model whose every training forward takes ``seconds`` of the fake clock."""

    def __init__(self, clock, seconds):
        super().__init__()
        self.linear, self.clock, self.seconds = nn.Linear(3, 2), clock, seconds

    def forward(self, x):
        self.clock.now += self.seconds
        return self.linear(x)


def four_batches():
    x, _, y = data(32)
    return loader([(x[k:k + 8], y[k:k + 8]) for k in range(0, 32, 8)])


def test_time_budget_stops_before_an_epoch_would_overrun_it(clock):
    result = fit(Slow(clock, 0.05), nn.functional.cross_entropy, four_batches(),
                 settings=TrainSettings(epochs=50, device="cpu", max_minutes=0.9 / 60, clip=None,
                                        patience=None),
                 progress=False)
    # epochs of 0.2 s end at 0.2, 0.4, 0.6, 0.8 s; a fifth would end at 1.0 s, past 0.9 s
    assert result.out_of_time and len(result.history["train_loss"]) == 4
    assert result.seconds == pytest.approx(0.8)
    free = fit(Slow(clock, 0.0), nn.functional.cross_entropy, four_batches(),
               settings=TrainSettings(epochs=3, device="cpu", max_minutes=1, clip=None,
                                      patience=None),
               progress=False)
    assert not free.out_of_time and len(free.history["train_loss"]) == 3


class Slowing(Slow):
    """Four quick training epochs (0.05 s), then slow ones (0.5 s): a CPU that got busier."""

    def __init__(self, clock):
        super().__init__(clock, 0.0125)
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        self.seconds = 0.0125 if self.calls <= 16 else 0.125
        return super().forward(x)


def test_time_budget_plans_with_the_longest_epoch(clock):
    result = fit(Slowing(clock), nn.functional.cross_entropy, four_batches(),
                 settings=TrainSettings(epochs=50, device="cpu", max_minutes=1.0 / 60, clip=None,
                                        patience=None),
                 progress=False)
    assert result.out_of_time
    # epochs of 0.05, 0.05, 0.05, 0.05, 0.5 s end at 0.7 s: one more as long as the longest
    # would end at 1.2 s, past the budget; at the mean pace (0.14 s) a sixth would have run
    assert len(result.history["train_loss"]) == 5


def test_cosine_schedule_with_a_time_budget_anneals_to_zero_when_the_budget_ends(tmp_path,
                                                                                  clock):
    result = fit(Slow(clock, 0.05), nn.functional.cross_entropy, four_batches(),
                 settings=TrainSettings(epochs=50, lr=0.1, device="cpu", max_minutes=1.1 / 60,
                                        lr_schedule="cosine", clip=None, patience=None),
                 progress=False, checkpoint_dir=tmp_path)
    assert result.out_of_time and len(result.history["train_loss"]) == 5  # 5 x 0.2 s in 1.1 s
    saved = json.loads((tmp_path / "checkpoint.json").read_text())
    lr = saved["optimizer"]["param_groups"][0]["lr"]
    # over the 50 epochs asked for, the last step would still be near 0.1 (0.099 after 5
    # epochs); re-planned for the 5 epochs that fit, step 19 of 20 runs close to 0
    assert lr == pytest.approx(0.1 * 0.5 * (1 + math.cos(math.pi * 19 / 20)))
