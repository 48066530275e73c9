import json

import numpy as np
import pandas as pd
import pytest

from rnnkit.cli.main import main
from rnnkit.io.weights import load_weights


@pytest.fixture
def small_csv(tmp_path):
    import numpy as np

    t = np.arange(260)
    frame = pd.DataFrame({
        "date": pd.date_range("2020-01-01", periods=260, freq="D").strftime("%Y-%m-%d"),
        "load": 50 + 5 * np.sin(2 * np.pi * t / 7) + 0.05 * t,
    })
    path = tmp_path / "load.csv"
    frame.to_csv(path, index=False)
    return path


def train_small(csv, out, *extra):
    return main(["forecast", "train", "--csv", str(csv), "--target", "load", "--lookback", "14",
                 "--hidden-size", "8", "--layers", "1", "--epochs", "2", "--quiet",
                 "--out", str(out), *extra])


def forecast_after(run, rows, path, capsys, horizon):
    """`forecast predict` of ``run`` from the last of ``rows`` (written to ``path``):
    (horizon, columns) in the data's units."""
    rows.to_csv(path, index=False)
    capsys.readouterr()
    assert main(["forecast", "predict", "--run", str(run), "--csv", str(path), "--horizon",
                 str(horizon), "--json"]) == 0
    table = pd.DataFrame(json.loads(capsys.readouterr().out))
    return table[[c for c in table if c.endswith("_forecast")]].to_numpy()


@pytest.mark.slow
def test_seed_preset_run_predicts_like_in_memory(data_dir, tmp_path, capsys):
    folder = data_dir / "google_stock"
    out = tmp_path / "seed"
    code = main(["forecast", "train", "--preset", "seed", "--epochs", "2", "--quiet",
                 "--csv", str(folder / "Google_Stock_Price_Train.csv"),
                 "--test", str(folder / "Google_Stock_Price_Test.csv"),
                 "--target", "Open", "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0
    assert "persistence" in printed and "8.416" in printed  # persistence RMSE on Jan 2017
    assert {"config.json", "model.safetensors", "scaler.json", "metrics.json", "forecast.png",
            "loss.png", "predictions.csv", "COMPLETE"} <= {p.name for p in out.iterdir()}
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test_forecasts"] == 20
    saved = pd.read_csv(out / "predictions.csv")
    # the run reloaded from disk reproduces the in-memory test forecasts
    full = tmp_path / "full.csv"
    train_text = (folder / "Google_Stock_Price_Train.csv").read_text()
    test_rows = (folder / "Google_Stock_Price_Test.csv").read_text().split("\n", 1)[1]
    full.write_text(train_text.rstrip("\n") + "\n" + test_rows)
    assert main(["forecast", "predict", "--run", str(out), "--csv", str(full), "--rolling",
                 "--json"]) == 0
    rolled = pd.DataFrame(json.loads(capsys.readouterr().out))
    assert rolled["Open_forecast"].tail(20).round(4).tolist() == \
        saved["Open_model"].round(4).tolist()


def test_train_predict_evaluate_end_to_end(small_csv, tmp_path, capsys):
    out = tmp_path / "run"
    assert train_small(small_csv, out, "--json") == 0
    result = json.loads(capsys.readouterr().out)
    assert result["test_forecasts"] == 26 and result["seasonal_period"] == 7
    assert set(result["metrics"]) == {"model", "persistence", "drift", "mean", "seasonal_naive_7"}
    assert main(["forecast", "predict", "--run", str(out), "--horizon", "3"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].split() == ["time", "load_forecast", "load_lower_90%", "load_upper_90%"]
    assert len(lines) == 4
    assert lines[1].split()[0] == "2020-09-17"  # the day after the last row
    assert main(["forecast", "evaluate", "--run", str(out), "--test-size", "30", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["test_forecasts"] == 30


def test_evaluate_scores_the_test_part_by_default_and_names_in_sample_rows(small_csv, tmp_path,
                                                                           capsys):
    out = tmp_path / "run"
    assert train_small(small_csv, out, "--test-size", "26") == 0
    capsys.readouterr()
    trained = json.loads((out / "metrics.json").read_text())
    assert main(["forecast", "evaluate", "--run", str(out), "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["scope"] == "held-out" and again["in_sample_rows"] == 0
    assert again["test_forecasts"] == trained["test_forecasts"] == 26
    assert again["metrics"] == trained["metrics"]  # the very test that train reported
    assert main(["forecast", "evaluate", "--run", str(out), "--test-size", "100"]) == 0
    printed = capsys.readouterr().out
    assert "(in-sample)" in printed
    assert "IN-SAMPLE: 74 of the 100 scored rows were used to train the model" in printed
    assert main(["forecast", "evaluate", "--run", str(out), "--csv", str(small_csv),
                 "--json"]) == 0
    whole = json.loads(capsys.readouterr().out)
    assert whole["scope"] == "in-sample" and whole["in_sample_rows"] == 260 - 14 - 26


def test_bad_input_exits_2_and_writes_nothing(small_csv, tmp_path, capsys):
    out = tmp_path / "never"
    assert main(["forecast", "train", "--csv", str(small_csv), "--target", "Load",
                 "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "has no column 'Load'; available columns: ['date', 'load']" in err
    assert "Traceback" not in err and not out.exists()
    assert main(["forecast", "train", "--csv", str(small_csv), "--target", "load",
                 "--lookback", "500", "--out", str(out)]) == 2
    assert "lookback=500" in capsys.readouterr().err and not out.exists()
    assert main(["forecast", "train", "--device", "tpu", "--out", str(out)]) == 2
    assert main(["forecast", "predict", "--run", str(tmp_path / "missing")]) == 2
    assert "no such run folder" in capsys.readouterr().err


def test_existing_out_is_never_overwritten(small_csv, tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert train_small(small_csv, out) == 2
    assert "already exists and is not empty" in capsys.readouterr().err
    assert (out / "keep.txt").read_text() == "mine"


def test_force_replaces_only_folders_rnnkit_created(small_csv, tmp_path, capsys):
    project = tmp_path / "project"
    project.mkdir()
    (project / "config.json").write_text('{"command": "my own config"}')
    (project / "train.py").write_text("print('my code')")
    assert train_small(small_csv, project, "--force") == 2
    err = capsys.readouterr().err
    assert "not created by rnnkit" in err and "--force leaves it alone" in err
    assert sorted(p.name for p in project.iterdir()) == ["config.json", "train.py"]
    run = tmp_path / "run"
    assert train_small(small_csv, run) == 0
    (run / "stale.txt").write_text("from the first run")
    assert train_small(small_csv, run, "--force") == 0
    assert not (run / "stale.txt").exists() and (run / "COMPLETE").exists()


def test_divergence_exits_3_and_leaves_the_run_unfinished(small_csv, tmp_path, capsys):
    out = tmp_path / "run"
    assert train_small(small_csv, out, "--lr", "1e30", "--clip", "1e30") == 3
    err = capsys.readouterr().err
    assert "training loss became" in err and "Lower --lr" in err and "Traceback" not in err
    assert not (out / "COMPLETE").exists()


def test_tampered_runs_are_refused(small_csv, tmp_path, capsys):
    out = tmp_path / "run"
    assert train_small(small_csv, out) == 0
    assert set(load_weights(out / "model.safetensors")) >= {"head.weight", "rnn.weight_ih_l0"}
    config = json.loads((out / "config.json").read_text())
    (out / "config.json").write_text(json.dumps({**config, "exec": "rm -rf /"}))
    assert main(["forecast", "predict", "--run", str(out)]) == 2
    assert "unknown keys ['exec']" in capsys.readouterr().err
    (out / "config.json").write_text(json.dumps(config))
    import pickle

    (out / "model.safetensors").write_bytes(pickle.dumps({"head.weight": 1}))
    assert main(["forecast", "predict", "--run", str(out)]) == 2
    assert "is not a safetensors file" in capsys.readouterr().err
    (out / "COMPLETE").unlink()
    assert main(["forecast", "predict", "--run", str(out)]) == 2
    assert "is incomplete" in capsys.readouterr().err


@pytest.fixture
def multi_csv(tmp_path):
    import numpy as np

    t = np.arange(300)
    frame = pd.DataFrame({
        "date": pd.date_range("2020-01-01", periods=300, freq="h").strftime("%Y-%m-%d %H:%M:%S"),
        "a": np.sin(2 * np.pi * t / 24), "b": np.cos(2 * np.pi * t / 24), "c": 0.01 * t,
    })
    path = tmp_path / "multi.csv"
    frame.to_csv(path, index=False)
    return path


def test_split_protocol_counts_every_window(multi_csv, tmp_path, capsys):
    """--split 200,40,40 with H=8: 40 - 8 + 1 = 33 test windows, none dropped."""
    out = tmp_path / "seg"
    code = main(["forecast", "train", "--csv", str(multi_csv), "--target", "all",
                 "--model", "segrnn", "--lookback", "16", "--horizon", "8",
                 "--segment-length", "8", "--hidden-size", "8", "--split", "200,40,40",
                 "--epochs", "1", "--lr-schedule", "halving", "--quiet", "--json",
                 "--out", str(out)])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert json.loads((out / "config.json").read_text())["train"]["lr_schedule"] == "halving"
    assert result["test_rows"] == 40 and result["test_forecasts"] == 33
    assert result["interval"]["level"] == 0.9
    # the scaled MSE recomputed: each test window forecast by `forecast predict` from the rows
    # up to its origin, the errors divided by the target's scale in scaler.json
    frame = pd.read_csv(multi_csv)
    scale = np.array(json.loads((out / "scaler.json").read_text())["scale"])[:3]
    origins = np.arange(239, 239 + 33)  # the test rows are 240..279
    forecasts = np.stack([forecast_after(out, frame.head(o + 1), tmp_path / "rows.csv",
                                         capsys, 8) for o in origins])  # (33, 8, 3)
    actual = frame[["a", "b", "c"]].to_numpy()[origins[:, None] + np.arange(1, 9)]
    assert result["scaled"]["model"]["mse"] == pytest.approx(
        np.mean(((forecasts - actual) / scale) ** 2), rel=1e-6)
    saved = pd.read_csv(out / "predictions.csv")  # the first step of each window
    assert saved["time"].iloc[0] == frame["date"].iloc[240]
    np.testing.assert_allclose(saved[["a_model", "b_model", "c_model"]], forecasts[:, 0],
                               rtol=1e-6)
    per_step = np.mean((forecasts - actual) ** 2, axis=(0, 2))
    np.testing.assert_allclose(result["per_step"]["model"]["mse"], per_step, rtol=1e-6)
    assert {"windows.png", "per_step.png"} <= {p.name for p in out.iterdir()}
    assert main(["forecast", "evaluate", "--run", str(out), "--test-size", "40", "--backtest",
                 "--stride", "4", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["test_forecasts"] == 9  # origins 0, 4, .., 32
    assert main(["forecast", "evaluate", "--run", str(out), "--stride", "4"]) == 2
    assert "belong to --backtest" in capsys.readouterr().err
    assert main(["forecast", "train", "--csv", str(multi_csv), "--target", "all",
                 "--split", "200,40,90", "--out", str(tmp_path / "x")]) == 2
    assert "needs 330 rows" in capsys.readouterr().err
    assert main(["forecast", "train", "--csv", str(multi_csv), "--target", "all",
                 "--lr-schedule", "step", "--out", str(tmp_path / "x")]) == 2
    assert "--lr-schedule 'step' is not known" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_an_ensemble_run_saves_reloads_and_explains(multi_csv, tmp_path, capsys):
    out = tmp_path / "pair"
    args = ["forecast", "train", "--csv", str(multi_csv), "--target", "all", "--model",
            "segrnn", "--lookback", "16", "--horizon", "8", "--segment-length", "8",
            "--hidden-size", "8", "--split", "200,40,40", "--epochs", "1", "--quiet"]
    assert main([*args, "--ensemble", "2", "--json", "--out", str(out)]) == 0
    trained = json.loads(capsys.readouterr().out)
    assert json.loads((out / "config.json").read_text())["model"]["ensemble"] == 2
    members = trained["training"]["members"]  # each network's own training, in turn
    assert [len(m["history"]["train_loss"]) for m in members] == [1, 1]
    assert trained["training"]["epochs_run"] == 2 and (out / "loss.png").is_file()
    assert not (out / "checkpoint").exists()
    weights = load_weights(out / "model.safetensors")
    assert {k.split(".")[1] for k in weights if k.startswith("members.")} == {"0", "1"}
    used = tmp_path / "used.csv"  # the 280 rows the split covers: its test part is the last 40
    pd.read_csv(multi_csv).head(280).to_csv(used, index=False)
    assert main(["forecast", "evaluate", "--run", str(out), "--csv", str(used),
                 "--test-size", "40", "--json"]) == 0
    again = json.loads(capsys.readouterr().out)  # the reloaded pair forecasts as trained
    assert again["scaled"]["model"]["mse"] == pytest.approx(trained["scaled"]["model"]["mse"])
    assert main(["forecast", "explain", "--run", str(out), "--origin", "250", "--json"]) == 0
    assert set(json.loads(capsys.readouterr().out)["gates"]) == {"l0 r", "l0 z"}  # sigmoid gates
    assert main([*args, "--ensemble", "0", "--out", str(tmp_path / "bad")]) == 2
    assert "ensemble=0; expected at least 1" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()


def test_explain_opens_the_glass_box(small_csv, tmp_path, capsys):
    out = tmp_path / "run"
    assert train_small(small_csv, out) == 0
    capsys.readouterr()
    assert main(["forecast", "explain", "--run", str(out), "--origin", "100", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert (out / "explain-100.png").stat().st_size > 10_000
    assert found["origin"] == 100 and len(found["forecast"]) == 1
    assert set(found["gates"]) == {"l0 i", "l0 f", "l0 o"}
    assert all(0 <= g["mean"] <= 1 for g in found["gates"].values())
    # each step's share of |d forecast / d input|, recomputed by central differences:
    # the forecast of `forecast predict` with that row of the window nudged up and down
    frame = pd.read_csv(small_csv).head(101)
    window = np.arange(87, 101)  # --lookback 14 rows ending at --origin 100
    slopes = []
    for row in window:
        nudged = [frame.assign(load=frame["load"] + np.where(frame.index == row, d, 0.0))
                  for d in (0.1, -0.1)]
        up, down = (forecast_after(out, f, tmp_path / "rows.csv", capsys, 1)[0, 0]
                    for f in nudged)
        slopes.append(abs(up - down) / 0.2)
    shares = np.array(slopes) / np.sum(slopes)
    steps = found["influential_steps"]
    assert len(steps) == 5 and len({s["row"] for s in steps}) == 5
    assert [s["share"] for s in steps] == sorted((s["share"] for s in steps), reverse=True)
    assert steps[0]["row"] == window[np.argmax(shares)]
    for step in steps:
        assert step["row"] in window and step["share"] > 0
        assert step["share"] == pytest.approx(shares[step["row"] - 87], abs=2e-3)
        assert step["time"] == frame["date"][step["row"]]
        assert step["value"] == pytest.approx(frame["load"][step["row"]])
    assert main(["forecast", "explain", "--run", str(out), "--origin", "3"]) == 2
    assert "--origin 3 must lie in [13, 259]" in capsys.readouterr().err


def test_echo_state_network_through_the_same_pipeline(small_csv, tmp_path, capsys):
    out = tmp_path / "esn"
    assert main(["forecast", "train", "--csv", str(small_csv), "--target", "load",
                 "--cell", "esn", "--hidden-size", "200", "--lookback", "50", "--washout", "50",
                 "--ridge", "1e-6", "--quiet", "--json", "--out", str(out)]) == 0
    result = json.loads(capsys.readouterr().out)
    m = result["metrics"]
    assert m["model"]["rmse"] < 0.5 * m["persistence"]["rmse"]  # a clean weekly cycle
    assert (out / "COMPLETE").exists()
    assert main(["forecast", "predict", "--run", str(out), "--horizon", "10", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 10  # closed loop past the horizon
    for bad, message in ((["--spectral-radius", "0"], "spectral_radius"),
                         (["--leak-rate", "1.5"], "leak_rate"),
                         (["--washout", "500"], "--washout 500"),
                         (["--lookback", "40", "--washout", "50"],
                          "warms its reservoir up from zero over each 40-row window, but its "
                          "readout was fitted only after --washout 50 steps"),
                         (["--layers", "2", "--epochs", "3"],
                          "--layers, --epochs: not used by --cell esn; leave them out"),
                         (["--precision", "bf16-mixed"],
                          "--precision: not used by --cell esn; leave it out")):
        assert main(["forecast", "train", "--csv", str(small_csv), "--target", "load",
                     "--cell", "esn", "--quiet", "--out", str(tmp_path / "bad"), *bad]) == 2
        assert message in capsys.readouterr().err
        assert not (tmp_path / "bad").exists()


def test_predict_starts_where_the_runs_data_ends(data_dir, tmp_path, capsys):
    folder = data_dir / "google_stock"
    out = tmp_path / "seed"
    assert main(["forecast", "train", "--preset", "seed", "--epochs", "1", "--quiet",
                 "--csv", str(folder / "Google_Stock_Price_Train.csv"),
                 "--test", str(folder / "Google_Stock_Price_Test.csv"),
                 "--target", "Open", "--out", str(out)]) == 0
    capsys.readouterr()
    history = json.loads((out / "history.json").read_text())  # JSON: nothing is pickled
    assert len(history["values"]) == 60 and history["time"][-1].startswith("2017-01-31")
    assert main(["forecast", "predict", "--run", str(out), "--horizon", "3", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    # business days after Tuesday 2017-01-31 (holidays are not known to the calendar)
    assert [r["time"][:10] for r in rows] == ["2017-02-01", "2017-02-02", "2017-02-03"]
    assert set(rows[0]) == {"time", "Open_forecast"}  # no validation rows: no interval
    # the test file again: its rows are already the run's, so the forecast starts after it
    assert main(["forecast", "predict", "--run", str(out), "--csv",
                 str(folder / "Google_Stock_Price_Test.csv"), "--horizon", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["time"][:10] == "2017-02-01"


def test_predict_gives_the_interval_and_a_fan_chart(small_csv, tmp_path, capsys):
    out = tmp_path / "run"
    assert train_small(small_csv, out, "--horizon", "3") == 0
    capsys.readouterr()
    assert main(["forecast", "predict", "--run", str(out), "--horizon", "5", "--json"]) == 0
    captured = capsys.readouterr()
    rows = json.loads(captured.out)
    assert [r["time"][:10] for r in rows] == ["2020-09-17", "2020-09-18", "2020-09-19",
                                              "2020-09-20", "2020-09-21"]
    width = json.loads((out / "config.json").read_text())["interval_halfwidth"]
    for step, row in enumerate(rows[:3]):  # within the model's horizon: its interval
        assert row["load_upper_90%"] - row["load_forecast"] == pytest.approx(width[step][0])
        assert row["load_forecast"] - row["load_lower_90%"] == pytest.approx(width[step][0])
    assert rows[3]["load_lower_90%"] is None  # fed back past the horizon: no interval
    chart = captured.err.split("fan chart written to ")[1].strip()
    assert chart.endswith(".png") and (out / "plots").is_dir()
    from pathlib import Path as P

    assert P(chart).read_bytes()[:4] == b"\x89PNG"


def test_a_semicolon_decimal_comma_file_trains_like_its_comma_twin(small_csv, tmp_path, capsys):
    frame = pd.read_csv(small_csv)
    twin = tmp_path / "umsatz.csv"  # as a spreadsheet in much of Europe writes it
    twin.write_text("date;load\n" + "".join(
        f"{d};{v:.6f}".replace(".", ",") + "\n" for d, v in zip(frame["date"], frame["load"],
                                                               strict=True)))
    comma = tmp_path / "comma.csv"
    frame.assign(load=frame["load"].round(6)).to_csv(comma, index=False)
    for path, out in ((twin, tmp_path / "a"), (comma, tmp_path / "b")):
        assert train_small(path, out, "--json") == 0
    results = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert results[0]["metrics"] == results[1]["metrics"]
    assert (tmp_path / "a" / "model.safetensors").read_bytes() == \
        (tmp_path / "b" / "model.safetensors").read_bytes()
    single = tmp_path / "single.csv"
    single.write_text("date;load\n2020-01-01;1\n")
    assert main(["forecast", "train", "--csv", str(single), "--target", "load", "--sep", ",",
                 "--out", str(tmp_path / "c")]) == 2
    assert "pass --sep ';'" in capsys.readouterr().err and not (tmp_path / "c").exists()


def test_evaluate_scores_rows_that_continue_the_runs_data(small_csv, tmp_path, capsys):
    frame = pd.read_csv(small_csv)
    first, later = tmp_path / "first.csv", tmp_path / "later.csv"
    frame.iloc[:200].to_csv(first, index=False)
    frame.iloc[200:205].to_csv(later, index=False)  # five rows: fewer than the lookback
    out = tmp_path / "run"
    assert train_small(first, out) == 0
    capsys.readouterr()
    assert main(["forecast", "evaluate", "--run", str(out), "--csv", str(later), "--json"]) == 0
    scored = json.loads(capsys.readouterr().out)
    assert scored["test_forecasts"] == 5 and scored["scope"] == "held-out"
    assert main(["forecast", "evaluate", "--run", str(out), "--csv", str(first)]) == 0
    assert "IN-SAMPLE" in capsys.readouterr().out
