import inspect
import json

from rnnkit.cli import experiment
from rnnkit.cli.main import main
from rnnkit.experiments.mackey_glass import MACKEY_GLASS_ESN, MackeyGlassConfig

SMALL = "--units 80 --train-steps 600 --washout 200 --runs 2 --ridge 1e-8 --device cpu".split()


def test_prints_a_table_and_writes_the_run(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["experiment", "mackey-glass", *SMALL, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "nrmse84 (all runs)" in printed and f"run written to {out}" in printed
    metrics = json.loads((out / "metrics.json").read_text())
    assert len(metrics["runs"]) == 2 and metrics["nrmse84"] > 0


def test_json_prints_the_metrics_as_one_object(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(
        ["experiment", "mackey-glass", *SMALL, "--readout", "linear", "--json", "--out", str(out)]
    )
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads((out / "metrics.json").read_text())
    assert json.loads((out / "config.json").read_text())["esn"]["readout"] == "linear"


def test_bad_input_is_one_red_line_and_exit_code_2(tmp_path, capsys):
    cases = [
        (["--spectral-radius", "0"], "spectral_radius=0.0: must be > 0"),
        (["--leak-rate", "1.5"], "leak_rate=1.5: must be in (0, 1]"),
        (["--leak-rate", "0"], "leak_rate=0.0: must be in (0, 1]"),
        (["--washout", "600"], "--washout 600: must be >= 0 and < the training length"),
        (["--ridge", "-1"], "ridge=-1.0: must be >= 0"),
    ]
    for options, message in cases:
        out = tmp_path / "run"
        assert main(["experiment", "mackey-glass", *SMALL, *options, "--out", str(out)]) == 2
        lines = capsys.readouterr().err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]
        assert not out.exists()


def test_help_has_a_worked_example(capsys):
    assert main(["experiment", "mackey-glass", "--help"]) == 0
    assert "rnnkit experiment mackey-glass --units 400" in capsys.readouterr().out


def test_option_defaults_are_the_library_settings():
    defaults = {
        name: p.default for name, p in inspect.signature(experiment.mackey_glass).parameters.items()
    }
    protocol = MackeyGlassConfig()
    for name in ("units", "spectral_radius", "leak_rate", "ridge", "readout", "seed"):
        assert defaults[name] == getattr(MACKEY_GLASS_ESN, name), name
    for name in ("train_steps", "washout", "free_run", "runs", "seed", "device"):
        assert defaults[name] == getattr(protocol, name), name
