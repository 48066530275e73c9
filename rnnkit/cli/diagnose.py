"""``rnnkit diagnose ...``: the vanishing gradient, measured on rnnkit's own engine."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Annotated

import typer

from rnnkit.cli import labs
from rnnkit.cli import options as o

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


@o.bundle
@dataclass
class Gradients:
    """The options of ``rnnkit diagnose gradients`` (`GradientsConfig`'s fields)."""

    cells: labs.Cells = "rnn,irnn,lstm,gru"
    length: Annotated[int, typer.Option(help="Sequence length T of the adding problem.")] = 100
    steps: Annotated[int, typer.Option(help="Training steps between the measurements.")] = 300
    batch_size: labs.BatchSize = 64
    hidden_size: labs.HiddenSize = 64
    lr: labs.AdamLr = None
    clip: labs.Clip = 1.0
    probe_size: Annotated[int, typer.Option(help="Sequences the gradients are measured on.")] = 256
    seed: labs.Seed = 0


@app.command(epilog=GRADIENTS_EXAMPLE)
@o.command
def gradients(*, lab: Gradients, output: labs.Output) -> None:
    """Gradient norm vs timestep for each cell, at initialisation and after training."""
    from rnnkit.experiments.gradients import GradientsConfig, gradients_table, run_gradients

    config = GradientsConfig(**asdict(lab), device=output.device)
    output.run(run_gradients, gradients_table, config)
