"""``rnnkit diagnose ...``: the vanishing gradient, measured on rnnkit's own engine."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

app = typer.Typer(
    help="Diagnostics: gradient flow through time, spectra of W_hh, gate saturation.",
    no_args_is_help=True,
)

GRADIENTS_EXAMPLE = """
Example:

  rnnkit diagnose gradients --cells rnn,irnn,lstm,gru --length 100 --steps 300

prints ||dL/dh_1|| / ||dL/dh_T|| per cell at initialisation and after 300 training steps,
and writes plots/gradient_flow.png (gradient norm vs timestep, log scale) and metrics.json.
"""


def progress(line: str) -> None:
    """Progress lines go to stderr, so that stdout stays the table or the JSON."""
    typer.echo(line, err=True)


def run_lab(run: Callable[..., tuple[Path, dict[str, Any]]],
            table: Callable[[dict[str, Any]], str], *configs: Any, threads: int,
            out: Path | None, as_json: bool) -> None:
    """What every lab command does once parsed: ``run(*configs, out, progress)`` on
    ``threads`` CPU threads, then print the finished run: ``table(metrics)`` and the folder,
    or (``as_json``) its metrics.json as one line of JSON on stdout, with the folder on
    stderr."""
    from rnnkit.io import read_json
    from rnnkit.train.device import set_cpu_threads

    set_cpu_threads(threads)
    run_dir, metrics = run(*configs, out, progress)
    if as_json:
        typer.echo(json.dumps(read_json(run_dir / "metrics.json")))
        typer.echo(f"run written to {run_dir}", err=True)
        return
    typer.echo(table(metrics))
    typer.echo(f"run written to {run_dir}")


@app.command(epilog=GRADIENTS_EXAMPLE)
def gradients(
    cells: Annotated[
        str, typer.Option(help="Comma-separated: rnn, rnn_orth, rnn_relu, irnn, lstm, gru.")
    ] = "rnn,irnn,lstm,gru",
    length: Annotated[int, typer.Option(help="Sequence length T of the adding problem.")] = 100,
    steps: Annotated[int, typer.Option(help="Training steps between the measurements.")] = 300,
    batch_size: Annotated[int, typer.Option(help="Sequences per training batch.")] = 64,
    hidden_size: Annotated[int, typer.Option(help="Units of the recurrent layer.")] = 64,
    lr: Annotated[
        float | None, typer.Option(help="Adam learning rate (default: each cell's own).")
    ] = None,
    clip: Annotated[float, typer.Option(help="Max gradient norm in training (0: none).")] = 1.0,
    probe_size: Annotated[int, typer.Option(help="Sequences the gradients are measured on.")] = 256,
    seed: Annotated[int, typer.Option(help="Seed of the weights and the data.")] = 0,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
    threads: Annotated[int, typer.Option(help="CPU threads (1 is fastest here).")] = 1,
    out: Annotated[
        Path | None, typer.Option(help="Run folder (default runs/diagnose-gradients-<time>).")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the metrics as one JSON object.")
    ] = False,
) -> None:
    """Gradient norm vs timestep for each cell, at initialisation and after training."""
    from rnnkit.experiments.gradients import GradientsConfig, gradients_table, run_gradients

    config = GradientsConfig(
        cells=cells, length=length, steps=steps, batch_size=batch_size, hidden_size=hidden_size,
        lr=lr, clip=clip, probe_size=probe_size, seed=seed, device=device,
    )
    run_lab(run_gradients, gradients_table, config, threads=threads, out=out, as_json=as_json)
