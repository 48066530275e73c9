import numpy as np
import pandas as pd

from rnnkit.models.forecaster import Forecaster, ForecasterConfig
from rnnkit.tasks.forecast import DataSpec, ForecastTask
from rnnkit.tasks.workflow import train
from rnnkit.train.settings import TrainSettings


def write(path, values):
    frame = pd.DataFrame({"date": pd.date_range("2021-01-01", periods=len(values), freq="D")
                          .strftime("%Y-%m-%d"), "y": values})
    frame.to_csv(path, index=False)
    return str(path)


def small():
    return Forecaster(ForecasterConfig(hidden_size=8, num_layers=1, lookback=10),
                      TrainSettings(epochs=2, batch_size=16, patience=None))


def test_test_data_changes_nothing_learned_and_seeds_reproduce(tmp_path):
    rng = np.random.default_rng(0)
    values = np.cumsum(rng.normal(size=150)) + 50
    train_csv = write(tmp_path / "train.csv", values[:120])
    test_a = tmp_path / "a.csv"
    test_b = tmp_path / "b.csv"
    pd.DataFrame({"date": pd.date_range("2021-05-01", periods=30, freq="D").strftime("%Y-%m-%d"),
                  "y": values[120:]}).to_csv(test_a, index=False)
    pd.DataFrame({"date": pd.date_range("2021-05-01", periods=30, freq="D").strftime("%Y-%m-%d"),
                  "y": values[120:] * 3 + 100}).to_csv(test_b, index=False)
    weights = []
    for name, test in (("a", test_a), ("a2", test_a), ("b", test_b)):
        spec = DataSpec(csv=train_csv, target=["y"], test=str(test))
        outcome = train(ForecastTask(spec, small()), tmp_path / name, progress=False)
        weights.append((tmp_path / name / "model.safetensors").read_bytes())
        assert (tmp_path / name / "scaler.json").read_text() == \
            (tmp_path / "a" / "scaler.json").read_text()
        assert outcome.task.evaluation.origins.tolist() == list(range(119, 149))
    assert weights[0] == weights[1]  # same seed, same weights: reproducible
    assert weights[0] == weights[2]  # another test file: nothing learned changes
