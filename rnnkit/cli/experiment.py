"""``rnnkit experiment ...``: the labs (long-range tasks, remedies side by side, reservoirs)."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="Experiments that make the vanishing gradient and its remedies visible.",
    no_args_is_help=True,
)
