"""How a lab finishes its run folder (the training commands have `rnnkit.tasks.workflow`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rnnkit.io.files import save_figure, write_json
from rnnkit.plots.report import write_report
from rnnkit.runs import Run, finish


def finish_lab(run: Run, config: dict[str, Any], metrics: dict[str, Any], figure: Any,
               name: str) -> tuple[Path, dict[str, Any]]:
    """Write the lab's ``plots/NAME``, config.json, metrics.json and report, then mark the run
    complete; returns (folder, metrics)."""
    save_figure(figure, run.path / "plots" / name, dpi=90)
    write_json(run.path / "config.json", config)
    write_json(run.path / "metrics.json", metrics)
    write_report(run.path)
    finish(run)
    return run.path, metrics
