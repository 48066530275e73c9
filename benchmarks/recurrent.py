"""Forward+backward time of torch.nn vs rnnkit's fast and trace paths; prints one JSON object.

Usage: python benchmarks/recurrent.py [--repeats 15] [--threads 1]
The three implementations share weights and input and are timed interleaved (round-robin)
in the same process; each figure is the median over repeats, ratios are to torch.nn.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time

import torch

from rnnkit import Recurrent

SCENARIOS = {
    "S1_seed_lstm": dict(cell="lstm", batch=32, steps=60, input=1, hidden=50, layers=4, bi=False),
    "S2_lstm": dict(cell="lstm", batch=64, steps=100, input=128, hidden=256, layers=2, bi=False),
    "S3_bigru": dict(cell="gru", batch=32, steps=200, input=64, hidden=128, layers=1, bi=True),
}
TORCH = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}


def measure(spec: dict, repeats: int) -> dict:
    torch.manual_seed(0)
    ref = TORCH[spec["cell"]](
        spec["input"], spec["hidden"], spec["layers"], batch_first=True, bidirectional=spec["bi"]
    )
    ours = Recurrent(spec["cell"], spec["input"], spec["hidden"], spec["layers"], spec["bi"])
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(spec["batch"], spec["steps"], spec["input"])

    def run(module, **kw):
        out = module(x, **kw)[0]
        out.sum().backward()

    runners = {
        "torch_nn": lambda: run(ref),
        "rnnkit_fast": lambda: run(ours),
        "rnnkit_trace": lambda: run(ours, trace=True),
    }
    times = {name: [] for name in runners}
    for fn in runners.values():  # warm-up
        fn()
    for _ in range(repeats):
        for name, fn in runners.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    ms = {name: statistics.median(t) * 1e3 for name, t in times.items()}
    return {
        **{f"{k}_ms": round(v, 2) for k, v in ms.items()},
        "fast_ratio": round(ms["rnnkit_fast"] / ms["torch_nn"], 3),
        "trace_ratio": round(ms["rnnkit_trace"] / ms["torch_nn"], 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    result = {
        "torch": torch.__version__,
        "threads": args.threads,
        "machine": platform.processor() or platform.machine(),
        "targets": {"fast_ratio": "<= 1.05 all", "trace_ratio": "<= 1.3 at S2, <= 2.0 at S1"},
    }
    for name, spec in SCENARIOS.items():
        result[name] = measure(spec, args.repeats)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
