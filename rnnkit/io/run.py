"""A run folder and its files, each written atomically (temp file in the folder, then rename).

A crash never leaves a half-written file, and a run is marked complete (``COMPLETE``) only
once everything in it was written; readers report runs without the marker as incomplete.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from rnnkit.errors import InputError

COMPLETE = "COMPLETE"
_UMASK = os.umask(0)
os.umask(_UMASK)


def write_bytes(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically: a temp file in the same folder, fsync, rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _jsonable(value: Any) -> Any:
    """Plain JSON values; non-finite floats become null (JSON has no NaN)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy / torch scalars
        return _jsonable(value.item())
    if isinstance(value, Path):
        return str(value)
    return value


def write_json(path: Path, obj: Any) -> Path:
    """Write ``obj`` as indented JSON, atomically."""
    text = json.dumps(_jsonable(obj), indent=2, allow_nan=False) + "\n"
    return write_bytes(path, text.encode())


def read_json(path: Path) -> Any:
    """Read a JSON file of a run; a missing or malformed file is an `InputError` naming it."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path} is missing; is {path.parent} a run folder written by rnnkit?")
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise InputError(f"{path} is not valid JSON ({err}); the run folder is damaged") from err


def save_figure(fig: Any, path: Path, dpi: int = 110) -> Path:
    """Save a matplotlib figure as PNG atomically and close it."""
    import io

    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return write_bytes(path, buffer.getvalue())


def new_run_dir(out: Path | None, group: str, root: Path = Path("runs"),
                force: bool = False) -> Path:
    """The folder for a new run: ``out``, or ``runs/<group>-<timestamp>``.

    An existing non-empty ``out`` is refused, so no run is ever overwritten, unless ``force``
    and it is an rnnkit run folder (it has a config.json), which is then removed; any other
    folder is never removed. The folder is created by the caller's first write, so input
    rejected before then leaves nothing behind.
    """
    if out is None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        out = root / f"{group}-{stamp}"
        suffix = 1
        while out.exists():
            suffix += 1
            out = root / f"{group}-{stamp}-{suffix}"
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        if force and (out / "config.json").is_file():
            import shutil

            shutil.rmtree(out)
            return out
        hint = "" if (out / "config.json").is_file() else " (--force replaces only run folders)"
        raise InputError(
            f"--out {out} already exists and is not empty; choose a new folder, remove it, or "
            f"pass --force to replace a previous run{hint}"
        )
    return out


def mark_complete(run_dir: Path) -> None:
    """Write the run's ``report.html``, then mark the run as fully written (its last file)."""
    from rnnkit.plots.report import write_report

    write_report(run_dir)
    write_bytes(Path(run_dir) / COMPLETE, b"")


def is_complete(run_dir: Path) -> bool:
    """Whether a run folder was fully written."""
    return (Path(run_dir) / COMPLETE).is_file()


def read_run_config(run_dir: Path, group: str, required: str,
                    known: set[str]) -> tuple[dict[str, Any], str]:
    """The config.json of a complete ``group`` run, checked: the folder exists and is
    complete, the file is a JSON object with ``required``, and it has no keys outside
    ``known`` (a tampered or foreign file is refused). Returns (config, its path as text)."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise InputError(f"--run {run_dir}: no such run folder")
    if not is_complete(run_dir):
        raise InputError(f"--run {run_dir} is incomplete (training did not finish writing it)")
    where = str(run_dir / "config.json")
    config = read_json(run_dir / "config.json")
    if not isinstance(config, dict) or required not in config:
        raise InputError(f"{where} has no {required!r} entry; is this a {group} run?")
    unknown = sorted(set(config) - known)
    if unknown:
        raise InputError(f"{where}: unknown keys {unknown}; the file was not written by rnnkit")
    return config, where
