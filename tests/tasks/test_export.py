import json

import numpy as np
import onnxruntime
import pandas as pd
import pytest
import torch

from rnnkit.cli.main import main
from rnnkit.tasks.forecast import load

KINDS = {
    "one": ["--hidden-size", "8", "--layers", "1"],
    "ensemble": ["--hidden-size", "8", "--layers", "1", "--ensemble", "2"],
    "segrnn": ["--model", "segrnn", "--hidden-size", "8", "--segment-length", "3"],
    "revin": ["--hidden-size", "8", "--layers", "1", "--normalize", "revin"],
    "channel-independent": ["--hidden-size", "8", "--layers", "1", "--channel-independent"],
}


@pytest.fixture(params=list(KINDS))
def run(tmp_path, request):
    t = np.arange(400)
    frame = pd.DataFrame({"date": pd.date_range("2020-01-01", periods=400, freq="D")
                          .strftime("%Y-%m-%d"),
                          "y": 20 + 3 * np.sin(2 * np.pi * t / 12) + 0.02 * t,
                          "x": np.cos(2 * np.pi * t / 12)})
    csv = tmp_path / "d.csv"
    frame.to_csv(csv, index=False)
    out = tmp_path / "run"
    assert main(["forecast", "train", "--csv", str(csv), "--target", "y", "--features", "x",
                 "--lookback", "24", "--horizon", "3", *KINDS[request.param], "--epochs", "2",
                 "--quiet", "--out", str(out)]) == 0
    return out, csv


def test_onnx_matches_rnnkit(run, capsys):
    out, csv = run
    assert main(["export", "--run", str(out), "--format", "onnx"]) == 0
    spec = json.loads((out / "export.json").read_text())
    assert spec["input"]["columns"] == ["y", "x"] and spec["output"]["shape"][1:] == [3, 1]
    fc, data = load(out)
    series = data.read()
    origins = np.arange(30, 200, 7)
    expected = fc.forecast(series, origins)
    windows = np.stack([series.values[o - 23 : o + 1] for o in origins]).astype(np.float32)
    session = onnxruntime.InferenceSession(str(out / "model.onnx"))
    got = session.run(None, {"x": windows})[0]
    np.testing.assert_allclose(got, expected, atol=1e-5 * np.abs(expected).max(), rtol=0)


def test_torchscript_matches_rnnkit(run):
    out, _ = run
    assert main(["export", "--run", str(out), "--format", "torchscript"]) == 0
    module = torch.jit.load(str(out / "model.torchscript.pt"))
    fc, data = load(out)
    series = data.read()
    window = torch.as_tensor(series.values[None, -24:], dtype=torch.float32)
    with torch.no_grad():
        got = module(window).numpy()[0]
    np.testing.assert_allclose(got, fc.predict(series), rtol=1e-5)


def test_export_errors(run, capsys):
    out, _ = run
    assert main(["export", "--run", str(out), "--format", "tflite"]) == 2
    assert "--format 'tflite'; choose one of onnx, torchscript" in capsys.readouterr().err
