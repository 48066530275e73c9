"""Trains a tiny LSTM regressor with `fit`; run as a script, with 2 DDP processes (gloo on CPU).

``python ddp_script.py OUT`` writes each process's final weights to ``OUT/rank<r>.safetensors``
and its `FitResult` history to ``OUT/rank<r>.json`` (test_distributed.py compares them with one
process). Not collected by pytest: its name does not start with ``test_``.
"""

import json
import os
import sys
from pathlib import Path

import torch
from torch import nn

from rnnkit.train.distributed import Parallel
from rnnkit.train.fit import FitResult, fit
from rnnkit.train.loader import tensor_loader
from rnnkit.train.settings import TrainSettings


class Regressor(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(2, 6, batch_first=True)
        self.head = nn.Linear(6, 1)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.head(out[:, -1])


def train(parallel: Parallel | None = None) -> tuple[nn.Module, FitResult]:
    """The same data, model and settings for one process and for several."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(96, 5, 2, generator=g)
    y = x.sum((1, 2))[:, None] * 0.3
    model = (torch.manual_seed(0), Regressor())[1]
    result = fit(model, nn.functional.mse_loss,
                 tensor_loader(x[:64], y[:64], batch_size=16, shuffle=True, seed=3),
                 tensor_loader(x[64:], y[64:], batch_size=8, shuffle=False),
                 settings=TrainSettings(epochs=4, lr=0.03, device="cpu", clip=None,
                     patience=None), progress=False, parallel=parallel)
    return model, result


if __name__ == "__main__":
    from safetensors.torch import save_file

    torch.set_num_threads(1)
    out = Path(sys.argv[1])
    model, result = train(Parallel(devices=2, strategy="ddp"))
    rank = int(os.environ["LOCAL_RANK"])  # set by Lightning's launcher in both processes
    save_file({k: v.contiguous() for k, v in model.state_dict().items()},
              out / f"rank{rank}.safetensors")
    (out / f"rank{rank}.json").write_text(json.dumps(result.history))
