import pytest
import torch

from rnnkit import Recurrent
from rnnkit.layers import matmul
from tests.layers.test_bptt import autograd_loop, run_layer

needs_onednn = pytest.mark.skipif(
    matmul._ONEDNN is None or not torch.backends.mkldnn.is_available(),
    reason="this torch build has no oneDNN")


def spy(monkeypatch):
    """Count the calls that reach oneDNN."""
    calls = []
    real = matmul._ONEDNN

    def counted(*args):
        calls.append(tuple(args[0].shape))
        return real(*args)

    monkeypatch.setattr(matmul, "_ONEDNN", counted)
    return calls


@needs_onednn
def test_large_float32_products_run_on_onednn_and_equal_torch(monkeypatch):
    calls = spy(monkeypatch)
    torch.manual_seed(0)
    a, b, bias = torch.randn(300, 200), torch.randn(200, 100), torch.randn(100)
    rows = torch.randn(300, 50)
    exact = (a.double() @ b.double() + bias.double()).float()
    torch.testing.assert_close(matmul.product(a, b, bias), exact, atol=1e-4, rtol=1e-5)
    torch.testing.assert_close(matmul.product(a.t().contiguous().t(), b.t().contiguous().t()),
                               a @ b, atol=1e-4, rtol=1e-5)  # strided operands
    out = torch.randn(300, 100)
    expected = out + a @ b
    assert matmul.add_product_(out, a, b) is out
    torch.testing.assert_close(out, expected, atol=1e-4, rtol=1e-5)
    for x, y in ((a, rows), (rows, a)):  # either operand the smaller one
        torch.testing.assert_close(matmul.summed_outer(x, y), x.t() @ y, atol=1e-4, rtol=1e-5)
    assert len(calls) == 5


def test_small_float64_and_non_cpu_products_stay_on_torch(monkeypatch):
    calls = spy(monkeypatch)
    big = torch.randn(300, 200), torch.randn(200, 100)
    assert not matmul.on_onednn(torch.randn(4, 3), torch.randn(3, 2))  # below MIN_MACS
    assert not matmul.on_onednn(*(t.double() for t in big))
    assert not matmul.on_onednn(*(t.bfloat16() for t in big))
    assert not matmul.on_onednn(big[0].to("meta"), big[1].to("meta"))
    torch.testing.assert_close(matmul.product(*(t.double() for t in big)),
                               big[0].double() @ big[1].double(), atol=0, rtol=0)
    assert calls == []


@needs_onednn
@pytest.mark.parametrize("cell", ["lstm", "peephole", "cifg", "gru"])
def test_the_hand_written_backward_on_onednn_equals_the_autograd_loop(monkeypatch, cell):
    """Float32, every product of the hand-written path on oneDNN (the float64 tests of
    test_bptt run torch's kernel)."""
    monkeypatch.setattr(matmul, "MIN_MACS", 1)
    calls = spy(monkeypatch)
    torch.manual_seed(0)
    layer = Recurrent(cell, 3, 8, num_layers=2, bidirectional=True)
    x = torch.randn(5, 7, 3, requires_grad=True)
    state = tuple(torch.randn(4, 5, 8, requires_grad=True)
                  for _ in layer.cells["l0"].state_type._fields)
    lengths = torch.tensor([7, 2, 5, 1, 7])
    ours = run_layer(layer, x, state, lengths)
    assert len(calls) > 7 * 2 * 2 * 2  # per step, forward and backward, both layers and ways
    used = len(calls)
    autograd_loop(monkeypatch)
    ref = run_layer(layer, x, state, lengths)
    assert len(calls) == used  # the reference is the autograd loop, on torch's kernel
    for key in ours:
        a, b = ours[key], ref[key]
        a, b = ([a], [b]) if isinstance(a, torch.Tensor) else (a, b)
        for index, (u, v) in enumerate(zip(a, b, strict=True)):
            torch.testing.assert_close(u, v, atol=2e-5, rtol=1e-4, msg=f"{key}[{index}]")
