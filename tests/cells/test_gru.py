import torch

from rnnkit.cells import GRUCell, GRUState


def test_gru_cell_equals_torch_forward_and_gradients():
    torch.manual_seed(0)
    ref = torch.nn.GRUCell(3, 5)
    cell = GRUCell(3, 5)
    cell.load_state_dict(ref.state_dict())
    x, h0 = torch.randn(4, 3), torch.randn(4, 5)
    h_ref = ref(x, h0)
    h, state = cell(x, GRUState(h0))
    torch.testing.assert_close(h, h_ref, atol=1e-6, rtol=0)
    assert state.h is h
    h_ref.pow(2).sum().backward()
    h.pow(2).sum().backward()
    for name, p in cell.named_parameters():
        torch.testing.assert_close(p.grad, getattr(ref, name).grad, atol=1e-5, rtol=0)


def test_gru_gates_lie_in_their_ranges():
    cell = GRUCell(3, 6)
    xw = cell.project(torch.randn(8, 3) * 10)
    _, _, gates = cell.step(xw, cell.zero_state(8, xw))
    assert 0 <= gates.r.min() and gates.r.max() <= 1
    assert 0 <= gates.z.min() and gates.z.max() <= 1
    assert -1 <= gates.n.min() and gates.n.max() <= 1


def test_gru_step_broadcasts_many_inputs_against_one_state():
    torch.manual_seed(0)
    cell = GRUCell(3, 4)
    xw = cell.project(torch.randn(5, 3))  # 5 inputs
    h = torch.randn(2, 1, 4)  # 2 states, each shared by the 5 inputs
    out, state, gates = cell.step(xw[None], GRUState(h))
    assert out.shape == (2, 5, 4) and gates.z.shape == (2, 5, 4)
    for b in range(2):
        for i in range(5):
            one, _, _ = cell.step(xw[i:i + 1], GRUState(h[b]))
            torch.testing.assert_close(out[b, i], one[0])
