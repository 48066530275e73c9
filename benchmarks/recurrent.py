"""Forward+backward time of torch.nn vs rnnkit's fast, trace and compiled trace paths, and a
peephole LSTM (no fused kernel, eager and compiled); prints one JSON object.

Usage: python benchmarks/recurrent.py [--repeats 15] [--threads 1] [--device cpu|cuda]
    [--no-compiled]
The implementations share weights and input and are timed interleaved (round-robin) in the
same process; each figure is the median over repeats, ratios are to torch.nn. The compiled
paths compile on their warm-up call; ``compile_s`` is the seconds of those calls.
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


def measure(spec: dict, repeats: int, device: str, compiled: bool) -> dict:
    torch.manual_seed(0)
    ref = TORCH[spec["cell"]](
        spec["input"], spec["hidden"], spec["layers"], batch_first=True, bidirectional=spec["bi"]
    ).to(device)
    layers = {"ours": Recurrent(spec["cell"], spec["input"], spec["hidden"], spec["layers"],
                                spec["bi"], compiled=compiled)}
    if spec["cell"] == "lstm":
        layers["peephole"] = Recurrent("peephole", spec["input"], spec["hidden"], spec["layers"],
                                       spec["bi"], compiled=compiled)
    for layer in layers.values():
        layer.load_state_dict(ref.state_dict(), strict=False)  # peepholes keep their own
        layer.to(device)
    x = torch.randn(spec["batch"], spec["steps"], spec["input"], device=device)

    def run(module, **kw):
        out = module(x, **kw)[0]
        out.sum().backward()
        if device == "cuda":
            torch.cuda.synchronize()

    def eager(module, **kw):
        module.compiled = False
        run(module, **kw)
        module.compiled = compiled

    runners = {
        "torch_nn": lambda: run(ref),
        "rnnkit_fast": lambda: run(layers["ours"]),
        "rnnkit_trace": lambda: eager(layers["ours"], trace=True),
    }
    if compiled:
        runners["rnnkit_trace_compiled"] = lambda: run(layers["ours"], trace=True)
    if "peephole" in layers:
        runners["peephole"] = lambda: eager(layers["peephole"])
        if compiled:
            runners["peephole_compiled"] = lambda: run(layers["peephole"])
    times = {name: [] for name in runners}
    warm = {}
    for name, fn in runners.items():  # warm-up (compiles the compiled paths)
        start = time.perf_counter()
        fn()
        warm[name] = time.perf_counter() - start
    for _ in range(repeats):
        for name, fn in runners.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    ms = {name: statistics.median(t) * 1e3 for name, t in times.items()}
    result = {f"{k}_ms": round(v, 2) for k, v in ms.items()}
    for name in ms:
        if name != "torch_nn":
            result[f"{name.removeprefix('rnnkit_')}_ratio"] = round(ms[name] / ms["torch_nn"], 3)
    if compiled:
        result["compile_s"] = {k: round(v, 1) for k, v in warm.items() if "compiled" in k}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--no-compiled", dest="compiled", action="store_false",
                        help="skip the compiled trace and peephole paths")
    parser.add_argument("--scenarios", nargs="*", default=list(SCENARIOS), choices=SCENARIOS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    result = {
        "torch": torch.__version__,
        "threads": args.threads,
        "device": torch.cuda.get_device_name() if args.device == "cuda" else (
            platform.processor() or platform.machine()),
        "targets": {"fast_ratio": "<= 1.05 all", "trace_ratio": "<= 1.3 at S1, <= 1.1 at S2/S3",
                    "peephole_ratio": "<= 1.3 at S2"},
    }
    for name in args.scenarios:
        result[name] = measure(SCENARIOS[name], args.repeats, args.device, args.compiled)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
