"""SegRNN training-step speed: rnnkit's broadcast decoding against stepping every copy.

Usage: python benchmarks/segrnn_speed.py [--horizon 720] [--segment 24] [--repeats 5]

SegRNN decodes the M = H / w output segments of every series in parallel: one GRU step from
the encoder's final state h_N with a position-and-channel query. The reference is the
published formulation, one fused-GRU step over B*C*M rows (h_N repeated M times, the
queries repeated B times); rnnkit's `SegRNN` projects the C*M distinct queries and the B*C
states once and broadcasts them against each other. Both compute the same forecasts (checked
here). Times forward + backward of one batch at the ETTh1 multivariate shapes (B = 256,
C = 7, L = 96, d = 512), best of ``--repeats``, in the same process; prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from rnnkit.models.segrnn import SegRNN
from rnnkit.train.device import set_cpu_threads


def reference_forward(model: SegRNN, x: torch.Tensor) -> torch.Tensor:
    """The published decoding: every (series, output segment) pair as its own GRU row."""
    B, _, C = x.shape
    d = model.position.shape[1] * 2
    segments = x.permute(0, 2, 1).reshape(B * C, model.n_in, model.w)
    _, h = model.rnn(model.embed(segments))
    queries = torch.cat([model.position[None].expand(C, -1, -1),
                         model.channel[:, None].expand(-1, model.n_out, -1)], dim=-1)
    queries = queries.repeat(B, 1, 1).reshape(B * C * model.n_out, 1, d)
    out, _ = model.rnn(queries, h.repeat_interleave(model.n_out, dim=1))
    y = model.out(model.drop(out)).reshape(B, C, model.n_out * model.w)
    return y.permute(0, 2, 1)


def best_step_seconds(forward, model: SegRNN, x: torch.Tensor, repeats: int) -> float:
    """Best wall time of forward + backward of a squared-error loss."""
    times = []
    for _ in range(repeats):
        model.zero_grad()
        start = time.perf_counter()
        forward(x).pow(2).mean().backward()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--horizon", type=int, default=720)
    parser.add_argument("--segment", type=int, default=24)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    set_cpu_threads(args.threads)
    torch.manual_seed(0)
    model = SegRNN(96, args.horizon, 7, segment_length=args.segment, hidden_size=512,
                   dropout=0.0)
    x = torch.randn(args.batch, 96, 7)
    with torch.no_grad():
        gap = float((model(x) - reference_forward(model, x)).abs().max())
    ours = best_step_seconds(model, model, x, args.repeats)
    reference = best_step_seconds(lambda v: reference_forward(model, v), model, x, args.repeats)
    print(json.dumps({
        "shapes": {"batch": args.batch, "channels": 7, "lookback": 96, "horizon": args.horizon,
                   "segment": args.segment, "hidden": 512},
        "threads": args.threads, "max_abs_difference": gap,
        "rnnkit_step_seconds": round(ours, 4), "reference_step_seconds": round(reference, 4),
        "speedup": round(reference / ours, 2),
    }))


if __name__ == "__main__":
    main()
