"""The summarization workflow: (text, summary) records in, a pointer-generator `Summarizer`
trained, the run written; ROUGE (`rnnkit.evaluate.summaries`) against every reference beside
a lead baseline; prediction, evaluation and the copy/attention explanation of one text."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rnnkit.data.summaries import SummaryCorpus, read_summaries
from rnnkit.errors import InputError
from rnnkit.evaluate.summaries import rouge_scores
from rnnkit.io.files import read_json, save_figure
from rnnkit.models.summarizer import Summarizer, Summary
from rnnkit.tasks.inputs import command_line
from rnnkit.tasks.translate import EncoderDecoderTask, load_estimator
from rnnkit.train.fit import FitResult

#: Lead lengths tried on the validation set (words of the source).
LEAD_RANGE = range(1, 21)


# ---- the lead baseline and scores ---------------------------------------------------------------


def lead(text: str, n: int) -> str:
    """The lead baseline: the first ``n`` words of ``text``."""
    return " ".join(text.split()[:n])


def tune_lead(corpus: SummaryCorpus) -> tuple[int, dict[str, Any]]:
    """The lead length in `LEAD_RANGE` with the best mean-over-references ROUGE-1 on
    ``corpus`` (the validation set), and its scores there."""
    best = None
    for n in LEAD_RANGE:
        scores = rouge_scores([lead(s, n) for s in corpus.source], corpus.references)
        if best is None or scores["rouge1"]["mean"] > best[1]["rouge1"]["mean"]:
            best = (n, scores)
    return best


def verdict(model: dict[str, Any], baseline: dict[str, Any], name: str) -> str:
    """One sentence comparing the model's mean-over-references ROUGE-1 with a baseline's."""
    ours, theirs = model["rouge1"]["mean"], baseline["rouge1"]["mean"]
    gap = ours - theirs
    if abs(gap) < 0.05:
        return f"the model ties the {name} baseline on ROUGE-1 ({ours:.2f})"
    side = "above" if gap > 0 else "below"
    word = "beats" if gap > 0 else "does not beat"
    return (f"the model {word} the {name} baseline: ROUGE-1 {ours:.2f}, {abs(gap):.2f} points "
            f"{side} its {theirs:.2f}")


def score_corpus(summarizer: Summarizer, corpus: SummaryCorpus, lead_n: int,
                 beam_size: int | None = None) -> dict[str, Any]:
    """The model's ROUGE on ``corpus`` beside lead-``lead_n``'s, the verdict, how many
    sources were truncated, and the outputs."""
    found = summarizer.summarize(corpus.source, beam_size)
    model = rouge_scores([s.text for s in found], corpus.references)
    baseline = rouge_scores([lead(s, lead_n) for s in corpus.source], corpus.references)
    return {"texts": len(corpus), "beam_size": beam_size or summarizer.config.beam_size,
            "references_per_text": sum(map(len, corpus.references)) / len(corpus),
            "truncated_sources": sum(s.truncated for s in found),
            "max_source_tokens": summarizer.config.max_source_tokens,
            "model": model, "lead": {"n": lead_n, **baseline},
            "verdict": verdict(model, baseline, f"lead-{lead_n}"),
            "outputs": [s.text for s in found]}


# ---- the workflow -------------------------------------------------------------------------------


@dataclass
class DataSpec:
    """The training and validation data and their fields (stored in the run's config.json)."""

    train: str
    dev: str
    source_field: str = "source"
    target_field: str = "target"


@dataclass
class SummarizeTask(EncoderDecoderTask[tuple[SummaryCorpus, SummaryCorpus]], group="summarize"):
    """``rnnkit summarize train``: a `Summarizer` on (text, summary) records, early stopping
    on the validation loss, ROUGE on the validation set beside the lead baseline."""

    spec: DataSpec
    estimator: Summarizer

    def read(self) -> tuple[SummaryCorpus, SummaryCorpus]:
        """The training and validation corpora."""
        s = self.spec
        return (read_summaries(s.train, s.source_field, s.target_field),
                read_summaries(s.dev, s.source_field, s.target_field))

    def evaluate(self, data: tuple[SummaryCorpus, SummaryCorpus],
                 fit: FitResult) -> dict[str, Any]:
        """ROUGE on the validation set (beam search) beside the lead baseline tuned there,
        and per-token perplexity."""
        train, valid = data
        s = self.estimator
        n, _ = tune_lead(valid)
        scores = score_corpus(s, valid, n)
        scores.pop("outputs")
        return {
            "valid": {**scores, "perplexity": s.perplexity(valid.source, valid.target)},
            "train_texts": len(train), "truncated_train_sources": s.truncated,
            "vocab": len(s.side.vocab), "vectors": s.vectors,
            "parameters": sum(p.numel() for p in s.net.parameters()),
        }


def load(run_dir: Path) -> Summarizer:
    """A trained summarizer from a run folder (no unpickling)."""
    return load_estimator(run_dir, "summarize", Summarizer)[0]


def truncation_warning(found: Sequence[Summary], limit: int) -> str | None:
    """A warning counting the inputs cut to the model's ``limit`` tokens, or None."""
    cut = sum(s.truncated for s in found)
    if not cut:
        return None
    return (f"warning: {cut} of {len(found)} text(s) had more than {limit} tokens "
            "(--max-source-tokens at training); only their first tokens were read")


def read_texts(texts: Sequence[str], data: str | None, source_field: str) -> list[str]:
    """Texts to summarise: given directly, or the sources of ``data`` (any format that
    `read_summaries` reads); empty texts are `InputError` s."""
    if command_line(texts, data, "texts", "text", "--data") is None:
        return read_summaries(data, source_field, None).source
    return [" ".join(t.split()) for t in texts]


def predict(run_dir: Path, texts: Sequence[str], data: str | None = None,
            source_field: str = "source",
            beam_size: int | None = None) -> tuple[list[Summary], str | None]:
    """Summaries of the texts (order kept) and a truncation warning, if any."""
    summarizer = load(run_dir)
    found = summarizer.summarize(read_texts(texts, data, source_field), beam_size)
    return found, truncation_warning(found, summarizer.config.max_source_tokens)


def evaluate_run(run_dir: Path, data: str, source_field: str = "source",
                 target_field: str = "target", beam_size: int | None = None,
                 ) -> tuple[dict[str, Any], str | None]:
    """ROUGE of a run's summaries of ``data`` against its references, beside the lead
    baseline with the length tuned on the run's validation set; a truncation warning."""
    summarizer = load(run_dir)
    corpus = read_summaries(data, source_field, target_field)
    lead_n = read_json(Path(run_dir) / "metrics.json")["valid"]["lead"]["n"]
    scores = score_corpus(summarizer, corpus, lead_n, beam_size)
    scores.pop("outputs")
    warning = None
    if scores["truncated_sources"]:
        warning = (f"warning: {scores['truncated_sources']} of {len(corpus)} text(s) had more "
                   f"than {summarizer.config.max_source_tokens} tokens; only their first "
                   "tokens were read")
    return {"data": str(data), **scores}, warning


def default_plot_path(run_dir: Path, text: str) -> Path:
    """``RUN/plots/copy-<first words>-<hash>.png``: one file per text."""
    words = "-".join(re.findall(r"\w+", text.lower())[:6])[:40] or "text"
    digest = hashlib.sha1(text.encode()).hexdigest()[:8]
    return Path(run_dir) / "plots" / f"copy-{words}-{digest}.png"


def explain_text(summarizer: Summarizer, text: str, out: Path,
                 beam_size: int | None = None) -> Summary:
    """Summarise one text, read p_gen and the attention of each output word, and write the
    attention heatmap (output words marked ``*`` where copied) to ``out``."""
    from rnnkit.plots.attention import alignment_figure

    if out.suffix.lower() != ".png":
        raise InputError(f"--out {out}: the figure is a PNG; give a file name ending in .png")
    s = summarizer.explain(text, beam_size)
    rows = [f"{w} *" if c else w for w, c in zip(s.tokens, s.copied, strict=True)]
    rows += ["<eos>"] * (len(s.attention) - len(rows))
    save_figure(alignment_figure(s.source_tokens, rows, s.attention.numpy(), s.text), out,
                dpi=90)
    return s


def explain(run_dir: Path, text: str, out: Path | None = None,
            beam_size: int | None = None) -> tuple[Summary, Path, str | None]:
    """`explain_text` with a run's summarizer; the plot goes to ``out`` (default
    `default_plot_path`)."""
    path = Path(out) if out is not None else default_plot_path(run_dir, text)
    if not text.strip():
        raise InputError("the text to explain is empty; give some words")
    summarizer = load(run_dir)
    s = explain_text(summarizer, text, path, beam_size)
    return s, path, truncation_warning([s], summarizer.config.max_source_tokens)

