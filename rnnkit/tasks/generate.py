"""The text-generation workflow: a text in, a `LanguageModel` trained (early stopping on the
validation loss), bits per character measured, samples written; then sampling from a prompt,
scoring other text, and the surprise of each token with the gates behind it."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rnnkit.data.parallel import read_sentences
from rnnkit.errors import InputError
from rnnkit.io.files import read_json, save_figure, write_bytes, write_json
from rnnkit.io.weights import load_weights, save_weights
from rnnkit.models.language_model import LanguageModel, Sample
from rnnkit.runs import load_config
from rnnkit.tasks.workflow import Task
from rnnkit.train.fit import FitResult


@dataclass
class DataSpec:
    """The training text and where validation text comes from (stored in config.json):
    ``valid`` (a file), or else the last ``valid_fraction`` of the training file's lines."""

    text: str
    valid: str | None = None
    valid_fraction: float = 0.05
    prompt: str = ""  # of the three samples written to the run
    temperature: float = 0.8

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
class GenerateTask(Task[tuple[str, str]], group="generate"):
    """``rnnkit generate train``: a `LanguageModel` on a text, early stopping on the
    validation loss, bits per character measured and three samples written."""

    spec: DataSpec
    estimator: LanguageModel
    samples: list[Sample] = field(default_factory=list, init=False)  # set by evaluate

    def read(self) -> tuple[str, str]:
        """Training and validation text."""
        return read_data(self.spec)

    def fit_inputs(self, data: tuple[str, str]) -> tuple[str, str]:
        """Both texts as they are."""
        return data

    def evaluate(self, data: tuple[str, str], fit: FitResult) -> dict[str, Any]:
        """Bits per character on the validation text, and three samples (seeds 0, 1, 2)."""
        model, spec = self.estimator, self.spec
        length = 200 if model.config.level == "char" else 40
        self.samples = [model.sample(spec.prompt, length=length, temperature=spec.temperature,
                                     seed=k) for k in range(3)]
        return {"valid": model.evaluate(data[1]),
                "train_tokens": len(model.tokens(data[0])), "vocab": len(model.vocab),
                "parameters": sum(p.numel() for p in model.net.parameters()),
                "samples": {"prompt": spec.prompt, "temperature": spec.temperature,
                            "texts": [s.text for s in self.samples]}}

    def artefacts(self, run: Path, data: tuple[str, str], fit: FitResult,
                  metrics: dict[str, Any]) -> None:
        """vocab.json, the weights, samples.txt and loss.png."""
        from rnnkit.plots.forecast import loss_figure

        model, spec = self.estimator, self.spec
        write_json(run / "vocab.json", model.vocab_dict())
        save_weights(run / "model.safetensors", model.net)
        write_bytes(run / "samples.txt", "\n\n".join(
            f"--- sample {k + 1} (temperature {spec.temperature}, seed {k}) ---\n"
            f"{spec.prompt}{s.text}" for k, s in enumerate(self.samples)).encode() + b"\n")
        save_figure(loss_figure(fit.history, fit.best_epoch, "cross-entropy (nats per token)"),
                    run / "loss.png")


#: The entries of a generate run's config.json.
KEYS = {"data", "model", "train"}


def load(run_dir: Path) -> LanguageModel:
    """A trained language model from a run folder (JSON and safetensors only)."""
    run_dir = Path(run_dir)
    config, where = load_config(run_dir, "generate", KEYS)
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
