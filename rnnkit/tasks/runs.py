"""The folder a training command writes: created by the main process only, checkpointed each
epoch, and resumable when training was interrupted. Shared by every command group."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rnnkit.errors import InputError
from rnnkit.io.run import is_complete, new_run_dir, read_json
from rnnkit.train.checkpoint import has_any_checkpoint
from rnnkit.train.distributed import is_main_process

CHECKPOINT = "checkpoint"  # folder of a run's resume checkpoint, removed once it is complete


def training_run_dir(out: Path | None, group: str, force: bool = False,
                     resume: bool = False) -> Path | None:
    """The run folder of a training command: ``out`` when resuming, else a new folder (see
    `new_run_dir`); None in the other processes of a distributed run, which write nothing."""
    if resume:
        return Path(out)
    if not is_main_process():
        return None
    return new_run_dir(out, group, force=force)


def checkpoint_dir(run_dir: Path | None) -> Path | None:
    """Where the resume checkpoint of ``run_dir`` lives (None: no run folder)."""
    return None if run_dir is None else Path(run_dir) / CHECKPOINT


def interrupted_config(run_dir: Path) -> dict[str, Any]:
    """The config.json of an interrupted run that ``--resume`` can continue; an `InputError`
    saying why when it cannot (no folder, a complete run, no checkpoint yet)."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise InputError(f"--resume {run_dir}: no such run folder")
    if is_complete(run_dir):
        raise InputError(f"--resume {run_dir}: that run is complete; nothing to resume")
    if not has_any_checkpoint(run_dir / CHECKPOINT):
        raise InputError(f"--resume {run_dir}: no checkpoint (it stopped before its first epoch "
                         "ended); start the training again")
    config = read_json(run_dir / "config.json")
    if not isinstance(config, dict):
        raise InputError(f"{run_dir / 'config.json'}: malformed (not a JSON object); cannot "
                         "resume this run")
    return config
