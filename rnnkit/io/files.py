"""Files written atomically (a temp file in the same folder, then rename) and read with errors
that name them: a crash never leaves a half-written file."""

from __future__ import annotations

import json
import math
import os
import secrets
from pathlib import Path
from typing import Any

from rnnkit.errors import InputError


def write_bytes(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically: a temp file in the same folder, fsync, rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
    # os.open applies the process umask to 0o666, as a plain open() would; nothing else
    # needs to read or change the umask
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
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
