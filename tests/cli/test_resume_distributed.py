"""``--resume`` with two training processes (Lightning's DDP on CPU) through the real CLI:
every process trains, only the main one writes, finishes and prints."""

import json
import subprocess
import sys

import pytest

from rnnkit.cli.main import main

from .test_resume_text import Interrupted, interrupt_after


@pytest.mark.slow
def test_a_generate_run_resumed_on_two_processes_is_written_once(tmp_path, monkeypatch):
    text = tmp_path / "text.txt"
    text.write_text("A dog runs on the grass.\nA cat sleeps on a mat.\n" * 40)
    out = tmp_path / "run"
    interrupt_after(monkeypatch, 1)
    with pytest.raises(Interrupted):
        main(["generate", "train", "--text", str(text), "--hidden-size", "16", "--layers", "1",
              "--embedding-dim", "8", "--seq-length", "16", "--epochs", "3", "--patience", "5",
              "--device", "cpu", "--quiet", "--out", str(out)])
    assert (out / "checkpoint").is_dir() and not (out / "COMPLETE").exists()
    done = subprocess.run(
        [sys.executable, "-m", "rnnkit.cli.main", "generate", "train", "--resume", str(out),
         "--devices", "2", "--quiet"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    printed = done.stdout.splitlines()
    assert sum(line.startswith("run written to") for line in printed) == 1, done.stdout
    assert sum(line.startswith("validation:") for line in printed) == 1
    assert (out / "COMPLETE").exists() and not (out / "checkpoint").exists()
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["training"]["epochs_run"] == 3
    assert not list(out.rglob("*.tmp"))  # no write was left half-done by a second process
