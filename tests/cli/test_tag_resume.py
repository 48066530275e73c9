import json

import pytest

from rnnkit.cli.main import main

SENTENCES = [["EU B-ORG", "rejects O", "German B-MISC", "call O"],
             ["Peter B-PER", "Blackburn I-PER", "visits O", "Paris B-LOC"],
             ["BRUSSELS B-LOC", "says O", "EU B-ORG", "1996 O"]]


def args(train, dev, out):
    return ["tag", "train", "--train", str(train), "--dev", str(dev), "--embedding-dim", "8",
            "--hidden-size", "8", "--epochs", "8", "--patience", "100", "--lr", "0.05",
            "--quiet", "--out", str(out)]


@pytest.mark.slow
def test_tag_run_killed_mid_training_resumes_to_identical_weights(tmp_path, capsys,
                                                                   kill_after_epoch):
    train, dev = tmp_path / "train.txt", tmp_path / "dev.txt"
    train.write_text("\n\n".join("\n".join(s) for s in SENTENCES * 60) + "\n")
    dev.write_text("\n\n".join("\n".join(s) for s in SENTENCES) + "\n")
    reference = tmp_path / "reference"
    assert main(args(train, dev, reference)) == 0
    capsys.readouterr()

    killed = tmp_path / "killed"
    epochs_done = kill_after_epoch(args(train, dev, killed), killed)
    assert 2 <= epochs_done < 8 and not (killed / "COMPLETE").exists()
    assert main(["tag", "predict", "--run", str(killed), "EU says"]) == 2
    assert "is incomplete" in capsys.readouterr().err

    assert main(["tag", "train", "--resume", str(killed), "--quiet", "--json"]) == 0
    resumed = json.loads(capsys.readouterr().out)
    assert (killed / "COMPLETE").exists() and not (killed / "checkpoint").exists()
    assert (killed / "model.safetensors").read_bytes() == \
        (reference / "model.safetensors").read_bytes()
    expected = json.loads((reference / "metrics.json").read_text())
    assert resumed["f1"] == expected["f1"]
    assert resumed["training"]["history"] == expected["training"]["history"]
