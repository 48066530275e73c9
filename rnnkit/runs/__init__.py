"""Run folders: created with rnnkit's marker, resumed, finished (see `rnnkit.runs.folder`)."""

from rnnkit.runs.folder import (
    CHECKPOINT,
    Run,
    finish,
    is_complete,
    is_run_folder,
    load_config,
    resume_config,
    start_run,
)

__all__ = ["CHECKPOINT", "Run", "finish", "is_complete", "is_run_folder", "load_config",
           "resume_config", "start_run"]
