"""Gate statistics of LSTM and GRU layers: how open the gates are, and how saturated, over time.

A sigmoid gate near 0 or 1 is saturated: its derivative sigma' = sigma (1 - sigma) is almost
0, so the gate barely learns, but a forget gate held near 1 is exactly what carries the LSTM's
cell state (and its gradient) across many steps (Hochreiter & Schmidhuber 1997).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from rnnkit.layers import Trace

#: The gates whose values lie in [0, 1]: LSTM input, forget, output; GRU reset, update.
SIGMOID_GATES = ("i", "f", "o", "r", "z")


@dataclass
class GateStats:
    """One gate of one layer and direction: per-step mean and saturated share, (T,) each.

    ``key`` is ``l0`` or ``l0_reverse`` (as in ``Recurrent.cells``); step s is the s-th step
    processed (position T - 1 - s in the reverse direction). ``mean`` and ``saturation`` are
    the overall figures, over all steps.
    """

    key: str
    gate: str
    mean_over_time: Tensor
    saturation_over_time: Tensor
    mean: float
    saturation: float


def gate_statistics(trace: Trace, low: float = 0.05, high: float = 0.95) -> list[GateStats]:
    """Mean activation and saturation (share of values < ``low`` or > ``high``) of every
    sigmoid gate in ``trace``, per step and overall; padded steps (``trace.mask``) are left out.

    Example:
        >>> from rnnkit.layers import Recurrent
        >>> _, _, trace = Recurrent("gru", 2, 8)(torch.randn(4, 30, 2), trace=True)
        >>> [(s.gate, s.mean_over_time.shape[0]) for s in gate_statistics(trace)]
        [('r', 30), ('z', 30)]
    """
    if not 0 <= low < high <= 1:
        raise ValueError(f"low={low}, high={high}; expected 0 <= low < high <= 1")
    stats = []
    for layer, records in enumerate(trace.layers):
        for direction, record in enumerate(records):
            for gate in (g for g in record.gates if g in SIGMOID_GATES):
                values = record.stack(gate).detach()  # (B, T, H)
                weight = torch.ones_like(values[..., :1])  # (B, T, 1)
                if trace.mask is not None:
                    weight = trace.mask[..., None].to(values.dtype)
                count = weight.sum((0, 2)) * values.shape[2]  # (T,)
                saturated = ((values < low) | (values > high)).to(values.dtype)
                mean_t = (values * weight).sum((0, 2))
                saturated_t = (saturated * weight).sum((0, 2))
                stats.append(
                    GateStats(
                        key=f"l{layer}" + ("_reverse" if direction else ""),
                        gate=gate,
                        mean_over_time=(mean_t / count).cpu(),
                        saturation_over_time=(saturated_t / count).cpu(),
                        mean=(mean_t.sum() / count.sum()).item(),
                        saturation=(saturated_t.sum() / count.sum()).item(),
                    )
                )
    return stats


def gate_summary(stats: list[GateStats]) -> dict[str, dict[str, dict[str, float]]]:
    """Overall figures as plain JSON: ``{"l0": {"f": {"mean": ..., "saturation": ...}}}``."""
    summary: dict[str, dict[str, dict[str, float]]] = {}
    for s in stats:
        summary.setdefault(s.key, {})[s.gate] = {"mean": s.mean, "saturation": s.saturation}
    return summary


def token_gates(trace: Trace, layer: int = 0) -> dict[str, np.ndarray]:
    """Each gate of layer ``layer`` of the first sequence in ``trace``, per token in input
    order: gate name -> (directions, T, H) (a backward direction's steps flipped back, so
    step t of every direction is token t)."""
    result: dict[str, list[np.ndarray]] = {}
    for direction in trace[layer]:
        for name in direction.gates:
            series = direction.stack(name)[0]  # (T, H), in processing order
            series = series.flip(0) if direction.reverse else series
            result.setdefault(name, []).append(series.detach().cpu().numpy())
    return {name: np.stack(values) for name, values in result.items()}
