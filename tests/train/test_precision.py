import json
from dataclasses import replace

import numpy as np
import pytest
import torch
from torch import nn

from rnnkit.errors import InputError
from rnnkit.models.crf import CRF
from rnnkit.models.likelihoods import LIKELIHOODS
from rnnkit.train import device as device_module
from rnnkit.train import module as module_module
from rnnkit.train.device import cpu_has_bf16, training_precision
from rnnkit.train.fit import fit
from rnnkit.train.module import float32_loss
from rnnkit.train.settings import TrainSettings

CPU = torch.device("cpu")
BF16 = {"precision": "bf16-mixed", "device": "cpu"}  # on the CPU, also where a GPU is seen


@pytest.fixture
def bf16_cpu(monkeypatch):
    """Pretend the CPU has native bfloat16 (torch emulates it where not: slower, same dtypes)."""
    monkeypatch.setattr(device_module, "cpu_has_bf16", lambda cpuinfo=None: True)


@pytest.fixture
def seen(monkeypatch):
    """The dtypes of every training step's network outputs and losses."""
    record = {"outputs": set(), "losses": set(), "autocast": set()}

    def recording(loss, output, target, device_type):
        record["autocast"].add((torch.is_autocast_enabled(device_type),
                                torch.get_autocast_dtype(device_type)))
        flat = [output] if isinstance(output, torch.Tensor) else list(_tensors(output))
        record["outputs"] |= {t.dtype for t in flat if t.is_floating_point()}
        value = float32_loss(loss, output, target, device_type)
        record["losses"].add(value.dtype)
        return value

    monkeypatch.setattr(module_module, "float32_loss", recording)
    return record


def batches(pairs):
    """A loader that yields the given (x, y) batches as they are."""
    return torch.utils.data.DataLoader(pairs, batch_size=None)


def _tensors(output):
    if isinstance(output, torch.Tensor):
        yield output
    elif isinstance(output, tuple | list):
        for o in output:
            yield from _tensors(o)


# ---- the setting and the hardware -----------------------------------------------------------

def test_an_unknown_precision_is_refused_with_the_choices():
    with pytest.raises(InputError, match=r"--precision '64' is not known; choose one of 32, "
                                         r"bf16-mixed, 16-mixed"):
        TrainSettings(precision="64").validate()


@pytest.mark.parametrize("cpuinfo, native", [
    ("processor\t: 0\nflags\t\t: fpu sse avx2 avx512f avx512_bf16\n", True),
    ("flags\t\t: fpu sse avx2 amx_tile amx_bf16\n", True),
    ("flags\t\t: fpu sse avx2 avx512f avx512_vnni\n", False),  # AVX-512 without BF16
    ("Features\t: fp asimd sve bf16 i8mm\n", True),  # Arm (Graviton 3, Neoverse V1)
    ("Features\t: fp asimd evtstrm\n", False),
    ("", False),
])
def test_native_bf16_is_read_from_the_cpu_flags(cpuinfo, native):
    assert cpu_has_bf16(cpuinfo) is native


def test_float16_mixed_on_a_cpu_is_refused_with_the_fix():
    with pytest.raises(InputError, match="16-mixed needs a CUDA GPU; on cpu use bf16-mixed"):
        training_precision("16-mixed", CPU)


def test_bf16_without_native_support_falls_back_to_float32_with_a_note(monkeypatch, capsys):
    monkeypatch.setattr(device_module, "cpu_has_bf16", lambda cpuinfo=None: False)
    assert training_precision("bf16-mixed", CPU)[0] == "32"
    x, y = torch.randn(32, 3), torch.randint(0, 2, (32,))
    result = fit(nn.Linear(3, 2), nn.functional.cross_entropy, batches([(x, y)]),
                 settings=TrainSettings(epochs=1, **BF16), progress=False)
    assert result.precision == "32"
    assert "no native bfloat16" in capsys.readouterr().err
    facts = result.report()
    assert facts["precision"] == "32" and "float32 instead of bf16-mixed" in facts["precision_note"]


def test_bf16_with_native_support_is_kept(bf16_cpu):
    assert training_precision("bf16-mixed", CPU) == ("bf16-mixed", None)


# ---- what stays float32 -----------------------------------------------------------------------

def test_the_loss_is_float32_under_autocast():
    logits = torch.randn(4, 50, requires_grad=True)
    target = torch.randint(0, 50, (4,))

    def nll_of_log_softmax(output, y):  # log_softmax alone stays bfloat16 under CPU autocast
        return -torch.log_softmax(output, -1).gather(1, y[:, None]).squeeze(1)

    with torch.autocast("cpu", torch.bfloat16):
        low = logits @ torch.eye(50)
        assert nll_of_log_softmax(low, target).dtype == torch.bfloat16
        loss = float32_loss(nll_of_log_softmax, low, target, "cpu")
    assert loss.dtype == torch.float32


def test_crf_computes_in_float32_under_autocast():
    torch.manual_seed(0)
    crf = CRF(4)
    with torch.no_grad():
        crf.transitions.normal_()
    emissions = (3 * torch.randn(2, 30, 4)).bfloat16()  # as a bf16 layer gives them
    tags, mask = torch.randint(0, 4, (2, 30)), torch.ones(2, 30, dtype=torch.bool)
    with torch.autocast("cpu", torch.bfloat16):
        low = (crf.nll(emissions, tags, mask), crf.marginals(emissions, mask),
               crf.decode(emissions, mask)[1])
    full = (crf.nll(emissions.float(), tags, mask), crf.marginals(emissions.float(), mask),
            crf.decode(emissions.float(), mask)[1])
    for a, b in zip(low, full, strict=True):  # the same float32 numbers, not bf16 sums
        assert a.dtype == torch.float32 and torch.equal(a, b)


@pytest.mark.parametrize("name", sorted(LIKELIHOODS))
def test_likelihoods_compute_in_float32_under_autocast(name):
    torch.manual_seed(0)
    likelihood = LIKELIHOODS[name]()
    params = torch.randn(3, 6, likelihood.n_params).bfloat16()
    z, scale = torch.rand(3, 6) * 3 + 0.1, torch.full((3, 1), 2.7)
    with torch.autocast("cpu", torch.bfloat16):
        low = likelihood.nll(params, z, scale)
        assert likelihood.sample(params, scale).dtype == torch.float32
    assert low.dtype == torch.float32
    assert torch.equal(low, likelihood.nll(params.float(), z, scale))


def test_bf16_training_keeps_weights_and_optimiser_state_float32(bf16_cpu, seen, tmp_path):
    x, y = torch.randn(64, 3), torch.randint(0, 2, (64,))
    model = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 2))
    result = fit(model, nn.functional.cross_entropy,
                 batches([(x[:32], y[:32]), (x[32:], y[32:])]),
                 settings=TrainSettings(epochs=2, lr=0.05, **BF16),
                 progress=False, checkpoint_dir=tmp_path)
    assert result.precision == "bf16-mixed" and result.report()["precision"] == "bf16-mixed"
    assert seen["outputs"] == {torch.bfloat16} and seen["losses"] == {torch.float32}
    assert seen["autocast"] == {(True, torch.bfloat16)}
    assert all(p.dtype == torch.float32 for p in model.parameters())
    from rnnkit.train.checkpoint import load_checkpoint

    state = load_checkpoint(tmp_path).optimizer["state"]
    assert {t.dtype for slots in state.values() for t in slots.values()
            if t.is_floating_point() and t.dim()} == {torch.float32}


def test_a_bf16_run_resumes_to_the_same_weights(bf16_cpu, tmp_path):
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(64, 3, generator=g), torch.randint(0, 2, (64,), generator=g)
    pairs = [(x[k:k + 16], y[k:k + 16]) for k in range(0, 64, 16)]

    def net():
        torch.manual_seed(1)
        return nn.Sequential(nn.Linear(3, 8), nn.Dropout(0.2), nn.Linear(8, 2))

    def run(epochs, resume=False):
        model = net()
        fit(model, nn.functional.cross_entropy, batches(pairs), settings=TrainSettings(
            epochs=epochs, lr=0.05, patience=None, **BF16), progress=False,
            checkpoint_dir=tmp_path / "ckpt", resume=resume)
        return model

    whole = net()
    fit(whole, nn.functional.cross_entropy, batches(pairs), settings=TrainSettings(
        epochs=4, lr=0.05, patience=None, **BF16), progress=False)
    run(2)
    resumed = run(4, resume=True)
    for a, b in zip(resumed.parameters(), whole.parameters(), strict=True):
        assert torch.equal(a, b)


# ---- a tiny model of each group trains in bf16 ------------------------------------------------

def _forecaster():
    from rnnkit.data.datasets import co2
    from rnnkit.models.forecaster import Forecaster, ForecasterConfig

    series = co2().slice(0, 300)
    fc = Forecaster(ForecasterConfig(lookback=20, hidden_size=8, num_layers=1),
                    TrainSettings(epochs=3, patience=None, **BF16))
    return fc.fit(series, progress=False)


def _panel():
    from rnnkit.data.panel import Panel
    from rnnkit.models.global_forecaster import GlobalConfig, GlobalForecaster

    t = np.arange(120)
    values = np.concatenate([10 + k + np.sin(2 * np.pi * t / 12) for k in range(3)])
    panel = Panel(values[:, None], [0, 120, 240, 360], ["a", "b", "c"], ["y"])
    fc = GlobalForecaster(GlobalConfig(lookback=24, horizon=6, hidden_size=16),
                          TrainSettings(epochs=3, batch_size=64, patience=None,
                                        **BF16))
    return fc.fit(panel, progress=False)


def _classifier():
    from rnnkit.data.text import TextTable
    from rnnkit.models.classifier import ClassifierConfig, TextClassifier

    good = ["a good film", "good , funny and charming", "a charming story", "funny"]
    bad = ["a bad film", "dull and bad", "a dull story", "boring"]
    train = TextTable(5 * good + 5 * bad, 20 * ["pos"] + 20 * ["neg"], [*range(40)], "")
    clf = TextClassifier(ClassifierConfig(hidden_size=16, embedding_dim=16, num_layers=1),
                         TrainSettings(epochs=3, batch_size=8, lr=1e-2, patience=None,
                                       **BF16))
    return clf.fit(train, dev=train, progress=False)


def _tagger():
    from rnnkit.data.conll import TaggedSentences
    from rnnkit.models.tagger import Tagger, TaggerConfig

    s = TaggedSentences([["Paris", "is", "big"], ["John", "is", "here"]] * 4,
                        [["B-LOC", "O", "O"], ["B-PER", "O", "O"]] * 4, [1] * 8, "")
    tagger = Tagger(TaggerConfig(embedding_dim=8, hidden_size=8, char_dim=4, char_hidden=4,
                                 dropout=0.0),
                    TrainSettings(epochs=3, lr=0.05, patience=None, **BF16))
    return tagger.fit(s, s, progress=False)


def _translator():
    from rnnkit.data.parallel import CorpusConfig, ParallelCorpus
    from rnnkit.models.seq2seq import Seq2SeqConfig, Translator

    corpus = ParallelCorpus(["ein hund rennt .", "eine katze schläft ."] * 4,
                            ["a dog runs .", "a cat sleeps ."] * 4, lines=[*range(8)],
                            origin="")
    tr = Translator(Seq2SeqConfig(hidden_size=16, embedding_dim=8), CorpusConfig(min_freq=1),
                    TrainSettings(epochs=3, lr=1e-2, patience=None, **BF16))
    return tr.fit(corpus, valid=corpus, progress=False)


def _summarizer():
    from rnnkit.data.summaries import SummaryCorpus
    from rnnkit.models.summarizer import CORPUS, Summarizer, SummarizerConfig

    data = SummaryCorpus(["meeting on friday at 10 with Lay .", "call me at 5 ."] * 4,
                         ["meeting friday", "call"] * 4, [["meeting friday"], ["call"]] * 4, "")
    s = Summarizer(SummarizerConfig(hidden_size=8, embedding_dim=8),
                   replace(CORPUS, min_freq=1),
                   TrainSettings(epochs=3, lr=1e-2, patience=None, **BF16))
    return s.fit(data, data, progress=False)


def _captioner():
    from rnnkit.data.digit_scenes import digit_scenes
    from rnnkit.models.captioner import CaptionerConfig, ImageCaptioner

    cap = ImageCaptioner(CaptionerConfig(channels=[4, 8], hidden_size=16, monitor="exact"),
                         train=TrainSettings(epochs=3, patience=None, **BF16))
    return cap.fit(digit_scenes("train", 64).caption_set(), digit_scenes("val", 8).caption_set(),
                   progress=False)


def _language_model():
    from rnnkit.models.language_model import LanguageModel, LanguageModelConfig

    text = "A dog runs on the grass.\nA cat sleeps on a mat.\n" * 40
    lm = LanguageModel(LanguageModelConfig(hidden_size=32, seq_length=32),
                       TrainSettings(epochs=3, batch_size=4, lr=0.02, patience=None,
                                     **BF16))
    return lm.fit(text, valid=text[-96:], progress=False)


@pytest.mark.parametrize("train", [_forecaster, _panel, _classifier, _tagger, _translator,
                                   _summarizer, _captioner, _language_model],
                         ids=lambda f: f.__name__.strip("_"))
def test_bf16_training_of_each_group_lowers_its_loss(train, bf16_cpu, seen):
    torch.manual_seed(0)
    result = train()
    runs = result.members or [result]
    assert all(r.precision == "bf16-mixed" for r in runs)
    assert seen["autocast"] == {(True, torch.bfloat16)}  # the network ran under autocast
    assert seen["losses"] == {torch.float32}
    for r in runs:
        losses = r.history["train_loss"]
        assert len(losses) == 3 and losses[-1] < losses[0]


def test_metrics_json_records_the_precision(bf16_cpu, tmp_path, capsys):
    from rnnkit.cli.main import main

    text = tmp_path / "captions.txt"
    text.write_text("A dog runs on the grass.\nA cat sleeps on a mat.\n" * 40)
    out = tmp_path / "lm"
    assert main(["generate", "train", "--text", str(text), "--hidden-size", "16", "--layers",
                 "1", "--epochs", "1", "--seq-length", "32", "--batch-size", "8", "--quiet",
                 "--device", "cpu", "--precision", "bf16-mixed", "--json",
                 "--out", str(out)]) == 0
    assert json.loads(capsys.readouterr().out)["training"]["precision"] == "bf16-mixed"
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["training"]["precision"] == "bf16-mixed"
    config = json.loads((out / "config.json").read_text())
    assert config["train"]["precision"] == "bf16-mixed"
    assert main(["generate", "train", "--text", str(text), "--device", "cpu",
                 "--precision", "16-mixed", "--out", str(tmp_path / "no")]) == 2
    assert "16-mixed needs a CUDA GPU" in capsys.readouterr().err
    assert not (tmp_path / "no").exists()
