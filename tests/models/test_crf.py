import itertools

import pytest
import torch

from rnnkit.models.crf import CRF, FORBIDDEN, allowed_transitions


def random_crf(K=3, allowed=None, seed=0):
    torch.manual_seed(seed)
    crf = CRF(K, allowed)
    with torch.no_grad():
        for p in crf.parameters():
            p.normal_()
    return crf


def brute_force(crf, emissions, length):
    """Every tag sequence of one sentence: log Z, the best sequence, the marginals."""
    with torch.no_grad():
        A, pi, omega = crf.scores()
    e = emissions[:length].detach()
    K = e.shape[1]
    scores = {}
    for y in itertools.product(range(K), repeat=length):
        s = pi[y[0]] + omega[y[-1]] + sum(e[t, y[t]] for t in range(length))
        s = s + sum(A[y[t - 1], y[t]] for t in range(1, length))
        scores[y] = s
    values = torch.stack(list(scores.values()))
    log_z = torch.logsumexp(values, 0)
    best = max(scores, key=lambda y: float(scores[y]))
    marginals = torch.zeros(length, K)
    for y, s in scores.items():
        for t in range(length):
            marginals[t, y[t]] += torch.exp(s - log_z)
    return log_z, best, scores[best], marginals


@pytest.mark.parametrize("constrained", [False, True])
def test_partition_viterbi_marginals_match_enumeration(constrained):
    tags = ["O", "B-X", "I-X"]
    crf = random_crf(3, allowed_transitions(tags, "iob2") if constrained else None)
    lengths = torch.tensor([4, 1, 3, 2])
    emissions = torch.randn(4, 4, 3)
    mask = torch.arange(4)[None] < lengths[:, None]
    with torch.no_grad():
        log_z = crf.log_partition(emissions, mask)
        paths, best_scores = crf.decode(emissions, mask)
        marginals = crf.marginals(emissions, mask)
    for b, n in enumerate(lengths.tolist()):
        z, best, best_score, probs = brute_force(crf, emissions[b], n)
        assert torch.allclose(log_z[b], z, atol=1e-4)
        assert tuple(paths[b, :n].tolist()) == best and paths[b, n:].eq(0).all()
        assert torch.allclose(best_scores[b], best_score, atol=1e-4)
        assert torch.allclose(marginals[b, :n], probs, atol=1e-5)
        assert marginals[b, n:].eq(0).all()
        if constrained:  # the best path never takes a forbidden step: O -> I-X or start I-X
            assert best[0] != 2 and (0, 2) not in set(zip(best, best[1:], strict=False))


def test_nll_is_minus_log_probability_and_gradients_flow():
    crf = random_crf(3)
    emissions = torch.randn(2, 3, 3, requires_grad=True)
    mask = torch.tensor([[1, 1, 1], [1, 1, 0]]).bool()
    tags = torch.tensor([[0, 2, 1], [1, 1, 0]])
    nll = crf.nll(emissions, tags, mask)
    z, _, _, _ = brute_force(crf, emissions[1].detach(), 2)
    A, pi, omega = crf.scores()
    s = pi[1] + emissions[1, 0, 1] + emissions[1, 1, 1] + A[1, 1] + omega[1]
    assert torch.allclose(nll[1], z - s, atol=1e-4)
    assert (nll > 0).all()
    nll.sum().backward()
    assert emissions.grad[1, 2].eq(0).all()  # padding gets no gradient
    assert crf.transitions.grad.abs().sum() > 0


def test_padding_gives_the_scores_of_the_unpadded_sentence():
    crf = random_crf(3, seed=3)
    short = torch.randn(1, 2, 3)
    padded = torch.cat([short, torch.randn(1, 3, 3)], 1)
    mask = torch.tensor([[1, 1, 0, 0, 0]]).bool()
    full = torch.ones(1, 2, dtype=torch.bool)
    with torch.no_grad():
        assert torch.allclose(crf.log_partition(padded, mask), crf.log_partition(short, full))
        assert crf.decode(padded, mask)[0][0, :2].tolist() == crf.decode(short, full)[0][0].tolist()
        assert torch.allclose(crf.marginals(padded, mask)[:, :2], crf.marginals(short, full))


def test_allowed_transitions_of_each_scheme():
    tags = ["O", "B-A", "I-A", "E-A", "S-A", "B-B"]
    allowed, start, end = allowed_transitions(tags, "iobes")
    index = {t: k for k, t in enumerate(tags)}
    assert allowed[index["B-A"], index["E-A"]] and not allowed[index["B-A"], index["O"]]
    assert not allowed[index["O"], index["I-A"]] and allowed[index["E-A"], index["B-B"]]
    assert not start[index["I-A"]] and not end[index["B-A"]] and end[index["S-A"]]
    allowed, start, _ = allowed_transitions(["O", "B-A", "I-A"], "iob1")
    assert allowed[0, 2] and not allowed[0, 1] and allowed[2, 1] and start.all()
    crf = CRF(3, allowed_transitions(["O", "B-A", "I-A"], "iob2"))
    assert crf.scores()[0][0, 2] == FORBIDDEN
