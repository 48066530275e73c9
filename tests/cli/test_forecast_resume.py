import json

import numpy as np
import pandas as pd
import pytest

from rnnkit.cli.main import main


@pytest.fixture
def series_csv(tmp_path):
    t = np.arange(2000)
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"date": pd.date_range("2000-01-01", periods=2000, freq="D")
                          .strftime("%Y-%m-%d"),
                          "y": np.sin(2 * np.pi * t / 30) + 0.1 * rng.normal(size=2000)})
    path = tmp_path / "y.csv"
    frame.to_csv(path, index=False)
    return path


def args(csv, out):
    return ["forecast", "train", "--csv", str(csv), "--target", "y", "--lookback", "30",
            "--hidden-size", "24", "--layers", "2", "--dropout", "0.1", "--epochs", "8",
            "--patience", "100", "--quiet", "--out", str(out)]


@pytest.mark.slow
def test_run_killed_mid_epoch_resumes_to_identical_weights(series_csv, tmp_path, capsys,
                                                           kill_after_epoch):
    reference = tmp_path / "reference"
    assert main(args(series_csv, reference)) == 0
    capsys.readouterr()

    killed = tmp_path / "killed"
    epochs_done = kill_after_epoch(args(series_csv, killed), killed)
    assert 2 <= epochs_done < 8 and not (killed / "COMPLETE").exists()
    assert main(["forecast", "predict", "--run", str(killed)]) == 2  # reported incomplete
    assert "is incomplete" in capsys.readouterr().err

    assert main(["forecast", "train", "--resume", str(killed), "--quiet", "--json"]) == 0
    resumed = json.loads(capsys.readouterr().out)
    assert (killed / "COMPLETE").exists() and not (killed / "checkpoint").exists()
    assert (killed / "model.safetensors").read_bytes() == \
        (reference / "model.safetensors").read_bytes()
    expected = json.loads((reference / "metrics.json").read_text())
    assert resumed["metrics"] == expected["metrics"]
    assert resumed["training"]["history"] == expected["training"]["history"]


def test_resume_refuses_what_it_cannot_resume(series_csv, tmp_path, capsys):
    assert main(["forecast", "train", "--resume", str(tmp_path / "none")]) == 2
    assert "no such run folder" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "config.json").write_text("{}")
    assert main(["forecast", "train", "--resume", str(tmp_path / "empty")]) == 2
    assert "no checkpoint" in capsys.readouterr().err


def test_force_replaces_only_run_folders(series_csv, tmp_path, capsys):
    out = tmp_path / "run"
    small = ["--epochs", "1", "--hidden-size", "4", "--layers", "1"]
    assert main([*args(series_csv, out), *small]) == 0
    assert main([*args(series_csv, out), *small]) == 2
    assert "pass --force" in capsys.readouterr().err
    assert main([*args(series_csv, out), *small, "--force"]) == 0
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    assert main([*args(series_csv, mine), *small, "--force"]) == 2
    assert "not created by rnnkit" in capsys.readouterr().err
    assert (mine / "notes.txt").read_text() == "keep"
