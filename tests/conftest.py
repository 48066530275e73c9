import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

torch.set_num_threads(1)


@pytest.fixture
def data_dir() -> Path:
    """The shared real datasets; tests needing them skip with the reason when unset."""
    root = os.environ.get("RNNKIT_DATA")
    if not root:
        pytest.skip("RNNKIT_DATA is not set: it must point at the shared datasets folder")
    return Path(root)


def _kill_after_epoch(command: list[str], run_dir: Path, epoch: int = 2) -> int:
    """Run ``rnnkit COMMAND`` (its run folder ``run_dir``) in a new process, SIGKILL it once its
    checkpoint holds ``epoch`` epochs (at most 120 s), and return the epochs it holds then."""
    process = subprocess.Popen([sys.executable, "-m", "rnnkit.cli.main", *command],
                               env={**os.environ, "PYTHONUNBUFFERED": "1"},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    index = run_dir / "checkpoint" / "checkpoint.json"
    deadline = time.time() + 120
    while time.time() < deadline:
        if index.is_file() and json.loads(index.read_text())["epoch"] >= epoch:
            break
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    return json.loads(index.read_text())["epoch"]


@pytest.fixture
def kill_after_epoch():
    """`_kill_after_epoch`: interrupt a training command the hard way, mid-run."""
    return _kill_after_epoch
