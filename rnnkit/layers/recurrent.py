"""`Recurrent`: one layer type that runs any cell over time, stacked and bidirectional."""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from typing import Any

import torch
from torch import _VF, Tensor, nn
from torch.backends.cudnn import rnn as cudnn_rnn
from torch.nn import functional as F
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from rnnkit import init as rinit
from rnnkit.cells import CIFGLSTMCell, ElmanCell, GRUCell, LSTMCell, PeepholeLSTMCell
from rnnkit.cells.base import Cell
from rnnkit.cells.gru import GRUGates
from rnnkit.cells.lstm import LSTMState
from rnnkit.layers import bptt
from rnnkit.layers.compiled import Step, step_fn
from rnnkit.layers.trace import DirectionTrace, Trace

CellFactory = Callable[[int, int, bool], Cell]

#: Cells by name: a factory ``(input_size, hidden_size, bias) -> Cell`` and an optional
#: initialiser applied to each new cell.
CELLS: dict[str, tuple[CellFactory, Callable[[nn.Module], None] | None]] = {
    "rnn": (lambda i, h, b: ElmanCell(i, h, b, "tanh"), None),
    "rnn_relu": (lambda i, h, b: ElmanCell(i, h, b, "relu"), None),
    "irnn": (lambda i, h, b: ElmanCell(i, h, b, "relu"), rinit.identity_),  # Le et al. 2015
    "lstm": (LSTMCell, None),
    "peephole": (PeepholeLSTMCell, None),
    "cifg": (CIFGLSTMCell, None),
    "gru": (GRUCell, None),
}

_FUSED = {"LSTM": _VF.lstm, "GRU": _VF.gru, "RNN_TANH": _VF.rnn_tanh, "RNN_RELU": _VF.rnn_relu}
#: With lengths, the fast path groups the rows by length and runs each group dense when the
#: groups average at least this many rows; with smaller groups it packs the batch instead,
#: because grouping gains nothing over packing there (`benchmarks/lengths_speed.py` measures
#: both against torch's packed LSTM; docs/sentiment.md has the figures).
MIN_GROUP_ROWS = 3
#: Layers of fewer units than ``SMALL_LAYER`` group only when the groups average at least
#: ``MIN_SMALL_GROUP_ROWS`` rows: each group is one fused kernel call, whose fixed cost a small
#: layer's steps do not earn back (the tagger's 25-unit character BiLSTM over ~14 distinct word
#: lengths runs faster packed; docs/speed.md has the figures).
SMALL_LAYER = 64
MIN_SMALL_GROUP_ROWS = 48
#: Under autocast (bfloat16 / float16) each group's kernel call costs more, so groups must
#: average at least this many rows: SST-2's batches (128 phrases of ~28 lengths) run 1.4x
#: faster packed than grouped in bfloat16, and as fast either way in float32
#: (`benchmarks/lengths_speed.py --precision bf16-mixed`; docs/speed.md).
MIN_AUTOCAST_GROUP_ROWS = 8


def grouping_pays(values: Tensor, batch: int, hidden_size: int, autocast: bool = False) -> bool:
    """The rule, from the distinct lengths ``values`` of a batch of ``batch`` rows: one length,
    or groups that average ``MIN_GROUP_ROWS`` rows (``MIN_AUTOCAST_GROUP_ROWS`` under
    ``autocast``; ``MIN_SMALL_GROUP_ROWS`` in layers of fewer than ``SMALL_LAYER`` units)."""
    rows = MIN_GROUP_ROWS if hidden_size >= SMALL_LAYER else MIN_SMALL_GROUP_ROWS
    if autocast:
        rows = max(rows, MIN_AUTOCAST_GROUP_ROWS)
    return len(values) == 1 or len(values) * rows <= batch


def runs_grouped(lengths: Tensor, hidden_size: int, autocast: bool = False) -> bool:
    """Whether `Recurrent`'s fast path runs a batch with these (B,) lengths through a layer of
    ``hidden_size`` units grouped by length (see `grouping_pays`), rather than packed."""
    return grouping_pays(torch.unique(lengths), len(lengths), hidden_size, autocast)


_TORCH_NAME = re.compile(r"^(?P<param>.+)_(?P<key>l\d+(?:_reverse)?)$")


def resolve_cell(cell: str | type[Cell] | CellFactory) -> tuple[CellFactory, Any]:
    """A cell name, class or factory -> (factory, initialiser or None); unknown names raise."""
    if isinstance(cell, str):
        if cell not in CELLS:
            raise ValueError(f"cell={cell!r} is not a known cell; choose one of {sorted(CELLS)}")
        return CELLS[cell]
    if callable(cell):
        return cell, None
    raise ValueError(f"cell={cell!r}; expected a name from {sorted(CELLS)} or a Cell class")


class Recurrent(nn.Module):
    r"""Runs a recurrent cell over a sequence: stacked, optionally bidirectional, with lengths.

    For each layer k and direction d the cell computes ``h_t = cell(x_t, h_{t-1})`` over
    t = 1..T (reversed for d = 1); layer k > 0 reads the (dropped-out) outputs of layer k - 1,
    both directions concatenated.

    Args:
        cell: ``"rnn"``, ``"rnn_relu"``, ``"irnn"``, ``"lstm"``, ``"peephole"``, ``"cifg"``,
            ``"gru"``, or a `Cell` subclass / factory ``(input_size, hidden_size, bias)``.
        input_size: H_in, features per timestep.
        hidden_size: H, units per cell.
        num_layers: stacked layers.
        bidirectional: also run each layer backwards in time (outputs have 2H features).
        dropout: dropout on the outputs of every layer except the last, in [0, 1).
        batch_first: input and output are (B, T, features); else (T, B, features).
            The state is always (num_layers * directions, B, H), as in torch.
        bias: use the bias vectors.
        compiled: run the cell's step through `torch.compile` on the trace path (see
            `rnnkit.layers.compiled`; same outputs, gradients and gates, eager where the
            compiler is unavailable).

    Two ways to run, always on the same parameters:

    - fast path (default) for the standard cells (rnn, irnn, lstm, gru): torch's fused kernels
      (``torch._VF``), called with this layer's own parameters; with lengths, the rows are
      grouped by length and each group runs dense over its own steps (exact: no padding enters
      a step), or, when most lengths are distinct (and when traced for export), packed;
      a GRU that trains on a CPU in float32 runs the trace path's hand-written BPTT instead
      (`_trains_by_hand`: faster than torch's GRU kernel there);
    - trace path (``trace=True``, and always for cells without a fused kernel): the explicit
      loop over ``cell.step``, which also returns a `Trace` of every state and gate.

    ``state_dict()`` uses torch's names (``weight_ih_l0``, ``bias_hh_l1_reverse``, ...), so
    weights move to and from ``torch.nn.LSTM/GRU/RNN`` unchanged.

    Example:
        >>> layer = Recurrent("lstm", input_size=1, hidden_size=50, num_layers=4)
        >>> out, (h_n, c_n) = layer(torch.randn(32, 60, 1))
        >>> tuple(out.shape), tuple(h_n.shape)
        ((32, 60, 50), (4, 32, 50))
        >>> out, state, trace = layer(torch.randn(32, 60, 1), trace=True)
        >>> tuple(trace[0][0].stack("f").shape)  # forget gate of layer 0 over time
        (32, 60, 50)
    """

    def __init__(
        self,
        cell: str | type[Cell] | CellFactory,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bidirectional: bool = False,
        dropout: float = 0.0,
        batch_first: bool = True,
        bias: bool = True,
        compiled: bool = False,
    ) -> None:
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"num_layers={num_layers}; expected at least 1")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout={dropout}; expected a probability in [0, 1)")
        if dropout > 0 and num_layers == 1:
            warnings.warn(
                f"dropout={dropout} has no effect with num_layers=1: it applies between layers",
                stacklevel=2,
            )
        factory, initialiser = resolve_cell(cell)
        self.cell_name = cell if isinstance(cell, str) else getattr(cell, "__name__", repr(cell))
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bidirectional = bidirectional
        self.num_directions = 2 if bidirectional else 1
        self.dropout = dropout
        self.batch_first = batch_first
        self.bias = bias
        self.compiled = compiled
        cells = {}
        for layer in range(num_layers):
            layer_in = input_size if layer == 0 else hidden_size * self.num_directions
            for suffix in ("", "_reverse")[: self.num_directions]:
                new = factory(layer_in, hidden_size, bias)
                if not isinstance(new, Cell):
                    raise ValueError(f"cell factory returned {type(new).__name__}, not a Cell")
                if initialiser is not None:
                    initialiser(new)
                cells[f"l{layer}{suffix}"] = new
        self.cells = nn.ModuleDict(cells)
        first = next(iter(self.cells.values()))
        self.state_type = first.state_type
        self.fused_mode = first.fused_mode
        self.register_state_dict_post_hook(_to_torch_names)
        self.register_load_state_dict_pre_hook(_from_torch_names)

    # ---- the fused kernel's weights ---------------------------------------------------------

    def flatten_parameters(self) -> None:
        """Lay the fused kernel's weights out in one contiguous buffer, as
        ``torch.nn.LSTM.flatten_parameters`` does, so cuDNN reads them in place instead of
        copying them on every call. The parameters stay the same tensors (now views into the
        buffer) with the same values. Does nothing off CUDA, without cuDNN, or for cells
        without a fused kernel. Moving the layer (``.to``, ``.cuda``) calls it."""
        weights = self._flat_weights()
        first = weights[0]
        if (self.fused_mode is None or not first.is_cuda
                or not torch.backends.cudnn.is_acceptable(first)
                or any(w.dtype != first.dtype or w.device != first.device for w in weights)):
            return
        with torch.no_grad():
            torch._cudnn_rnn_flatten_weight(
                weights, 4 if self.bias else 2, self.input_size,
                cudnn_rnn.get_cudnn_mode(self.fused_mode), self.hidden_size, 0,
                self.num_layers, self.batch_first, self.bidirectional,
            )

    def _apply(self, fn: Callable, *args: Any, **kwargs: Any) -> Recurrent:
        result = super()._apply(fn, *args, **kwargs)
        self.flatten_parameters()
        return result

    # ---- validation -------------------------------------------------------------------------

    def _check_input(self, x: Tensor) -> None:
        if x.dim() != 3 or x.shape[-1] != self.input_size:
            layout = "(batch, time, features)" if self.batch_first else "(time, batch, features)"
            raise ValueError(
                f"input has shape {tuple(x.shape)}; expected {layout} with "
                f"features={self.input_size}"
            )

    def _check_lengths(self, lengths: Tensor | list[int], batch: int, steps: int) -> Tensor:
        lengths = torch.as_tensor(lengths)
        if lengths.dim() != 1 or lengths.shape[0] != batch:
            raise ValueError(
                f"lengths has shape {tuple(lengths.shape)}; expected ({batch},), one per sequence"
            )
        if lengths.is_floating_point():
            raise ValueError(f"lengths must be integers, got dtype {lengths.dtype}")
        lengths = lengths.to("cpu", torch.int64)
        if lengths.min() < 1 or lengths.max() > steps:
            raise ValueError(
                f"lengths must lie in [1, {steps}] (the sequence length); got min "
                f"{int(lengths.min())}, max {int(lengths.max())}"
            )
        return lengths

    def _initial_state(self, state: Any, x: Tensor, batch: int) -> tuple[Tensor, ...]:
        """The state as a tuple of (L*D, B, H) tensors (h, or h and c), zeros when None."""
        fields = self.state_type._fields
        expected = (self.num_layers * self.num_directions, batch, self.hidden_size)
        if state is None:
            zeros = x.new_zeros(expected)
            return tuple(zeros for _ in fields)
        parts = (state,) if isinstance(state, Tensor) else tuple(state)
        if len(parts) != len(fields):
            raise ValueError(
                f"state has {len(parts)} tensor(s); this {self.cell_name} layer expects "
                f"{len(fields)} ({', '.join(fields)})"
            )
        for name, part in zip(fields, parts, strict=True):
            if not isinstance(part, Tensor) or tuple(part.shape) != expected:
                shape = tuple(part.shape) if isinstance(part, Tensor) else type(part).__name__
                raise ValueError(
                    f"state {name} has shape {shape}; expected {expected} "
                    "(num_layers * directions, batch, hidden_size)"
                )
        return parts

    # ---- forward ----------------------------------------------------------------------------

    def forward(
        self,
        x: Tensor,
        state: Any = None,
        lengths: Tensor | list[int] | None = None,
        trace: bool = False,
    ) -> tuple[Tensor, Any] | tuple[Tensor, Any, Trace]:
        """Run the layer.

        Args:
            x: (B, T, H_in) if batch_first else (T, B, H_in).
            state: initial state, zeros when None: h0 (L*D, B, H), or (h0, c0) for LSTM cells.
            lengths: (B,) real length of each sequence; padded outputs are zero and the final
                state is taken at each sequence's last real step.
            trace: run the explicit cell loop and also return a `Trace`.

        Returns:
            ``(output, state_n)`` or ``(output, state_n, trace)``: output (B, T, D*H) (or
            time first), state_n like ``state``: h_n, or ``LSTMState(h_n, c_n)``.
        """
        self._check_input(x)
        batch, steps = (x.shape[0], x.shape[1]) if self.batch_first else (x.shape[1], x.shape[0])
        if lengths is not None:
            lengths = self._check_lengths(lengths, batch, steps)
        hx = self._initial_state(state, x, batch)
        if trace or self.fused_mode is None or self._trains_by_hand(x):
            out, final, record = self._loop(x, hx, lengths, trace)
        else:
            out, final = self._fused(x, hx, lengths)
            record = None
        final = LSTMState(*final) if self.state_type is LSTMState else final[0]
        return (out, final, record) if trace else (out, final)

    def _trains_by_hand(self, x: Tensor) -> bool:
        """Whether a GRU layer runs the hand-written BPTT (`rnnkit.layers.bptt`) instead of
        torch's kernel: on a CPU, in float32, when gradients are recorded. There torch's GRU
        kernel is a loop of separately differentiated operations, and a training step by hand
        took 0.32-0.84 of its time in 9 of 10 cases (`benchmarks/gru_training.py`,
        docs/speed.md); torch's kernel stays faster for inference, under autocast and on
        CUDA, and is what export traces."""
        return (self.fused_mode == "GRU" and not self.compiled and x.device.type == "cpu"
                and x.dtype == torch.float32 and torch.is_grad_enabled()
                and not torch.is_autocast_enabled("cpu") and not torch.jit.is_tracing()
                and all(bptt.supports(cell) for cell in self.cells.values()))

    def _flat_weights(self) -> list[Tensor]:
        return [p for cell in self.cells.values() for p in cell.parameters()]

    def _fused(
        self, x: Tensor, hx: tuple[Tensor, ...], lengths: Tensor | None
    ) -> tuple[Tensor, tuple[Tensor, ...]]:
        if lengths is None:
            return self._kernel(x, hx, self.batch_first)
        # traced for export: packed, as the graph must take any lengths (grouping is a loop)
        if torch.jit.is_tracing():
            return self._packed(x, hx, lengths)
        values, group_of = torch.unique(lengths.cpu(), return_inverse=True)
        autocast = torch.is_autocast_enabled(x.device.type)
        if not grouping_pays(values, len(lengths), self.hidden_size, autocast):
            return self._packed(x, hx, lengths)
        # rows grouped by length: each group runs dense over its own steps, no padding in it
        seq = x if self.batch_first else x.transpose(0, 1)
        steps = seq.shape[1]
        order = torch.argsort(group_of, stable=True)
        seq, hx, weights = self._autocast(seq, hx)
        outs, finals = [], []
        for rows, length in zip(order.split(torch.bincount(group_of).tolist()), values.tolist(),
                                strict=True):
            rows = rows.to(x.device)
            out, final = self._kernel(seq.index_select(0, rows)[:, :length],
                                      tuple(h.index_select(1, rows) for h in hx), True, weights)
            outs.append(F.pad(out, (0, 0, 0, steps - length)))
            finals.append(final)
        back = torch.argsort(order).to(x.device)
        out = torch.cat(outs).index_select(0, back)
        out = out if self.batch_first else out.transpose(0, 1)
        return out, tuple(torch.cat(parts, 1).index_select(1, back)
                          for parts in zip(*finals, strict=True))

    def _autocast(
        self, x: Tensor, hx: tuple[Tensor, ...]
    ) -> tuple[Tensor, tuple[Tensor, ...], list[Tensor]]:
        """``x``, ``hx`` and the flat weights in autocast's dtype where autocast is on (else as
        they are). Cast once here: autocast would cast the weights again for every group's
        kernel call, and does not cast the packed kernel's inputs at all."""
        weights = self._flat_weights()
        device = x.device.type
        if not torch.is_autocast_enabled(device):
            return x, hx, weights
        dtype = torch.get_autocast_dtype(device)
        return (x.to(dtype), tuple(h.to(dtype) for h in hx), [w.to(dtype) for w in weights])

    def _kernel(
        self, x: Tensor, hx: tuple[Tensor, ...], batch_first: bool,
        weights: list[Tensor] | None = None,
    ) -> tuple[Tensor, tuple[Tensor, ...]]:
        """The fused kernel over dense (unpadded) sequences (``weights``: the flat weights,
        already cast; None: this layer's own)."""
        h0 = hx if self.fused_mode == "LSTM" else hx[0]
        result = _FUSED[self.fused_mode](
            x, h0, self._flat_weights() if weights is None else weights, self.bias,
            self.num_layers, self.dropout,
            self.training, self.bidirectional, batch_first,
        )
        return result[0], tuple(result[1:])

    def _packed(
        self, x: Tensor, hx: tuple[Tensor, ...], lengths: Tensor
    ) -> tuple[Tensor, tuple[Tensor, ...]]:
        """The fused kernel over a packed sequence (for many distinct lengths)."""
        x, hx, weights = self._autocast(x, hx)
        packed = pack_padded_sequence(x, lengths, self.batch_first, enforce_sorted=False)
        order = packed.sorted_indices.to(x.device)
        h0 = tuple(h.index_select(1, order) for h in hx)
        h0 = h0 if self.fused_mode == "LSTM" else h0[0]
        result = _FUSED[self.fused_mode](
            packed.data, packed.batch_sizes, h0, weights, self.bias,
            self.num_layers, self.dropout, self.training, self.bidirectional,
        )
        packed_out = PackedSequence(
            result[0], packed.batch_sizes, packed.sorted_indices, packed.unsorted_indices
        )
        steps = x.shape[1] if self.batch_first else x.shape[0]
        out, _ = pad_packed_sequence(packed_out, self.batch_first, total_length=steps)
        back = packed.unsorted_indices.to(x.device)
        return out, tuple(h.index_select(1, back) for h in result[1:])

    def _loop(
        self, x: Tensor, hx: tuple[Tensor, ...], lengths: Tensor | None, trace: bool
    ) -> tuple[Tensor, tuple[Tensor, ...], Trace]:
        seq = x if self.batch_first else x.transpose(0, 1)  # (B, T, H_in)
        batch, steps = seq.shape[:2]
        mask = None
        reverse_index = None
        if lengths is not None:
            lengths = lengths.to(x.device)
            positions = torch.arange(steps, device=x.device)
            mask = positions[None, :] < lengths[:, None]  # (B, T)
            if self.bidirectional:
                # reverse each sequence within its own length; padding stays where it is
                reverse_index = torch.where(mask, lengths[:, None] - 1 - positions, positions)
        finals: list[list[Tensor]] = [[] for _ in hx]
        layers = []
        for layer in range(self.num_layers):
            outputs, traces = [], []
            for direction in range(self.num_directions):
                index = layer * self.num_directions + direction
                cell = self.cells[f"l{layer}" + ("_reverse" if direction else "")]
                inputs = seq if direction == 0 else _reverse(seq, reverse_index)
                state = cell.state_type(*(h[index] for h in hx))
                if bptt.supports(cell) and not self.compiled:
                    out, state, record = _unroll_bptt(cell, inputs, state, mask, direction == 1,
                                                      trace)
                else:
                    step = step_fn(cell) if self.compiled else cell.step
                    out, state, record = _unroll(cell, step, inputs, state, mask, direction == 1)
                outputs.append(out if direction == 0 else _reverse(out, reverse_index))
                traces.append(record)
                for slot, value in zip(finals, state, strict=True):
                    slot.append(value)
            seq = outputs[0] if len(outputs) == 1 else torch.cat(outputs, dim=2)
            if self.dropout > 0 and layer < self.num_layers - 1:
                seq = F.dropout(seq, self.dropout, self.training)
            layers.append(traces)
        out = seq if self.batch_first else seq.transpose(0, 1)
        return out, tuple(torch.stack(f) for f in finals), Trace(layers, mask)

    def extra_repr(self) -> str:
        """Constructor arguments, for ``print(module)``."""
        return (
            f"{self.cell_name!r}, {self.input_size}, {self.hidden_size}, "
            f"num_layers={self.num_layers}, bidirectional={self.bidirectional}, "
            f"dropout={self.dropout}, batch_first={self.batch_first}"
            + (", compiled=True" if self.compiled else "")
        )


def _reverse(seq: Tensor, index: Tensor | None) -> Tensor:
    """Flip (B, T, H) in time; with an index, flip each sequence within its length."""
    if index is None:
        return seq.flip(1)
    return seq.gather(1, index[:, :, None].expand(-1, -1, seq.shape[2]))


def _unroll(
    cell: Cell, step: Step, seq: Tensor, state: Any, mask: Tensor | None, reverse: bool
) -> tuple[Tensor, Any, DirectionTrace]:
    """Run one cell over (B, T, H_in): the input projection once, then ``step`` (the cell's, or
    its compiled form) once per timestep."""
    record = DirectionTrace(
        reverse=reverse, states={name: [] for name in state._fields}, gates={}
    )
    hs = []
    for t, xw in enumerate(cell.project(seq).unbind(1)):  # unbind: no per-step indexing
        h, new_state, gates = step(xw, state)
        if mask is not None:
            keep = mask[:, t, None]
            new_state = type(state)(
                *(torch.where(keep, new, old) for new, old in zip(new_state, state, strict=True))
            )
            h = new_state.h * keep  # the state's h: d loss / d h_t then counts the output too
        state = new_state
        hs.append(h)
        for name, value in zip(state._fields, state, strict=True):
            record.states[name].append(value)
        for name, value in zip(gates._fields, gates, strict=True):
            record.gates.setdefault(name, []).append(value)
    return torch.stack(hs, dim=1), state, record


def _unroll_bptt(
    cell: Cell, seq: Tensor, state: Any, mask: Tensor | None, reverse: bool, trace: bool
) -> tuple[Tensor, Any, DirectionTrace]:
    """`_unroll` for the LSTM family and the GRU, as one autograd node with the hand-written
    backward of `rnnkit.layers.bptt` (same outputs, states, gates and gradients). The record's
    h_t receive d loss / d h_t from that backward (`bptt.probe_states`); its C_t and gates are
    values."""
    gru = isinstance(cell, GRUCell)
    out, state, run, probes = (bptt.run_gru if gru else bptt.run_lstm)(cell, seq, state, mask,
                                                                       trace)
    if not trace:  # trained without a trace (peephole, CIFG, GRU on a CPU): nothing to record
        return out, state, DirectionTrace(reverse=reverse)
    if gru:
        states, gates = {}, dict(zip(GRUGates._fields, run.gates.unbind(2), strict=True))
    else:
        states = {"c": list(run.c.unbind(0))}
        gates = bptt.run_gates(run, isinstance(cell, CIFGLSTMCell))._asdict()
    record = DirectionTrace(
        reverse=reverse,
        states={"h": probes, **states},
        gates={name: list(value.unbind(0)) for name, value in gates.items()},
    )
    return out, state, record


def _to_torch_names(module: nn.Module, state_dict: dict, prefix: str, local_metadata: Any) -> None:
    """state_dict hook: ``cells.l0_reverse.weight_ih`` -> ``weight_ih_l0_reverse`` (torch's)."""
    head = prefix + "cells."
    for key in [k for k in state_dict if k.startswith(head)]:
        cell_key, param = key[len(head) :].split(".", 1)
        state_dict[f"{prefix}{param}_{cell_key}"] = state_dict.pop(key)


def _from_torch_names(
    module: nn.Module, state_dict: dict, prefix: str, *args: Any
) -> None:
    """load_state_dict pre-hook: torch's ``weight_ih_l0`` -> ``cells.l0.weight_ih``."""
    for key in [k for k in state_dict if k.startswith(prefix)]:
        match = _TORCH_NAME.match(key[len(prefix) :])
        if match is not None:
            state_dict[f"{prefix}cells.{match['key']}.{match['param']}"] = state_dict.pop(key)
