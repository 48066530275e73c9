import inspect
import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from rnnkit.errors import InputError
from rnnkit.models.captioner import ImageCaptioner
from rnnkit.models.classifier import TextClassifier
from rnnkit.models.forecaster import Forecaster
from rnnkit.models.language_model import LanguageModel
from rnnkit.models.seq2seq import Translator
from rnnkit.tasks.workflow import TASKS, Task, resume, train
from rnnkit.train.fit import FitResult


def test_every_estimator_has_the_same_contract_in_the_same_order():
    contract = ["check", "fit", "predict", "state", "from_state"]
    for estimator in (Forecaster, TextClassifier, Translator, ImageCaptioner, LanguageModel):
        lines = {name: inspect.getsourcelines(getattr(estimator, name))[1] for name in contract}
        assert sorted(contract, key=lines.get) == contract, estimator.__name__
        fit = inspect.signature(estimator.fit).parameters
        assert [p for p in fit if fit[p].kind is inspect.Parameter.KEYWORD_ONLY] == \
            ["progress", "checkpoint_dir", "resume", "parallel", "log_dir"], estimator.__name__


@dataclass
class Recorder:
    """An estimator that records what the workflow asks of it."""

    calls: list[str] = field(default_factory=list)
    bad: bool = False

    def check(self, train: Any, valid: Any) -> str:
        self.calls.append("check")
        if self.bad:
            raise InputError("--bad setting")
        return "toy: nothing to train"

    def fit(self, train: Any, valid: Any, **keywords: Any) -> FitResult:
        self.calls.append("fit")
        self.keywords = keywords
        return FitResult(history={"train_loss": [1.0], "val_loss": [0.5]}, best_epoch=1)

    def state(self) -> dict[str, Any]:
        return {"learned": 42}


@dataclass
class ToyTask(Task[tuple[int, int]], group="toy"):
    estimator: Recorder = field(default_factory=Recorder)

    def read(self) -> tuple[int, int]:
        self.estimator.calls.append("read")
        return 1, 2

    def fit_inputs(self, data: tuple[int, int]) -> tuple[int, int]:
        return data

    def evaluate(self, data: tuple[int, int], fit: FitResult) -> dict[str, Any]:
        self.estimator.calls.append("evaluate")
        return {"score": 0.75}

    def artefacts(self, run, data, fit, metrics) -> None:
        self.estimator.calls.append("artefacts")
        assert not (run / "COMPLETE").exists() and (run / "config.json").exists()
        (run / "toy.txt").write_text("written by the task")

    def settings(self) -> dict[str, Any]:
        return {"model": {"bad": self.estimator.bad}}

    @classmethod
    def from_settings(cls, config: dict[str, Any], where: str) -> "ToyTask":
        return cls(Recorder(bad=config["model"]["bad"]))


def test_the_workflow_runs_every_hook_in_order_and_finishes_the_folder(tmp_path, capsys):
    task = ToyTask()
    outcome = train(task, tmp_path / "run", command="rnnkit toy train")
    assert task.estimator.calls == ["read", "check", "fit", "evaluate", "artefacts"]
    assert task.estimator.keywords["checkpoint_dir"] == tmp_path / "run" / "checkpoint"
    assert task.estimator.keywords["log_dir"] == tmp_path / "run"
    assert "toy: nothing to train" in capsys.readouterr().err  # the plan, for people
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config == {"group": "toy", "command": "rnnkit toy train", "model": {"bad": False},
                      "learned": 42}
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["score"] == 0.75 and metrics["training"]["best_epoch"] == 1
    assert {p.name for p in (tmp_path / "run").iterdir()} == {
        ".rnnkit-run", "config.json", "metrics.json", "toy.txt", "report.html", "COMPLETE"}
    assert outcome.metrics == metrics and outcome.task is task and TASKS["toy"] is ToyTask


def test_bad_input_is_refused_before_anything_is_written(tmp_path):
    with pytest.raises(InputError, match="--bad setting"):
        train(ToyTask(Recorder(bad=True)), tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_resume_refuses_another_groups_run(tmp_path):
    run = tmp_path / "run"
    (run / "checkpoint").mkdir(parents=True)
    (run / "checkpoint" / "checkpoint.json").write_text("{}")
    (run / "config.json").write_text('{"group": "forecast", "command": "x"}')
    with pytest.raises(InputError, match="is not a toy run"):
        resume(run, "toy")
