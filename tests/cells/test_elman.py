import pytest
import torch

from rnnkit.cells import ElmanCell, RNNState


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_elman_cell_equals_torch(nonlinearity):
    torch.manual_seed(0)
    ref = torch.nn.RNNCell(3, 5, nonlinearity=nonlinearity)
    cell = ElmanCell(3, 5, nonlinearity=nonlinearity)
    cell.load_state_dict(ref.state_dict())
    x, h0 = torch.randn(4, 3), torch.randn(4, 5)
    h_ref = ref(x, h0)
    h, _ = cell(x, RNNState(h0))
    torch.testing.assert_close(h, h_ref, atol=1e-6, rtol=0)
    h_ref.sum().backward()
    h.sum().backward()
    for name, p in cell.named_parameters():
        torch.testing.assert_close(p.grad, getattr(ref, name).grad, atol=1e-5, rtol=0)


def test_unknown_nonlinearity_is_refused():
    with pytest.raises(ValueError, match="nonlinearity='sigmoid'; expected 'tanh' or 'relu'"):
        ElmanCell(2, 2, nonlinearity="sigmoid")
