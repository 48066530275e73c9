import pytest
import torch

from rnnkit import Recurrent
from rnnkit.cells import ElmanCell
from rnnkit.layers import compiled


class ScaledElman(ElmanCell):
    """A user cell: not one of rnnkit's names, no fused kernel."""

    fused_mode = None

    def step(self, xw, state):
        h, state, gates = super().step(xw, state)
        return 0.5 * h, type(state)(0.5 * h), gates


CELLS = ["rnn", "gru", "lstm", "peephole", "cifg", ScaledElman]


def pair(cell):
    torch.manual_seed(0)
    eager = Recurrent(cell, 3, 4, num_layers=2, bidirectional=True)
    fast = Recurrent(cell, 3, 4, num_layers=2, bidirectional=True, compiled=True)
    fast.load_state_dict(eager.state_dict())
    return eager, fast


@pytest.mark.slow
@pytest.mark.parametrize("cell", CELLS, ids=lambda c: c if isinstance(c, str) else c.__name__)
def test_compiled_loop_equals_eager_outputs_gradients_and_gates(cell):
    eager, fast = pair(cell)
    x = torch.randn(5, 6, 3)
    lengths = torch.tensor([6, 2, 6, 4, 1])
    results = [layer(x, lengths=lengths, trace=True) for layer in (eager, fast)]
    (out_e, state_e, trace_e), (out_c, state_c, trace_c) = results
    torch.testing.assert_close(out_c, out_e, atol=1e-6, rtol=1e-5)
    for a, b in zip(state_c, state_e, strict=True):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-5)
    for layer_e, layer_c in zip(trace_e.layers, trace_c.layers, strict=True):
        for dir_e, dir_c in zip(layer_e, layer_c, strict=True):
            assert dir_c.gates.keys() == dir_e.gates.keys() and dir_c.gates
            for name in [*dir_e.gates, *dir_e.states]:
                torch.testing.assert_close(dir_c.stack(name), dir_e.stack(name),
                                           atol=1e-6, rtol=1e-5, msg=name)
    # gradients of the parameters, and through time of every recorded h_t
    for layer, out, state, trace in ((eager, out_e, state_e, trace_e),
                                     (fast, out_c, state_c, trace_c)):
        loss = out.pow(2).sum() + sum(s.sum() for s in state)
        layer.through_time = torch.autograd.grad(loss, trace[0][0].h, retain_graph=True)
        loss.backward()
    for a, b in zip(fast.through_time, eager.through_time, strict=True):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-5)
    for (name, p_c), p_e in zip(fast.named_parameters(), eager.parameters(), strict=True):
        torch.testing.assert_close(p_c.grad, p_e.grad, atol=1e-6, rtol=1e-5, msg=name)
    assert any(key[0] is type(fast.cells["l0"]) for key in compiled.COMPILE_SECONDS)


def test_compiled_step_caches_one_entry_per_shape():
    cell = ElmanCell(2, 3)
    step = compiled.step_fn(cell)
    state = cell.zero_state(4, torch.zeros(1))
    before = len(compiled.COMPILE_SECONDS)
    for _ in range(3):
        h, _, (a,) = step(cell.project(torch.randn(4, 2)), state)
    assert h.shape == a.shape == (4, 3)
    assert len(compiled.COMPILE_SECONDS) == before + (compiled.compiler_unavailable() is None)


def test_a_failing_compiler_falls_back_to_eager_with_one_warning(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("no C++ compiler found\nmore detail")

    monkeypatch.setattr(torch, "compile", broken)
    monkeypatch.setattr(compiled, "_unavailable", [])
    eager, fast = pair("peephole")
    x = torch.randn(2, 3, 3)
    with pytest.warns(UserWarning, match="torch.compile unavailable .*no C\\+\\+ compiler") as w:
        out = fast(x, trace=True)[0]
        fast(x, trace=True)
    assert len(w) == 1
    assert compiled.compiler_unavailable() == "RuntimeError: no C++ compiler found"
    # the eager layer runs the hand-written backward's forward (`bptt`): same math, other ops
    torch.testing.assert_close(out, eager(x, trace=True)[0], atol=1e-6, rtol=0)
