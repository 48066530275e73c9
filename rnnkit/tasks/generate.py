"""The text-generation workflow: a text in, a `LanguageModel` trained (early stopping on the
validation loss), bits per character measured, samples written; then sampling from a prompt,
scoring other text, and the surprise of each token with the gates behind it."""

from __future__ import annotations

import hashlib
import re
import shutil
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rnnkit.data.parallel import read_sentences
from rnnkit.errors import InputError
from rnnkit.io.run import (
    mark_complete,
    read_json,
    read_run_config,
    save_figure,
    write_bytes,
    write_json,
)
from rnnkit.io.weights import load_weights, save_weights
from rnnkit.models.forecaster import config_from_dict
from rnnkit.models.language_model import LanguageModel, LanguageModelConfig, Sample, TrainConfig
from rnnkit.tasks.runs import CHECKPOINT, checkpoint_dir, interrupted_config, training_run_dir
from rnnkit.train.distributed import Parallel
from rnnkit.train.fit import FitResult


@dataclass
class DataSpec:
    """The training text and where validation text comes from (stored in config.json):
    ``valid`` (a file), or else the last ``valid_fraction`` of the training file's lines."""

    text: str
    valid: str | None = None
    valid_fraction: float = 0.05

    def validate(self) -> None:
        """Raise `InputError` on a fraction outside (0, 1)."""
        if not 0 < self.valid_fraction < 1:
            raise InputError(f"--valid-fraction {self.valid_fraction}; expected (0, 1)")


def read_text(path: str | Path) -> str:
    """A UTF-8 text file (plain or .gz) as one string, lines joined by ``\\n``; a missing,
    empty or undecodable file is an `InputError` naming it (and the line)."""
    lines = read_sentences(path)
    text = "\n".join(lines)
    if not text.strip():
        raise InputError(f"{path} holds only blank lines; give a file with some text")
    return text + "\n"


def read_data(spec: DataSpec) -> tuple[str, str]:
    """Training and validation text."""
    spec.validate()
    text = read_text(spec.text)
    if spec.valid is not None:
        return text, read_text(spec.valid)
    lines = text.splitlines(keepends=True)
    n_valid = max(1, round(spec.valid_fraction * len(lines)))
    if n_valid >= len(lines):
        raise InputError(f"{spec.text} has {len(lines)} line(s): too few to hold out "
                         f"validation text; give --valid FILE")
    return "".join(lines[:-n_valid]), "".join(lines[-n_valid:])


@dataclass
class TrainOutcome:
    """What `train` produced: the run folder, the fit, the metrics and the model."""

    run_dir: Path
    fit: FitResult
    metrics: dict[str, Any]
    model: LanguageModel


def train(spec: DataSpec, model: LanguageModel, out: Path | None, progress: bool = True,
          command: str | None = None, force: bool = False,
          parallel: Parallel | None = None, prompt: str = "",
          temperature: float = 0.8, resume: bool = False) -> TrainOutcome | None:
    """Read, fit, measure bits per character on the validation text, write three samples and
    the run folder: config.json, vocab.json, model.safetensors, metrics.json, samples.txt,
    loss.png. Bad input is refused before the run folder is created; then config.json and a
    checkpoint per epoch make an interrupted run resumable (``resume``). With ``parallel``, only
    the main process writes and returns the outcome; the others return None."""
    from rnnkit.plots.forecast import loss_figure

    model.validate()
    train_text, valid_text = read_data(spec)
    run_dir = training_run_dir(out, "generate", force, resume)
    command = command or " ".join(sys.argv)
    if run_dir is not None and not resume:  # what --resume needs, before training starts
        write_json(run_dir / "config.json",
                   {"command": command, "data": asdict(spec), **model.state(),
                    "samples": {"prompt": prompt, "temperature": temperature}})
    fit = model.fit(train_text, valid_text, progress=progress, parallel=parallel,
                    checkpoint_dir=checkpoint_dir(run_dir), resume=resume)
    if run_dir is None:  # another process of a distributed run: the main one writes
        return None
    samples = [model.sample(prompt, length=200 if model.config.level == "char" else 40,
                            temperature=temperature, seed=k) for k in range(3)]
    metrics = {
        "valid": model.evaluate(valid_text),
        "train_tokens": len(model.tokens(train_text)), "vocab": len(model.vocab),
        "parameters": sum(p.numel() for p in model.net.parameters()),
        "training": fit.report(),
        "samples": {"prompt": prompt, "temperature": temperature,
                    "texts": [s.text for s in samples]},
    }
    write_json(run_dir / "config.json", {"command": command, "data": asdict(spec),
                                         **model.state(), "samples": {
                                             "prompt": prompt, "temperature": temperature}})
    write_json(run_dir / "vocab.json", model.vocab_dict())
    save_weights(run_dir / "model.safetensors", model.net)
    write_json(run_dir / "metrics.json", metrics)
    write_bytes(run_dir / "samples.txt", "\n\n".join(
        f"--- sample {k + 1} (temperature {temperature}, seed {k}) ---\n{prompt}{s.text}"
        for k, s in enumerate(samples)).encode() + b"\n")
    save_figure(loss_figure(fit.history, fit.best_epoch, "cross-entropy (nats per token)"),
                run_dir / "loss.png")
    shutil.rmtree(run_dir / CHECKPOINT, ignore_errors=True)  # the finished run needs none
    mark_complete(run_dir)
    return TrainOutcome(run_dir, fit, metrics, model)


def resume_run(run_dir: Path, progress: bool = True,
               parallel: Parallel | None = None) -> TrainOutcome | None:
    """Continue an interrupted ``generate train`` from its last epoch checkpoint, reaching the
    same result as an uninterrupted run (the text and vocabulary are read again)."""
    run_dir = Path(run_dir)
    config = interrupted_config(run_dir)
    where = str(run_dir / "config.json")
    try:
        model = LanguageModel(config_from_dict(LanguageModelConfig, config["model"], where),
                              config_from_dict(TrainConfig, config["train"], where))
        spec, command = DataSpec(**config["data"]), config["command"]
        prompt, temperature = config["samples"]["prompt"], config["samples"]["temperature"]
    except (KeyError, TypeError) as err:
        raise InputError(f"{where}: malformed ({err}); cannot resume this run") from err
    return train(spec, model, run_dir, progress, command, parallel=parallel, prompt=prompt,
                 temperature=temperature, resume=True)


def load(run_dir: Path) -> LanguageModel:
    """A trained language model from a run folder (JSON and safetensors only)."""
    run_dir = Path(run_dir)
    config, where = read_run_config(run_dir, "generate", "model",
                                    {"command", "data", "model", "train", "samples"})
    return LanguageModel.from_state(config, read_json(run_dir / "vocab.json"),
                                    load_weights(run_dir / "model.safetensors"), where)


def sample(run_dir: Path, prompt: str, length: int, temperature: float, top_k: int | None,
           seed: int, count: int = 1, greedy: bool = False) -> list[Sample]:
    """``count`` continuations of ``prompt`` (seeds ``seed``, ``seed + 1``, ...)."""
    if count < 1:
        raise InputError(f"--count {count}; expected at least 1")
    model = load(run_dir)
    return [model.sample(prompt, length, temperature, top_k, seed + k, greedy)
            for k in range(count)]


def evaluate_run(run_dir: Path, path: str) -> dict[str, Any]:
    """Bits per character (and per token, perplexity) of a run on the text in ``path``."""
    model = load(run_dir)
    return {"data": str(path), **model.evaluate(read_text(path))}


def explain(run_dir: Path, text: str, out: Path | None = None) -> tuple[list[str], Any, Path]:
    """The bits of each token of ``text`` given the ones before, and a figure of them with
    the forget/input (update/reset) gates of the first layer; returns (tokens, bits, path)."""
    from rnnkit.plots.generation import surprisal_figure

    if not text.strip():
        raise InputError("the text to explain is empty; give some text")
    model = load(run_dir)
    words = "-".join(re.findall(r"\w+", text.lower())[:6])[:40] or "text"
    digest = hashlib.sha1(text.encode()).hexdigest()[:8]
    target = Path(out) if out is not None else (Path(run_dir) / "plots" /
                                                f"surprisal-{words}-{digest}.png")
    if target.suffix.lower() != ".png":
        raise InputError(f"--out {target}: the figure is a PNG; give a name ending in .png")
    tokens, bits = model.surprisal(text)
    gates = model.gates(text)
    shown = {name: gates[name] for name in ("f", "i", "z", "r") if name in gates}
    save_figure(surprisal_figure(tokens, bits.numpy(), shown), target, dpi=90)
    return tokens, bits, target
