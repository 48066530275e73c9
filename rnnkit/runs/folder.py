"""A run folder's life: created (with rnnkit's own marker) by the main process only, resumed
from its checkpoint when training was interrupted, finished by marking it complete.

Every file in it is written atomically (`rnnkit.io.files`); ``COMPLETE`` is written last, so a
folder without it is an interrupted or crashed run. The marker file written when rnnkit
creates the folder is the only licence for ``--force`` to replace it: rnnkit never deletes a
folder it did not create.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rnnkit.errors import InputError
from rnnkit.io.files import read_json, write_bytes
from rnnkit.train.checkpoint import has_any_checkpoint
from rnnkit.train.distributed import is_main_process

MARKER = ".rnnkit-run"  # written first, when rnnkit creates the folder
COMPLETE = "COMPLETE"  # written last, when everything else is in place
CHECKPOINT = "checkpoint"  # the resume checkpoint's folder, removed once the run is complete


@dataclass(frozen=True)
class Run:
    """A run folder as one process of a training command sees it.

    ``path`` is None in the other processes of a new distributed run (they never write and
    need no folder); ``writes`` is True in the main process only, the one rule every group
    follows for writing, printing and finishing.
    """

    path: Path | None
    writes: bool

    @property
    def checkpoint(self) -> Path | None:
        """Where the resume checkpoint is kept (None: no folder in this process)."""
        return None if self.path is None else self.path / CHECKPOINT


def is_run_folder(path: Path) -> bool:
    """Whether rnnkit created the folder ``path`` (it holds the marker)."""
    return (Path(path) / MARKER).is_file()


def _new_path(out: Path | None, group: str, root: Path) -> Path:
    if out is not None:
        return Path(out)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path, suffix = root / f"{group}-{stamp}", 1
    while path.exists():
        suffix += 1
        path = root / f"{group}-{stamp}-{suffix}"
    return path


def start_run(out: Path | None, group: str, *, force: bool = False, resume: bool = False,
              root: Path = Path("runs")) -> Run:
    """The run folder of a training command, created with its marker by the main process.

    ``out`` None means ``runs/<group>-<timestamp>``. An existing non-empty ``out`` is refused
    (`InputError`) unless ``force`` and rnnkit created it (it has the marker): that folder is
    then replaced. Any other folder is never touched. With ``resume`` the folder of an
    interrupted run is continued (see `resume_config`); every process sees its path, since
    every process reads the checkpoint. Call this only once the input is validated, so bad
    input leaves nothing behind.
    """
    main = is_main_process()
    if resume:
        resume_config(Path(out))
        return Run(Path(out), main)
    if not main:
        return Run(None, False)
    path = _new_path(out, group, root)
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        if not (force and is_run_folder(path)):
            why = ("it was not created by rnnkit (no marker file), so --force leaves it alone"
                   if force else "pass --force to replace a previous rnnkit run")
            raise InputError(f"--out {path} already exists and is not empty; choose a new "
                             f"folder or remove it yourself ({why})")
        shutil.rmtree(path)
    write_bytes(path / MARKER, f"rnnkit {group} run\n".encode())
    return Run(path, True)


def finish(run: Run) -> None:
    """Mark ``run`` complete: drop its resume checkpoint (the finished run needs none), then
    write ``COMPLETE``, the folder's last file. Only the main process does anything."""
    if not run.writes:
        return
    shutil.rmtree(run.checkpoint, ignore_errors=True)
    write_bytes(run.path / COMPLETE, b"")


def is_complete(path: Path) -> bool:
    """Whether a run folder was fully written."""
    return (Path(path) / COMPLETE).is_file()


def _config(path: Path) -> dict[str, Any]:
    config = read_json(path / "config.json")
    if not isinstance(config, dict):
        raise InputError(f"{path / 'config.json'}: malformed (not a JSON object)")
    return config


def resume_config(path: Path) -> dict[str, Any]:
    """The config.json of an interrupted run that ``--resume`` can continue; an `InputError`
    saying why when it cannot (no folder, a complete run, no checkpoint yet)."""
    path = Path(path)
    if not path.is_dir():
        raise InputError(f"--resume {path}: no such run folder")
    if is_complete(path):
        raise InputError(f"--resume {path}: that run is complete; nothing to resume")
    if not has_any_checkpoint(path / CHECKPOINT):
        raise InputError(f"--resume {path}: no checkpoint (it stopped before its first epoch "
                         "ended); start the training again")
    return _config(path)


def load_config(path: Path, group: str, keys: set[str]) -> tuple[dict[str, Any], str]:
    """The config.json of a complete ``group`` run, checked: the folder exists, is complete,
    was written by that group and has no entries but ``keys`` (and ``group``, ``command``):
    a tampered or foreign file is refused. Returns (config, its path as text for messages)."""
    path = Path(path)
    if not path.is_dir():
        raise InputError(f"--run {path}: no such run folder")
    if not is_complete(path):
        raise InputError(f"--run {path} is incomplete (training did not finish writing it)")
    config = _config(path)
    where = str(path / "config.json")
    if config.get("group") != group:
        found = config.get("group")
        hint = f"it is a {found} run: use 'rnnkit {found} ...'" if isinstance(found, str) \
            else "it was not written by 'rnnkit ... train'"
        raise InputError(f"--run {path} is not a {group} run; {hint}")
    unknown = sorted(set(config) - keys - {"group", "command"})
    if unknown:
        raise InputError(f"{where}: unknown keys {unknown}; the file was not written by rnnkit")
    return config, where
