"""``--resume`` for the text groups: a run stopped after an epoch and resumed ends exactly
like the uninterrupted run (the forecast group's SIGKILL test is tests/cli/test_forecast_resume)."""

import csv
import json

import pytest

from rnnkit.cli.main import main
from rnnkit.train import fit as fit_module

from .test_classify import files as files  # noqa: F401 (fixtures)
from .test_translate import corpus as corpus  # noqa: F401
from .test_translate import train_args


class Interrupted(Exception):
    """Stands for a crash: raised right after the checkpoint of epoch ``after`` is written."""


def interrupt_after(monkeypatch, after):
    save = fit_module.save_checkpoint

    def save_then_stop(folder, checkpoint):
        save(folder, checkpoint)
        if checkpoint.epoch == after:
            raise Interrupted

    monkeypatch.setattr(fit_module, "save_checkpoint", save_then_stop)


def same_run(resumed, reference):
    assert (resumed / "COMPLETE").exists() and not (resumed / "checkpoint").exists()
    assert (resumed / "model.safetensors").read_bytes() == \
        (reference / "model.safetensors").read_bytes()
    got, expected = (json.loads((d / "metrics.json").read_text()) for d in (resumed, reference))
    got["training"].pop("seconds"), expected["training"].pop("seconds")
    assert got == expected
    assert got["training"]["epochs_run"] == 3
    # the per-epoch log (Lightning's CSV logger) holds every epoch, those before the resume too
    logs = [list(csv.DictReader((d / "logs" / "metrics.csv").open())) for d in (resumed, reference)]
    assert [row["step"] for row in logs[0]] == [row["step"] for row in logs[1]] == ["1", "2", "3"]
    assert [row["train_loss"] for row in logs[0]] == [row["train_loss"] for row in logs[1]]


def classify_args(files, out):
    train, dev = files
    return ["classify", "train", "--train", str(train), "--dev", str(dev), "--embedding-dim",
            "8", "--hidden-size", "8", "--epochs", "3", "--patience", "5", "--lr", "0.01",
            "--dropout", "0.2", "--device", "cpu", "--quiet", "--out", str(out)]


def test_classify_resumed_after_an_epoch_matches_the_uninterrupted_run(
        files, tmp_path, monkeypatch, capsys):  # noqa: F811
    assert main(classify_args(files, tmp_path / "reference")) == 0
    with monkeypatch.context() as patch:
        interrupt_after(patch, 1)
        with pytest.raises(Interrupted):
            main(classify_args(files, tmp_path / "run"))
    assert not (tmp_path / "run" / "COMPLETE").exists()
    assert main(["classify", "predict", "--run", str(tmp_path / "run"), "fine"]) == 2
    assert "incomplete" in capsys.readouterr().err
    assert main(["classify", "train", "--resume", str(tmp_path / "run"), "--quiet"]) == 0
    same_run(tmp_path / "run", tmp_path / "reference")
    assert main(["classify", "train", "--resume", str(tmp_path / "run")]) == 2
    assert "that run is complete" in capsys.readouterr().err


def test_translate_resumed_after_an_epoch_matches_the_uninterrupted_run(
        corpus, tmp_path, monkeypatch, capsys):  # noqa: F811
    args = ["--epochs", "3", "--patience", "5", "--dropout", "0.2"]
    assert main(train_args(corpus, tmp_path / "reference", *args)) == 0
    with monkeypatch.context() as patch:
        interrupt_after(patch, 2)
        with pytest.raises(Interrupted):
            main(train_args(corpus, tmp_path / "run", *args))
    assert not (tmp_path / "run" / "COMPLETE").exists()
    assert main(["translate", "train", "--resume", str(tmp_path / "run"), "--quiet"]) == 0
    same_run(tmp_path / "run", tmp_path / "reference")


def test_text_groups_say_what_is_missing(tmp_path, capsys):
    assert main(["classify", "train", "--dev", "x.tsv"]) == 2
    assert "error: --train FILE is required (or --resume DIR" in capsys.readouterr().err
    assert main(["translate", "train", "--src", "a", "--tgt", "b"]) == 2
    assert "--valid-src FILE and --valid-tgt FILE are required" in capsys.readouterr().err
    assert main(["translate", "train", "--resume", str(tmp_path / "nothing")]) == 2
    assert "no such run folder" in capsys.readouterr().err


def test_caption_and_generate_resumed_after_an_epoch_match_the_uninterrupted_run(
        tmp_path, monkeypatch, capsys):
    text = tmp_path / "t.txt"
    text.write_text("a dog runs.\na cat sits on a mat.\n" * 30)
    groups = {
        "caption": ["caption", "train", "--dataset", "digits", "--train-scenes", "48",
                    "--valid-scenes", "8", "--test-scenes", "8", "--channels", "4,8",
                    "--hidden-size", "12", "--embedding-dim", "8", "--patience", "5"],
        "generate": ["generate", "train", "--text", str(text), "--hidden-size", "12",
                     "--layers", "1", "--seq-length", "16", "--patience", "5", "--prompt",
                     "a "],
    }
    for group, args in groups.items():
        common = [*args, "--epochs", "3", "--device", "cpu", "--quiet"]
        reference, run = tmp_path / f"{group}-reference", tmp_path / f"{group}-run"
        assert main([*common, "--out", str(reference)]) == 0
        with monkeypatch.context() as patch:
            interrupt_after(patch, 2)
            with pytest.raises(Interrupted):
                main([*common, "--out", str(run)])
        assert not (run / "COMPLETE").exists()
        assert main([group, "train", "--resume", str(run), "--quiet"]) == 0
        same_run(run, reference)
    assert main(["generate", "train", "--epochs", "1"]) == 2
    assert "--text FILE is required" in capsys.readouterr().err
