"""The translation workflow: a parallel corpus in, a `Translator` trained (early stopping on
validation BLEU), the run written; then prediction, sacreBLEU/chrF evaluation and the attention
alignment of one sentence. `EncoderDecoderTask` and `load_estimator` are what the summarize
and chat workflows share with it."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from rnnkit.data.parallel import ParallelCorpus, read_parallel, read_sentences
from rnnkit.errors import InputError
from rnnkit.evaluate.translation import corpus_scores
from rnnkit.io.files import read_json, save_figure, write_json
from rnnkit.io.weights import load_weights, save_weights
from rnnkit.models.seq2seq import Translation, Translator
from rnnkit.runs import load_config
from rnnkit.tasks.inputs import command_line
from rnnkit.tasks.workflow import Data, Task
from rnnkit.train.fit import FitResult

E = TypeVar("E")

#: The entries of a translate, summarize or chat run's config.json.
KEYS = {"data", "model", "corpus", "train", "vectors"}


class EncoderDecoderTask(Task[Data]):
    """A workflow whose estimator is an encoder-decoder of `rnnkit.models.seq2seq`: its
    artefacts are the vocabularies (``vocab.json``, the estimator's ``sides_dict``) and the
    weights."""

    def fit_inputs(self, data: Data) -> tuple[Any, Any]:
        """The training and validation data as read."""
        return data

    def artefacts(self, run: Path, data: Any, fit: FitResult, metrics: dict[str, Any]) -> None:
        """vocab.json and the weights."""
        write_json(run / "vocab.json", self.estimator.sides_dict())
        save_weights(run / "model.safetensors", self.estimator.net)


def load_estimator(run_dir: Path, group: str, kind: type[E]) -> tuple[E, dict[str, Any], str]:
    """The trained estimator of class ``kind`` from a ``group`` run folder (no unpickling),
    the run's config.json entries and the file's name for messages."""
    run_dir = Path(run_dir)
    config, where = load_config(run_dir, group, KEYS)
    estimator = kind.from_state(config, read_json(run_dir / "vocab.json"),
                                load_weights(run_dir / "model.safetensors"), where)
    return estimator, config, where


@dataclass
class DataSpec:
    """The training and validation files (stored in the run's config.json)."""

    src: str
    tgt: str
    valid_src: str
    valid_tgt: str


@dataclass
class TranslateTask(EncoderDecoderTask[tuple[ParallelCorpus, ParallelCorpus]], group="translate"):
    """``rnnkit translate train``: a `Translator` on a parallel corpus, early stopping and
    scores on the validation pairs."""

    spec: DataSpec
    estimator: Translator

    def read(self) -> tuple[ParallelCorpus, ParallelCorpus]:
        """The training and validation corpora."""
        s = self.spec
        return read_parallel(s.src, s.tgt), read_parallel(s.valid_src, s.valid_tgt)

    def evaluate(self, data: tuple[ParallelCorpus, ParallelCorpus],
                 fit: FitResult) -> dict[str, Any]:
        """Greedy BLEU/chrF and per-token perplexity on the validation pairs."""
        train, valid = data
        tr = self.estimator
        hypotheses = [t.text for t in tr.translate(valid.source, beam_size=1)]
        scores = corpus_scores(hypotheses, valid.target, tr.corpus_config.lowercase)
        return {
            "valid": {**scores, "search": "greedy", "perplexity": tr.perplexity(valid)},
            "train_pairs": len(train) - tr.dropped_long,
            "dropped_empty": train.dropped_empty,
            "dropped_long": tr.dropped_long,
            "vocab": {"source": len(tr.source.vocab), "target": len(tr.target.vocab)},
            "vectors": tr.vectors,
            "parameters": sum(p.numel() for p in tr.net.parameters()),
        }


def load(run_dir: Path) -> Translator:
    """A trained translator from a run folder (no unpickling)."""
    return load_estimator(run_dir, "translate", Translator)[0]


def read_inputs(texts: Sequence[str], file: str | None) -> list[str]:
    """Sentences to translate: given directly, or one per line of ``file`` (plain or .gz);
    empty sentences are `InputError` s naming them."""
    if command_line(texts, file, "sentences to translate", "sentence") is not None:
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
