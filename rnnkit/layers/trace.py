"""What the trace path of `Recurrent` records: every state and gate of every timestep."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor


@dataclass
class DirectionTrace:
    """One layer and direction, step by step, in the order the cell processed them.

    ``states[name][s]`` and ``gates[name][s]`` are (B, H) tensors of step s.
    ``torch.autograd.grad(loss, trace.states["h"])`` gives d loss / d h_t through every path
    (the output at t and all later steps). With the step loop (Elman and user cells,
    ``compiled=True``) every state and gate is on the autograd graph; for the LSTM family and
    the GRU (`rnnkit.layers.bptt`) h_t are inputs of the hand-written backward that receive
    d loss / d h_t from it (views of one leaf, `bptt.probe_states`), and C_t and the gates are
    plain values. For the reverse direction step s reads
    input position ``length - 1 - s``.
    """

    reverse: bool
    states: dict[str, list[Tensor]] = field(default_factory=dict)
    gates: dict[str, list[Tensor]] = field(default_factory=dict)

    @property
    def h(self) -> list[Tensor]:
        """Hidden state h_t of every step."""
        return self.states["h"]

    @property
    def c(self) -> list[Tensor] | None:
        """Cell state C_t of every step (LSTM family), else None."""
        return self.states.get("c")

    def stack(self, name: str) -> Tensor:
        """A state or gate over time as one (B, T, H) tensor, e.g. ``stack("f")``."""
        series = self.states.get(name, self.gates.get(name))
        if series is None:
            known = sorted([*self.states, *self.gates])
            raise KeyError(f"no trace named {name!r}; this cell records {known}")
        return torch.stack(series, dim=1)


@dataclass
class Trace:
    """Per-timestep record of a `Recurrent` forward pass: ``trace.layers[layer][direction]``.

    ``mask`` is (B, T) with True at real (unpadded) steps when lengths were given, else None.
    """

    layers: list[list[DirectionTrace]]
    mask: Tensor | None = None

    def __getitem__(self, layer: int) -> list[DirectionTrace]:
        return self.layers[layer]
