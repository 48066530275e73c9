"""The chatbot workflow: multi-turn dialogues in, (context, reply) pairs built after exact
duplicates and train/test overlap are removed, a `Chatbot` trained, the run written; scores
(perplexity, BLEU-2, distinct-1/2) beside a TF-IDF retrieval responder; the conversation
itself (`converse`), which works at a terminal and in a pipe.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from rnnkit.data.dialogues import (
    DialoguePairs,
    Dialogues,
    build_pairs,
    context,
    deduplicate,
    read_dialogues,
    remove_overlap,
)
from rnnkit.errors import InputError
from rnnkit.evaluate.dialogue import reply_scores
from rnnkit.models.decoder import Limits, Sampling
from rnnkit.models.summarizer import Chatbot, Summary
from rnnkit.tasks.translate import EncoderDecoderTask, load_estimator
from rnnkit.train.fit import FitResult

# ---- the baseline -------------------------------------------------------------------------------


class RetrievalResponder:
    """The honest baseline: answer with the training reply whose context is most similar
    (cosine of TF-IDF vectors, scikit-learn) to the given context."""

    def __init__(self, pairs: DialoguePairs) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.vectorizer = TfidfVectorizer(token_pattern=r"(?u)\b\w+\b", sublinear_tf=True)
        self.contexts = self.vectorizer.fit_transform(pairs.source)  # (N, F), rows unit norm
        self.replies = pairs.target

    def respond(self, contexts: Sequence[str], chunk: int = 512) -> list[str]:
        """The reply of the nearest training context, for each context."""
        out = []
        for start in range(0, len(contexts), chunk):
            query = self.vectorizer.transform(contexts[start:start + chunk])
            best = (query @ self.contexts.T).toarray().argmax(1)
            out += [self.replies[k] for k in best]
        return out


def verdict(model: dict[str, float], baseline: dict[str, float]) -> str:
    """One sentence comparing the model with the retrieval baseline on BLEU-2 and distinct-2."""
    parts = []
    for key, name in (("bleu2", "BLEU-2"), ("distinct2", "distinct-2")):
        ours, theirs = model[key], baseline[key]
        side = "higher" if ours > theirs else "lower" if ours < theirs else "the same"
        parts.append(f"{name} {ours:.3g} ({side} than retrieval's {theirs:.3g})")
    return "the model's " + " and ".join(parts)


def score_pairs(bot: Chatbot, pairs: DialoguePairs, retrieval: RetrievalResponder,
                searches: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Perplexity of the references, and the scores of each named search (`Chatbot.summarize`
    keywords) and of the retrieval baseline on ``pairs``."""
    out: dict[str, Any] = {"pairs": len(pairs),
                           "perplexity": bot.perplexity(pairs.source, pairs.target)}
    for name, keywords in searches.items():
        replies = [s.text for s in bot.summarize(pairs.source, **keywords)]
        out[name] = reply_scores(replies, pairs.target)
    out["retrieval"] = reply_scores(retrieval.respond(pairs.source), pairs.target)
    return out


#: The searches every train and evaluate scores: the configured beam with n-gram blocking.
SEARCHES: dict[str, dict[str, Any]] = {"beam": {}}


# ---- the workflow -------------------------------------------------------------------------------


@dataclass
class DataSpec:
    """The training and validation dialogues and the context length (stored in config.json)."""

    train: str
    dev: str
    context_turns: int = 3


@dataclass
class ChatData:
    """What training reads: the dialogues (de-duplicated; validation without overlap) and
    their pairs."""

    train: Dialogues
    dev: Dialogues
    train_pairs: DialoguePairs
    dev_pairs: DialoguePairs


def read_training(spec: DataSpec) -> ChatData:
    """Read, de-duplicate and pair the training and validation dialogues."""
    train = deduplicate(read_dialogues(spec.train))
    dev = remove_overlap(deduplicate(read_dialogues(spec.dev)), train)
    return ChatData(train, dev, build_pairs(train, spec.context_turns),
                    build_pairs(dev, spec.context_turns))


@dataclass
class ChatTask(EncoderDecoderTask[ChatData], group="chat"):
    """``rnnkit chat train``: a `Chatbot` on dialogue pairs, early stopping on the
    validation loss, scores beside the retrieval baseline."""

    spec: DataSpec
    estimator: Chatbot

    def read(self) -> ChatData:
        """The dialogues and their pairs."""
        return read_training(self.spec)

    def fit_inputs(self, data: ChatData) -> tuple[Any, Any]:
        """The training and validation pairs."""
        return data.train_pairs, data.dev_pairs

    def evaluate(self, data: ChatData, fit: FitResult) -> dict[str, Any]:
        """Perplexity, BLEU-2 and distinct-1/2 on the validation pairs, beside retrieval."""
        scores = score_pairs(self.estimator, data.dev_pairs, RetrievalResponder(data.train_pairs),
                             SEARCHES)
        return {
            "valid": {**scores, "verdict": verdict(scores["beam"], scores["retrieval"])},
            "dialogues": {"train": len(data.train), "duplicates_removed": data.train.duplicates,
                          "valid": len(data.dev), "valid_duplicates_removed": data.dev.duplicates,
                          "valid_overlap_removed": data.dev.overlap},
            "train_pairs": len(data.train_pairs),
            "vocab": len(self.estimator.side.vocab), "vectors": self.estimator.vectors,
            "parameters": sum(p.numel() for p in self.estimator.net.parameters()),
        }


def load(run_dir: Path) -> tuple[Chatbot, DataSpec]:
    """A trained chatbot from a run folder (no unpickling), and its data settings."""
    bot, config, where = load_estimator(run_dir, "chat", Chatbot)
    return bot, ChatTask.from_settings(config, where).spec


def evaluate_run(run_dir: Path, data: str, searches: dict[str, dict[str, Any]] | None = None
                 ) -> dict[str, Any]:
    """Scores of a run on the dialogues ``data`` (duplicates and dialogues of the run's
    training file removed first, both counted) beside retrieval from the training pairs."""
    bot, spec = load(run_dir)
    train = deduplicate(read_dialogues(spec.train))
    test = remove_overlap(deduplicate(read_dialogues(data)), train)
    pairs = build_pairs(test, spec.context_turns)
    scores = score_pairs(bot, pairs, RetrievalResponder(build_pairs(train, spec.context_turns)),
                         searches or SEARCHES)
    first = next(iter(searches or SEARCHES))
    return {"data": str(data), "dialogues": len(test), "duplicates_removed": test.duplicates,
            "overlap_removed": test.overlap, **scores,
            "verdict": verdict(scores[first], scores["retrieval"])}


@dataclass
class Decoding:
    """How the chatbot answers: beam search (``beam_size``; 1 greedy) or, with ``sampling``,
    sampling; never an n-gram of ``no_repeat_ngram`` twice (None: the run's)."""

    beam_size: int | None = None
    sampling: Sampling | None = None
    no_repeat_ngram: int | None = None

    def keywords(self, bot: Chatbot) -> dict[str, Any]:
        """`Chatbot.summarize` keywords."""
        limits = bot.limits()
        if self.no_repeat_ngram is not None:
            limits = Limits(limits.min_length, self.no_repeat_ngram)
        return {"beam_size": self.beam_size, "sampling": self.sampling, "limits": limits}


def reply(bot: Chatbot, turns: Sequence[str], context_turns: int,
          decoding: Decoding | None = None) -> Summary:
    """The chatbot's answer to the conversation ``turns`` (the last is the user's)."""
    keywords = (decoding or Decoding()).keywords(bot)
    return bot.summarize([context(turns, context_turns)], **keywords)[0]


def converse(bot: Chatbot, context_turns: int, lines: Iterable[str],
             write: Callable[[str], None], decoding: Decoding | None = None,
             prompt: Callable[[], None] | None = None) -> int:
    """Hold a conversation: for each input line, one line out (the reply; ``/reset``: a note
    that the context was cleared); ``/quit`` or the end of the input ends it; blank lines are
    skipped. The context is the last ``context_turns`` turns of both sides. Sampling with a
    seed draws reply k (from 0) with seed + k: the conversation repeats, its replies do not
    repeat each other's draws. Returns the number of replies."""
    turns: list[str] = []
    replies = 0
    if prompt:
        prompt()
    for line in lines:
        text = " ".join(line.split())
        if text == "/quit":
            break
        if text == "/reset":
            turns = []
            write("(conversation reset)")
        elif text:
            turns.append(text)
            answer = reply(bot, turns, context_turns, _turn(decoding, replies)).text
            turns.append(answer or "...")
            write(answer)
            replies += 1
        if prompt:
            prompt()
    return replies


def _turn(decoding: Decoding | None, k: int) -> Decoding | None:
    """``decoding`` for reply ``k``: a sampling seed advanced by ``k``."""
    sampling = None if decoding is None else decoding.sampling
    if sampling is None or sampling.seed is None:
        return decoding
    return replace(decoding, sampling=replace(sampling, seed=sampling.seed + k))


def chat(run_dir: Path, decoding: Decoding, lines: Iterable[str] | None = None,
         write: Callable[[str], None] | None = None) -> int:
    """`converse` with a run's chatbot over ``lines`` (default: standard input; a prompt is
    shown only at a terminal)."""
    bot, spec = load(run_dir)
    if decoding.sampling is not None:
        decoding.sampling.validate()
    if decoding.beam_size is not None and decoding.beam_size < 1:
        raise InputError(f"--beam {decoding.beam_size}; expected at least 1 (1 = greedy)")

    def out(text: str) -> None:
        print(text, flush=True)

    prompt = None
    if lines is None and sys.stdin.isatty():
        def prompt() -> None:
            print("you> ", end="", flush=True)

    return converse(bot, spec.context_turns, sys.stdin if lines is None else lines,
                    write or out, decoding, prompt)


def explain(run_dir: Path, turns: Sequence[str], out: Path | None = None,
            beam_size: int | None = None) -> tuple[Summary, Path]:
    """Answer the conversation ``turns`` and write the attention over its context to ``out``
    (default ``RUN/plots/chat-....png``)."""
    from rnnkit.tasks.summarize import default_plot_path, explain_text

    if not turns or not all(t.strip() for t in turns):
        raise InputError("give the conversation's turns, none empty")
    bot, spec = load(run_dir)
    text = context([" ".join(t.split()) for t in turns], spec.context_turns)
    default = default_plot_path(run_dir, text)
    path = Path(out) if out is not None else default.with_name(
        "chat-" + default.name.removeprefix("copy-"))
    return explain_text(bot, text, path, beam_size), path
