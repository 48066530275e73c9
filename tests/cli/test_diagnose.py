import json

import pytest

from rnnkit.cli.main import main

TINY = ["--length", "10", "--steps", "2", "--batch-size", "4", "--hidden-size", "4",
        "--probe-size", "8"]


def test_gradients_end_to_end(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["diagnose", "gradients", "--cells", "rnn,irnn,lstm,gru", *TINY,
                 "--out", str(out)]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[0].split() == ["cell", "ratio", "at", "init", "ratio", "trained", "test", "MSE"]
    assert [line.split()[0] for line in lines[1:5]] == ["rnn", "irnn", "lstm", "gru"]
    assert lines[-1] == f"run written to {out}"
    assert "rnn: first/last ratio" in captured.err  # progress goes to stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert list(metrics) == ["rnn", "irnn", "lstm", "gru"]
    assert (out / "plots" / "gradient_flow.png").is_file() and (out / "COMPLETE").is_file()


def test_gradients_json_prints_the_metrics_only(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["diagnose", "gradients", "--cells", "lstm", *TINY, "--json",
                 "--out", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads((out / "metrics.json").read_text())
    assert set(printed["lstm"]["first_last_ratio"]) == {"init", "trained"}


@pytest.mark.parametrize(
    "args,message",
    [
        (["--cells", "rnn,tcn"], "--cells rnn,tcn: unknown cell 'tcn'; choose from"),
        (["--length", "1"], "--length 1: T must be an integer of at least 2"),
        (["--steps", "0"], "--steps 0: train for at least 1 step"),
        (["--device", "gpu"], "--device 'gpu' is not known"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_nothing_written(tmp_path, capsys, args, message):
    out = tmp_path / "run"
    assert main(["diagnose", "gradients", *args, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_existing_run_folder_is_refused(tmp_path, capsys):
    (tmp_path / "keep.txt").write_text("mine")
    assert main(["diagnose", "gradients", *TINY, "--out", str(tmp_path)]) == 2
    assert "already exists and is not empty" in capsys.readouterr().err


def test_help_has_a_worked_example(capsys):
    assert main(["diagnose", "gradients", "--help"]) == 0
    assert "rnnkit diagnose gradients --cells rnn,irnn,lstm,gru --length 100" in (
        capsys.readouterr().out
    )
