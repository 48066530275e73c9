import pytest
import torch

from rnnkit.cells import CIFGLSTMCell, LSTMCell, LSTMState, PeepholeLSTMCell


def test_lstm_cell_equals_torch_forward_and_gradients():
    torch.manual_seed(0)
    ref = torch.nn.LSTMCell(3, 5)
    cell = LSTMCell(3, 5)
    cell.load_state_dict(ref.state_dict())
    x, h0, c0 = torch.randn(4, 3), torch.randn(4, 5), torch.randn(4, 5)
    h_ref, c_ref = ref(x, (h0, c0))
    h, state = cell(x, LSTMState(h0, c0))
    torch.testing.assert_close(h, h_ref, atol=1e-6, rtol=0)
    torch.testing.assert_close(state.c, c_ref, atol=1e-6, rtol=0)
    (h_ref.sum() + c_ref.pow(2).sum()).backward()
    (h.sum() + state.c.pow(2).sum()).backward()
    for name, p in cell.named_parameters():
        torch.testing.assert_close(p.grad, getattr(ref, name).grad, atol=1e-5, rtol=0)


def test_lstm_state_dict_keys_and_shapes_equal_torch():
    ref = torch.nn.LSTMCell(3, 5).state_dict()
    ours = LSTMCell(3, 5).state_dict()
    assert {k: v.shape for k, v in ours.items()} == {k: v.shape for k, v in ref.items()}


def test_lstm_gates_lie_in_their_ranges():
    cell = LSTMCell(3, 7)
    xw = cell.project(torch.randn(16, 3) * 10)
    _, state, gates = cell.step(xw, cell.zero_state(16, xw))
    for name in ("i", "f", "o"):
        value = getattr(gates, name)
        assert value.min() >= 0 and value.max() <= 1, name
    assert gates.g.min() >= -1 and gates.g.max() <= 1
    assert state.h.abs().max() <= 1


def test_zero_state_is_default():
    cell = LSTMCell(2, 3)
    x = torch.randn(2, 2)
    h1, _ = cell(x)
    h2, _ = cell(x, LSTMState(torch.zeros(2, 3), torch.zeros(2, 3)))
    torch.testing.assert_close(h1, h2)


def test_peephole_matches_its_equations():
    torch.manual_seed(1)
    cell = PeepholeLSTMCell(3, 4)
    x, h0, c0 = torch.randn(2, 3), torch.randn(2, 4), torch.randn(2, 4)
    W_ih, W_hh = cell.weight_ih, cell.weight_hh
    b = cell.bias_ih + cell.bias_hh
    rows = [slice(k * 4, (k + 1) * 4) for k in range(4)]
    pre = [x @ W_ih[r].T + h0 @ W_hh[r].T + b[r] for r in rows]
    i = torch.sigmoid(pre[0] + cell.weight_ci * c0)
    f = torch.sigmoid(pre[1] + cell.weight_cf * c0)
    c = f * c0 + i * torch.tanh(pre[2])
    o = torch.sigmoid(pre[3] + cell.weight_co * c)
    h, state = cell(x, LSTMState(h0, c0))
    torch.testing.assert_close(state.c, c)
    torch.testing.assert_close(h, o * torch.tanh(c))
    assert {"weight_ci", "weight_cf", "weight_co"} <= set(dict(cell.named_parameters()))


def test_cifg_couples_input_and_forget_gates():
    torch.manual_seed(2)
    cell = CIFGLSTMCell(3, 4)
    assert cell.weight_ih.shape == (12, 3)
    x, h0, c0 = torch.randn(2, 3), torch.randn(2, 4), torch.randn(2, 4)
    pre = x @ cell.weight_ih.T + cell.bias_ih + h0 @ cell.weight_hh.T + cell.bias_hh
    f, g, o = torch.sigmoid(pre[:, :4]), torch.tanh(pre[:, 4:8]), torch.sigmoid(pre[:, 8:])
    c = f * c0 + (1 - f) * g
    h, state = cell(x, LSTMState(h0, c0))
    torch.testing.assert_close(state.c, c)
    torch.testing.assert_close(h, o * torch.tanh(c))
    _, _, gates = cell.step(cell.project(x), LSTMState(h0, c0))
    torch.testing.assert_close(gates.i, 1 - gates.f)


def test_cell_rejects_wrong_input_size():
    with pytest.raises(ValueError, match=r"x has shape \(2, 4\); expected \(batch, 3\)"):
        LSTMCell(3, 5)(torch.randn(2, 4))
