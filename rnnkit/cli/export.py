"""``rnnkit export``: write a trained run's model as ONNX or TorchScript for deployment."""

from __future__ import annotations

from pathlib import Path

import typer


def export(
    run: Path = typer.Option(..., help="A run folder written by 'rnnkit forecast train' or "
                             "'rnnkit classify train'."),
    fmt: str = typer.Option("onnx", "--format", help="onnx or torchscript."),
) -> None:
    """Write DIR/model.onnx (or model.torchscript.pt) and DIR/export.json.

    A forecast model takes raw values (scaling is inside it) shaped (batch, lookback,
    columns) and returns (batch, horizon, targets); a classify model takes token ids (batch,
    time) and lengths (batch,) and returns class probabilities (batch, classes), the text
    tokenized in Python. export.json names the inputs, outputs and columns.

    Example: rnnkit export --run runs/forecast-x --format onnx
    """
    from rnnkit.tasks.export import export_run

    typer.echo(f"model written to {export_run(run, fmt)}")
