"""Options shared by every training command: how many processes train (Lightning's DDP)."""

from __future__ import annotations

import typer

DEVICES = typer.Option(1, help="Training processes per machine: GPUs, or CPU processes "
                               "(more than 1: distributed data-parallel, see README).")
STRATEGY = typer.Option("auto", help="auto or ddp (one process per device, gradients averaged).")
NUM_NODES = typer.Option(1, help="Machines taking part (each started by torchrun or SLURM).")
