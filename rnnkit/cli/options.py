"""What every training command shares: its options (typer ``Annotated`` aliases, so each
group declares them in one line) and the plumbing around the one workflow (set-up, resume,
printing the outcome)."""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, get_type_hints

import typer

if TYPE_CHECKING:
    from rnnkit.tasks.workflow import Outcome, Task

# ---- the training settings (TrainSettings): None keeps the group's default -------------------
Epochs = Annotated[int | None, typer.Option(help="Training epochs (an upper bound: early "
                                                 "stopping and --max-minutes may end sooner).")]
BatchSize = Annotated[int | None, typer.Option(help="Examples per batch.")]
Lr = Annotated[float | None, typer.Option(help="Adam learning rate.")]
WeightDecay = Annotated[float | None, typer.Option(help="Adam's L2 weight decay.")]
Clip = Annotated[float | None, typer.Option(help="Max global gradient norm (Pascanu et al. "
                                                 "2013).")]
Patience = Annotated[int | None, typer.Option(help="Epochs without a better validation result "
                                                   "before stopping.")]
LrSchedule = Annotated[str | None, typer.Option(
    help="Learning-rate schedule: constant; cosine (to 0 over the epochs, or by the end of the "
         "time budget where there is one); halving (the rate halves after every epoch); decay "
         "(x0.8 per epoch after four).")]
Ema = Annotated[float | None, typer.Option(help="Decay of a moving average of the weights that "
                                                "is scored and kept (e.g. 0.998).")]
MaxMinutes = Annotated[float | None, typer.Option(help="Time budget: no epoch starts that would "
                                                       "end past it.")]
Seed = Annotated[int | None, typer.Option(help="Random seed (weights, batch order, dropout).")]
Logger = Annotated[str | None, typer.Option(help="Per-epoch log in the run folder: csv "
                                                 "(logs/metrics.csv), tensorboard or none.")]
Device = Annotated[str, typer.Option(help="auto, cpu or cuda.")]
Precision = Annotated[str | None, typer.Option(
    help="32 (float32), bf16-mixed (where the CPU or GPU runs bfloat16 natively; else float32 "
         "with a note) or 16-mixed (CUDA only).")]
# ---- where and how it runs ---------------------------------------------------------------------
Threads = Annotated[int, typer.Option(help="CPU threads (1 is fastest for small models).")]
Devices = Annotated[int, typer.Option(help="Training processes per machine: GPUs, or CPU "
                                           "processes (more than 1: distributed data-parallel).")]
Strategy = Annotated[str, typer.Option(help="auto or ddp (one process per device, gradients "
                                            "averaged).")]
NumNodes = Annotated[int, typer.Option(help="Machines taking part (each started by torchrun "
                                            "or SLURM).")]
Out = Annotated[Path | None, typer.Option(help="Run folder (default runs/<group>-<time>).")]
Force = Annotated[bool, typer.Option(help="Replace an earlier rnnkit run folder at --out "
                                          "(never a folder rnnkit did not create).")]
Resume = Annotated[Path | None, typer.Option(help="Continue an interrupted run from its folder "
                                                  "(with its own settings).")]
Json = Annotated[bool, typer.Option("--json", help="Print the metrics as one JSON object.")]
Quiet = Annotated[bool, typer.Option(help="No plan line and no progress bar.")]
Run = Annotated[Path, typer.Option(help="A run folder written by this group's train.")]
# ---- using a trained run (predict, evaluate, explain) ------------------------------------------
Beam = Annotated[int | None, typer.Option(help="Beam size (1 = greedy; default: the run's).")]
AttentionPlot = Annotated[Path | None, typer.Option(help="PNG to write (default "
                                                         "RUN/plots/attention-...).")]
Records = Annotated[bool, typer.Option("--json", help="Print records as JSON.")]


def run_of(group: str) -> Any:
    """The ``--run`` option of ``group``'s commands that use a trained run: `Run`, with help
    that names the command writing one (``'rnnkit caption train'``)."""
    return Annotated[Path, typer.Option(help=f"A run folder written by 'rnnkit {group} train'.")]


@dataclass
class Training:
    """The options every ``rnnkit <group> train`` shares, parsed (see `command`)."""

    epochs: Epochs = None
    batch_size: BatchSize = None
    lr: Lr = None
    weight_decay: WeightDecay = None
    clip: Clip = None
    patience: Patience = None
    lr_schedule: LrSchedule = None
    ema: Ema = None
    max_minutes: MaxMinutes = None
    seed: Seed = None
    logger: Logger = None
    precision: Precision = None
    device: Device = "auto"
    threads: Threads = 1
    devices: Devices = 1
    strategy: Strategy = "auto"
    num_nodes: NumNodes = 1
    out: Out = None
    force: Force = False
    resume: Resume = None
    as_json: Json = False
    quiet: Quiet = False

    def settings(self) -> dict[str, Any]:
        """The options that are `TrainSettings` fields (None: not given)."""
        from rnnkit.train.settings import TrainSettings

        return {f.name: getattr(self, f.name) for f in fields(TrainSettings)
                if hasattr(self, f.name)}


@dataclass
class Network:
    """The options of the recurrent network that the text groups share."""

    cell: Annotated[str | None, typer.Option(help="Recurrent cell: lstm, gru, rnn, irnn, "
                                                  "peephole or cifg (default: lstm).")] = None
    embedding_dim: Annotated[int | None, typer.Option(help="Size of the token embeddings.")] = None
    hidden_size: Annotated[int | None, typer.Option(help="Units per recurrent layer (and "
                                                         "direction).")] = None
    layers: Annotated[int | None, typer.Option(help="Stacked recurrent layers.")] = None
    dropout: Annotated[float | None, typer.Option(help="Dropout (where the group's network "
                                                       "applies it: see its config).")] = None

    def settings(self) -> dict[str, Any]:
        """The options by their config names (None: not given)."""
        return {"cell": self.cell, "embedding_dim": self.embedding_dim,
                "hidden_size": self.hidden_size, "num_layers": self.layers,
                "dropout": self.dropout}


@dataclass
class Vocabulary:
    """How texts become tokens: the options of the groups that read labelled or parallel text."""

    tokenizer: Annotated[str | None, typer.Option(help="word (default) or bpe (subwords).")] = None
    lowercase: Annotated[bool | None, typer.Option(
        "--lowercase/--keep-case", help="Lower-case the text (default: the group's).")] = None
    min_freq: Annotated[int | None, typer.Option(help="Rarer training tokens become "
                                                      "<unk>.")] = None
    max_vocab: Annotated[int | None, typer.Option(help="Vocabulary size cap.")] = None
    bpe_vocab_size: Annotated[int | None, typer.Option(help="Subwords learned by --tokenizer "
                                                            "bpe.")] = None

    def settings(self) -> dict[str, Any]:
        """The options by their config names (None: not given)."""
        return {f.name: getattr(self, f.name) for f in fields(Vocabulary)}


@dataclass
class Vectors:
    """Pretrained word vectors for a text model's embedding: the options of every group that
    can start from them."""

    vectors: Annotated[Path | None, typer.Option(
        help="Pretrained word vectors (GloVe, word2vec, fastText text; .gz or not); set "
             "--embedding-dim to at least their size (extra dimensions are trained from "
             "random).")] = None
    freeze_vectors: Annotated[bool | None, typer.Option(
        "--freeze-vectors/--tune-vectors", help="Keep the pretrained vectors fixed (default: "
                                                "tune them).")] = None

    def settings(self) -> dict[str, Any]:
        """The options by their config names (None: not given); `InputError` for
        --freeze-vectors/--tune-vectors without --vectors."""
        if self.vectors is None:
            refuse(["--freeze-vectors/--tune-vectors"] if self.freeze_vectors is not None else [],
                   "only with --vectors FILE")
        return {"vectors": None if self.vectors is None else str(self.vectors),
                "freeze_vectors": self.freeze_vectors}

    @staticmethod
    def report(metrics: dict[str, Any]) -> None:
        """Print the coverage line of a run trained with vectors (nothing without them)."""
        from rnnkit.data.vectors import coverage_line

        if metrics.get("vectors"):
            typer.echo(coverage_line(metrics["vectors"]))


@dataclass
class Text(Vectors, Vocabulary, Network):
    """The options of a text model: its network, how its texts become tokens, and the
    pretrained vectors its embedding may start from."""

    def settings(self) -> dict[str, Any]:
        """The options by their config names (None: not given); see each part's."""
        return {**Network.settings(self), **Vocabulary.settings(self), **Vectors.settings(self)}


#: What every training command's help says about resuming and processes.
TRAINING_NOTE = ("A checkpoint is kept after every epoch: if training is interrupted, --resume "
                 "DIR continues it with the settings stored in DIR and reaches the same result."
                 "\n\n--devices N trains with N processes (DDP); only the first one prints and "
                 "writes.")

#: Option groups a command can take whole, as one parameter (see `command`).
BUNDLES: list[type] = [Training, Network, Vocabulary, Vectors, Text]


def bundle(cls: type) -> type:
    """Class decorator: make a dataclass of options usable as one `command` parameter."""
    BUNDLES.append(cls)
    return cls


def command(func: Callable[..., None]) -> Callable[..., None]:
    """Give a command the options of each bundle in `BUNDLES` that it takes as a keyword-only
    parameter (``common: Training``): typer sees the bundle's fields as options after the
    command's own, declared once here; ``func`` receives each bundle built from them."""
    signature = inspect.signature(func, eval_str=True).parameters.values()
    bundles = {p.name: p.annotation for p in signature if p.annotation in BUNDLES}
    own = [p for p in signature if p.name not in bundles]
    shared = []
    for cls in bundles.values():
        hints = get_type_hints(cls, include_extras=True)
        shared += [inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=f.default,
                                     annotation=hints[f.name]) for f in fields(cls)]

    @functools.wraps(func)
    def run(**given: Any) -> None:
        built = {name: cls(**{f.name: given.pop(f.name) for f in fields(cls)})
                 for name, cls in bundles.items()}
        func(**given, **built)

    run.__signature__ = inspect.Signature([*own, *shared])
    if "common" in bundles:
        run.__doc__ = f"{inspect.cleandoc(func.__doc__)}\n\n{TRAINING_NOTE}"
    return run


def prints(show: Callable[[Any], None], what: str = "the result"
           ) -> Callable[[Callable[..., Any]], Callable[..., None]]:
    """Decorator for a command that returns its result instead of printing it: the command
    gains ``--json``, which prints the result as JSON (a table: one record per row), and
    otherwise ``show(result)`` prints it for people. ``what`` names the result in the
    option's help ("the metrics")."""
    option = Annotated[bool, typer.Option("--json", help=f"Print {what} as JSON.")]

    def wrap(func: Callable[..., Any]) -> Callable[..., None]:
        own = list(inspect.signature(func, eval_str=True).parameters.values())

        @functools.wraps(func)
        def run(*args: Any, as_json: bool = False, **kwargs: Any) -> None:
            result = func(*args, **kwargs)
            if not as_json:
                show(result)
            elif hasattr(result, "to_json"):
                typer.echo(result.to_json(orient="records", date_format="iso",
                                          force_ascii=False))
            else:
                typer.echo(json.dumps(result, ensure_ascii=False))

        run.__signature__ = inspect.Signature(
            [*own, inspect.Parameter("as_json", inspect.Parameter.KEYWORD_ONLY, default=False,
                                     annotation=option)])
        return run

    return wrap


def configured(given: dict[str, Any], *defaults: Any) -> list[Any]:
    """Each config dataclass in ``defaults`` (a group's defaults, e.g. its config and its
    `TrainSettings`) with the options the user gave (None: not given); an option goes to the
    first of them that has it as a field."""
    from rnnkit.configs import split_settings

    given = {k: v for k, v in given.items() if v is not None}
    parts = split_settings(given, *(type(d) for d in defaults))
    return [replace(d, **part) for d, part in zip(defaults, parts, strict=True)]


def run_training(group: str, build: Callable[[], Task], common: Training,
                 report: Callable[[Outcome], None]) -> None:
    """What every ``rnnkit <group> train`` does after parsing: check the device, threads and
    processes, train ``build()`` (or continue the run at ``--resume``, with its own settings)
    through the workflow, then print the outcome, in the main process only: ``report`` for
    people, or the metrics as one JSON object."""
    from rnnkit.tasks import workflow
    from rnnkit.train.device import resolve_device, set_cpu_threads
    from rnnkit.train.distributed import Parallel

    c = common
    resolve_device(c.device)
    set_cpu_threads(c.threads)
    parallel = Parallel(c.devices, c.strategy, c.num_nodes)
    parallel.validate()
    if c.resume is not None:
        outcome = workflow.resume(c.resume, group, progress=not c.quiet, parallel=parallel)
    else:
        outcome = workflow.train(build(), c.out, force=c.force, progress=not c.quiet,
                                 parallel=parallel)
    if outcome is None:  # another process of a distributed run: the main one reports
        return
    if c.as_json:
        typer.echo(json.dumps({**outcome.metrics, "run": str(outcome.run_dir)}))
        return
    report(outcome)
    typer.echo(f"run written to {outcome.run_dir}")


def require(given: dict[str, Any]) -> None:
    """Raise `InputError` naming the options in ``given`` (name -> value) that are None: a new
    training run needs them all (a resumed one reads them from its folder)."""
    from rnnkit.errors import InputError

    missing = [name for name, value in given.items() if value is None]
    if missing:
        names = " and ".join([", ".join(missing[:-1]), missing[-1]] if len(missing) > 1
                             else missing)
        raise InputError(f"{names} {'are' if len(missing) > 1 else 'is'} required (or --resume "
                         "DIR to continue an interrupted run)")


def refuse(names: list[str], why: str) -> None:
    """Raise `InputError` naming the options ``names`` (none: nothing to refuse) and why they
    cannot be used here."""
    from rnnkit.errors import InputError

    if names:
        raise InputError(f"{', '.join(names)}: {why}")


def split_list(values: list[str] | None) -> list[str]:
    """Repeated and comma-separated option values as one list (``-x a,b -x c``)."""
    return [v.strip() for item in values or [] for v in item.split(",") if v.strip()]
