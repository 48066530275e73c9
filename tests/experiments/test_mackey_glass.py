import json
import math
from dataclasses import asdict, replace

import pytest

from rnnkit.errors import InputError
from rnnkit.experiments.mackey_glass import (
    MACKEY_GLASS_ESN,
    MackeyGlassConfig,
    mackey_glass_table,
    nrmse84,
    run_mackey_glass,
)
from rnnkit.reservoir import ESNConfig
from rnnkit.runs import is_complete

SMALL = MackeyGlassConfig(train_steps=800, washout=200, runs=4, warmup=300, device="cpu")
# at this size the pseudo-inverse (ridge 0) overfits and the closed loop diverges: use a ridge
SMALL_ESN = replace(MACKEY_GLASS_ESN, units=100, connectivity=0.05, ridge=1e-8)


def test_protocol_measures_a_small_closed_loop_error():
    result = nrmse84(SMALL, SMALL_ESN)
    metrics = result.metrics
    assert len(metrics["runs"]) == 4 and metrics["diverged_runs"] == 0
    errors = [e**2 for e in metrics["runs"]]
    assert math.isclose(metrics["nrmse84"], math.sqrt(sum(errors) / 4), rel_tol=1e-9)
    assert metrics["nrmse84"] < 0.05  # a 100-unit reservoir with 600 fitted steps
    assert metrics["one_step_nrmse"] < 1e-3
    assert result.truth.shape == (4, 300 + 84) and result.prediction.shape == (4, 84)
    # the free run starts where teacher forcing stops: its first value is close to the truth
    assert (result.prediction[:, 0] - result.truth[:, 300]).abs().max() < 0.01


def test_diverged_runs_are_counted_and_make_nrmse84_infinite(tmp_path):
    _, metrics = run_mackey_glass(SMALL, replace(SMALL_ESN, ridge=0.0), tmp_path / "run")
    assert metrics["diverged_runs"] == 4 and metrics["nrmse84"] == math.inf
    saved = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert saved["nrmse84"] is None  # JSON has no infinity


def test_run_folder_holds_config_metrics_and_plot(tmp_path):
    out = tmp_path / "run"
    run_dir, metrics = run_mackey_glass(SMALL, SMALL_ESN, out)
    assert run_dir == out and is_complete(out)
    config = json.loads((out / "config.json").read_text())
    assert MackeyGlassConfig(**config["experiment"]) == SMALL
    assert ESNConfig(**config["esn"]) == SMALL_ESN
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["nrmse84"] == pytest.approx(metrics["nrmse84"])
    assert len(saved["runs"]) == 4
    assert (out / "plots" / "free_run.png").stat().st_size > 10_000
    assert "nrmse84 (all runs)" in mackey_glass_table(metrics)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (dict(washout=800), "--washout 800: must be >= 0 and < the training length"),
        (dict(runs=0), "--runs 0: must be >= 1"),
        (dict(free_run=0), "--free-run 0: must be >= 1"),
        (dict(tau=17.03), "tau=17.03: must be a positive multiple"),
    ],
)
def test_bad_protocol_settings_write_nothing(tmp_path, changes, message):
    out = tmp_path / "run"
    with pytest.raises(InputError) as err:
        run_mackey_glass(replace(SMALL, **changes), SMALL_ESN, out)
    assert message in str(err.value)
    assert not out.exists()


def test_bad_esn_settings_write_nothing(tmp_path):
    out = tmp_path / "run"
    with pytest.raises(InputError, match="spectral_radius=-0.5: must be > 0"):
        run_mackey_glass(SMALL, replace(SMALL_ESN, spectral_radius=-0.5), out)
    with pytest.raises(InputError, match="one value per step"):
        nrmse84(SMALL, replace(SMALL_ESN, input_size=2, output_size=2))
    assert not out.exists()


def test_config_round_trips_through_asdict():
    assert MackeyGlassConfig(**asdict(SMALL)) == SMALL
