"""``rnnkit report DIR``: (re)generate a run folder's self-contained HTML report."""

from __future__ import annotations

from pathlib import Path

import typer


def report(run: Path = typer.Argument(..., help="A run folder written by rnnkit.")) -> None:
    """Write DIR/report.html: command, metrics beside baselines, every plot, the config.

    Example: rnnkit report runs/forecast-20261126-195611
    """
    from rnnkit.errors import InputError
    from rnnkit.plots.report import write_report

    if not (run / "config.json").is_file():
        raise InputError(f"{run} has no config.json; is it a run folder written by rnnkit?")
    typer.echo(f"report written to {write_report(run)}")
