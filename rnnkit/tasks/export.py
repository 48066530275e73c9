"""Ship a trained run: an ONNX or TorchScript file that takes raw values, with its settings."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import torch
from torch import Tensor, nn

from rnnkit.errors import InputError
from rnnkit.io.run import write_bytes, write_json
from rnnkit.models.forecaster import Forecaster, ForecastNet

FORMATS = {"onnx": "model.onnx", "torchscript": "model.torchscript.pt"}


class RawForecaster(nn.Module):
    """A forecast network with its scaling folded in: raw windows in, raw forecasts out.

    x (B, L, C) in the data's units, columns as in training -> (B, H, n_targets).
    """

    def __init__(self, net: ForecastNet, shift: Tensor, scale: Tensor) -> None:
        super().__init__()
        self.net = net
        n = net.config.n_targets
        self.register_buffer("shift", shift.float())
        self.register_buffer("scale", scale.float())
        self.register_buffer("target_shift", shift[:n].float())
        self.register_buffer("target_scale", scale[:n].float())

    def forward(self, x: Tensor) -> Tensor:
        """Scale, forecast, unscale."""
        y = self.net((x - self.shift) / self.scale)
        return y * self.target_scale + self.target_shift


def export_forecaster(fc: Forecaster, run_dir: Path, fmt: str) -> Path:
    """Write ``model.onnx`` or ``model.torchscript.pt`` and ``export.json`` into ``run_dir``."""
    if fmt not in FORMATS:
        raise InputError(f"--format {fmt!r}; choose one of {', '.join(FORMATS)}")
    c = fc.config
    wrapper = RawForecaster(fc.net.cpu().eval(), torch.as_tensor(fc.scaler.shift),
                            torch.as_tensor(fc.scaler.scale)).eval()
    example = torch.zeros(1, c.lookback, c.n_targets + c.n_features)
    buffer = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # exporter deprecation notes, not the user's business
        if fmt == "onnx":
            torch.onnx.export(wrapper, (example,), buffer, dynamo=False, input_names=["x"],
                              output_names=["forecast"], opset_version=17,
                              dynamic_axes={"x": {0: "batch"}, "forecast": {0: "batch"}})
        else:
            torch.jit.save(torch.jit.trace(wrapper, example), buffer)
    path = write_bytes(run_dir / FORMATS[fmt], buffer.getvalue())
    targets, features = fc.columns
    write_json(run_dir / "export.json", {
        "format": fmt, "file": path.name,
        "input": {"name": "x", "shape": ["batch", c.lookback, len(targets) + len(features)],
                  "dtype": "float32", "columns": [*targets, *features],
                  "meaning": "the last `lookback` rows, oldest first, in the data's own units"},
        "output": {"name": "forecast", "shape": ["batch", c.horizon, len(targets)],
                   "columns": targets, "meaning": "the next `horizon` rows, in the data's units"},
        "preprocessing": "scaling is inside the model file; the scaler is listed for reference",
        "scaler": fc.scaler.to_dict(),
    })
    return path


def export_run(run_dir: Path, fmt: str) -> Path:
    """Export the model of a run folder (forecast runs) next to it."""
    from rnnkit.io.run import read_json
    from rnnkit.tasks.forecast import load

    config = read_json(Path(run_dir) / "config.json") if Path(run_dir).is_dir() else None
    if isinstance(config, dict) and "model" in config and "data" not in config:
        raise InputError(f"--run {run_dir}: export supports forecast runs; this run's group "
                         "has no export yet")
    fc, _ = load(run_dir)
    return export_forecaster(fc, Path(run_dir), fmt)
