"""``rnnkit generate ...``: train, sample, evaluate and explain recurrent language models."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from rnnkit.cli import options as o

if TYPE_CHECKING:
    from rnnkit.tasks.workflow import Task

app = typer.Typer(help="Generate text (one-to-many): a character- or word-level LSTM "
                       "language model that writes from a prompt.", no_args_is_help=True)
Run = o.run_of("generate")

TRAIN_EXAMPLE = """
Example (the English captions of Multi30k, character level):

  rnnkit generate train --text $RNNKIT_DATA/multi30k/train.en.gz \\
      --valid $RNNKIT_DATA/multi30k/val.en.gz --out runs/charlm
  rnnkit generate sample --run runs/charlm --prompt "A dog" --length 200 --temperature 0.8

Without --valid, the last --valid-fraction of the lines are held out.
"""


def _report(outcome: object) -> None:
    metrics, c = outcome.metrics, outcome.task.estimator.config
    t, v = metrics["training"], metrics["valid"]
    typer.echo(f"{metrics['train_tokens']} training {c.level}s, vocabulary {metrics['vocab']}; "
               f"{c.num_layers}x{c.cell.upper()}({c.hidden_size}); {t['epochs_run']} epochs "
               f"(kept {t['best_epoch']}), {t['seconds']:.1f} s")
    typer.echo(f"validation: {v['bits_per_char']:.3f} bits per character, perplexity "
               f"{v['perplexity']:.2f} per {c.level}")
    samples = metrics["samples"]
    typer.echo(f"sample: {samples['prompt']}{samples['texts'][0][:120]!s}")


def _show_samples(found: list[dict]) -> None:
    for k, s in enumerate(found):
        if len(found) > 1:
            typer.echo(f"--- sample {k + 1} ---")
        typer.echo(f"{s['prompt']}{s['text']}")


@o.trains(app, "generate", _report, TRAIN_EXAMPLE)
@dataclass
class GenerateOptions(o.Training, o.Network):
    """Train a language model on a text, measure bits per character, write a run."""

    text: Path | None = o.data("Training text, UTF-8 (plain or .gz).", required=True)
    valid: Path | None = o.data("Validation text (default: the last lines).")
    valid_fraction: float | None = o.data("Share of lines held out (0.05).")
    level: str | None = o.option("char (default) or word.")
    lowercase: bool | None = o.option("Lower-case the text (default: keep case).",
                                      "--lowercase/--keep-case")
    min_freq: int | None = o.option("Rarer tokens become <unk>.")
    seq_length: int | None = o.option("Tokens per training chunk (BPTT).")
    prompt: str = o.data("Prompt of the three samples written to the run.", default="")

    def task(self) -> Task:
        """The `GenerateTask` of a new run with these options."""
        from rnnkit.models.language_model import TRAINING, LanguageModel, LanguageModelConfig
        from rnnkit.tasks.generate import DataSpec, GenerateTask

        model, training = o.configured(self, LanguageModelConfig(), TRAINING)
        given = {} if self.valid_fraction is None else {"valid_fraction": self.valid_fraction}
        spec = DataSpec(str(self.text), None if self.valid is None else str(self.valid),
                        prompt=self.prompt, **given)
        return GenerateTask(spec, LanguageModel(model, training))


@app.command()
@o.prints(_show_samples, "the samples")
def sample(
    run: Run,
    prompt: str = typer.Option("", help="Text to continue (default: a new line)."),
    length: int = typer.Option(200, help="Tokens (characters or words) to write."),
    temperature: float = typer.Option(1.0, help="Softmax temperature (> 0; lower: safer)."),
    top_k: int | None = typer.Option(None, help="Sample among the k most probable tokens."),
    greedy: bool = typer.Option(False, help="Always the most probable token (T -> 0)."),
    count: int = typer.Option(1, help="Samples to write (seeds seed, seed+1, ...)."),
    seed: int = typer.Option(0, help="Random seed of the first sample."),
) -> list[dict]:
    """Write text with a trained run, continuing the prompt (printed with it).

    Example: rnnkit generate sample --run runs/charlm --prompt "A dog" --temperature 0.8
    """
    from rnnkit.tasks.generate import sample as sample_task

    found = sample_task(run, prompt, length, temperature, top_k, seed, count, greedy)
    return [{"prompt": s.prompt, "text": s.text} for s in found]


def _show_scores(metrics: dict) -> None:
    typer.echo(f"{metrics['tokens']} tokens: {metrics['bits_per_char']:.3f} bits per character, "
               f"{metrics['bits_per_token']:.3f} bits per token, perplexity "
               f"{metrics['perplexity']:.2f}")


o.evaluates(app, "generate", _show_scores, "Text to score, UTF-8 (plain or .gz).",
            """Bits per character (and per token, perplexity) of a run on a text.

    Example: rnnkit generate evaluate --run runs/charlm --data $RNNKIT_DATA/multi30k/val.en.gz
    """)


@app.command()
def explain(
    run: Run,
    text: str = typer.Argument(..., help="The text to read."),
    out: Path | None = typer.Option(None, help="PNG to write (default RUN/plots/...)."),
    top: int = typer.Option(5, help="How many of the most surprising tokens to print."),
) -> None:
    """The glass box on a language model: how surprised it is by each token of a text
    (bits, given the tokens before) and its first layer's gates at each token.

    Example: rnnkit generate explain --run runs/charlm "A dog runs through the snow."
    """
    from rnnkit.tasks.generate import explain as explain_task

    tokens, bits, path = explain_task(run, text, out)
    typer.echo(f"{float(bits.mean()):.3f} bits per token on average; the most surprising:")
    for k in bits.argsort(descending=True)[:top].tolist():
        context = "".join(tokens[max(0, k - 10):k + 1])
        typer.echo(f"  {float(bits[k]):6.2f} bits  {tokens[k + 1]!r} after {context!r}")
    typer.echo(f"plot written to {path}")
