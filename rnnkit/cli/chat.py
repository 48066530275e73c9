"""``rnnkit chat ...``: train, evaluate and explain chatbots, and ``rnnkit chat --run DIR``,
the conversation itself."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from rnnkit.cli import options as o

if TYPE_CHECKING:
    from rnnkit.tasks.workflow import Task
from rnnkit.cli.translate import ExplainJson, print_alignment

app = typer.Typer(help="Chat (many-to-many): an attentional encoder-decoder reads the last "
                       "turns of a conversation and writes the reply, e.g. on DailyDialog. "
                       "'rnnkit chat --run DIR' holds the conversation.",
                  no_args_is_help=True)
Run = o.run_of("chat")

TRAIN_EXAMPLE = """
Example (DailyDialog: one dialogue per line, turns separated by __eou__; or JSON lines with \
a "turns" list per dialogue):

  rnnkit chat train --train $RNNKIT_DATA/dailydialog/dialogues_train.txt \\
      --dev $RNNKIT_DATA/dailydialog/dialogues_validation.txt --out runs/chat

  rnnkit chat --run runs/chat          # talk to it; /reset clears the context, /quit ends

Exact duplicate dialogues are removed, and validation dialogues that are also in the training \
file (both counted). Scores: perplexity, BLEU-2, distinct-1/2, beside a TF-IDF retrieval \
responder scored the same way.
"""


@app.callback(invoke_without_command=True)
def conversation(
    ctx: typer.Context,
    run: Path | None = typer.Option(None, help="A run folder written by 'rnnkit chat train': "
                                               "talk to it."),
    beam: o.Beam = None,
    sample: bool = typer.Option(False, "--sample", help="Sample replies instead of beam "
                                                        "search."),
    temperature: float = typer.Option(1.0, help="Sampling temperature (with --sample)."),
    top_k: int = typer.Option(0, help="Sample among the k most probable words (0: all)."),
    top_p: float = typer.Option(0.9, help="Sample within this probability mass (1: all)."),
    no_repeat_ngram: int | None = typer.Option(None, help="Never an n-gram twice (default: "
                                                          "the run's)."),
    seed: int | None = typer.Option(None, help="Seed of the sampling."),
) -> None:
    """Talk to a trained chatbot: one line in, one reply out (works in a pipe). /reset clears
    the conversation, /quit ends it.

    Example: printf 'hi , how are you ?\\n/reset\\nwhere is the bank ?\\n' | rnnkit chat --run
    runs/chat --sample --top-p 0.9
    """
    if ctx.invoked_subcommand is not None:
        return
    if run is None:
        typer.echo(ctx.get_help())
        raise typer.Exit(0)
    from rnnkit.models.decoder import Sampling
    from rnnkit.tasks.chat import Decoding, chat

    sampling = Sampling(temperature, top_k, top_p, seed) if sample else None
    chat(run, Decoding(beam, sampling, no_repeat_ngram))


def _score_lines(scores: dict, names: list[str]) -> None:
    typer.echo(f"  {'':<10} {'BLEU-2':>7} {'distinct-1':>10} {'distinct-2':>10} {'words':>6}")
    for name in names:
        s = scores[name]
        typer.echo(f"  {name:<10} {s['bleu2']:7.2f} {s['distinct1']:10.3f} "
                   f"{s['distinct2']:10.3f} {s['mean_words']:6.1f}")


def _report(outcome: object) -> None:
    from rnnkit.models.seq2seq import describe

    m, bot = outcome.metrics, outcome.task.estimator
    d, v, t = m["dialogues"], m["valid"], m["training"]
    typer.echo(f"removed: {d['duplicates_removed']} duplicate training dialogue(s), "
               f"{d['valid_duplicates_removed']} duplicate and {d['valid_overlap_removed']} "
               "training-overlap validation dialogue(s)", err=True)
    c = bot.config
    typer.echo(f"{m['train_pairs']} training pairs from {d['train']} dialogues; {describe(c)}"
               f" ({c.encoder}); {t['epochs_run']} epochs (kept {t['best_epoch']}), "
               f"{t['seconds']:.1f} s")
    typer.echo(f"validation ({v['pairs']} pairs): perplexity {v['perplexity']:.2f}")
    _score_lines(v, ["beam", "retrieval"])
    typer.echo(f"verdict: {v['verdict']}")
    o.Vectors.report(m)


@o.trains(app, "chat", _report, TRAIN_EXAMPLE)
@dataclass
class ChatOptions(o.Training, o.Text):
    """Train a chatbot on multi-turn dialogues, score it beside TF-IDF retrieval, write a run."""

    train_data: Path | None = o.data("Training dialogues.", "--train", required=True)
    dev: Path | None = o.data("Validation dialogues (early stopping).", required=True)
    context_turns: int = o.data("Turns of context the encoder reads.", default=3)
    max_source_tokens: int | None = o.option("Context tokens read (60).")
    max_length: int | None = o.option("Most reply tokens (default 25).")
    copy: bool | None = o.option("Copy words from the context (default off).", "--copy/--no-copy")
    attention: str | None = o.option("additive (default), general or dot.")
    beam: int | None = o.option("Beam size stored for replies (5).", config="beam_size")
    no_repeat_ngram: int | None = o.option("Never write an n-gram twice (3).")
    encoder: str | None = o.option("flat (default: one RNN over the context) or hierarchical "
                                   "(HRED: an RNN per turn, then one over the turns).")

    def check(self) -> None:
        """As `Options.check`; also refuses --context-turns below 1."""
        from rnnkit.errors import InputError

        super().check()
        if self.context_turns < 1:
            raise InputError(f"--context-turns {self.context_turns}; expected at least 1")

    def task(self) -> Task:
        """The `ChatTask` of a new run with these options."""
        from rnnkit.models.summarizer import CHAT_CORPUS, CHAT_MODEL, CHAT_TRAINING, Chatbot
        from rnnkit.tasks.chat import ChatTask, DataSpec

        model, corpus, training = o.configured(self, CHAT_MODEL, CHAT_CORPUS, CHAT_TRAINING)
        spec = DataSpec(str(self.train_data), str(self.dev), self.context_turns)
        return ChatTask(spec, Chatbot(model, corpus, training))


@app.command()
def evaluate(
    run: Run,
    data: Path = typer.Option(..., help="Dialogues to score (the training file's are removed)."),
    greedy: bool = typer.Option(False, help="Also score greedy search."),
    sample: bool = typer.Option(False, "--sample", help="Also score top-p 0.9 sampling."),
    as_json: o.Json = False,
) -> None:
    """Score a trained run on held-out dialogues: per-token perplexity, BLEU-2 (sacreBLEU) and
    distinct-1/2 of its replies (beam search with n-gram blocking), beside TF-IDF retrieval.

    Example: rnnkit chat evaluate --run runs/chat \\
        --data $RNNKIT_DATA/dailydialog/dialogues_test.txt
    """
    from rnnkit.models.decoder import Sampling
    from rnnkit.tasks.chat import evaluate_run

    searches: dict = {"beam": {}}
    if greedy:
        searches["greedy"] = {"beam_size": 1}
    if sample:
        searches["sample"] = {"sampling": Sampling(top_p=0.9, seed=0)}
    m = evaluate_run(run, str(data), searches)
    if as_json:
        typer.echo(json.dumps(m))
        return
    typer.echo(f"{m['dialogues']} dialogues ({m['duplicates_removed']} duplicate and "
               f"{m['overlap_removed']} also in training removed), {m['pairs']} pairs: "
               f"perplexity {m['perplexity']:.2f}")
    _score_lines(m, [*searches, "retrieval"])
    typer.echo(f"verdict: {m['verdict']}")


@app.command()
def explain(
    run: Run,
    turns: list[str] = typer.Argument(..., help="The conversation so far, one turn each."),
    out: o.AttentionPlot = None,
    beam: o.Beam = None,
    as_json: bool = ExplainJson,
) -> None:
    """The glass box on a reply: for each word of it, the context word it attended to most
    (turns separated by __eou__), and the attention heatmap.

    Example: rnnkit chat explain --run runs/chat "hi !" "hello , how are you ?"
    """
    from rnnkit.tasks.chat import explain as explain_task

    s, path = explain_task(run, turns, out, beam)
    print_alignment(s, path, as_json, ("reply", "context_tokens", "reply_tokens"))
