r"""Backpropagation through time written by hand, for the LSTM family (LSTM, peephole, CIFG)
and the GRU.

Run step by step under autograd, a recurrent layer costs one autograd node per operation per
timestep, which makes it 2-3 times slower than torch's fused kernel on a CPU. Here the whole
sequence is one autograd node (`LSTMSequence`): its forward runs the steps without recording
a graph, keeping what the backward needs (every gate, cell state and ``tanh(C_t)``: exactly
what the glass box records, so a `Trace` reads them at no extra cost), and its backward runs
the BPTT equations below, one matrix product per step.

For one step of an LSTM (gates i, f, g, o; pre-activations a; the notation of `LSTMCell`),
with :math:`\delta h_t = \partial L / \partial h_t` the total gradient reaching h_t (from
the output at t and from step t + 1) and :math:`\delta C_t` likewise:

.. math::
    \delta h_t &= \partial L / \partial y_t + W_{hh}^T \delta a_{t+1}
        && \text{(the one matrix product per step)} \\
    \delta C_t &= \delta C_{t+1} \odot f_{t+1} + \delta h_t \odot o_t \odot (1 - \tanh^2 C_t) \\
    \delta a_{o,t} &= \delta h_t \odot \tanh C_t \odot o_t (1 - o_t) \\
    \delta a_{i,t} &= \delta C_t \odot g_t \odot i_t (1 - i_t), \qquad
    \delta a_{f,t} = \delta C_t \odot C_{t-1} \odot f_t (1 - f_t) \\
    \delta a_{g,t} &= \delta C_t \odot i_t \odot (1 - g_t^2)

and, once over the whole sequence (T*B rows), the weight gradients
:math:`\partial L / \partial W_{hh} = \sum_t \delta a_t^T h_{t-1}` (one (G*H, T*B) @ (T*B, H)
product) and :math:`\partial L / \partial (W_{ih} x_t + b) = \delta a_t` (the input projection
``W_ih x + b_ih + b_hh`` is one `F.linear` over the sequence, differentiated by autograd).
Peepholes (Gers & Schmidhuber 2000) add :math:`w_{co} \odot \delta a_{o,t}` to
:math:`\delta C_t`, :math:`w_{ci} \odot \delta a_{i,t} + w_{cf} \odot \delta a_{f,t}` to
:math:`\delta C_{t-1}`, and their own gradients :math:`\sum_t \delta a_{i,t} \odot C_{t-1}`
(likewise f) and :math:`\sum_t \delta a_{o,t} \odot C_t`. CIFG (i = 1 - f) gives
:math:`\delta a_{f,t} = \delta C_t \odot (C_{t-1} - g_t) \odot f_t (1 - f_t)` and
:math:`\delta a_{g,t} = \delta C_t \odot (1 - f_t) \odot (1 - g_t^2)`.

Every factor that does not depend on the gradient (``g * i * (1 - i)``, ...) is computed once
for the whole sequence before the loop back through time, so each step is five operations.
The GRU (`GRUSequence`, equations in its docstring) is done the same way, three operations a
step. The matrix products run on `rnnkit.layers.matmul` (oneDNN where it is faster).

Lengths: as the autograd loop of `Recurrent`, a row's state stops updating after its last real
step (it is carried unchanged) and its output there is zero; in processing order a row's real
steps are always its first ``length`` ones (the reverse direction reads each row reversed
within its length). Backwards, a row's gradient is zero until its last real step, where the
gradient of the final state enters.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor
from torch.autograd.function import FunctionCtx, once_differentiable

from rnnkit.cells.gru import GRUCell, GRUState
from rnnkit.cells.lstm import CIFGLSTMCell, LSTMCell, LSTMGates, LSTMState, PeepholeLSTMCell
from rnnkit.layers.matmul import add_product_, product, summed_outer

#: The cells whose exact type this module differentiates by hand (a subclass may change the
#: step, so it runs the autograd loop instead).
FAMILY = (LSTMCell, PeepholeLSTMCell, CIFGLSTMCell, GRUCell)


class LSTMRun(NamedTuple):
    """What the forward pass keeps, time first: T steps of B rows of H units.

    gates: (T, B, G, H) gate activations in the weights' order (i, f, g, o; CIFG: f, g, o).
    h, c: (T, B, H) the state after each step (carried unchanged past a row's length).
    tanh_c: (T, B, H) tanh of the cell state each step computed.
    out: (T, B, H) the output: h, zero past each row's length.
    """

    gates: Tensor
    h: Tensor
    c: Tensor
    tanh_c: Tensor
    out: Tensor


def supports(cell: Any) -> bool:
    """Whether this module runs this cell (its exact type is LSTM, peephole, CIFG or GRU)."""
    return type(cell) in FAMILY


def lstm_forward(
    x: Tensor,
    weight_ih: Tensor,
    bias: Tensor | None,
    h0: Tensor,
    c0: Tensor,
    weight_hh: Tensor,
    peepholes: tuple[Tensor, Tensor, Tensor] | None = None,
    coupled: bool = False,
    mask: Tensor | None = None,
) -> LSTMRun:
    r"""Run the LSTM equations over a sequence without recording a graph.

    Args:
        x: (T, B, H_in) input, time first.
        weight_ih: (G*H, H_in) input weights.
        bias: (G*H,) both biases summed, ``b_ih + b_hh``, or None.
        h0, c0: (B, H) initial state.
        weight_hh: (G*H, H) recurrent weights.
        peepholes: ``(w_ci, w_cf, w_co)``, each (H,), for the peephole LSTM.
        coupled: CIFG (gates f, g, o; i = 1 - f).
        mask: (T, B, 1) True at each row's real steps (a prefix of each row), or None.

    Returns:
        the `LSTMRun`.
    """
    steps, batch, _ = x.shape
    hidden = h0.shape[1]
    count = 3 if coupled else 4
    with torch.no_grad():
        # the input's part of every step at once, W_ih x_t + b: the gates then add W_hh h_{t-1}
        flat = x.reshape(steps * batch, -1)
        xw = product(flat, weight_ih.t(), bias)
        gates = xw.view(steps, batch, count, hidden)
        hs, cs, tanh_cs = (torch.empty(steps, batch, hidden, dtype=x.dtype, device=x.device)
                           for _ in range(3))
        w_hh = weight_hh.t()
        w_cif = None if peepholes is None else torch.stack(peepholes[:2])  # (2, H)
        # per-step views, made once (indexing in the loop costs more than the small ops)
        rows = gates.view(steps, batch, count * hidden).unbind(0)
        blocks = [gates[:, :, k].unbind(0) for k in range(count)]  # each gate, per step
        sig = gates[:, :, : count - 2].unbind(0)  # the gates before g: i, f (CIFG: f)
        h_t, c_t, tanh_t = hs.unbind(0), cs.unbind(0), tanh_cs.unbind(0)
        keeps = None if mask is None else mask.unbind(0)
        h, c = h0, c0
        for t in range(steps):
            add_product_(rows[t], h, w_hh)
            if w_cif is not None:
                sig[t].addcmul_(w_cif, c.unsqueeze(1))
            sig[t].sigmoid_()
            target = c_t[t] if keeps is None else None  # without lengths C_t is the state
            if coupled:
                f, g, o = blocks[0][t], blocks[1][t].tanh_(), blocks[2][t]
                c_new = torch.addcmul(g, f, c - g, out=target)  # f C_{t-1} + (1 - f) g
            else:
                i, f, g, o = blocks[0][t], blocks[1][t], blocks[2][t].tanh_(), blocks[3][t]
                c_new = torch.addcmul(f * c, i, g, out=target)
            if peepholes is not None:
                o.addcmul_(peepholes[2], c_new)
            o.sigmoid_()
            tanh_c = torch.tanh(c_new, out=tanh_t[t])
            if keeps is None:
                c = c_new
                h = torch.mul(o, tanh_c, out=h_t[t])
            else:
                c = torch.where(keeps[t], c_new, c, out=c_t[t])
                h = torch.where(keeps[t], o * tanh_c, h, out=h_t[t])
        out = hs if mask is None else hs * mask
    return LSTMRun(gates, hs, cs, tanh_cs, out)


class LSTMSequence(torch.autograd.Function):
    """One LSTM layer and direction over a whole sequence as one autograd node.

    ``apply(run, coupled, mask, x, weight_ih, bias_ih, bias_hh, h0, c0, weight_hh, w_ci, w_cf,
    w_co, *probes)``, x (T, B, H_in): ``run`` is `lstm_forward`'s result for these inputs
    (computed before, so the caller can record it); the peephole weights are None for the
    other cells. Returns ``(out, h_n, c_n)``, out
    (T, B, H). ``probes`` are optional tensors, one per step (`probe_states`), that receive
    :math:`\\partial L / \\partial h_t` (the gradient of the state h_t through every path) as
    their gradient: the glass box hands them out as the trace's h_t, so
    ``torch.autograd.grad(loss, trace.h)`` reads what this backward computed anyway.
    """

    @staticmethod
    def forward(ctx: FunctionCtx, run: LSTMRun, coupled: bool, mask: Tensor | None, x: Tensor,
                weight_ih: Tensor, bias_ih: Tensor | None, bias_hh: Tensor | None, h0: Tensor,
                c0: Tensor, weight_hh: Tensor, w_ci: Tensor | None, w_cf: Tensor | None,
                w_co: Tensor | None, *probes: Tensor) -> tuple[Tensor, ...]:
        """Hand back the outputs of ``run`` and keep what the backward needs."""
        ctx.save_for_backward(x, weight_ih, h0, c0, weight_hh, w_ci, w_cf, w_co, *run[:4], mask)
        ctx.bias = bias_ih is not None
        ctx.coupled = coupled
        ctx.probes = len(probes)
        return run.out, run.h[-1].clone(), run.c[-1].clone()

    @staticmethod
    @once_differentiable
    def backward(ctx: FunctionCtx, d_out: Tensor, d_hn: Tensor, d_cn: Tensor
                 ) -> tuple[Tensor | None, ...]:
        """The BPTT equations of the module docstring."""
        (x, weight_ih, h0, c0, weight_hh, w_ci, w_cf, w_co, gates, hs, cs, tanh_cs,
         mask) = ctx.saved_tensors
        peephole = w_ci is not None
        steps, batch, count, hidden = gates.shape
        c_prev = torch.cat([c0[None], cs[:-1]])  # (T, B, H) C_{t-1}
        h_prev = torch.cat([h0[None], hs[:-1]])  # (T, B, H) h_{t-1}

        # the factors of every step that do not depend on the gradient, for all steps at once
        q = torch.empty_like(gates)  # d a_gate = q_gate * (dC for i, f, g; dh for o)
        if ctx.coupled:
            f, g, o = gates.unbind(2)
            torch.mul((c_prev - g) * f, 1 - f, out=q[:, :, 0])
            torch.mul(1 - f, 1 - g * g, out=q[:, :, 1])
            carry = f  # d C_{t-1} = d C_t * carry
        else:
            i, f, g, o = gates.unbind(2)
            torch.mul(g * i, 1 - i, out=q[:, :, 0])
            torch.mul(c_prev * f, 1 - f, out=q[:, :, 1])
            torch.mul(i, 1 - g * g, out=q[:, :, 2])
            carry = f + q[:, :, 0] * w_ci + q[:, :, 1] * w_cf if peephole else f
        torch.mul(tanh_cs * o, 1 - o, out=q[:, :, -1])
        through_h = o * (1 - tanh_cs * tanh_cs)  # d C_t += d h_t * through_h
        if peephole:
            through_h = through_h + q[:, :, -1] * w_co

        # where the gradient of the output and of the final state enters each step
        # d_hs: the output's gradient, to which the loop adds W_hh^T d a_{t+1}: total d L / d h_t
        d_hs, last = _entering(d_out, d_hn, mask)
        d_c = None
        if last is None:
            d_carry = d_cn
        else:
            d_c = torch.zeros_like(d_hs).index_put_(
                (last, torch.arange(batch, device=last.device)), d_cn)
            d_carry = d_c[-1]

        # back through time: dh_t, dC_t, then the gate pre-activations of step t
        d_a = torch.empty_like(gates)  # (T, B, G, H)
        rows = d_a.view(steps, batch, count * hidden).unbind(0)
        d_a_c, d_a_o = d_a[:, :, :-1].unbind(0), d_a[:, :, -1].unbind(0)
        q_c, q_o = q[:, :, :-1].unbind(0), q[:, :, -1].unbind(0)
        d_hs_t = d_hs.unbind(0)
        through_t, carry_t = through_h.unbind(0), carry.unbind(0)
        entering = None if d_c is None else d_c.unbind(0)
        dh = d_hs_t[-1]
        for t in range(steps - 1, -1, -1):
            if t < steps - 1:
                dh = add_product_(d_hs_t[t], rows[t + 1], weight_hh)
            dc = torch.addcmul(d_carry, dh, through_t[t])  # dC_t
            torch.mul(dc.unsqueeze(1), q_c[t], out=d_a_c[t])
            torch.mul(dh, q_o[t], out=d_a_o[t])
            if entering is None or t == 0:
                d_carry = dc * carry_t[t]  # dC_{t-1}
            else:
                d_carry = torch.addcmul(entering[t - 1], dc, carry_t[t])
        # the weights' gradients: one product each over all T*B rows
        flat = d_a.view(steps * batch, count * hidden)
        d_h0 = product(rows[0], weight_hh)
        d_weight_hh = summed_outer(flat, h_prev.view(steps * batch, hidden))
        x_flat = x.reshape(steps * batch, -1)
        d_x = product(flat, weight_ih).view(x.shape) if ctx.needs_input_grad[3] else None
        d_weight_ih = summed_outer(flat, x_flat)
        d_bias = flat.sum(0) if ctx.bias else None
        d_peep = (None, None, None)
        if peephole:
            d_peep = ((d_a[:, :, 0] * c_prev).sum((0, 1)), (d_a[:, :, 1] * c_prev).sum((0, 1)),
                      (d_a[:, :, 3] * cs).sum((0, 1)))
        d_probes = ()
        if ctx.probes:
            if mask is not None:  # past its length a row's state is its final state
                d_hs = torch.where(mask, d_hs, d_hn)
            d_probes = tuple(d_hs.unbind(0))
        return (None, None, None, d_x, d_weight_ih, d_bias, d_bias, d_h0, d_carry, d_weight_hh,
                *d_peep, *d_probes)


def probe_states(states: Tensor) -> list[Tensor]:
    """The per-step tensors that a trace hands out as h_t: one view per step of a single new
    leaf with the values of ``states`` (T, B, H). Passed to `LSTMSequence`/`GRUSequence` as
    inputs, they receive d L / d h_t from its backward; gradients flow on to that one leaf, so a
    plain ``loss.backward()`` accumulates one (T, B, H) gradient rather than T small ones."""
    return list(states.detach().requires_grad_().unbind(0))


def _entering(d_out: Tensor, d_hn: Tensor, mask: Tensor | None) -> tuple[Tensor, Tensor | None]:
    """Where gradient enters each step from outside the recurrence: d L / d y_t (zero past a
    row's length), plus the final state's gradient at each row's last real step. Returns that
    (T, B, H) tensor (new, for the loop to add to) and those steps (B,), or None without
    lengths."""
    if mask is None:
        d_hs = d_out.clone(memory_format=torch.contiguous_format)
        d_hs[-1] += d_hn
        return d_hs, None
    d_hs = d_out * mask
    last = mask.sum(0).view(-1) - 1  # (B,) each row's last real step
    d_hs.index_put_((last, torch.arange(len(last), device=last.device)), d_hn, accumulate=True)
    return d_hs, last


def run_lstm(
    cell: LSTMCell, seq: Tensor, state: LSTMState, mask: Tensor | None, probes: bool
) -> tuple[Tensor, LSTMState, LSTMRun, list[Tensor] | None]:
    """Run an LSTM-family cell over (B, T, H_in) with the hand-written backward.

    Args:
        cell: an `LSTMCell`, `PeepholeLSTMCell` or `CIFGLSTMCell` (see `supports`).
        seq: (B, T, H_in) input, in processing order.
        state: initial `LSTMState`, each (B, H).
        mask: (B, T) True at each row's real steps (a prefix of each row), or None.
        probes: also return one tensor per step whose gradient is d L / d h_t
            (`probe_states`).

    Returns:
        ``(output (B, T, H), final LSTMState, the LSTMRun, probes or None)``.

    Under mixed precision (autocast) the layer runs in its weights' dtype (float32): the
    hand-written backward needs its saved tensors and the weights in one dtype.
    """
    return _outside_autocast(_run_lstm, cell, seq, state, mask, probes)


def _outside_autocast(run: Any, cell: Any, seq: Tensor, state: Any, mask: Tensor | None,
                      probes: bool) -> Any:
    """``run(cell, seq, state, mask, probes)``; under autocast with autocast off and the input
    and state cast to the weights' dtype: the hand-written backward needs its saved tensors
    and the weights in one dtype."""
    if not torch.is_autocast_enabled(seq.device.type):
        return run(cell, seq, state, mask, probes)
    dtype = cell.weight_ih.dtype
    with torch.autocast(seq.device.type, enabled=False):
        return run(cell, seq.to(dtype), type(state)(*(s.to(dtype) for s in state)), mask,
                   probes)


def _run_lstm(
    cell: LSTMCell, seq: Tensor, state: LSTMState, mask: Tensor | None, probes: bool
) -> tuple[Tensor, LSTMState, LSTMRun, list[Tensor] | None]:
    """`run_lstm` in the weights' dtype, autocast off."""
    x = seq.transpose(0, 1)  # (T, B, H_in)
    peepholes = (cell.weight_ci, cell.weight_cf, cell.weight_co) if isinstance(
        cell, PeepholeLSTMCell) else None
    coupled = isinstance(cell, CIFGLSTMCell)
    mask_t = None if mask is None else mask.t()[:, :, None]  # (T, B, 1)
    with torch.no_grad():
        bias = None if cell.bias_ih is None else cell.bias_ih + cell.bias_hh
        run = lstm_forward(x, cell.weight_ih, bias, state.h, state.c, cell.weight_hh,
                           peepholes, coupled, mask_t)
    leaves = probe_states(run.h) if probes else None
    out, h_n, c_n = LSTMSequence.apply(
        run, coupled, mask_t, x, cell.weight_ih, cell.bias_ih, cell.bias_hh, state.h, state.c,
        cell.weight_hh, *(peepholes or (None,) * 3), *(leaves or ()))
    return out.transpose(0, 1), LSTMState(h_n, c_n), run, leaves


def run_gates(run: LSTMRun, coupled: bool) -> LSTMGates:
    """The gates of a run as `LSTMGates` of (T, B, H) views (CIFG's i = 1 - f computed)."""
    if coupled:
        f, g, o = run.gates.unbind(2)
        return LSTMGates(1 - f, f, g, o)
    return LSTMGates(*run.gates.unbind(2))


# ---- GRU ----------------------------------------------------------------------------------------


class GRURun(NamedTuple):
    """What the GRU forward pass keeps, time first: T steps of B rows of H units.

    gates: (T, B, 3, H) the gates r, z, n.
    hw_n: (T, B, H) the recurrent part of the candidate, ``W_hn h_{t-1} + b_hn``.
    h: (T, B, H) the state after each step (carried unchanged past a row's length).
    out: (T, B, H) the output: h, zero past each row's length.
    """

    gates: Tensor
    hw_n: Tensor
    h: Tensor
    out: Tensor


def gru_forward(x: Tensor, weight_ih: Tensor, bias_ih: Tensor | None, h0: Tensor,
                weight_hh: Tensor, bias_hh: Tensor | None, mask: Tensor | None = None) -> GRURun:
    """Run the GRU equations (`rnnkit.cells.GRUCell`) over a sequence without recording a graph.

    Args:
        x: (T, B, H_in) input, time first.
        weight_ih, weight_hh: (3H, H_in) and (3H, H) weights, gates r, z, n.
        bias_ih, bias_hh: (3H,) each, or None.
        h0: (B, H) initial state.
        mask: (T, B, 1) True at each row's real steps (a prefix of each row), or None.

    Returns:
        the `GRURun`.
    """
    steps, batch, _ = x.shape
    hidden = h0.shape[1]
    with torch.no_grad():
        xw = product(x.reshape(steps * batch, -1), weight_ih.t(), bias_ih).view(
            steps, batch, 3, hidden)
        gates = torch.empty_like(xw)
        hw_n, hs = (torch.empty(steps, batch, hidden, dtype=x.dtype, device=x.device)
                    for _ in range(2))
        w_hh = weight_hh.t()
        x_rz, x_n = xw[:, :, :2].unbind(0), xw[:, :, 2].unbind(0)
        rz, r, z, n = (gates[:, :, :2].unbind(0), *(gates[:, :, k].unbind(0) for k in range(3)))
        hw_n_t, h_t = hw_n.unbind(0), hs.unbind(0)
        keeps = None if mask is None else mask.unbind(0)
        h = h0
        for t in range(steps):
            hw = product(h, w_hh, bias_hh).view(batch, 3, hidden)
            torch.add(x_rz[t], hw[:, :2], out=rz[t]).sigmoid_()
            hw_n_t[t].copy_(hw[:, 2])
            torch.addcmul(x_n[t], r[t], hw_n_t[t], out=n[t]).tanh_()
            step = torch.sub(h, n[t])
            if keeps is None:
                h = torch.addcmul(n[t], z[t], step, out=h_t[t])  # (1 - z) n + z h
            else:
                h = torch.where(keeps[t], torch.addcmul(n[t], z[t], step), h, out=h_t[t])
        out = hs if mask is None else hs * mask
    return GRURun(gates, hw_n, hs, out)


class GRUSequence(torch.autograd.Function):
    r"""One GRU layer and direction over a whole sequence as one autograd node.

    ``apply(run, mask, x, weight_ih, bias_ih, h0, weight_hh, bias_hh, *probes)``, as
    `LSTMSequence`; returns ``(out, h_n)``. With :math:`a` the pre-activations and
    :math:`\hat h_n = W_{hn} h_{t-1} + b_{hn}`, one step back is

    .. math::
        \delta a_{n,t} &= \delta h_t \odot (1 - z_t) \odot (1 - n_t^2), \qquad
        \delta a_{z,t} = \delta h_t \odot (h_{t-1} - n_t) \odot z_t (1 - z_t) \\
        \delta a_{r,t} &= \delta a_{n,t} \odot \hat h_{n,t} \odot r_t (1 - r_t) \\
        \delta h_{t-1} &= \partial L / \partial y_{t-1} + \delta h_t \odot z_t
            + W_{hh}^T [\delta a_{r,t}; \delta a_{z,t}; \delta a_{n,t} \odot r_t]

    (the bracket is the gradient of :math:`W_{hh} h_{t-1} + b_{hh}`; that of
    :math:`W_{ih} x_t + b_{ih}` has :math:`\delta a_{n,t}` unscaled in its last block).
    """

    @staticmethod
    def forward(ctx: FunctionCtx, run: GRURun, mask: Tensor | None, x: Tensor,
                weight_ih: Tensor, bias_ih: Tensor | None, h0: Tensor, weight_hh: Tensor,
                bias_hh: Tensor | None, *probes: Tensor) -> tuple[Tensor, ...]:
        """Hand back the outputs of ``run`` and keep what the backward needs."""
        ctx.save_for_backward(x, weight_ih, h0, weight_hh, run.gates, run.hw_n, run.h, mask)
        ctx.bias = (bias_ih is not None, bias_hh is not None)
        ctx.probes = len(probes)
        return run.out, run.h[-1].clone()

    @staticmethod
    @once_differentiable
    def backward(ctx: FunctionCtx, d_out: Tensor, d_hn: Tensor) -> tuple[Tensor | None, ...]:
        """The equations of the class docstring."""
        x, weight_ih, h0, weight_hh, gates, hw_n, hs, mask = ctx.saved_tensors
        steps, batch, _, hidden = gates.shape
        h_prev = torch.cat([h0[None], hs[:-1]])  # (T, B, H)
        r, z, n = gates.unbind(2)
        # d a = q * dh_t for the input side; the recurrent side scales the n block by r
        q = torch.empty_like(gates)
        q_n = torch.mul(1 - z, 1 - n * n, out=q[:, :, 2])
        torch.mul((h_prev - n) * z, 1 - z, out=q[:, :, 1])
        torch.mul(q_n * hw_n, r * (1 - r), out=q[:, :, 0])
        q_h = q.clone()
        q_h[:, :, 2] *= r

        d_hs, _ = _entering(d_out, d_hn, mask)  # the loop makes it d L / d h_t
        d_hw = torch.empty_like(gates)  # gradient of W_hh h_{t-1} + b_hh, each step
        rows = d_hw.view(steps, batch, 3 * hidden).unbind(0)
        d_hw_t, q_h_t, z_t, d_hs_t = d_hw.unbind(0), q_h.unbind(0), z.unbind(0), d_hs.unbind(0)
        for t in range(steps - 1, -1, -1):
            dh = d_hs_t[t]
            if t < steps - 1:
                dh.addcmul_(d_hs_t[t + 1], z_t[t + 1])
                add_product_(dh, rows[t + 1], weight_hh)
            torch.mul(dh.unsqueeze(1), q_h_t[t], out=d_hw_t[t])
        d_h0 = torch.addcmul(product(rows[0], weight_hh), d_hs_t[0], z_t[0])
        d_x_side = q.mul_(d_hs.unsqueeze(2)).view(steps * batch, 3 * hidden)
        flat_h = d_hw.view(steps * batch, 3 * hidden)
        d_weight_hh = summed_outer(flat_h, h_prev.view(steps * batch, hidden))
        d_weight_ih = summed_outer(d_x_side, x.reshape(steps * batch, -1))
        d_x = product(d_x_side, weight_ih).view(x.shape) if ctx.needs_input_grad[2] else None
        d_bias_ih = d_x_side.sum(0) if ctx.bias[0] else None
        d_bias_hh = flat_h.sum(0) if ctx.bias[1] else None
        d_probes = ()
        if ctx.probes:
            d_probes = tuple((d_hs if mask is None else torch.where(mask, d_hs, d_hn)).unbind(0))
        return (None, None, d_x, d_weight_ih, d_bias_ih, d_h0, d_weight_hh, d_bias_hh,
                *d_probes)


def run_gru(cell: GRUCell, seq: Tensor, state: GRUState, mask: Tensor | None, probes: bool
            ) -> tuple[Tensor, GRUState, GRURun, list[Tensor] | None]:
    """Run a `GRUCell` over (B, T, H_in) with the hand-written backward; as `run_lstm`."""
    return _outside_autocast(_run_gru, cell, seq, state, mask, probes)


def _run_gru(cell: GRUCell, seq: Tensor, state: GRUState, mask: Tensor | None, probes: bool
             ) -> tuple[Tensor, GRUState, GRURun, list[Tensor] | None]:
    """`run_gru` in the weights' dtype, autocast off."""
    x = seq.transpose(0, 1)
    mask_t = None if mask is None else mask.t()[:, :, None]
    run = gru_forward(x, cell.weight_ih, cell.bias_ih, state.h, cell.weight_hh, cell.bias_hh,
                      mask_t)
    leaves = probe_states(run.h) if probes else None
    out, h_n = GRUSequence.apply(run, mask_t, x, cell.weight_ih, cell.bias_ih, state.h,
                                 cell.weight_hh, cell.bias_hh, *(leaves or ()))
    return out.transpose(0, 1), GRUState(h_n), run, leaves
