import pytest
import torch

from rnnkit import Recurrent
from rnnkit.init import identity_, keras_, orthogonal_, torch_default_, unit_forget_bias_


def test_orthogonal_blocks():
    layer = orthogonal_(Recurrent("lstm", 3, 6))
    for block in layer.cells["l0"].weight_hh.detach().chunk(4, 0):
        torch.testing.assert_close(block.T @ block, torch.eye(6), atol=1e-5, rtol=0)


def test_identity_is_the_irnn():
    layer = Recurrent("irnn", 3, 6)
    cell = layer.cells["l0"]
    assert torch.equal(cell.weight_hh, torch.eye(6))
    assert cell.bias_ih.abs().sum() == 0 and cell.bias_hh.abs().sum() == 0
    assert cell.weight_ih.std() < 0.01
    with pytest.raises(ValueError, match="identity_ initialises Elman cells"):
        identity_(Recurrent("lstm", 3, 6))


def test_unit_forget_bias_sums_to_one():
    layer = unit_forget_bias_(Recurrent("lstm", 3, 4))
    cell = layer.cells["l0"]
    total = (cell.bias_ih + cell.bias_hh).detach()
    assert torch.equal(total[4:8], torch.ones(4))
    cifg = unit_forget_bias_(Recurrent("cifg", 3, 4)).cells["l0"]
    assert torch.equal((cifg.bias_ih + cifg.bias_hh).detach()[:4], torch.ones(4))


def test_keras_defaults():
    layer = keras_(Recurrent("lstm", 10, 20, 2))
    cell = layer.cells["l1"]
    bound = (6 / (20 + 80)) ** 0.5
    assert cell.weight_ih.abs().max() <= bound
    w = cell.weight_hh.detach()
    torch.testing.assert_close(w.T @ w, torch.eye(20), atol=1e-5, rtol=0)
    bias = (cell.bias_ih + cell.bias_hh).detach()
    assert torch.equal(bias, torch.cat([torch.zeros(20), torch.ones(20), torch.zeros(40)]))


def test_torch_default_bound():
    layer = torch_default_(keras_(Recurrent("gru", 3, 16)))
    assert all(p.abs().max() <= 0.25 for p in layer.parameters())
    with pytest.raises(ValueError, match="contains no rnnkit cell"):
        torch_default_(torch.nn.Linear(2, 2))
