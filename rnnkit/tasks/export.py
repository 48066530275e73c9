"""Ship a trained run: an ONNX or TorchScript file with its settings in export.json.

Forecast runs take raw values (scaling inside); classify runs take token ids and lengths
(tokenization stays in Python) and return class probabilities; tag runs take word, character
(and feature) ids and lengths and return the best tag of every token, decoded inside the
model file (Viterbi through a CRF, or the argmax).
"""

from __future__ import annotations

import io
import os
import re
import sys
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnkit.data.text import Vocab
from rnnkit.errors import InputError
from rnnkit.io.files import read_json, write_bytes, write_json
from rnnkit.layers import Recurrent
from rnnkit.models.classifier import SequenceClassifier, TextClassifier
from rnnkit.models.crf import viterbi
from rnnkit.models.forecaster import Forecaster
from rnnkit.models.tagger import SequenceTagger, Tagger

FORMATS = {"onnx": "model.onnx", "torchscript": "model.torchscript.pt"}


class RawForecaster(nn.Module):
    """A forecast network with its scaling folded in: raw windows in, raw forecasts out.

    x (B, L, C) in the data's units, columns as in training -> (B, H, n_targets).
    """

    def __init__(self, net: nn.Module, shift: Tensor, scale: Tensor) -> None:
        super().__init__()
        self.net = net
        n = net.config.n_targets
        self.register_buffer("shift", shift.float())
        self.register_buffer("scale", scale.float())
        self.register_buffer("target_shift", shift[:n].float())
        self.register_buffer("target_scale", scale[:n].float())

    def forward(self, x: Tensor) -> Tensor:
        """Scale, forecast, unscale."""
        y = self.net((x - self.shift) / self.scale)
        return y * self.target_scale + self.target_shift


class ClassifierProbabilities(nn.Module):
    """A text classifier's network with its softmax: token ids in, class probabilities out.

    tokens (B, T) int64, padded with ``Vocab.pad_index`` (0); lengths (B,) int64 in [1, T]
    -> probabilities (B, C), columns in the order of the run's classes.
    """

    def __init__(self, net: SequenceClassifier) -> None:
        super().__init__()
        self.net = net

    def forward(self, tokens: Tensor, lengths: Tensor) -> Tensor:
        """Logits of the network, then softmax over the classes."""
        return F.softmax(self.net(tokens, lengths), -1)


class TaggerBestTags(nn.Module):
    """A tagger's network with its decoding: ids in, the best tag of every token out.

    words (B, T), chars (B, T, L) (absent when the network reads no characters), lengths (B,)
    and features (B, T, m) (only when it reads m > 0 feature columns), all int64, in that
    order -> tags (B, T) int64, indices into the run's tags, 0 on padding. A CRF output is
    decoded by `rnnkit.models.crf.viterbi`, compiled by `torch.jit.script` so that the
    exported graph loops over any T; a softmax output by the argmax per token.
    """

    def __init__(self, net: SequenceTagger) -> None:
        super().__init__()
        self.net = net
        self.inputs = ["words", *(["chars"] if net.chars is not None else []), "lengths",
                       *(["features"] if len(net.features) else [])]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit's notice
            self.viterbi = torch.jit.script(viterbi) if net.crf is not None else None

    def forward(self, *inputs: Tensor) -> Tensor:
        """The inputs named in ``self.inputs``, in that order."""
        x = dict(zip(self.inputs, inputs, strict=True))
        emissions = self.net(x["words"], x.get("chars"), x["lengths"], x.get("features"))
        if self.viterbi is None:
            return self.net.decode(emissions, x["lengths"])
        mask = self.net.mask(x["lengths"], emissions.shape[1])
        return self.viterbi(emissions, mask, *self.net.crf.scores())[0]


_KNOWN_NOISE = re.compile(r"shape inference of prim::(PackPadded|PadPacked) type is missing")


@contextmanager
def _without_packing_notes() -> Iterator[None]:
    """Run a block with the process's stderr (file descriptor 2, where torch's C++ exporter
    writes) captured, then pass on every captured line except the exporter's notes that
    packed sequences have no shape inference (the exported graph is checked against
    onnxruntime in the tests): real errors and warnings still reach the user."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            for line in captured.read().decode(errors="replace").splitlines():
                if not _KNOWN_NOISE.search(line):
                    print(line, file=sys.stderr)


def _check_fused(rnn: Recurrent, cell: str, run_dir: Path, what: str, models: str) -> None:
    """Refuse a network whose recurrent layer runs a Python loop over the steps: tracing
    would fix the graph to the length of the example."""
    if rnn.fused_mode is None:
        raise InputError(f"--run {run_dir}: the {cell!r} cell runs a Python loop over the words, "
                         f"which cannot be exported for {what} of any length; export supports "
                         f"{models} with the lstm, gru, rnn, rnn_relu or irnn cell")


def _write_model(wrapper: nn.Module, examples: tuple[Tensor, ...], names: dict[str, dict],
                 run_dir: Path, fmt: str) -> Path:
    """Trace ``wrapper`` on ``examples`` and write it as ``fmt``; ``names`` maps each input and
    output name to its dynamic axes (ONNX)."""
    if fmt not in FORMATS:
        raise InputError(f"--format {fmt!r}; choose one of {', '.join(FORMATS)}")
    *inputs, output = names
    buffer = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # exporter deprecation notes, not the user's business
        if fmt == "onnx":
            with _without_packing_notes():
                torch.onnx.export(wrapper, examples, buffer, dynamo=False, input_names=inputs,
                                  output_names=[output], opset_version=17, dynamic_axes=names)
        else:
            torch.jit.save(torch.jit.trace(wrapper, examples), buffer)
    return write_bytes(run_dir / FORMATS[fmt], buffer.getvalue())


def export_forecaster(fc: Forecaster, run_dir: Path, fmt: str) -> Path:
    """Write ``model.onnx`` or ``model.torchscript.pt`` and ``export.json`` into ``run_dir``."""
    c = fc.network
    wrapper = RawForecaster(fc.net.cpu().eval(), torch.as_tensor(fc.scaler.shift),
                            torch.as_tensor(fc.scaler.scale)).eval()
    example = torch.zeros(1, c.lookback, c.n_targets + c.n_features)
    path = _write_model(wrapper, (example,), {"x": {0: "batch"}, "forecast": {0: "batch"}},
                        run_dir, fmt)
    targets, features = fc.columns
    write_json(run_dir / "export.json", {
        "format": fmt, "file": path.name,
        "input": {"name": "x", "shape": ["batch", c.lookback, len(targets) + len(features)],
                  "dtype": "float32", "columns": [*targets, *features],
                  "meaning": "the last `lookback` rows, oldest first, in the data's own units"},
        "output": {"name": "forecast", "shape": ["batch", c.horizon, len(targets)],
                   "columns": targets, "meaning": "the next `horizon` rows, in the data's units"},
        "preprocessing": "scaling is inside the model file; the scaler is listed for reference",
        "scaler": fc.scaler.to_dict(),
    })
    return path


def export_classifier(clf: TextClassifier, run_dir: Path, fmt: str) -> Path:
    """Write the classifier's network (token ids and lengths in, probabilities out) as
    ``model.onnx`` or ``model.torchscript.pt``, and ``export.json``, into ``run_dir``.

    Only cells with a fused kernel (lstm, gru, rnn, rnn_relu, irnn) export: the others run an
    explicit loop over the words, which tracing would fix to one text length.
    """
    _check_fused(clf.net.rnn, clf.config.cell, run_dir, "texts", "classifiers")
    wrapper = ClassifierProbabilities(clf.net.cpu().eval()).eval()
    example = (torch.tensor([[2, 3, 4], [5, 6, Vocab.pad_index]]), torch.tensor([3, 2]))
    path = _write_model(wrapper, example, {"tokens": {0: "batch", 1: "time"},
                                           "lengths": {0: "batch"},
                                           "probabilities": {0: "batch"}}, run_dir, fmt)
    write_json(run_dir / "export.json", {
        "format": fmt, "file": path.name,
        "inputs": [
            {"name": "tokens", "shape": ["batch", "time"], "dtype": "int64",
             "meaning": f"token ids of each text, padded with {Vocab.pad_index} (<pad>) to the "
                        "longest; tokens not in the vocabulary are "
                        f"{Vocab.unk_index} (<unk>)"},
            {"name": "lengths", "shape": ["batch"], "dtype": "int64",
             "meaning": "the number of real tokens of each text, 1..time"},
        ],
        "output": {"name": "probabilities", "shape": ["batch", len(clf.classes)],
                   "columns": list(clf.classes), "meaning": "class probabilities (softmax)"},
        "preprocessing": "tokenization stays in Python: rnnkit.data.text.tokenizer_from_dict("
                         "tokenizer.json).tokenize(text), then Vocab.from_dict(vocab.json)"
                         ".encode(tokens) (TextClassifier.encode does both); a text without "
                         "tokens cannot be classified",
        "tokenizer": "tokenizer.json", "vocab": "vocab.json",
    })
    return path


def export_tagger(tagger: Tagger, run_dir: Path, fmt: str,
                  columns: Sequence[int] = ()) -> Path:
    """Write the tagger's network and decoding (ids and lengths in, the best tag ids out) as
    ``model.onnx`` or ``model.torchscript.pt``, and ``export.json``, into ``run_dir``.

    export.json says how to build each input from tokens with the run's vocab.json (the
    lookup rules of `Tagger.encode`); ``columns`` are the CoNLL fields the run reads as
    features (``--features``). Only sentence cells with a fused kernel export (see
    `export_classifier`).
    """
    _check_fused(tagger.net.rnn, tagger.config.cell, run_dir, "sentences", "taggers")
    wrapper = TaggerBestTags(tagger.net.cpu().eval()).eval()
    m = len(tagger.features)
    sentences = [["Ab", "c"], ["D"]]  # the example: two lengths, words of two lengths
    values = [[["x"] * m for _ in s] for s in sentences] if m else None
    (words, chars, lengths, features), _ = tagger.encode(sentences, values)[[0, 1]]
    example = {"words": words, "chars": chars, "lengths": lengths, "features": features}
    axes = {"words": {0: "batch", 1: "time"}, "chars": {0: "batch", 1: "time", 2: "letters"},
            "lengths": {0: "batch"}, "features": {0: "batch", 1: "time"}}
    path = _write_model(wrapper, tuple(example[name] for name in wrapper.inputs),
                        {**{name: axes[name] for name in wrapper.inputs},
                         "tags": {0: "batch", 1: "time"}}, run_dir, fmt)
    c = tagger.network
    pad, unk = Vocab.pad_index, Vocab.unk_index
    w = "token.lower()" if c.lowercase else "the token"
    digits = (f"; if absent, the index of {w} with every digit (regex \\d) replaced by '0'"
              if c.zeros else "")
    lookup = {"pad": pad, "unknown": unk, "dtype": "int64"}
    described = {
        "words": {"shape": ["batch", "time"], "vocab": "words", "lowercase": c.lowercase,
                  "digits_as_zero": c.zeros, **lookup,
                  "meaning": f"per token: the index of {w} in vocab.json words.tokens{digits}; "
                             f"if absent, {unk} (<unk>); padded with {pad} to the longest "
                             "sentence"},
        "chars": {"shape": ["batch", "time", "letters"], "vocab": "chars", "lowercase": False,
                  "digits_as_zero": False, **lookup,
                  "meaning": "per token, per character (code point) as written: its index in "
                             f"vocab.json chars.tokens, or {unk} (<unk>); padded with {pad} to "
                             f"the longest token of the batch (padding tokens: all {pad})"},
        "lengths": {"shape": ["batch"], "dtype": "int64",
                    "meaning": "the number of tokens of each sentence, 1..time"},
        "features": {"shape": ["batch", "time", m], "vocab": "features", "columns": list(columns),
                     **lookup,
                     "meaning": "per token, per feature column j (the CoNLL fields in 'columns', "
                                "0-based, word = 0): the index of the value as written in "
                                f"vocab.json features[j].tokens, or {unk} (<unk>); padded with "
                                f"{pad}"},
    }
    decoding = "Viterbi over the CRF's transitions" if tagger.net.crf is not None \
        else "the most likely tag of each token (softmax output)"
    write_json(run_dir / "export.json", {
        "format": fmt, "file": path.name,
        "inputs": [{"name": name, **described[name]} for name in wrapper.inputs],
        "output": {"name": "tags", "shape": ["batch", "time"], "dtype": "int64",
                   "columns": list(tagger.tags),
                   "meaning": "the best tag of each token, an index into 'columns'; 0 on "
                              "padding"},
        "decoding": f"{decoding}, inside the model file",
        "preprocessing": "tokens and lookup stay in Python: split each sentence into tokens as "
                         "the training files were (CoNLL: one token per line), then build the "
                         "inputs as described (Tagger.encode does it); a sentence without "
                         "tokens cannot be tagged",
        "vocab": "vocab.json",
    })
    return path


def export_run(run_dir: Path, fmt: str) -> Path:
    """Export the model of a run folder (forecast, classify and tag runs) next to it."""
    from rnnkit.tasks import classify, forecast, tag

    config = read_json(Path(run_dir) / "config.json") if Path(run_dir).is_dir() else None
    group = config.get("group") if isinstance(config, dict) else None
    if group == "classify":
        clf, _ = classify.load(run_dir)
        return export_classifier(clf, Path(run_dir), fmt)
    if group == "tag":
        tagger, spec = tag.load(run_dir)
        return export_tagger(tagger, Path(run_dir), fmt, spec.features)
    if group not in (None, "forecast"):
        raise InputError(f"--run {run_dir} is not a forecast, classify or tag run; export "
                         f"supports those three ({group} runs have no export yet)")
    fc, _ = forecast.load(run_dir)
    return export_forecaster(fc, Path(run_dir), fmt)
