import json

import pytest

from rnnkit.errors import InputError
from rnnkit.experiments.long_range import LongRangeConfig, long_range_table, run_long_range

TINY = dict(length=6, steps=4, batch_size=4, hidden_size=4, eval_every=2, test_size=8)


@pytest.mark.parametrize("task", ["adding", "copy"])
def test_run_writes_curves_per_cell_and_the_plot(tmp_path, task):
    config = LongRangeConfig(task=task, cells="rnn,lstm", **TINY)
    run_dir, metrics = run_long_range(config, tmp_path / "run")
    assert {"COMPLETE", "config.json", "metrics.json"} <= {p.name for p in run_dir.iterdir()}
    assert (run_dir / "plots" / "learning_curves.png").read_bytes()[:4] == b"\x89PNG"
    written = json.loads((run_dir / "metrics.json").read_text())
    assert written["curves"]["rnn"]["train"][0] is None  # no training loss at step 0
    assert written["curves"]["rnn"]["test"] == metrics["curves"]["rnn"]["test"]
    saved = json.loads((run_dir / "config.json").read_text())
    assert saved["cells"] == ["rnn", "lstm"] and saved["task"] == task
    assert list(metrics["metrics"]) == list(metrics["curves"]) == ["rnn", "lstm"]
    for name, m in metrics["metrics"].items():
        curve = metrics["curves"][name]
        assert curve["steps"] == [0, 2, 4]
        assert m["final"] == curve["test"][-1] and m["best"] == min(curve["test"])
    assert metrics["metrics"]["lstm"]["lr"] == 1e-2  # the contender's own
    table = long_range_table(metrics)
    assert f"{task} T=6" in table and "lstm" in table.splitlines()[-1]


def test_every_cell_is_scored_on_the_same_test_set(tmp_path):
    # two copies of one contender: same seed, same batches, so the very same curve
    config = LongRangeConfig(cells=["gru"], **TINY)
    _, first = run_long_range(config, tmp_path / "a")
    _, second = run_long_range(LongRangeConfig(cells=["rnn", "gru"], **TINY), tmp_path / "b")
    assert first["curves"]["gru"] == second["curves"]["gru"]


@pytest.mark.parametrize(
    "change,message",
    [
        (dict(cells="rnn,lstn"), "unknown cell 'lstn'"),
        (dict(length=1), "--length 1: T must be an integer of at least 2"),
        (dict(steps=0), "--steps 0: train for at least 1 step"),
        (dict(eval_every=0), "--eval-every 0: must be at least 1"),
        (dict(task="add"), "task 'add' is not known"),
        (dict(device="tpu"), "--device 'tpu' is not known"),
    ],
)
def test_bad_settings_write_nothing(tmp_path, change, message):
    config = LongRangeConfig(**{**TINY, **change})
    with pytest.raises(InputError, match=message):
        run_long_range(config, tmp_path / "run")
    assert not (tmp_path / "run").exists()
