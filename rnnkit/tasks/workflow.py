"""The one training workflow of every command group, with per-group hooks.

``rnnkit <group> train`` always does the same, in this order: read and validate the data and
the settings (`Task.read`, the estimator's ``check``), plan the run folder (nothing is written
before this point, so bad input leaves nothing), write the settings that ``--resume`` needs,
fit (resumable from the checkpoint kept after every epoch), and then, in the main process
only, evaluate (`Task.evaluate`), write the group's artefacts (`Task.artefacts`), the final
config.json, metrics.json and the HTML report, and mark the folder complete. A new group is a
`Task` subclass with these hooks, registered in `TASKS` by its module.
"""

from __future__ import annotations

import sys
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from importlib import import_module
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar, get_type_hints

from rnnkit.configs import configs_from
from rnnkit.errors import InputError
from rnnkit.io.files import write_json
from rnnkit.models.estimator import Estimator
from rnnkit.runs import Run, finish, resume_config, start_run
from rnnkit.train.distributed import Parallel
from rnnkit.train.fit import FitResult

Data = TypeVar("Data")


class Task(ABC, Generic[Data]):
    """One command group's part in the workflow: its data settings (``spec``, a dataclass),
    its estimator (an `Estimator`) and the hooks that differ between groups. A group's task
    names its command group as a class keyword (``class TagTask(Task[...], group="tag")``),
    which makes it known to the workflow (`TASKS`), and declares the classes of ``spec`` and
    ``estimator`` as their fields' types, from which `from_settings` rebuilds them."""

    group: ClassVar[str]
    spec: Any
    estimator: Any

    def __init_subclass__(cls, group: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if group is not None:
            cls.group = group
            TASKS[group] = cls

    @abstractmethod
    def read(self) -> Data:
        """Read and validate the data (`InputError` on bad input); writes nothing."""

    @abstractmethod
    def fit_inputs(self, data: Data) -> tuple[Any, Any]:
        """What the estimator's ``check`` and ``fit`` take: (training data, validation)."""

    def check(self, data: Data) -> str:
        """The estimator's check of its settings against ``data``: one line saying what will
        be trained (`InputError` on a problem); changes nothing."""
        return self.estimator.check(*self.fit_inputs(data))

    def fit(self, data: Data, **keywords: Any) -> FitResult:
        """The estimator's ``fit`` on ``data`` with the workflow's keywords (progress,
        checkpoint_dir, resume, parallel, log_dir)."""
        return self.estimator.fit(*self.fit_inputs(data), **keywords)

    @abstractmethod
    def evaluate(self, data: Data, fit: FitResult) -> dict[str, Any]:
        """The held-out scores for metrics.json (the training facts are added by the
        workflow)."""

    @abstractmethod
    def artefacts(self, run: Path, data: Data, fit: FitResult, metrics: dict[str, Any]) -> None:
        """Write the group's files into the run folder ``run``: weights, vocabularies,
        predictions, plots."""

    def settings(self) -> dict[str, Any]:
        """What rebuilds this task untrained (config.json before training): the data settings
        and the estimator's."""
        return {"data": asdict(self.spec), **self.estimator.settings()}

    @classmethod
    def from_settings(cls, config: dict[str, Any], where: str) -> Task:
        """The task that `settings` describes (``where`` names the file for messages)."""
        fields = get_type_hints(cls)
        (spec,) = configs_from(config, where, data=fields["spec"])
        estimator: type[Estimator] = fields["estimator"]
        return cls(spec, estimator.from_settings(config, where))


#: Every group's task class by its name (a `Task` subclass given ``group=`` adds itself).
TASKS: dict[str, type[Task]] = {}


@dataclass
class Outcome:
    """What a training run produced (in the main process): its folder, the fit, the metrics
    that metrics.json holds and the task with its trained estimator."""

    run_dir: Path
    fit: FitResult
    metrics: dict[str, Any]
    task: Task


def command_line() -> str:
    """The command line as typed, for config.json and the report."""
    import shlex

    return shlex.join(["rnnkit", *sys.argv[1:]])


def train(task: Task, out: Path | None = None, *, force: bool = False, resume: bool = False,
          progress: bool = True, command: str | None = None,
          parallel: Parallel | None = None) -> Outcome | None:
    """Run ``task`` through the workflow (see the module docstring) into the folder ``out``
    (default ``runs/<group>-<timestamp>``; ``force`` replaces an earlier rnnkit run there).

    With ``parallel`` (several DDP processes, each running this), every process trains but
    only the main one writes, prints and returns the `Outcome`; the others return None.
    """
    data = task.read()
    plan = task.check(data)
    run: Run = start_run(out, task.group, force=force, resume=resume)
    before = {"group": task.group, "command": command or command_line(), **task.settings()}
    if run.writes:
        if progress:
            print(plan, file=sys.stderr)
        if not resume:
            write_json(run.path / "config.json", before)
    fit = task.fit(data, progress=progress, checkpoint_dir=run.checkpoint, resume=resume,
                   parallel=parallel, log_dir=run.path if run.writes else None)
    if not run.writes:
        return None
    metrics = {**task.evaluate(data, fit), "training": fit.report()}
    task.artefacts(run.path, data, fit, metrics)
    write_json(run.path / "config.json", {**before, **task.estimator.state()})
    write_json(run.path / "metrics.json", metrics)
    from rnnkit.plots.report import write_report

    write_report(run.path)
    finish(run)
    return Outcome(run.path, fit, metrics, task)


def resume(run_dir: Path, group: str, *, progress: bool = True,
           parallel: Parallel | None = None) -> Outcome | None:
    """Continue the interrupted ``group`` run in ``run_dir`` from its last checkpoint, with
    the settings stored there; it reaches the result of an uninterrupted run."""
    config = resume_config(run_dir)
    where = str(Path(run_dir) / "config.json")
    if config.get("group") != group:
        raise InputError(f"--resume {run_dir} is not a {group} run (config.json says "
                         f"{config.get('group')!r})")
    import_module(f"rnnkit.tasks.{group}")  # the group's module registers its task
    try:
        task = TASKS[group].from_settings(config, where)
        command = config["command"]
    except (KeyError, TypeError) as err:
        raise InputError(f"{where}: malformed ({err}); cannot resume this run") from err
    return train(task, Path(run_dir), resume=True, progress=progress, command=command,
                 parallel=parallel)
