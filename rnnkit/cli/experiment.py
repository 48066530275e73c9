"""``rnnkit experiment ...``: the labs (long-range tasks, remedies side by side, reservoirs)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Annotated

import typer

from rnnkit.cli import labs
from rnnkit.cli import options as o

app = typer.Typer(
    help="Experiments that make the vanishing gradient and its remedies visible.",
    no_args_is_help=True,
)


# ---- the vanishing-gradient lab: long-range tasks and exploding gradients ----------------------

ADDING_EXAMPLE = """
Example:

  rnnkit experiment adding --length 200 --cells rnn,irnn,lstm,gru --steps 3000

trains each cell on the adding problem (Hochreiter & Schmidhuber 1997; Le et al. 2015) and
writes plots/learning_curves.png (test MSE vs step, the 0.167 baseline dashed) and metrics.json.
"""

COPY_EXAMPLE = """
Example:

  rnnkit experiment copy --length 100 --cells rnn,lstm,gru --steps 3000

trains each cell on the copy-memory task (Arjovsky et al. 2016) and writes
plots/learning_curves.png (test cross-entropy vs step, the memoryless baseline dashed).
"""

EXPLODING_EXAMPLE = """
Example:

  rnnkit experiment exploding --cell rnn --radius 1.5 --steps 300

trains a tanh RNN whose W_hh has spectral radius 1.5 with plain SGD, with and without
clipping the gradient norm at 1 (Pascanu et al. 2013), and writes plots/exploding.png.
"""

Steps = Annotated[int, typer.Option(help="Training steps per cell (a fresh batch each).")]
EvalEvery = Annotated[int, typer.Option(help="Steps between two test evaluations.")]
TestSize = Annotated[int, typer.Option(help="Held-out test sequences.")]


@o.bundle
@dataclass
class LongRange:
    """The options of the long-range tasks (adding, copy)."""

    cells: labs.Cells = "rnn,rnn_orth,irnn,lstm,gru"
    steps: Steps = 3000
    batch_size: labs.BatchSize = 64
    hidden_size: labs.HiddenSize = 64
    lr: labs.AdamLr = None
    clip: labs.Clip = 1.0
    eval_every: EvalEvery = 100
    test_size: TestSize = 1000
    seed: labs.Seed = 0


def _long_range_command(task: str, length_help: str, default_length: int, example: str,
                        doc: str) -> None:
    """Add the command of the long-range task ``task`` (adding or copy) to `app`: its
    sequence-length option, then the `LongRange` and `Output` options."""

    def command(length: int = default_length, *, lab: LongRange, output: labs.Output) -> None:
        from rnnkit.experiments.long_range import (
            LongRangeConfig,
            long_range_table,
            run_long_range,
        )

        config = LongRangeConfig(task=task, length=length, device=output.device, **asdict(lab))
        output.run(run_long_range, long_range_table, config)

    command.__doc__ = doc
    # a closure's string annotations cannot name its locals: give this one as an object
    command.__annotations__["length"] = Annotated[int, typer.Option(help=length_help)]
    app.command(task, epilog=example)(o.command(command))


_long_range_command("adding", "Sequence length T (>= 2).", 200, ADDING_EXAMPLE,
                    "The adding problem: learning curves of each cell beside the baseline MSE "
                    "0.167.")
_long_range_command("copy", "Delay T (>= 2); sequences are T + 20 long.", 100, COPY_EXAMPLE,
                    "The copy-memory task: learning curves beside the baseline 10 log 8 / "
                    "(T + 20).")


@o.bundle
@dataclass
class Exploding:
    """The options of ``rnnkit experiment exploding`` (`ExplodingConfig`'s fields)."""

    cell: Annotated[str, typer.Option(help="rnn (tanh) or rnn_relu.")] = "rnn"
    radius: Annotated[float, typer.Option(help="Spectral radius W_hh is rescaled to.")] = 1.5
    length: Annotated[int, typer.Option(help="Sequence length T of the adding problem.")] = 50
    steps: Annotated[int, typer.Option(help="SGD steps per run (a fresh batch each).")] = 300
    batch_size: labs.BatchSize = 64
    hidden_size: labs.HiddenSize = 64
    lr: Annotated[float, typer.Option(help="SGD learning rate.")] = 0.05
    clip: Annotated[float, typer.Option(help="Max gradient norm of the clipped run.")] = 1.0
    seed: labs.Seed = 0


@app.command(epilog=EXPLODING_EXAMPLE)
@o.command
def exploding(*, lab: Exploding, output: labs.Output) -> None:
    """Exploding gradients: spectral radius > 1, trained with and without clipping."""
    from rnnkit.experiments.exploding import ExplodingConfig, exploding_table, run_exploding

    config = ExplodingConfig(**asdict(lab), device=output.device)
    output.run(run_exploding, exploding_table, config)


# ---- the reservoir remedy: echo state networks ------------------------------------------------

MACKEY_GLASS_EXAMPLE = """
Example:

  rnnkit experiment mackey-glass --units 400 --train-steps 3000 --free-run 84 --runs 50

fits an echo state network teacher-forced on the Mackey-Glass series (tau = 17), runs it 50
times in closed loop for 84 steps, and writes metrics.json (nrmse84 and each run's error) and
plots/free_run.png. Jaeger 2001 reports an NRMSE84 of about 2.8e-4 with 400 units.
"""


@app.command("mackey-glass", epilog=MACKEY_GLASS_EXAMPLE)
@o.command
def mackey_glass(
    units: Annotated[int, typer.Option(help="Reservoir units N.")] = 400,
    spectral_radius: Annotated[float, typer.Option(help="Largest |eigenvalue| of W.")] = 0.9,
    leak_rate: Annotated[float, typer.Option(help="Leak rate in (0, 1]; 1 = no leak.")] = 0.7,
    ridge: Annotated[float, typer.Option(help="Ridge of the readout (0: noise only).")] = 0.0,
    readout: Annotated[
        str, typer.Option(help="linear (states and input) or quadratic (adds squared states).")
    ] = "quadratic",
    train_steps: Annotated[int, typer.Option(help="Teacher-forced training steps.")] = 3000,
    washout: Annotated[int, typer.Option(help="Training steps left out of the fit.")] = 1000,
    free_run: Annotated[int, typer.Option(help="Closed-loop steps; error read at the last.")] = 84,
    runs: Annotated[int, typer.Option(help="Independent closed-loop runs.")] = 50,
    seed: Annotated[int, typer.Option(help="Seed of the reservoir and the series.")] = 0,
    *,
    output: labs.Output,
) -> None:
    """Echo state network on Mackey-Glass: Jaeger's NRMSE84 after an 84-step free run."""
    from dataclasses import replace

    from rnnkit.experiments.mackey_glass import (
        MACKEY_GLASS_ESN,
        MackeyGlassConfig,
        mackey_glass_table,
        run_mackey_glass,
    )

    esn = replace(
        MACKEY_GLASS_ESN, units=units, spectral_radius=spectral_radius, leak_rate=leak_rate,
        ridge=ridge, readout=readout, seed=seed,
    )
    config = MackeyGlassConfig(
        train_steps=train_steps, washout=washout, free_run=free_run, runs=runs, seed=seed,
        device=output.device,
    )
    output.run(run_mackey_glass, mackey_glass_table, config, esn)
