"""Ship a trained run: an ONNX or TorchScript file with its settings in export.json.

Forecast runs take raw values (scaling inside); classify runs take token ids and lengths
(tokenization stays in Python) and return class probabilities.
"""

from __future__ import annotations

import io
import os
import re
import sys
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnkit.data.text import Vocab
from rnnkit.errors import InputError
from rnnkit.io.files import read_json, write_bytes, write_json
from rnnkit.models.classifier import SequenceClassifier, TextClassifier
from rnnkit.models.forecaster import Forecaster

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
    if clf.net.rnn.fused_mode is None:
        raise InputError(f"--run {run_dir}: the {clf.config.cell!r} cell runs a Python loop over "
                         "the words, which cannot be exported for texts of any length; export "
                         "supports classifiers with the lstm, gru, rnn, rnn_relu or irnn cell")
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


def export_run(run_dir: Path, fmt: str) -> Path:
    """Export the model of a run folder (forecast and classify runs) next to it."""
    from rnnkit.tasks import classify, forecast

    config = read_json(Path(run_dir) / "config.json") if Path(run_dir).is_dir() else None
    group = config.get("group") if isinstance(config, dict) else None
    if group == "classify":
        clf, _ = classify.load(run_dir)
        return export_classifier(clf, Path(run_dir), fmt)
    if group not in (None, "forecast"):
        raise InputError(f"--run {run_dir} is not a forecast or classify run; export supports "
                         f"those two ({group} runs have no export yet)")
    fc, _ = forecast.load(run_dir)
    return export_forecaster(fc, Path(run_dir), fmt)
