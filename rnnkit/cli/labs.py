"""What the lab commands (``rnnkit experiment ...``, ``rnnkit diagnose ...``) share: their
common options and how a finished lab is printed."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from rnnkit.cli import options as o

Cells = Annotated[
    str, typer.Option(help="Comma-separated: rnn, rnn_orth, rnn_relu, irnn, lstm, gru.")
]
BatchSize = Annotated[int, typer.Option(help="Sequences per batch.")]
HiddenSize = Annotated[int, typer.Option(help="Units of the recurrent layer.")]
AdamLr = Annotated[float | None, typer.Option(help="Adam learning rate (default: each cell's).")]
Clip = Annotated[float, typer.Option(help="Max gradient norm (0: no clipping).")]
Seed = Annotated[int, typer.Option(help="Seed of the weights and the data.")]


def progress(line: str) -> None:
    """Progress lines go to stderr, so that stdout stays the table or the JSON."""
    typer.echo(line, err=True)


@o.bundle
@dataclass
class Output:
    """Where a lab runs and what it prints: the options every lab command ends with."""

    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto"
    threads: Annotated[int, typer.Option(help="CPU threads (1 is fastest for small "
                                              "models).")] = 1
    out: Annotated[Path | None, typer.Option(help="Run folder (default runs/<lab>-<time>).")] = None
    as_json: Annotated[bool, typer.Option("--json", help="Print the metrics as one JSON "
                                                         "object.")] = False

    def run(self, run: Callable[..., tuple[Path, dict[str, Any]]],
            table: Callable[[dict[str, Any]], str], *configs: Any) -> None:
        """Run the lab ``run(*configs, out, progress)`` on ``threads`` CPU threads, then print
        the finished run: ``table(metrics)`` and the folder, or (``as_json``) its
        metrics.json as one line of JSON on stdout, with the folder on stderr."""
        from rnnkit.io import read_json
        from rnnkit.train.device import set_cpu_threads

        set_cpu_threads(self.threads)
        run_dir, metrics = run(*configs, self.out, progress)
        if self.as_json:
            typer.echo(json.dumps(read_json(run_dir / "metrics.json")))
            typer.echo(f"run written to {run_dir}", err=True)
            return
        typer.echo(table(metrics))
        typer.echo(f"run written to {run_dir}")
