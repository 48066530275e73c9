"""``rnnkit export``: write a trained run's model as ONNX or TorchScript for deployment."""

from __future__ import annotations

from pathlib import Path

import typer


def export(
    run: Path = typer.Option(..., help="A run folder written by 'rnnkit forecast train', "
                             "'rnnkit classify train' or 'rnnkit tag train'."),
    fmt: str = typer.Option("onnx", "--format", help="onnx or torchscript."),
) -> None:
    """Write DIR/model.onnx (or model.torchscript.pt) and DIR/export.json.

    A forecast model takes raw values (scaling is inside it) shaped (batch, lookback,
    columns) and returns (batch, horizon, targets); a classify model takes token ids (batch,
    time) and lengths (batch,) and returns class probabilities (batch, classes), the text
    tokenized in Python; a tag model takes word ids (batch, time), character ids (batch, time,
    letters; not with --char-features none), lengths (batch,) and, for a run with
    --features, feature ids (batch, time, columns), and returns the best tag of every token
    (batch, time), decoded inside the model (Viterbi through the CRF, or the argmax).

    export.json names the inputs, outputs and columns, and says how to build each input
    from the text with the run's vocab.json (and tokenizer.json for classify).

    Example: rnnkit export --run runs/forecast-x --format onnx

    A tagger: rnnkit export --run runs/chunk --format torchscript
    """
    from rnnkit.tasks.export import export_run

    typer.echo(f"model written to {export_run(run, fmt)}")
