import contextlib
import itertools

import pytest
import torch

from rnnkit import Recurrent
from rnnkit.cells import CIFGLSTMCell, GRUCell, LSTMCell, LSTMState, PeepholeLSTMCell
from rnnkit.cells.gru import GRUState
from rnnkit.layers import bptt, recurrent

CELLS = {"lstm": LSTMCell, "peephole": PeepholeLSTMCell, "cifg": CIFGLSTMCell, "gru": GRUCell}
LENGTHS = torch.tensor([6, 2, 4, 1, 6])


def autograd_loop(monkeypatch):
    """Make `Recurrent` run the autograd loop (`_unroll`) for every cell."""
    monkeypatch.setattr(bptt, "supports", lambda cell: False)


def run_layer(layer, x, state, lengths):
    """Outputs, final state, every parameter/input/state gradient, d loss / d h_t and trace."""
    out, final, trace = layer(x, state, lengths=lengths, trace=True)
    loss = out.pow(2).sum() + final[0].sin().sum() + sum(c.cos().sum() for c in final[1:])
    hs = [h for layer_ in trace.layers for record in layer_ for h in record.h]
    inputs = [x, *state, *layer.parameters()]
    grads = torch.autograd.grad(loss, inputs + hs)
    recorded = [record.stack(name) for layer_ in trace.layers for record in layer_
                for name in [*record.states, *record.gates]]
    return {"out": out, "final": list(final), "input_grads": grads[:len(inputs)],
            "dh_t": grads[len(inputs):], "recorded": recorded}


@pytest.mark.parametrize("cell,bidirectional,lengths",
                         list(itertools.product(CELLS, [False, True], [None, LENGTHS])))
def test_hand_written_backward_equals_the_autograd_loop(monkeypatch, cell, bidirectional,
                                                        lengths):
    torch.manual_seed(0)
    layer = Recurrent(cell, 3, 4, num_layers=2, bidirectional=bidirectional).double()
    batch, directions = 5, 2 if bidirectional else 1
    x = torch.randn(batch, 6, 3, dtype=torch.float64, requires_grad=True)
    state = tuple(torch.randn(2 * directions, batch, 4, dtype=torch.float64, requires_grad=True)
                  for _ in CELLS[cell].state_type._fields)
    ours = run_layer(layer, x, state, lengths)
    autograd_loop(monkeypatch)
    ref = run_layer(layer, x, state, lengths)
    for key in ours:
        a, b = ours[key], ref[key]
        if isinstance(a, torch.Tensor):
            a, b = [a], [b]
        assert len(a) == len(b), key
        for index, (u, v) in enumerate(zip(a, b, strict=True)):
            torch.testing.assert_close(u, v, atol=1e-12, rtol=0, msg=f"{key}[{index}]")


def test_the_trace_gradient_is_the_total_derivative_and_zero_before_no_loss():
    """Loss on the output of step 2 only: d loss / d h_t is zero after step 2, not before."""
    torch.manual_seed(0)
    layer = Recurrent("peephole", 2, 3).double()
    out, _, trace = layer(torch.randn(2, 5, 2, dtype=torch.float64), trace=True)
    grads = torch.autograd.grad(out[:, 2].sum(), trace[0][0].h)
    norms = torch.stack([g.norm() for g in grads])
    assert (norms[3:] == 0).all() and (norms[:3] > 0).all()
    # step 2: the direct path only; earlier steps: through the recurrence
    torch.testing.assert_close(grads[2], torch.ones(2, 3, dtype=torch.float64))


def tiny_inputs(cell_type, steps=4, batch=3, hidden=2, lengths=None, seed=0):
    torch.manual_seed(seed)
    cell = cell_type(2, hidden).double()
    x = torch.randn(batch, steps, 2, dtype=torch.float64, requires_grad=True)
    h0, c0 = (torch.randn(batch, hidden, dtype=torch.float64, requires_grad=True)
              for _ in range(2))
    mask = None if lengths is None else torch.arange(steps)[None, :] < lengths[:, None]
    return cell, x, LSTMState(h0, c0), mask


@pytest.mark.parametrize("cell_type,lengths",
                         list(itertools.product([LSTMCell, PeepholeLSTMCell, CIFGLSTMCell],
                                                [None, torch.tensor([4, 1, 3])])))
def test_gradcheck_float64(cell_type, lengths):
    cell, x, state, mask = tiny_inputs(cell_type, lengths=lengths)
    weights = [p.detach().clone().requires_grad_() for p in cell.parameters()]
    assert torch.autograd.gradcheck(lambda x, h0, c0, *ws: run_via(cell, x, h0, c0, ws, mask),
                                    (x, *state, *weights), atol=1e-7)


@pytest.mark.parametrize("lengths", [None, torch.tensor([4, 1, 3])])
@pytest.mark.parametrize("bias", [True, False])
def test_gradcheck_float64_gru(lengths, bias):
    cell, x, (h0, _), mask = tiny_inputs(GRUCell, lengths=lengths)
    if not bias:
        cell = GRUCell(2, 2, bias=False).double()
    weights = [p.detach().clone().requires_grad_() for p in cell.parameters()]

    def run(x, h0, *ws):
        with swapped(cell, ws):
            out, (h_n,), _, _ = bptt.run_gru(cell, x, GRUState(h0), mask, False)
        return out, h_n

    assert torch.autograd.gradcheck(run, (x, h0, *weights), atol=1e-7)


@contextlib.contextmanager
def swapped(cell, weights):
    """The cell with its parameters replaced by ``weights`` (differentiable), then restored."""
    names = [n for n, _ in cell.named_parameters()]
    originals = {n: cell._parameters[n] for n in names}
    try:
        for name, w in zip(names, weights, strict=True):
            cell._parameters[name] = w
        yield cell
    finally:
        cell._parameters.update(originals)


def run_via(cell, x, h0, c0, weights, mask):
    """`bptt.run_lstm` with the cell's parameters replaced by ``weights`` (differentiable)."""
    with swapped(cell, weights):
        out, (h_n, c_n), _, _ = bptt.run_lstm(cell, x, LSTMState(h0, c0), mask, False)
    return out, h_n, c_n


def test_gradcheck_of_the_per_step_gradient_probes():
    """The probes' gradient is d L / d h_t: equal to a finite difference on h_t's value."""
    cell, x, state, mask = tiny_inputs(PeepholeLSTMCell, lengths=torch.tensor([4, 2, 3]))
    out, _, run, probes = bptt.run_lstm(cell, x, state, mask, True)
    weights = torch.randn_like(out)
    grads = torch.autograd.grad((out * weights).sum(), probes)
    # perturb h_1 of row 0: rerun steps 2..T from the perturbed state by the autograd loop
    t, eps = 1, 1e-6
    base = _loss_from_step(cell, x, run, t, weights, mask, None)
    for unit in range(2):
        bump = torch.zeros(3, 2, dtype=torch.float64)
        bump[0, unit] = eps
        numeric = (_loss_from_step(cell, x, run, t, weights, mask, bump) - base) / eps
        assert abs(numeric - grads[t][0, unit].item()) < 1e-5


def _loss_from_step(cell, x, run, t, weights, mask, bump):
    """sum(out * weights) with steps > t recomputed by the cell from (h_t + bump, C_t)."""
    h, c = run.h[t].clone(), run.c[t].clone()
    if bump is not None:
        h = h + bump
    total = (run.out[: t].transpose(0, 1) * weights[:, : t]).sum()
    total += ((h * mask[:, t, None]) * weights[:, t]).sum()
    with torch.no_grad():
        xw = cell.project(x)
        for s in range(t + 1, x.shape[1]):
            h_new, new, _ = cell.step(xw[:, s], LSTMState(h, c))
            keep = mask[:, s, None]
            h, c = torch.where(keep, h_new, h), torch.where(keep, new.c, c)
            total += ((h * keep) * weights[:, s]).sum()
    return total.item()


def test_only_the_exact_lstm_family_is_differentiated_by_hand():
    class Custom(LSTMCell):
        def step(self, xw, state):
            return super().step(xw * 2, state)

    class CustomGRU(GRUCell):
        pass

    assert bptt.supports(LSTMCell(2, 3)) and bptt.supports(CIFGLSTMCell(2, 3))
    assert bptt.supports(GRUCell(2, 3))
    assert not bptt.supports(Custom(2, 3)) and not bptt.supports(CustomGRU(2, 3))
    layer = Recurrent(Custom, 2, 3)
    plain = Recurrent("lstm", 2, 3)
    plain.load_state_dict(layer.state_dict())
    x = torch.randn(2, 4, 2)
    assert not torch.allclose(layer(x, trace=True)[0], plain(x, trace=True)[0])


def test_compiled_layers_keep_the_step_loop(monkeypatch):
    def refuse(*args):
        raise AssertionError("the hand-written backward ran")

    monkeypatch.setattr(bptt, "run_lstm", refuse)
    monkeypatch.setattr(recurrent, "step_fn", lambda cell: cell.step)  # no compiling in tests
    out, _ = Recurrent("peephole", 2, 3, compiled=True)(torch.randn(2, 4, 2))
    assert out.shape == (2, 4, 3)
    with pytest.raises(AssertionError, match="hand-written"):
        Recurrent("peephole", 2, 3)(torch.randn(2, 4, 2))


@pytest.mark.parametrize("cell", ["lstm", "peephole", "cifg", "gru"])
def test_under_bf16_autocast_the_hand_written_path_runs_in_float32(cell):
    torch.manual_seed(0)
    layer = Recurrent(cell, input_size=5, hidden_size=7, num_layers=2, bidirectional=True)
    x = torch.randn(3, 6, 5)
    lengths = torch.tensor([6, 4, 2])
    grads = []
    for mixed in (False, True):
        layer.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=mixed):
            inputs = torch.nn.functional.linear(x, torch.eye(5))  # bf16 under autocast
            out, _, trace = layer(inputs, lengths=lengths, trace=True)
        out.float().pow(2).mean().backward()
        gate = "z" if cell == "gru" else "f"
        assert out.dtype == torch.float32 and trace[0][0].stack(gate).dtype == torch.float32
        grads.append(torch.cat([p.grad.flatten() for p in layer.parameters()]))
    # the same function up to the bf16 rounding of the input
    torch.testing.assert_close(grads[1], grads[0], rtol=0.05, atol=2e-3)


def test_gru_training_on_cpu_runs_by_hand_and_inference_on_torchs_kernel(monkeypatch):
    calls = []
    real = bptt.run_gru
    monkeypatch.setattr(bptt, "run_gru", lambda *a: calls.append(1) or real(*a))
    torch.manual_seed(0)
    layer = Recurrent("gru", 3, 4, num_layers=2, bidirectional=True)
    reference = torch.nn.GRU(3, 4, 2, batch_first=True, bidirectional=True)
    reference.load_state_dict(layer.state_dict())
    x = torch.randn(5, 6, 3)
    out, h_n = layer(x)
    assert len(calls) == 4  # two layers, two directions
    expected, expected_h = reference(x)
    torch.testing.assert_close(out, expected)
    torch.testing.assert_close(h_n, expected_h)
    lengths = torch.tensor([6, 2, 5, 1, 6])
    by_hand, h_by_hand = layer(x, lengths=lengths)
    assert len(calls) == 8
    with torch.no_grad():
        kernel, h_kernel = layer(x, lengths=lengths)  # grouped by length, torch's kernel
    torch.testing.assert_close(by_hand, kernel)
    torch.testing.assert_close(h_by_hand, h_kernel)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        layer(x)
    layer.double()(x.double())
    assert len(calls) == 8


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_the_trace_states_share_one_leaf_so_backward_accumulates_once(cell):
    layer = Recurrent(cell, 2, 3)
    out, _, trace = layer(torch.randn(2, 5, 2), trace=True)
    hs = trace[0][0].h
    leaf = hs[0]._base
    assert leaf is not None and leaf.is_leaf and all(h._base is leaf for h in hs)
    out.sum().backward()
    assert leaf.grad.shape == (5, 2, 3)  # d loss / d h_t of every step, in one tensor
    torch.testing.assert_close(leaf.grad[-1], torch.ones(2, 3))  # the last step: direct only
