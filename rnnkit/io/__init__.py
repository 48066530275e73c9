"""Runs on disk: atomic files, JSON, safetensors weights; nothing is ever unpickled."""

from rnnkit.io.run import (
    is_complete,
    mark_complete,
    new_run_dir,
    read_json,
    save_figure,
    write_bytes,
    write_json,
)

__all__ = [
    "is_complete",
    "mark_complete",
    "new_run_dir",
    "read_json",
    "save_figure",
    "write_bytes",
    "write_json",
]
