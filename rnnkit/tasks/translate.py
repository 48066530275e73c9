"""The translation workflow: a parallel corpus in, a `Translator` trained (early stopping on
validation BLEU), the run written; then prediction, sacreBLEU/chrF evaluation and the attention
alignment of one sentence."""

from __future__ import annotations

import hashlib
import re
import shutil
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rnnkit.data.parallel import CorpusConfig, read_parallel, read_sentences
from rnnkit.errors import InputError
from rnnkit.evaluate.translation import corpus_scores
from rnnkit.io.run import (
    mark_complete,
    read_json,
    read_run_config,
    save_figure,
    write_json,
)
from rnnkit.io.weights import load_weights, save_weights
from rnnkit.models.forecaster import config_from_dict
from rnnkit.models.seq2seq import Seq2SeqConfig, TrainConfig, Translation, Translator
from rnnkit.tasks.runs import CHECKPOINT, checkpoint_dir, interrupted_config, training_run_dir
from rnnkit.train.distributed import Parallel, is_main_process
from rnnkit.train.fit import FitResult


@dataclass
class DataSpec:
    """The training and validation files (stored in the run's config.json)."""

    src: str
    tgt: str
    valid_src: str
    valid_tgt: str


@dataclass
class TrainOutcome:
    """What `train` produced: the run folder, the fit, the metrics and the translator."""

    run_dir: Path
    fit: FitResult
    metrics: dict[str, Any]
    translator: Translator


def train(spec: DataSpec, translator: Translator, out: Path | None, progress: bool = True,
          command: str | None = None, force: bool = False, resume: bool = False,
          parallel: Parallel | None = None) -> TrainOutcome | None:
    """Read both corpora, fit, score the validation set and write the run folder:
    config.json, vocab.json (both sides' tokenizer and vocabulary), model.safetensors,
    metrics.json. ``force`` replaces an earlier run folder at ``out``.

    Every input is validated before the run folder is created: bad input leaves nothing.
    From then on config.json is in the folder and a checkpoint is kept after each epoch, so
    an interrupted run can be resumed (``resume``, see `resume_run`). With ``parallel``
    (several DDP processes, each running this), only the main process writes and returns
    the outcome; the others return None once training is done.
    """
    translator.validate()
    train_corpus = read_parallel(spec.src, spec.tgt)
    valid = read_parallel(spec.valid_src, spec.valid_tgt)
    run_dir = training_run_dir(out, "translate", force, resume)
    command = command or " ".join(sys.argv)
    if run_dir is not None and not resume:  # what --resume needs, before training starts
        write_json(run_dir / "config.json",
                   {"command": command, "data": asdict(spec), **translator.state()})
    fit = translator.fit(train_corpus, valid, progress=progress,
                         checkpoint_dir=checkpoint_dir(run_dir), resume=resume, parallel=parallel)
    if run_dir is None or not is_main_process():
        return None
    hypotheses = [t.text for t in translator.translate(valid.source, beam_size=1)]
    scores = corpus_scores(hypotheses, valid.target, translator.corpus_config.lowercase)
    net = translator.net
    metrics = {
        "valid": {**scores, "search": "greedy", "perplexity": translator.perplexity(valid)},
        "train_pairs": len(train_corpus) - translator.dropped_long,
        "dropped_empty": train_corpus.dropped_empty,
        "dropped_long": translator.dropped_long,
        "vocab": {"source": len(translator.source.vocab), "target": len(translator.target.vocab)},
        "parameters": sum(p.numel() for p in net.parameters()),
        "training": fit.report(),
    }
    config = {"command": command, "data": asdict(spec), **translator.state()}
    write_json(run_dir / "config.json", config)
    write_json(run_dir / "vocab.json", translator.sides_dict())
    save_weights(run_dir / "model.safetensors", net)
    write_json(run_dir / "metrics.json", metrics)
    shutil.rmtree(run_dir / CHECKPOINT, ignore_errors=True)  # the finished run needs none
    mark_complete(run_dir)
    return TrainOutcome(run_dir, fit, metrics, translator)


def resume_run(run_dir: Path, progress: bool = True,
               parallel: Parallel | None = None) -> TrainOutcome | None:
    """Continue an interrupted ``translate train`` from its last epoch checkpoint, reaching
    the same result as an uninterrupted run with the same settings (the vocabularies are
    rebuilt from the same training files)."""
    run_dir = Path(run_dir)
    config = interrupted_config(run_dir)
    where = str(run_dir / "config.json")
    try:
        spec = DataSpec(**config["data"])
        translator = Translator(config_from_dict(Seq2SeqConfig, config["model"], where),
                                config_from_dict(CorpusConfig, config["corpus"], where),
                                config_from_dict(TrainConfig, config["train"], where))
        command = config["command"]
    except (KeyError, TypeError) as err:
        raise InputError(f"{where}: malformed ({err}); cannot resume this run") from err
    return train(spec, translator, run_dir, progress, command, resume=True, parallel=parallel)


def load(run_dir: Path) -> Translator:
    """A trained translator from a run folder (no unpickling)."""
    run_dir = Path(run_dir)
    config, where = read_run_config(run_dir, "translate", "corpus",
                                    {"command", "data", "model", "corpus", "train"})
    return Translator.from_state(config, read_json(run_dir / "vocab.json"),
                                 load_weights(run_dir / "model.safetensors"), where)


def read_inputs(texts: Sequence[str], file: str | None) -> list[str]:
    """Sentences to translate: given directly, or one per line of ``file`` (plain or .gz);
    empty sentences are `InputError` s naming them."""
    if bool(texts) == (file is not None):
        raise InputError("give the sentences to translate as arguments or --file FILE, not "
                         "both and not neither")
    if file is None:
        for k, text in enumerate(texts, start=1):
            if not text.strip():
                raise InputError(f"sentence {k} of the command line is empty; give some words")
        return [t.strip() for t in texts]
    lines = read_sentences(file)
    for k, text in enumerate(lines, start=1):
        if not text.strip():
            raise InputError(f"{file}, line {k} is empty; every line must hold a sentence "
                             "(one translation is printed per line)")
    return [t.strip() for t in lines]


def truncation_warning(translations: Sequence[Translation], limit: int) -> str | None:
    """A warning naming the inputs that were cut to the model's ``limit`` tokens, or None."""
    cut = [k for k, t in enumerate(translations, start=1) if t.truncated]
    if not cut:
        return None
    shown = ", ".join(map(str, cut[:10])) + (" ..." if len(cut) > 10 else "")
    return (f"warning: {len(cut)} sentence(s) ({shown}) had more than {limit} tokens, the "
            "model's limit (--max-length at training); only their first tokens were translated")


def predict(run_dir: Path, texts: Sequence[str], file: str | None = None,
            beam_size: int | None = None) -> tuple[list[Translation], str | None]:
    """Translations of the sentences (order kept) and a truncation warning, if any."""
    translator = load(run_dir)
    found = translator.translate(read_inputs(texts, file), beam_size)
    return found, truncation_warning(found, translator.corpus_config.max_length)


def evaluate_run(run_dir: Path, src: str, ref: str,
                 beam_size: int | None = None) -> tuple[dict[str, Any], str | None]:
    """sacreBLEU and chrF of a run's translations of ``src`` against the raw ``ref`` lines
    (pairs with a blank side are left out and counted), and a truncation warning, if any."""
    translator = load(run_dir)
    corpus = read_parallel(src, ref)
    beam = translator.train_config.beam_size if beam_size is None else beam_size
    found = translator.translate(corpus.source, beam)
    scores = corpus_scores([t.text for t in found], corpus.target,
                           translator.corpus_config.lowercase)
    result = {"src": str(src), "ref": str(ref), "beam_size": beam,
              "dropped_empty": corpus.dropped_empty, **scores}
    return result, truncation_warning(found, translator.corpus_config.max_length)


def default_plot_path(run_dir: Path, text: str) -> Path:
    """``RUN/plots/attention-<first words>-<hash>.png``: one file per sentence."""
    words = "-".join(re.findall(r"\w+", text.lower())[:6])[:40] or "text"
    digest = hashlib.sha1(text.encode()).hexdigest()[:8]
    return Path(run_dir) / "plots" / f"attention-{words}-{digest}.png"


def explain(run_dir: Path, text: str, out: Path | None = None,
            beam_size: int | None = None) -> tuple[Translation, Path, str | None]:
    """Translate one sentence and write its attention alignment heatmap (source tokens x
    output tokens) to ``out`` (default `default_plot_path`); also a truncation warning."""
    from rnnkit.plots.attention import alignment_figure

    path = Path(out) if out is not None else default_plot_path(run_dir, text)
    if path.suffix.lower() != ".png":
        raise InputError(f"--out {path}: the figure is a PNG; give a file name ending in .png")
    translation, warning = predict(run_dir, [text], None, beam_size)
    t = translation[0]
    rows = t.tokens + ["<eos>"] * (len(t.attention) - len(t.tokens))
    figure = alignment_figure(t.source_tokens, rows, t.attention.numpy(), f"{text} -> {t.text}")
    save_figure(figure, path, dpi=90)
    return t, path, warning
