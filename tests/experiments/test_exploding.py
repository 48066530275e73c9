import json
import math

import pytest

from rnnkit.diagnose import spectral_radius
from rnnkit.errors import InputError
from rnnkit.experiments.exploding import (
    ExplodingConfig,
    exploding_table,
    rescale_recurrent_,
    run_exploding,
)
from rnnkit.experiments.models import build_model


def test_rescale_sets_the_spectral_radius():
    model = rescale_recurrent_(build_model("rnn", 2, 1, 16, False, seed=0), 1.7)
    assert spectral_radius(model.rnn.cells["l0"].weight_hh) == pytest.approx(1.7, rel=1e-5)


def test_clipping_bounds_the_gradient_norm(tmp_path):
    config = ExplodingConfig(length=30, steps=40, hidden_size=32, batch_size=16, clip=0.5)
    run_dir, metrics = run_exploding(config, tmp_path / "run")
    assert metrics["spectral_radius"] == pytest.approx(1.5, rel=1e-5)
    clipped, free = metrics["metrics"]["clip"], metrics["metrics"]["no_clip"]
    steps = metrics["history"]["clip"]
    # the raw gradients are far above the threshold; the applied step never is
    assert clipped["max_grad_norm"] > 10 * config.clip
    assert clipped["max_step_norm"] <= config.clip * (1 + 1e-5)
    assert all(s <= config.clip * (1 + 1e-5) for s in steps["step_norm"])
    assert len(steps["loss"]) == 40 and math.isfinite(clipped["final_loss"])
    # without clipping the step is the whole gradient, and it gets huge
    history = metrics["history"]["no_clip"]
    assert history["step_norm"] == pytest.approx(history["grad_norm"])
    assert free["max_step_norm"] > 1e3 * config.clip
    assert json.loads((run_dir / "metrics.json").read_text())["history"]["clip"] == steps
    assert (run_dir / "plots" / "exploding.png").is_file() and (run_dir / "COMPLETE").is_file()
    assert "no_clip" in exploding_table(metrics)


@pytest.mark.parametrize(
    "change,message",
    [
        (dict(cell="lstm"), "--cell 'lstm': choose rnn or rnn_relu"),
        (dict(radius=0.0), "--radius 0.0: the spectral radius must be positive"),
        (dict(clip=0.0), "--clip 0: this experiment compares against clipping"),
        (dict(steps=-1), "--steps -1: train for at least 1 step"),
        (dict(length=1), "--length 1"),
    ],
)
def test_bad_settings_write_nothing(tmp_path, change, message):
    with pytest.raises(InputError, match=message):
        run_exploding(ExplodingConfig(**change), tmp_path / "run")
    assert not (tmp_path / "run").exists()
