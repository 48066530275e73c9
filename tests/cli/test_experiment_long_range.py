import json

import pytest

from rnnkit.cli.main import main

TINY = ["--steps", "2", "--batch-size", "4", "--hidden-size", "4", "--eval-every", "1",
        "--test-size", "8"]


@pytest.mark.parametrize("task", ["adding", "copy"])
def test_long_range_end_to_end(tmp_path, capsys, task):
    out = tmp_path / "run"
    args = ["experiment", task, "--length", "8", "--cells", "rnn,irnn,lstm,gru", *TINY,
            "--out", str(out)]
    assert main(args) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"{task} T=8: baseline test")
    assert [line.split()[0] for line in lines[2:6]] == ["rnn", "irnn", "lstm", "gru"]
    assert lines[-1] == f"run written to {out}"
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["task"] == task and list(metrics["metrics"]) == ["rnn", "irnn", "lstm", "gru"]
    assert (out / "plots" / "learning_curves.png").is_file() and (out / "COMPLETE").is_file()


def test_adding_json(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["experiment", "adding", "--length", "5", "--cells", "gru", *TINY, "--json",
                 "--out", str(out), "--lr", "0.01"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["baseline"] == pytest.approx(1 / 6) and printed["metrics"]["gru"]["lr"] == 0.01


def test_exploding_end_to_end(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["experiment", "exploding", "--length", "10", "--steps", "3", "--hidden-size",
                 "8", "--batch-size", "4", "--radius", "2", "--out", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("W_hh spectral radius 2,")
    assert [line.split()[0] for line in lines[2:4]] == ["no_clip", "clip"]
    assert (out / "plots" / "exploding.png").is_file() and (out / "COMPLETE").is_file()


@pytest.mark.parametrize(
    "args,message",
    [
        (["adding", "--cells", "lstm,esn"], "--cells lstm,esn: unknown cell 'esn'"),
        (["copy", "--length", "1"], "--length 1: T must be an integer of at least 2"),
        (["adding", "--steps", "0"], "--steps 0: train for at least 1 step"),
        (["adding", "--steps", "-3"], "--steps -3: train for at least 1 step"),
        (["exploding", "--steps", "0"], "--steps 0: train for at least 1 step"),
        (["exploding", "--cell", "gru"], "--cell 'gru': choose rnn or rnn_relu"),
        (["exploding", "--length", "1"], "--length 1"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_nothing_written(tmp_path, capsys, args, message):
    out = tmp_path / "run"
    assert main(["experiment", *args, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


@pytest.mark.parametrize(
    "command,example",
    [
        ("adding", "rnnkit experiment adding --length 200 --cells rnn,irnn,lstm,gru"),
        ("copy", "rnnkit experiment copy --length 100"),
        ("exploding", "rnnkit experiment exploding --cell rnn --radius 1.5"),
    ],
)
def test_help_has_a_worked_example(capsys, command, example):
    assert main(["experiment", command, "--help"]) == 0
    assert example in capsys.readouterr().out
