import json

import numpy as np
import pandas as pd

from rnnkit.cli.main import main


def test_a_process_other_than_the_first_trains_but_writes_and_prints_nothing(
        tmp_path, monkeypatch, capsys):
    """What the second process of `--devices 2` does (tests/train/test_distributed.py runs two
    real processes): RANK=1 as torchrun sets it; here it trains alone."""
    t = np.arange(300)
    pd.DataFrame({"y": np.sin(2 * np.pi * t / 25)}).to_csv(tmp_path / "y.csv", index=False)
    args = ["forecast", "train", "--csv", str(tmp_path / "y.csv"), "--target", "y",
            "--lookback", "12", "--hidden-size", "4", "--layers", "1", "--epochs", "1",
            "--device", "cpu", "--quiet", "--json", "--out", str(tmp_path / "run")]
    monkeypatch.setenv("RANK", "1")
    assert main(args) == 0
    assert capsys.readouterr().out == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["y.csv"]
    monkeypatch.setenv("RANK", "0")
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["run"] == str(tmp_path / "run")
    assert (tmp_path / "run" / "COMPLETE").exists()


def test_bad_process_settings_are_refused_before_anything_is_written(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["forecast", "train", "--devices", "0", "--out", str(out)]) == 2
    assert "--devices 0; expected at least 1" in capsys.readouterr().err
    assert main(["classify", "train", "--strategy", "ddp_spawn", "--out", str(out)]) == 2
    assert "--strategy 'ddp_spawn' is not known" in capsys.readouterr().err
    assert main(["translate", "train", "--num-nodes", "0", "--out", str(out)]) == 2
    assert "--num-nodes 0" in capsys.readouterr().err
    assert not out.exists()


def test_caption_and_generate_other_processes_write_nothing(tmp_path, monkeypatch, capsys):
    text = tmp_path / "t.txt"
    text.write_text("a dog runs.\na cat sits.\n" * 20)
    runs = {
        "generate": ["generate", "train", "--text", str(text), "--hidden-size", "8",
                     "--layers", "1", "--epochs", "1", "--seq-length", "16"],
        "caption": ["caption", "train", "--dataset", "digits", "--train-scenes", "16",
                    "--valid-scenes", "4", "--test-scenes", "4", "--channels", "4",
                    "--hidden-size", "8", "--epochs", "1"],
    }
    for group, args in runs.items():
        out = tmp_path / group
        common = [*args, "--device", "cpu", "--quiet", "--json", "--out", str(out)]
        monkeypatch.setenv("RANK", "1")
        assert main(common) == 0
        assert capsys.readouterr().out == "" and not out.exists()
        monkeypatch.setenv("RANK", "0")
        assert main(common) == 0
        assert json.loads(capsys.readouterr().out)["run"] == str(out)
        assert (out / "COMPLETE").exists()
    assert main(["caption", "train", "--dataset", "digits", "--devices", "0"]) == 2
    assert "--devices 0" in capsys.readouterr().err
