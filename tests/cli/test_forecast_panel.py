import json

import numpy as np
import pandas as pd
import pytest

from rnnkit.cli.main import main

H = 6


def sales(n_series=5, length=120, future_rows=0, seed=0):
    """A long table: hourly units per store, driven by a known-future price; ``future_rows``
    rows per store after the observed ones, target empty, price given."""
    rng = np.random.default_rng(seed)
    frames = []
    for k in range(n_series):
        n = length + 4 * k + future_rows
        t = np.arange(n)
        price = rng.uniform(1, 2, n)
        units = 20 + 4 * k + 5 * np.sin(2 * np.pi * t / 24) - 3 * price + rng.normal(0, .5, n)
        frame = pd.DataFrame({"store": f"s{k}", "date": pd.date_range("2024-01-01", periods=n,
                                                                       freq="h"),
                              "units": units, "price": price,
                              "footfall": 100 + 10 * np.sin(2 * np.pi * t / 24),
                              "region": "north" if k % 2 else "south"})
        if future_rows:
            frame.loc[frame.index[-future_rows:], "units"] = np.nan
        frames.append(frame)
    return pd.concat(frames).sample(frac=1.0, random_state=seed)  # rows in any order


def train(csv, out, *extra):
    return main(["forecast", "train", "--csv", str(csv), "--id", "store", "--target", "units",
                 "--horizon", str(H), "--lookback", "24", "--hidden-size", "8", "--layers", "1",
                 "--epochs", "2", "--quiet", "--out", str(out), *extra])


@pytest.fixture(scope="module")
def panel_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("panel")
    csv = folder / "sales.csv"
    sales().to_csv(csv, index=False)
    out = folder / "run"
    assert train(csv, out, "--future", "price", "--static", "region", "--past", "footfall",
                 "--json") == 0
    return csv, out


def test_panel_trains_scores_and_writes_a_run(panel_run, capsys):
    csv, out = panel_run
    assert {"config.json", "model.safetensors", "metrics.json", "predictions.csv",
            "per_series.csv", "report.html", "COMPLETE"} <= {p.name for p in out.iterdir()}
    assert (out / "plots" / "fan-charts.png").is_file()
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["series"] == 5 and metrics["horizon"] == H
    learned = json.loads((out / "config.json").read_text())["learned"]
    assert (learned["past"], learned["future"], learned["levels"]) == (
        ["footfall"], ["price"], {"region": ["north", "south"]})
    assert learned["calendar"] == "h" and learned["n_calendar"] > 0
    assert set(metrics["metrics"]) == {"model", "seasonal_naive", "naive2", "theta", "ets"}
    assert metrics["metrics"]["naive2"]["owa"] == pytest.approx(1.0)
    assert any(w in metrics["verdict"] for w in ("beats", "ties with", "WORSE"))
    table = pd.read_csv(out / "predictions.csv")
    assert list(table.columns) == ["store", "date", "actual", "forecast", "q0.025", "q0.1",
                                   "q0.5", "q0.9", "q0.975"]
    assert len(table) == 5 * H
    data = sales()
    last = data.sort_values("date").groupby("store").tail(H).sort_values(["store", "date"])
    np.testing.assert_allclose(table.sort_values(["store", "date"])["actual"], last["units"])
    # evaluate on the run's own test part gives train's figures
    capsys.readouterr()
    assert main(["forecast", "evaluate", "--run", str(out), "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["scope"] == "held-out"
    assert again["metrics"]["model"]["smape"] == pytest.approx(
        metrics["metrics"]["model"]["smape"])


def test_predict_needs_and_uses_the_known_future_rows(panel_run, tmp_path, capsys):
    _, out = panel_run
    without = tmp_path / "observed.csv"
    sales().to_csv(without, index=False)
    capsys.readouterr()
    assert main(["forecast", "predict", "--run", str(out), "--csv", str(without)]) == 2
    assert "needs 6" in capsys.readouterr().err
    ahead = tmp_path / "ahead.csv"
    sales(future_rows=H).to_csv(ahead, index=False)
    assert main(["forecast", "predict", "--run", str(out), "--csv", str(ahead), "--json"]) == 0
    table = pd.DataFrame(json.loads(capsys.readouterr().out))
    assert len(table) == 5 * H and set(table["store"]) == {f"s{k}" for k in range(5)}
    first = table[table["store"] == "s0"]["date"]
    assert pd.Timestamp(first.iloc[0]) == pd.Timestamp("2024-01-01") + pd.Timedelta(hours=120)
    assert (table["q0.1"] <= table["q0.9"]).all()


def test_explain_one_series(panel_run, capsys):
    _, out = panel_run
    capsys.readouterr()
    assert main(["forecast", "explain", "--run", str(out), "--series", "s2", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found["series"] == "s2" and len(found["forecast"]) == H
    assert (out / "explain-s2.png").is_file()
    assert main(["forecast", "explain", "--run", str(out), "--series", "nope"]) == 2


def test_wide_table_with_a_deepar_model(tmp_path, capsys):
    t = np.arange(100)
    frame = pd.DataFrame({"date": pd.date_range("2024-01-01", periods=100, freq="D"),
                          **{f"m{k}": 30 + k + np.sin(2 * np.pi * t / 7) for k in range(4)}})
    csv = tmp_path / "wide.csv"
    frame.to_csv(csv, index=False)
    out = tmp_path / "run"
    code = main(["forecast", "train", "--csv", str(csv), "--wide", "--model", "deepar",
                 "--horizon", "7", "--lookback", "14", "--hidden-size", "8", "--layers", "1",
                 "--epochs", "1", "--samples", "20", "--baselines", "naive2", "--quiet",
                 "--out", str(out)])
    assert code == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["seasonal_period"] == 7 and set(metrics["metrics"]) == {"model", "naive2"}


@pytest.mark.parametrize("extra, message", [
    (["--normalize", "revin"], "--normalize: single-series options"),
    (["--test-size", "10"], "--test-size 10 with --id"),
    (["--model", "rnn"], "not a panel model"),
    (["--lags", "2,x"], "--lags '2,x'"),
    (["--likelihood", "negbin"], "--likelihood: not used by --model mqrnn"),
])
def test_bad_panel_options_exit_2_and_write_nothing(tmp_path, capsys, extra, message):
    csv = tmp_path / "sales.csv"
    sales(n_series=2).to_csv(csv, index=False)
    out = tmp_path / "run"
    assert train(csv, out, *extra) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_duplicate_rows_and_panel_options_without_id_exit_2(tmp_path, capsys):
    data = sales(n_series=2)
    csv = tmp_path / "dup.csv"
    pd.concat([data, data.iloc[:1]]).to_csv(csv, index=False)
    out = tmp_path / "run"
    assert train(csv, out) == 2
    assert "twice" in capsys.readouterr().err and not out.exists()
    assert main(["forecast", "train", "--csv", str(csv), "--target", "units", "--static",
                 "region", "--out", str(out)]) == 2
    assert "need --id" in capsys.readouterr().err and not out.exists()


@pytest.mark.slow
def test_panel_run_killed_mid_training_resumes_to_identical_weights(tmp_path, capsys,
                                                                     kill_after_epoch):

    csv = tmp_path / "sales.csv"
    sales(n_series=4, length=200).to_csv(csv, index=False)
    extra = ["--epochs", "8", "--patience", "100", "--windows-per-epoch", "2048",
             "--baselines", "naive2"]
    reference = tmp_path / "reference"
    assert train(csv, reference, *extra) == 0
    killed = tmp_path / "killed"
    command = ["forecast", "train", "--csv", str(csv), "--id", "store", "--target", "units",
               "--horizon", str(H), "--lookback", "24", "--hidden-size", "8", "--layers", "1",
               "--quiet", "--out", str(killed), *extra]
    assert 2 <= kill_after_epoch(command, killed) < 8
    capsys.readouterr()
    assert main(["forecast", "train", "--resume", str(killed), "--quiet", "--json"]) == 0
    assert (killed / "COMPLETE").exists() and not (killed / "checkpoint").exists()
    assert (killed / "model.safetensors").read_bytes() == \
        (reference / "model.safetensors").read_bytes()
