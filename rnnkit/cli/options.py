"""What every training command shares: its options (typer ``Annotated`` aliases, so each
group declares them in one line) and the plumbing around the one workflow (set-up, resume,
printing the outcome)."""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, get_type_hints

import typer

if TYPE_CHECKING:
    from rnnkit.tasks.workflow import Outcome, Task

# ---- using a trained run (predict, evaluate, explain) ------------------------------------------
Beam = Annotated[int | None, typer.Option(help="Beam size (1 = greedy; default: the run's).")]
AttentionPlot = Annotated[Path | None, typer.Option(help="PNG to write (default "
                                                         "RUN/plots/attention-...).")]
Records = Annotated[bool, typer.Option("--json", help="Print records as JSON.")]
Json = Annotated[bool, typer.Option("--json", help="Print the metrics as one JSON object.")]


def run_of(group: str) -> Any:
    """The ``--run`` option of ``group``'s commands that use a trained run, with help that names
    the command writing one (``'rnnkit caption train'``)."""
    return Annotated[Path, typer.Option(help=f"A run folder written by 'rnnkit {group} train'.")]


def option(help: str, *declarations: str, default: Any = None, config: str | None = None,
           setting: bool = True, required: bool = False) -> Any:
    """A field of an `Options` bundle: the command-line option ``--field-name`` (or
    ``declarations`` such as ``"--copy/--no-copy"``) with ``help``; ``default`` None means
    "not given: the group's default". ``config``: the config field it sets where the names
    differ; ``setting=False``: not a config setting (a file, a column: the group reads it
    itself); ``required``: a new run needs it (a resumed one reads it from its folder)."""
    return field(default=default, metadata={"help": help, "declarations": declarations,
                                            "config": config, "setting": setting,
                                            "required": required})


def data(help: str, *declarations: str, default: Any = None, required: bool = False) -> Any:
    """An `option` that is not a config setting: what the group reads (a file, a column)."""
    return option(help, *declarations, default=default, setting=False, required=required)


class Options:
    """Base of the option bundles: dataclasses whose `option` fields a command takes whole as
    one parameter (see `command`), declared once, with their help, beside their config names."""

    @classmethod
    def config_names(cls) -> dict[str, str]:
        """The fields that are config settings, each with its config name."""
        return {f.name: f.metadata.get("config") or f.name for f in fields(cls)
                if f.metadata.get("setting", True)}

    def settings(self) -> dict[str, Any]:
        """The settings given, by config name (None: not given; paths as text, as configs
        keep them)."""
        return {config: _plain(getattr(self, name))
                for name, config in self.config_names().items()}

    def check(self) -> None:
        """Raise `InputError` for a missing ``required`` option, or options that cannot go
        together (checked for a new run; a resumed one has its settings in its folder)."""
        require({_flag(f): getattr(self, f.name) for f in fields(self)
                 if f.metadata.get("required")})

    def task(self) -> Task:
        """The `Task` of a new run with these options (a training command's bundle says how)."""
        raise NotImplementedError(f"{type(self).__name__} does not build a task")


def _plain(value: Any) -> Any:
    return str(value) if isinstance(value, Path) else value


def _flag(f: Any) -> str:
    """The option of field ``f`` as the user types it, with its value (``--train FILE``)."""
    names = f.metadata.get("declarations") or (f"--{f.name.replace('_', '-')}",)
    return f"{names[0].split('/')[0]} {'FILE' if 'Path' in str(f.type) else 'VALUE'}"


@dataclass
class Training(Options):
    """The options every ``rnnkit <group> train`` shares: how it trains (`TrainSettings`
    fields; None keeps the group's default), where and how it runs."""

    epochs: int | None = option("Training epochs (an upper bound: early stopping and "
                                "--max-minutes may end sooner).")
    batch_size: int | None = option("Examples per batch.")
    lr: float | None = option("Adam learning rate.")
    weight_decay: float | None = option("Adam's L2 weight decay.")
    clip: float | None = option("Max global gradient norm (Pascanu et al. 2013).")
    patience: int | None = option("Epochs without a better validation result before stopping.")
    lr_schedule: str | None = option(
        "Learning-rate schedule: constant; cosine (to 0 over the epochs, or by the end of the "
        "time budget where there is one); halving (the rate halves after every epoch); decay "
        "(x0.8 per epoch after four).")
    ema: float | None = option("Decay of a moving average of the weights that is scored and "
                               "kept (e.g. 0.998).")
    max_minutes: float | None = option("Time budget: no epoch starts that would end past it.")
    seed: int | None = option("Random seed (weights, batch order, dropout).")
    logger: str | None = option("Per-epoch log in the run folder: csv (logs/metrics.csv), "
                                "tensorboard or none.")
    precision: str | None = option(
        "32 (float32), bf16-mixed (where the CPU or GPU runs bfloat16 natively; else float32 "
        "with a note) or 16-mixed (CUDA only).")
    device: str = option("auto, cpu or cuda.", default="auto")
    threads: int = option("CPU threads (1 is fastest for small models).", default=1,
                          setting=False)
    devices: int = option("Training processes per machine: GPUs, or CPU processes (more than "
                          "1: distributed data-parallel).", default=1, setting=False)
    strategy: str = option("auto or ddp (one process per device, gradients averaged).",
                           default="auto", setting=False)
    num_nodes: int = option("Machines taking part (each started by torchrun or SLURM).",
                            default=1, setting=False)
    out: Path | None = option("Run folder (default runs/<group>-<time>).", setting=False)
    force: bool = option("Replace an earlier rnnkit run folder at --out (never a folder "
                         "rnnkit did not create).", default=False, setting=False)
    resume: Path | None = option("Continue an interrupted run from its folder (with its own "
                                 "settings).", setting=False)
    as_json: bool = option("Print the metrics as one JSON object.", "--json", default=False,
                           setting=False)
    quiet: bool = option("No plan line and no progress bar.", default=False, setting=False)


@dataclass
class Network(Options):
    """The options of the recurrent network that the text groups share."""

    cell: str | None = option("Recurrent cell: lstm, gru, rnn, irnn, peephole or cifg "
                              "(default: lstm).")
    embedding_dim: int | None = option("Size of the token embeddings.")
    hidden_size: int | None = option("Units per recurrent layer (and direction).")
    layers: int | None = option("Stacked recurrent layers.", config="num_layers")
    dropout: float | None = option("Dropout (where the group's network applies it: see its "
                                   "config).")


@dataclass
class Vocabulary(Options):
    """How texts become tokens: the options of the groups that read labelled or parallel text."""

    tokenizer: str | None = option("word (default) or bpe (subwords).")
    lowercase: bool | None = option("Lower-case the text (default: the group's).",
                                    "--lowercase/--keep-case")
    min_freq: int | None = option("Rarer training tokens become <unk>.")
    max_vocab: int | None = option("Vocabulary size cap.")
    bpe_vocab_size: int | None = option("Subwords learned by --tokenizer bpe.")


@dataclass
class Vectors(Options):
    """Pretrained word vectors for a text model's embedding: the options of every group that
    can start from them."""

    vectors: Path | None = option(
        "Pretrained word vectors (GloVe, word2vec, fastText text; .gz or not); set "
        "--embedding-dim to at least their size (extra dimensions are trained from random).")
    freeze_vectors: bool | None = option("Keep the pretrained vectors fixed (default: tune "
                                         "them).", "--freeze-vectors/--tune-vectors")

    def check(self) -> None:
        """As `Options.check`; also refuses --freeze-vectors/--tune-vectors without --vectors."""
        super().check()
        if self.vectors is None:
            refuse(["--freeze-vectors/--tune-vectors"] if self.freeze_vectors is not None else [],
                   "only with --vectors FILE")

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


#: What every training command's help says about resuming and processes.
TRAINING_NOTE = ("A checkpoint is kept after every epoch: if training is interrupted, --resume "
                 "DIR continues it with the settings stored in DIR and reaches the same result."
                 "\n\n--devices N trains with N processes (DDP); only the first one prints and "
                 "writes.")

#: Dataclasses of ``Annotated`` options a command can take whole (see `bundle`); subclasses of
#: `Options` need no registration.
BUNDLES: list[type] = []


def bundle(cls: type) -> type:
    """Class decorator: make a dataclass whose fields are ``Annotated`` typer options usable as
    one `command` parameter."""
    BUNDLES.append(cls)
    return cls


def _is_bundle(annotation: Any) -> bool:
    return annotation in BUNDLES or (inspect.isclass(annotation)
                                     and issubclass(annotation, Options))


def _parameters(cls: type) -> list[inspect.Parameter]:
    """The typer parameters of bundle ``cls``: its own fields first, then those it inherits."""
    hints = get_type_hints(cls, include_extras=True)
    own = cls.__dict__.get("__annotations__", {})
    ordered = sorted(fields(cls), key=lambda f: f.name not in own)
    parameters = []
    for f in ordered:
        hint = hints[f.name]
        if "help" in f.metadata:
            hint = Annotated[hint, typer.Option(*f.metadata["declarations"],
                                                help=f.metadata["help"])]
        parameters.append(inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY,
                                            default=f.default, annotation=hint))
    return parameters


def command(func: Callable[..., Any]) -> Callable[..., Any]:
    """Give a command the options of each bundle (an `Options` subclass, or a class in
    `BUNDLES`) it takes as a parameter (``output: Output``): typer sees the bundle's fields as
    options after the command's own, declared once in the bundle; ``func`` receives each
    bundle built from them. A command taking `Training` options says in its help how to resume
    and run in parallel."""
    signature = inspect.signature(func, eval_str=True).parameters.values()
    bundles = {p.name: p.annotation for p in signature if _is_bundle(p.annotation)}
    own = [p for p in signature if p.name not in bundles]
    shared = [p for cls in bundles.values() for p in _parameters(cls)]

    @functools.wraps(func)
    def run(**given: Any) -> Any:
        built = {name: cls(**{f.name: given.pop(f.name) for f in fields(cls)})
                 for name, cls in bundles.items()}
        return func(**given, **built)

    run.__signature__ = inspect.Signature([*own, *shared])
    if any(issubclass(cls, Training) for cls in bundles.values()):
        run.__doc__ = f"{inspect.cleandoc(func.__doc__ or '')}\n\n{TRAINING_NOTE}"
    return run


def trains(app: typer.Typer, group: str, report: Callable[[Outcome], None], epilog: str
           ) -> Callable[[type[Options]], type[Options]]:
    """Class decorator: add ``rnnkit <group> train`` to ``app``, whose options are the fields of
    the decorated `Options` subclass and whose ``task()`` builds the `Task`. The command checks
    the options, builds the task (not on --resume: the run folder has its settings), trains it
    through the workflow and prints the outcome with ``report`` (see `run_training`). Its help
    is the class docstring, what every training command says about resuming, then ``epilog``."""

    def add(options: type[Options]) -> type[Options]:
        def train(given: Options) -> None:
            def new_task() -> Task:
                given.check()
                return given.task()

            run_training(group, new_task, given, report)

        train.__annotations__ = {"given": options, "return": None}
        train.__doc__ = options.__doc__
        app.command("train", epilog=epilog)(command(train))
        return options

    return add


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


def evaluates(app: typer.Typer, group: str, show: Callable[[dict], None], data_help: str,
              doc: str) -> None:
    """Add ``rnnkit <group> evaluate --run RUN --data FILE`` to ``app``: the metrics of
    ``rnnkit.tasks.<group>.evaluate_run(run, data)``, printed by ``show`` (or, with --json, as
    JSON); ``doc`` is its help."""
    from importlib import import_module

    def evaluate(run: Path, data: Path) -> dict:
        task = import_module(f"rnnkit.tasks.{group}")
        return {"data": str(data), **task.evaluate_run(run, str(data))}

    # a closure's string annotations cannot name its locals: give them as objects
    evaluate.__annotations__ = {"run": run_of(group), "return": dict,
                                "data": Annotated[Path, typer.Option(help=data_help)]}
    evaluate.__doc__ = doc
    app.command()(prints(show, "the metrics")(evaluate))


def configured(given: Options | dict[str, Any], *defaults: Any) -> list[Any]:
    """Each config dataclass in ``defaults`` (a group's defaults, e.g. its config and its
    `TrainSettings`) with the settings the user gave (a bundle's, or by config name; None: not
    given); a setting goes to the first of them that has it as a field."""
    from rnnkit.configs import split_settings

    if isinstance(given, Options):
        given = given.settings()
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
