"""Sequences of different lengths: rnnkit's `Recurrent` against torch's packed LSTM.

Usage: python benchmarks/lengths_speed.py [--repeats 5] [--threads 1]

The reference is what torch users write for a padded batch with lengths: ``nn.LSTM`` on
``pack_padded_sequence``. rnnkit's fast path groups the rows by length and runs each group
dense over its own steps, and packs only when the groups would average fewer than
``MIN_GROUP_ROWS`` rows. Both compute the same outputs (checked here). For each case (batch B,
steps T, how many distinct lengths the batch holds) it times forward + backward, best of
``--repeats`` rounds of 5 steps (the two taking turns), in the same process, and prints one
JSON object with the speed-up (reference seconds / rnnkit seconds) and which way rnnkit ran;
where rnnkit packs, also the speed-up it would have had grouping anyway (why it packs).
"""

from __future__ import annotations

import argparse
import json
import time

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from rnnkit.layers import Recurrent, recurrent
from rnnkit.layers.recurrent import MIN_GROUP_ROWS, runs_grouped
from rnnkit.train.device import set_cpu_threads

#: (label, bidirectional, layers, hidden, batch, steps, distinct lengths or "uniform")
CASES = [
    ("bilstm-2x128 one length", True, 2, 128, 128, 40, 1),
    ("bilstm-2x128 2 lengths", True, 2, 128, 128, 40, 2),
    ("bilstm-2x128 4 lengths", True, 2, 128, 128, 40, 4),
    ("bilstm-2x128 16 lengths", True, 2, 128, 128, 40, 16),
    ("bilstm-2x128 uniform 1..40", True, 2, 128, 128, 40, "uniform"),
    ("bilstm-2x128 short, 3 lengths", True, 2, 128, 128, 12, 3),
    ("lstm-256 B=64 4 lengths", False, 1, 256, 64, 60, 4),
    ("lstm-256 B=32 uniform 1..60", False, 1, 256, 32, 60, "uniform"),
    ("bilstm-256 B=64 uniform 1..25", True, 1, 256, 64, 25, "uniform"),
]


def batch_lengths(batch: int, steps: int, distinct: int | str, gen: torch.Generator) -> Tensor:
    """Lengths of one batch: ``distinct`` values spread over [T/2, T], or uniform on [1, T]."""
    if distinct == "uniform":
        lengths = torch.randint(1, steps + 1, (batch,), generator=gen)
    else:
        values = torch.linspace(steps // 2 if distinct > 1 else steps, steps, distinct)
        lengths = values.round().long()[torch.randint(0, distinct, (batch,), generator=gen)]
    lengths[0] = steps
    return lengths


def torch_packed(ref: nn.LSTM, x: Tensor, lengths: Tensor) -> Tensor:
    """The reference: nn.LSTM over a packed batch, padded back."""
    out, _ = ref(pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False))
    return pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])[0]


def best_seconds(forwards: list, x: Tensor, repeats: int) -> list[float]:
    """Best wall time of 5 forward + backward passes of each forward, the forwards taking
    turns round by round (so a slower spell of the shared machine hits them all)."""
    times: list[list[float]] = [[] for _ in forwards]
    for _ in range(repeats):
        for forward, spent in zip(forwards, times, strict=True):
            start = time.perf_counter()
            for _ in range(5):
                forward(x).pow(2).mean().backward()
            spent.append(time.perf_counter() - start)
    return [min(spent) for spent in times]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    set_cpu_threads(args.threads)
    gen = torch.Generator().manual_seed(0)
    rows = []
    for label, bidirectional, layers, hidden, batch, steps, distinct in CASES:
        torch.manual_seed(0)
        ours = Recurrent("lstm", 64, hidden, layers, bidirectional)
        ref = nn.LSTM(64, hidden, layers, batch_first=True, bidirectional=bidirectional)
        ref.load_state_dict(ours.state_dict())
        lengths = batch_lengths(batch, steps, distinct, gen)
        x = torch.randn(batch, steps, 64, requires_grad=True)
        with torch.no_grad():
            gap = float((ours(x, lengths=lengths)[0] - torch_packed(ref, x, lengths)).abs().max())
        seconds, reference = best_seconds([lambda v, n=lengths, f=ours: f(v, lengths=n)[0],
                                           lambda v, n=lengths, f=ref: torch_packed(f, v, n)],
                                          x, args.repeats)
        row = {"case": label, "batch": batch, "steps": steps,
               "distinct_lengths": len(torch.unique(lengths)),
               "rnnkit_runs": "grouped" if runs_grouped(lengths) else "packed",
               "max_abs_difference": gap, "rnnkit_seconds": round(seconds, 4),
               "torch_packed_seconds": round(reference, 4),
               "speedup": round(reference / seconds, 2)}
        if not runs_grouped(lengths):
            recurrent.MIN_GROUP_ROWS = 1  # every batch groups
            try:
                forced, again = best_seconds(
                    [lambda v, n=lengths, f=ours: f(v, lengths=n)[0],
                     lambda v, n=lengths, f=ref: torch_packed(f, v, n)], x, args.repeats)
            finally:
                recurrent.MIN_GROUP_ROWS = MIN_GROUP_ROWS
            row["speedup_if_grouped"] = round(again / forced, 2)
        rows.append(row)
    print(json.dumps({"threads": args.threads, "min_group_rows": MIN_GROUP_ROWS,
                      "input_size": 64, "cases": rows}))


if __name__ == "__main__":
    main()
