"""Where one training epoch's time goes, per command group; prints one JSON object.

Usage: RNNKIT_DATA=../shared/data python benchmarks/epoch_profile.py TASK [--threads 1] [--rows N]
       [--precision 32|bf16-mixed]
TASK: forecast, panel, classify, translate, generate, tag, summarize, chat.

Trains one epoch of the group's default configuration (``rnnkit TASK train --epochs 1``) on
the first ``--rows`` examples of its real data set (written to a temporary folder), under
`torch.profiler`, and splits the wall time of Lightning's ``Trainer.fit`` into:
``recurrent`` (every `Recurrent` call: its forward, and its backward from the moment the
gradient reaches its outputs until it leaves through its inputs), ``model`` (the rest of the
training step's forward and backward), ``optimiser`` (Adam's step and zero_grad),
``loader`` (fetching batches), ``validation`` (the validation steps' forward) and ``rest``
(what Lightning and rnnkit's callbacks do between them). Each instant counts once, for the
innermost of these. The scopes are added here, by wrapping methods for the run; the library
itself carries none.

The backward scope of `Recurrent` is marked by two identity autograd functions around each
call; to be sure the second one runs, the layer's input is made to require a gradient, which
adds one input-gradient product to layers whose input is data (a small cost). Evaluation,
plots and the report after training are not profiled.
"""

# ruff: noqa: E402 (the path fix below must precede the imports)
from __future__ import annotations

import argparse
import contextlib
import gzip
import itertools
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
from torch.autograd.profiler import record_function
from torch.profiler import ProfilerActivity, profile

from rnnkit.cli.main import main as cli
from rnnkit.layers import Recurrent
from rnnkit.train.module import TrainModule
from rnnkit.train.settings import PRECISIONS

#: Categories from the innermost (wins where scopes overlap) outwards.
CATEGORIES = ["recurrent", "model", "validation", "optimiser", "loader"]


def _lines(source: Path, target: Path, count: int, boundary: bool = False) -> Path:
    """The first ``count`` lines of a (possibly gzipped) text file; with ``boundary``, up to
    the next blank line (CoNLL sentences stay whole)."""
    opener = gzip.open if source.suffix == ".gz" else open
    with opener(source, "rt", encoding="utf-8") as f:
        lines = list(itertools.islice(f, count))
        if boundary:
            for line in f:
                lines.append(line)
                if not line.strip():
                    break
    target.write_text("".join(lines), encoding="utf-8")
    return target


def _files(source: Path, target: Path, count: int) -> Path:
    """The first ``count`` files (by name) of a folder."""
    target.mkdir()
    for path in sorted(source.iterdir())[:count]:
        shutil.copy(path, target / path.name)
    return target


def _args(task: str, data: Path, tmp: Path, rows: int) -> list[str]:
    """``rnnkit TASK train`` arguments on a subset of the task's real data set."""
    if task == "forecast":  # the seed example: Google stock, LSTM 4 x 50, 60-day windows
        return ["forecast", "train", "--preset", "seed", "--target", "Open",
                "--csv", str(data / "google_stock" / "Google_Stock_Price_Train.csv")]
    if task == "panel":  # ETTh1's seven series as a wide table: one global model
        return ["forecast", "train", "--wide", "--horizon", "24", "--lookback", "96",
                "--baselines", "seasonal_naive",
                "--csv", str(_lines(data / "etth1" / "ETTh1.csv", tmp / "etth1.csv", 1 + rows))]
    if task == "classify":
        return ["classify", "train",
                "--train", str(_lines(data / "sst2" / "train.tsv", tmp / "train.tsv", rows)),
                "--dev", str(_lines(data / "sst2" / "dev.tsv", tmp / "dev.tsv", 300))]
    if task == "translate":
        m30k = data / "multi30k"
        return ["translate", "train",
                "--src", str(_lines(m30k / "train.de.gz", tmp / "train.de", rows)),
                "--tgt", str(_lines(m30k / "train.en.gz", tmp / "train.en", rows)),
                "--valid-src", str(_lines(m30k / "val.de.gz", tmp / "val.de", 100)),
                "--valid-tgt", str(_lines(m30k / "val.en.gz", tmp / "val.en", 100))]
    if task == "generate":
        m30k = data / "multi30k"
        return ["generate", "train",
                "--text", str(_lines(m30k / "train.en.gz", tmp / "train.en", rows)),
                "--valid", str(_lines(m30k / "val.en.gz", tmp / "val.en", 100))]
    if task == "tag":
        conll = data / "conll2003"
        return ["tag", "train", "--column", "3",
                "--train", str(_lines(conll / "train.txt", tmp / "train.txt", rows * 10, True)),
                "--dev", str(_lines(conll / "valid.txt", tmp / "valid.txt", 1500, True))]
    if task == "summarize":
        aeslc = data / "aeslc" / "enron_subject_line"
        return ["summarize", "train",
                "--train", str(_files(aeslc / "train", tmp / "train", rows)),
                "--dev", str(_files(aeslc / "dev", tmp / "dev", 50))]
    if task == "chat":
        dd = data / "dailydialog"
        return ["chat", "train",
                "--train", str(_lines(dd / "dialogues_train.txt", tmp / "train.txt", rows)),
                "--dev", str(_lines(dd / "dialogues_validation.txt", tmp / "dev.txt", 50))]
    raise ValueError(f"task={task!r} is not known; choose one of {TASKS}")


TASKS = ["forecast", "panel", "classify", "translate", "generate", "tag", "summarize", "chat"]
DEFAULT_ROWS = {"forecast": 0, "panel": 2000, "classify": 3000, "translate": 1500,
                "generate": 1500, "tag": 300, "summarize": 400, "chat": 400}


class _Exit(torch.autograd.Function):
    """Identity on a layer's outputs; its backward opens the layer's backward scope."""

    @staticmethod
    def forward(ctx: Any, box: dict, *tensors: torch.Tensor) -> tuple[torch.Tensor, ...]:
        ctx.box = box
        return tuple(t.view_as(t) for t in tensors)

    @staticmethod
    def backward(ctx: Any, *grads: torch.Tensor) -> tuple[Any, ...]:
        scope = record_function("rnnkit::recurrent_backward")
        scope.__enter__()
        ctx.box["scope"] = scope
        return (None, *grads)


class _Enter(torch.autograd.Function):
    """Identity on a layer's input; its backward closes the layer's backward scope."""

    @staticmethod
    def forward(ctx: Any, box: dict, x: torch.Tensor, anchor: torch.Tensor) -> torch.Tensor:
        ctx.box = box
        return x.view_as(x)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[Any, ...]:
        scope = ctx.box.pop("scope", None)
        if scope is not None:
            scope.__exit__(None, None, None)
        return None, grad, None


def _scoped(method: Callable, name: str) -> Callable:
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        with record_function(name):
            return method(*args, **kwargs)
    return wrapped


def _instrument(anchor: torch.Tensor) -> list[tuple[Any, str, Any]]:
    """Wrap the methods whose time is measured; returns what to restore."""
    saved = [(Recurrent, "forward", Recurrent.forward),
             (TrainModule, "training_step", TrainModule.training_step),
             (TrainModule, "validation_step", TrainModule.validation_step),
             (TrainModule, "backward", TrainModule.backward),
             (pl.Trainer, "fit", pl.Trainer.fit)]
    forward = Recurrent.forward

    def recurrent(self: Recurrent, x: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
        if not torch.is_grad_enabled():
            with record_function("rnnkit::recurrent"):
                return forward(self, x, *args, **kwargs)
        box: dict = {}
        x = _Enter.apply(box, x, anchor)
        with record_function("rnnkit::recurrent"):
            result = forward(self, x, *args, **kwargs)
        out, state = result[0], result[1]
        parts = (state,) if isinstance(state, torch.Tensor) else tuple(state)
        out, *parts = _Exit.apply(box, out, *parts)
        state = parts[0] if isinstance(state, torch.Tensor) else type(state)(*parts)
        return (out, state, *result[2:])

    Recurrent.forward = recurrent
    TrainModule.training_step = _scoped(TrainModule.training_step, "rnnkit::training_step")
    TrainModule.validation_step = _scoped(TrainModule.validation_step,
                                          "rnnkit::validation_step")
    TrainModule.backward = _scoped(TrainModule.backward, "rnnkit::backward")
    return saved


def _category(name: str) -> str | None:
    if name.startswith("rnnkit::recurrent"):
        return "recurrent"
    if name in ("rnnkit::training_step", "rnnkit::backward"):
        return "model"
    if name == "rnnkit::validation_step":
        return "validation"
    if name.startswith(("Optimizer.step#", "Optimizer.zero_grad#")):
        return "optimiser"
    if name.startswith("enumerate(DataLoader)"):
        return "loader"
    return None


def split_time(events: list[Any], start: float, end: float) -> dict[str, float]:
    """Seconds per category between ``start`` and ``end`` (microseconds), each instant given
    to the innermost category (`CATEGORIES` order) whose scope covers it; ``rest`` the others."""
    marks = []
    for event in events:
        category = _category(event.name)
        if category is not None:
            marks.append((event.time_range.start, 1, category))
            marks.append((event.time_range.end, -1, category))
    marks.sort(key=lambda m: m[0])
    open_count = dict.fromkeys(CATEGORIES, 0)
    seconds = dict.fromkeys([*CATEGORIES, "rest"], 0.0)
    last = start
    for moment, step, category in marks:
        moment = min(max(moment, start), end)
        active = next((c for c in CATEGORIES if open_count[c] > 0), "rest")
        seconds[active] += (moment - last) / 1e6
        last = moment
        open_count[category] += step
    seconds["rest"] += (end - last) / 1e6
    return seconds


def run(task: str, rows: int, threads: int, precision: str = "32") -> dict:
    """Profile one epoch of ``task`` trained in ``precision``; the result as a dict."""
    torch.set_num_threads(threads)
    data = Path(os.environ["RNNKIT_DATA"])
    anchor = torch.zeros((), requires_grad=True)
    windows: list[tuple[float, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        argv = _args(task, data, Path(tmp), rows)
        argv += ["--epochs", "1", "--quiet", "--out", str(Path(tmp) / "run")]
        if precision != "32":
            argv += ["--precision", precision]
        saved = _instrument(anchor)
        fit = pl.Trainer.fit

        def profiled_fit(self: pl.Trainer, *args: Any, **kwargs: Any) -> Any:
            with record_function("rnnkit::fit"):
                begin = time.perf_counter()
                result = fit(self, *args, **kwargs)
                windows.append((begin, time.perf_counter()))
            return result

        pl.Trainer.fit = profiled_fit
        try:
            # the command's own report goes to stderr: stdout carries the one JSON object
            with profile(activities=[ProfilerActivity.CPU]) as prof, \
                    contextlib.redirect_stdout(sys.stderr):
                code = cli(argv)
        finally:
            for owner, name, method in saved:
                setattr(owner, name, method)
    if code != 0:
        raise SystemExit(f"rnnkit {' '.join(argv[:2])} exited with {code}")
    events = prof.events()
    fits = [e for e in events if e.name == "rnnkit::fit"]
    start, end = fits[0].time_range.start, fits[-1].time_range.end
    seconds = split_time(events, start, end)
    total = sum(seconds.values())
    calls = sum(1 for e in events if e.name == "rnnkit::recurrent")
    return {
        "task": task, "argv": argv[:2] + [a for a in argv[2:] if not a.startswith("/")],
        "rows": rows, "threads": threads, "precision": precision, "torch": torch.__version__,
        "fit_seconds": round(total, 2), "fit_wall_seconds": round(
            sum(b - a for a, b in windows), 2),
        "share": {k: round(v / total, 3) for k, v in seconds.items()},
        "seconds": {k: round(v, 2) for k, v in seconds.items()},
        "recurrent_forward_calls": calls,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("task", choices=TASKS)
    parser.add_argument("--rows", type=int, default=None,
                        help="examples (lines, files, sentences x 10) of the training data")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--precision", default="32", choices=PRECISIONS,
                        help="training precision (bf16-mixed: where the hardware runs it)")
    args = parser.parse_args()
    rows = DEFAULT_ROWS[args.task] if args.rows is None else args.rows
    print(json.dumps(run(args.task, rows, args.threads, args.precision)))


if __name__ == "__main__":
    main()
