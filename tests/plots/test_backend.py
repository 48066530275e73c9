import json
import os
import subprocess
import sys
from pathlib import Path

import rnnkit

# Run in a fresh interpreter: the user's backend is chosen first, then every plots module is
# imported and every figure function draws; neither may change the backend or use pyplot.
SCRIPT = r"""
import importlib, io, json, pkgutil, sys
import matplotlib
matplotlib.use("svg")  # the user's choice, made before rnnkit is imported
import numpy as np
import torch

import rnnkit.plots
names = sorted(m.name for m in pkgutil.iter_modules(rnnkit.plots.__path__))
for name in names:
    importlib.import_module(f"rnnkit.plots.{name}")
after_import = matplotlib.get_backend()

from rnnkit.plots import (attention, captioning, forecast, generation, gradients, reservoir,
                          text)
rng = np.random.default_rng(0)
days = np.arange("2024-01-01", "2024-03-01", dtype="datetime64[D]")
series = rng.normal(size=len(days)).cumsum()
gates = {"input gate": rng.uniform(size=(1, 4, 3)), "cell": rng.uniform(-1, 1, size=(1, 4, 3))}
history = {"train_loss": [1.0, 0.5, 0.4], "val_loss": [0.9, 0.6, 0.7], "val_score": [.5, .7, .6]}
figures = {
    "alignment": attention.alignment_figure(["a", "b"], ["x", "y", "z"],
                                            rng.dirichlet([1, 1], size=3), "t"),
    "captioning": captioning.attention_figure(rng.integers(0, 255, size=(8, 8)), ["one", "two"],
                                              rng.uniform(size=(2, 2, 2)), "t"),
    "forecast": forecast.forecast_figure(days, series, days[-10:],
                                         {"model": series[-10:], "persistence": series[-11:-1]},
                                         "t", bounds=(series[-10:] - 1, series[-10:] + 1),
                                         level=0.9),
    "fan": forecast.fan_figure(days[:-10], series[:-10], days[-10:], series[-10:],
                               (series[-10:] - 1, series[-10:] + 1), 0.9, "t"),
    "loss": forecast.loss_figure(history, 2),
    "members loss": forecast.members_loss_figure([history, history], [2, None]),
    "windows": forecast.windows_figure(days, series, np.array([20, 30, 40]), 10,
                                       rng.normal(size=(3, 5)), None),
    "per step": forecast.per_step_figure({"model": {"mse": [1.0, 2.0]},
                                          "persistence": {"mse": [1.5, 2.5]}}),
    "explain forecast": forecast.explain_figure(
        np.arange(6), rng.normal(size=6), np.arange(6, 8), rng.normal(size=2),
        {"0 forget": rng.uniform(size=6)}, rng.uniform(0.1, 1, size=(2, 6)), rng.uniform(size=6),
        "t"),
    "surprisal": generation.surprisal_figure(list("abcd"), rng.uniform(size=3), gates),
    "gradient flow": gradients.gradient_flow_figure({"start": {"lstm": [1.0, 0.1, 0.01]}}, "t"),
    "learning curves": gradients.learning_curves_figure({"lstm": ([1, 2], [1.0, 0.5])}, 0.8,
                                                        "mean", "MSE", "t"),
    "exploding": gradients.exploding_figure({"clipped": {"loss": [2.0, 1.0],
                                                         "grad_norm": [5.0, 1.0]}}, 1.0, "t"),
    "free run": reservoir.free_run_figure(torch.randn(2, 30), torch.randn(2, 10), 1.0, "t"),
    "explain text": text.explain_figure(["good", "film"], rng.dirichlet([1, 1], size=2),
                                        ["neg", "pos"], 1, gates, [False, True]),
    "training": text.training_figure(history, 2),
}
pngs = {}
for name, fig in figures.items():
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    pngs[name] = buffer.getvalue()[:8].hex()
pyplot_used = "matplotlib.pyplot" in sys.modules

from rnnkit.io import save_figure
save_figure(figures["loss"], __import__("pathlib").Path(sys.argv[1]))
import matplotlib.pyplot as plt
print(json.dumps({"modules": names, "after_import": after_import, "pngs": pngs,
                  "pyplot_used_to_draw": pyplot_used, "open_pyplot_figures": plt.get_fignums(),
                  "after_save": matplotlib.get_backend()}))
"""


def test_plots_leave_the_users_backend_and_pyplot_alone(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    source = str(Path(rnnkit.__file__).parents[1])  # the rnnkit under test, not an installed one
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [source, env.get("PYTHONPATH")]))
    saved = tmp_path / "loss.png"
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(saved)], capture_output=True,
                          text=True, timeout=300, cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.splitlines()[-1])
    assert {"forecast", "gradients", "report", "text"} <= set(seen["modules"])
    assert seen["after_import"] == "svg"
    assert set(seen["pngs"].values()) == {b"\x89PNG\r\n\x1a\n".hex()}
    assert seen["pyplot_used_to_draw"] is False
    assert seen["open_pyplot_figures"] == []
    assert seen["after_save"] == "svg"
    assert saved.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
