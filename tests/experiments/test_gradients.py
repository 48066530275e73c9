import json

import pytest

from rnnkit.errors import InputError
from rnnkit.experiments.gradients import GradientsConfig, gradients_table, run_gradients


def test_run_maps_each_cell_to_its_figures(tmp_path):
    config = GradientsConfig(
        cells="rnn,lstm", length=12, steps=3, batch_size=4, hidden_size=6, probe_size=8
    )
    run_dir, metrics = run_gradients(config, tmp_path / "run")
    assert json.loads((run_dir / "metrics.json").read_text()) == metrics
    assert (run_dir / "plots" / "gradient_flow.png").read_bytes()[:4] == b"\x89PNG"
    assert list(metrics) == ["rnn", "lstm"]
    for m in metrics.values():
        for figure in ("first_last_ratio", "test_mse", "gradient_norm", "recurrent_matrices"):
            assert set(m[figure]) == {"init", "trained"}
        init = m["gradient_norm"]["init"]
        assert len(init) == 12
        assert m["first_last_ratio"]["init"] == pytest.approx(init[0] / init[-1])
    rnn, lstm = metrics["rnn"], metrics["lstm"]
    assert list(rnn["recurrent_matrices"]["init"]) == ["W_hh"]
    assert list(lstm["recurrent_matrices"]["init"]) == ["i", "f", "g", "o"]
    assert set(lstm["gates"]["trained"]) == {"i", "f", "o"} and "gates" not in rnn
    sigma = rnn["recurrent_matrices"]["init"]["W_hh"]["sigma_max"]
    assert rnn["bound_first_last"]["init"] == pytest.approx(sigma**11)
    assert rnn["first_last_ratio"]["init"] <= rnn["bound_first_last"]["init"]
    assert "lstm" in gradients_table(metrics)


def test_bad_settings_write_nothing(tmp_path):
    with pytest.raises(InputError, match="--probe-size 0: measure on at least 1 sequence"):
        run_gradients(GradientsConfig(probe_size=0), tmp_path / "run")
    with pytest.raises(InputError, match="--cells ''"):
        run_gradients(GradientsConfig(cells=""), tmp_path / "run")
    assert not (tmp_path / "run").exists()
