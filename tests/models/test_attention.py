import pytest
import torch

from rnnkit.models.attention import (
    AdditiveAttention,
    DotAttention,
    GeneralAttention,
    make_attention,
    masked_softmax,
)


@pytest.mark.parametrize("kind", ["additive", "dot", "general"])
def test_weights_sum_to_one_over_real_positions_only(kind):
    torch.manual_seed(0)
    attention = make_attention(kind, 6, 6)
    memory = torch.randn(3, 5, 6)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0], [1, 0, 0, 0, 0]], dtype=torch.bool)
    context, weights = attention(torch.randn(3, 6), attention.keys(memory), memory, mask)
    assert weights.shape == (3, 5) and context.shape == (3, 6)
    assert torch.allclose(weights.sum(-1), torch.ones(3))
    assert (weights[~mask] == 0).all() and (weights[mask] > 0).all()
    assert torch.allclose(context[2], memory[2, 0])  # one real position: all weight on it
    assert torch.allclose(context, torch.einsum("bs,bsh->bh", weights, memory), atol=1e-6)


def test_scores_follow_the_papers_formulas():
    torch.manual_seed(1)
    q, m = torch.randn(2, 4), torch.randn(2, 3, 5)
    additive = AdditiveAttention(4, 5, 7)
    expected = torch.tanh(q[:, None] @ additive.query.weight.T + additive.key(m)) \
        @ additive.v.weight[0]
    assert torch.allclose(additive.score(q, additive.keys(m)), expected, atol=1e-6)
    general = GeneralAttention(4, 5)
    assert torch.allclose(general.score(q, general.keys(m)),
                          torch.einsum("bh,hk,bsk->bs", q, general.key.weight, m), atol=1e-6)
    m4 = torch.randn(2, 3, 4)
    assert torch.allclose(DotAttention().score(q, m4), torch.einsum("bh,bsh->bs", q, m4))


def test_masked_softmax_and_bad_names():
    weights = masked_softmax(torch.tensor([[5.0, 1.0, 9.0]]), torch.tensor([[True, True, False]]))
    assert weights[0, 2] == 0 and torch.allclose(weights.sum(), torch.tensor(1.0))
    with pytest.raises(ValueError, match="dot attention needs equal query and memory sizes"):
        make_attention("dot", 4, 8)
    with pytest.raises(ValueError, match="not known; choose one of"):
        make_attention("cosine", 4, 4)
