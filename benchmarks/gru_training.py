"""A GRU's training step (forward + backward) on torch's GRU kernel and on rnnkit's hand-written
backpropagation through time, which `Recurrent` uses for GRU training on a CPU in float32
(`Recurrent._trains_by_hand`); prints one JSON object.

Usage: python benchmarks/gru_training.py [--repeats 9] [--threads 1]

Each case is one `Recurrent("gru", ...)` layer, timed both ways on the same weights and input,
interleaved (round-robin) in one process, without and with lengths (each row a random length
between a quarter of the steps and all of them; the torch-kernel path then groups or packs
rows as `Recurrent` does). Each figure is the median over the repeats; the ratio is
hand-written / torch kernel (below 1: the hand-written path is faster).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time

import torch

from rnnkit import Recurrent

#: (batch, steps, input, hidden, layers, bidirectional) and what the shape stands for.
CASES = {
    "seed-like 4x50, B 32, T 60": (32, 60, 1, 50, 4, False),
    "BiGRU 128, B 32, T 200 (S3)": (32, 200, 64, 128, 1, True),
    "GRU 2x256, B 64, T 100": (64, 100, 128, 256, 2, False),
    "BiGRU 2x128, B 128, T 30 (classifier-like)": (128, 30, 128, 128, 2, True),
    "SegRNN encoder 512, B 256, T 7": (256, 7, 512, 512, 1, False),
}


def measure(shape: tuple, lengths: bool, repeats: int) -> dict:
    batch, steps, inputs, hidden, layers, bidirectional = shape
    torch.manual_seed(0)
    layer = Recurrent("gru", inputs, hidden, layers, bidirectional)
    x = torch.randn(batch, steps, inputs)
    lens = None
    if lengths:
        lens = torch.randint(max(1, steps // 4), steps + 1, (batch,))
        lens[0] = steps
    by_hand = Recurrent._trains_by_hand

    def step(hand: bool) -> None:
        layer._trains_by_hand = (lambda x: by_hand(layer, x)) if hand else (lambda x: False)
        out = layer(x, lengths=lens)[0]
        out.square().mean().backward()

    times: dict[bool, list[float]] = {False: [], True: []}
    step(True), step(False)  # warm-up
    for _ in range(repeats):
        for hand in (False, True):
            start = time.perf_counter()
            step(hand)
            times[hand].append(time.perf_counter() - start)
    kernel, hand = statistics.median(times[False]), statistics.median(times[True])
    return {"torch_kernel_ms": round(kernel * 1e3, 2), "hand_written_ms": round(hand * 1e3, 2),
            "ratio": round(hand / kernel, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    results = {}
    for name, shape in CASES.items():
        results[name] = {"one length": measure(shape, False, args.repeats),
                         "lengths": measure(shape, True, args.repeats)}
    ratios = [r["ratio"] for case in results.values() for r in case.values()]
    print(json.dumps({
        "torch": torch.__version__, "threads": args.threads,
        "machine": platform.processor() or platform.machine(),
        "cases": results, "ratio_range": [min(ratios), max(ratios)],
    }))


if __name__ == "__main__":
    main()
