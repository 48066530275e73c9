"""Sequences of different lengths: rnnkit's `Recurrent` against torch's packed LSTM.

Usage: python benchmarks/lengths_speed.py [--repeats 5] [--threads 1] [--precision bf16-mixed]

The reference is what torch users write for a padded batch with lengths: ``nn.LSTM`` on
``pack_padded_sequence``. rnnkit's fast path groups the rows by length and runs each group
dense over its own steps, and packs when the groups would be small (``grouping_pays``). Both
compute the same outputs (checked here). For each case (batch B, steps T, how many distinct
lengths the batch holds) it times forward + backward of rnnkit forced to group, rnnkit forced
to pack and the reference, best of ``--repeats`` rounds of 5 steps (the three taking turns),
in the same process, and prints one JSON object with the speed-ups (reference seconds / rnnkit
seconds), which way the rule runs each case, which way was faster, and how many cases the rule
picks the faster way for. ``--precision bf16-mixed`` times every forward under bfloat16
autocast (on a CPU that runs it natively); ``rnnkit_seconds`` (the way the rule picks) lets two
runs be compared.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import time

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from rnnkit.layers import Recurrent, recurrent
from rnnkit.layers.recurrent import (
    MIN_AUTOCAST_GROUP_ROWS,
    MIN_GROUP_ROWS,
    MIN_SMALL_GROUP_ROWS,
    SMALL_LAYER,
    runs_grouped,
)
from rnnkit.train.device import set_cpu_threads

#: (label, bidirectional, layers, input, hidden, batch, steps, distinct lengths, "uniform"
#: or "words")
CASES = [
    ("bilstm-2x128 one length", True, 2, 64, 128, 128, 40, 1),
    ("bilstm-2x128 2 lengths", True, 2, 64, 128, 128, 40, 2),
    ("bilstm-2x128 4 lengths", True, 2, 64, 128, 128, 40, 4),
    ("bilstm-2x128 16 lengths", True, 2, 64, 128, 128, 40, 16),
    ("bilstm-2x128 uniform 1..40", True, 2, 64, 128, 128, 40, "uniform"),
    ("bilstm-2x128 short, 3 lengths", True, 2, 64, 128, 128, 12, 3),
    # the text classifier on SST-2: 128 phrases of many short lengths
    ("bilstm-2x128 phrases uniform 1..24", True, 2, 128, 128, 128, 24, "uniform"),
    ("lstm-256 B=64 4 lengths", False, 1, 64, 256, 64, 60, 4),
    ("lstm-256 B=32 uniform 1..60", False, 1, 64, 256, 32, 60, "uniform"),
    ("bilstm-256 B=64 uniform 1..25", True, 1, 64, 256, 64, 25, "uniform"),
    # the tagger's character layer (Lample et al. 2016: 25 + 25 units): one row per word of
    # a batch of 32 sentences, word lengths as in English text
    ("tagger chars bilstm-25 N=288", True, 1, 25, 25, 288, 14, "words"),
    ("tagger chars bilstm-25 N=128", True, 1, 25, 25, 128, 14, "words"),
    ("tagger chars bilstm-25 N=1000", True, 1, 25, 25, 1000, 14, "words"),
    ("bilstm-25 N=288 4 lengths", True, 1, 25, 25, 288, 14, 4),
]
#: Relative frequency of word lengths 1..14 in English news text (CoNLL-2003-like).
WORD_LENGTHS = torch.tensor([8.0, 12, 14, 12, 11, 10, 9, 7, 6, 4, 3, 2, 1, 1])


def batch_lengths(batch: int, steps: int, distinct: int | str, gen: torch.Generator) -> Tensor:
    """Lengths of one batch: ``distinct`` values spread over [T/2, T], uniform on [1, T], or
    drawn like English word lengths ("words", T = 14)."""
    if distinct == "words":
        lengths = torch.multinomial(WORD_LENGTHS, batch, replacement=True, generator=gen) + 1
    elif distinct == "uniform":
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


def forced(grouped: bool, layer: Recurrent, x: Tensor, lengths: Tensor) -> Tensor:
    """``layer``'s output with the batch grouped by length, or packed, whatever the rule says."""
    rule = recurrent.grouping_pays
    recurrent.grouping_pays = lambda *args: grouped
    try:
        return layer(x, lengths=lengths)[0]
    finally:
        recurrent.grouping_pays = rule


def best_seconds(forwards: list, x: Tensor, repeats: int, bf16: bool = False) -> list[float]:
    """Best wall time of 5 forward + backward passes of each forward (under bfloat16 autocast
    with ``bf16``), the forwards taking turns round by round (so a slower spell of the shared
    machine hits them all)."""
    times: list[list[float]] = [[] for _ in forwards]
    for _ in range(repeats):
        for forward, spent in zip(forwards, times, strict=True):
            start = time.perf_counter()
            for _ in range(5):
                with (torch.autocast("cpu", dtype=torch.bfloat16) if bf16
                      else contextlib.nullcontext()):
                    out = forward(x)
                out.float().pow(2).mean().backward()
            spent.append(time.perf_counter() - start)
    return [min(spent) for spent in times]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--precision", default="32", choices=["32", "bf16-mixed"],
                        help="float32, or every forward under bfloat16 autocast")
    args = parser.parse_args()
    set_cpu_threads(args.threads)
    gen = torch.Generator().manual_seed(0)
    rows = []
    bf16 = args.precision == "bf16-mixed"
    for label, bidirectional, layers, size, hidden, batch, steps, distinct in CASES:
        torch.manual_seed(0)
        ours = Recurrent("lstm", size, hidden, layers, bidirectional)
        ref = nn.LSTM(size, hidden, layers, batch_first=True, bidirectional=bidirectional)
        ref.load_state_dict(ours.state_dict())
        lengths = batch_lengths(batch, steps, distinct, gen)
        x = torch.randn(batch, steps, size, requires_grad=True)
        with torch.no_grad():
            gap = float((ours(x, lengths=lengths)[0] - torch_packed(ref, x, lengths)).abs().max())
        grouped, packed, reference = best_seconds(
            [lambda v, n=lengths, f=ours: forced(True, f, v, n),
             lambda v, n=lengths, f=ours: forced(False, f, v, n),
             lambda v, n=lengths, f=ref: torch_packed(f, v, n)], x, args.repeats, bf16)
        choice = "grouped" if runs_grouped(lengths, hidden, autocast=bf16) else "packed"
        faster = "grouped" if grouped <= packed else "packed"
        rows.append({"case": label, "batch": batch, "steps": steps, "hidden": hidden,
                     "distinct_lengths": len(torch.unique(lengths)), "rnnkit_runs": choice,
                     "faster_way": faster, "max_abs_difference": gap,
                     "torch_packed_seconds": round(reference, 4),
                     "rnnkit_seconds": round(grouped if choice == "grouped" else packed, 4),
                     "speedup_grouped": round(reference / grouped, 2),
                     "speedup_packed": round(reference / packed, 2),
                     "speedup": round(reference / (grouped if choice == "grouped" else packed), 2)})
    print(json.dumps({"threads": args.threads, "precision": args.precision,
                      "min_group_rows": MIN_GROUP_ROWS,
                      "min_autocast_group_rows": MIN_AUTOCAST_GROUP_ROWS,
                      "small_layer": SMALL_LAYER,
                      "min_small_group_rows": MIN_SMALL_GROUP_ROWS,
                      "rule_picks_faster": sum(r["rnnkit_runs"] == r["faster_way"] for r in rows),
                      "cases_run": len(rows), "cases": rows}))


if __name__ == "__main__":
    main()
