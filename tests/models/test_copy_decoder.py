import pytest
import torch
from torch.nn import functional as F

from rnnkit.errors import InputError
from rnnkit.models.decoder import (
    AttentionDecoder,
    Limits,
    Sampling,
    beam_search,
    coverage_loss,
    greedy_search,
    sample_search,
)

V, E, H, S, BOS, EOS = 12, 6, 8, 5, 2, 3


def _decoder(**options):
    torch.manual_seed(0)
    return AttentionDecoder(V, E, H, H, attention="additive", **options).eval()


def _inputs(B=2):
    torch.manual_seed(1)
    memory = torch.randn(B, S, H)
    mask = torch.ones(B, S, dtype=torch.bool)
    mask[1, 3:] = False
    return memory, mask


def _no_trigram_twice(tokens):
    grams = [tuple(tokens[k:k + 3]) for k in range(len(tokens) - 2)]
    return len(grams) == len(set(grams))


def test_p_gen_one_equals_the_plain_decoder():
    plain, copying = _decoder(), _decoder(copy=True)
    copying.load_state_dict(plain.state_dict(), strict=False)
    with torch.no_grad():
        copying.gate.weight.zero_()
        copying.gate.bias.fill_(60.0)  # p_gen = sigmoid(60) = 1 in float32
    memory, mask = _inputs()
    source = torch.tensor([[4, 5, 12, 6, 13], [7, 12, 8, 0, 0]])  # 12, 13: source OOVs
    targets = torch.tensor([[BOS, 4, 5, 6], [BOS, 7, 8, 0]])
    expected = F.log_softmax(plain(targets, memory, mask), dim=-1)  # (B, T, V)
    out = copying.decode(targets, memory, mask, source=source)
    assert out.scores.shape == (2, 4, V + 2)
    assert torch.allclose(out.scores[..., :V], expected, atol=1e-5)
    assert torch.all(out.scores[..., V:] < -20)  # no mass on the copy-only words
    assert torch.allclose(out.p_gen, torch.ones(2, 4))


def test_copy_gives_a_distribution_over_the_extended_vocabulary():
    decoder = _decoder(copy=True)
    memory, mask = _inputs()
    source = torch.tensor([[4, 5, 12, 6, 13], [7, 12, 8, 0, 0]])
    out = decoder.decode(torch.tensor([[BOS, 4, 12], [BOS, 7, 8]]), memory, mask,
                         source=source)
    assert torch.allclose(out.scores.exp().sum(-1), torch.ones(2, 3), atol=1e-5)
    # the OOV 12 gets exactly the copy share of its attention
    copy_share = (1 - out.p_gen) * (out.attention * (source[:, None, :] == 12)).sum(-1)
    assert torch.allclose(out.scores[..., 12].exp(), copy_share, atol=1e-6)
    assert torch.all(copy_share > 0)


def test_an_out_of_vocabulary_source_word_is_copied():
    decoder = _decoder(copy=True)
    with torch.no_grad():
        decoder.gate.weight.zero_()
        decoder.gate.bias.fill_(-60.0)  # p_gen = 0: copy only
    memory = torch.randn(1, 1, H)
    mask = torch.ones(1, 1, dtype=torch.bool)
    source = torch.tensor([[V]])  # the source is one word outside the vocabulary
    state = decoder.initial_state(batch=1)
    hyps = decoder.search(memory, mask, state, BOS, EOS, beam_size=1, max_length=3,
                          source=source)
    assert hyps.tokens[0] == [V, V, V]
    beam = decoder.search(memory, mask, state, BOS, EOS, beam_size=3, max_length=2,
                          source=source)
    assert beam.tokens[0][0] == V


def test_a_copying_decoder_needs_the_source_ids():
    memory, mask = _inputs()
    with pytest.raises(ValueError, match="needs the source ids"):
        _decoder(copy=True).decode(torch.tensor([[BOS], [BOS]]), memory, mask)


def test_coverage_loss_on_a_hand_computed_case():
    a = torch.tensor([[[0.5, 0.5], [0.9, 0.1], [0.2, 0.8]]])
    # c_1 = 0; c_2 = (.5, .5): min(.9,.5) + min(.1,.5) = .6; c_3 = (1.4, .6): .2 + .6 = .8
    assert torch.allclose(coverage_loss(a), torch.tensor([[0.0, 0.6, 0.8]]))


def test_coverage_is_an_attention_input_and_a_loss():
    decoder = _decoder(coverage=True)
    memory, mask = _inputs()
    targets = torch.tensor([[BOS, 4, 5], [BOS, 7, 8]])
    out = decoder.decode(targets, memory, mask)
    assert torch.allclose(out.coverage, coverage_loss(out.attention))
    assert decoder.attention.cover is not None
    with torch.no_grad():  # the coverage input changes the attention
        decoder.attention.cover.weight.fill_(5.0)
    assert not torch.allclose(decoder.decode(targets, memory, mask).attention, out.attention)
    state = decoder.initial_state(batch=2)
    prepared = decoder.prepare(memory, mask)
    for token in (BOS, 4):
        _, state, _ = decoder.step(torch.full((2,), token), state, prepared)
    assert torch.allclose(state.coverage.sum(-1), torch.full((2,), 2.0), atol=1e-5)
    assert _decoder().decode(targets, memory, mask).coverage is None


def _repetitive():
    decoder = _decoder()
    with torch.no_grad():
        decoder.out.bias[5] = 6.0  # left alone it writes 5 5 5 ...
        decoder.out.bias[6] = 5.0
        decoder.out.bias[EOS] = -20.0
    return decoder


@pytest.mark.parametrize("search", ["greedy", "beam", "sample"])
def test_ngram_blocking_never_repeats_a_trigram(search):
    decoder = _repetitive()
    memory, mask = _inputs()
    state = decoder.initial_state(batch=2)
    limits = Limits(no_repeat_ngram=3)
    if search == "greedy":
        unblocked = greedy_search(decoder, memory, mask, state, BOS, EOS, 12)
        assert not _no_trigram_twice(unblocked.tokens[0])
        hyps = greedy_search(decoder, memory, mask, state, BOS, EOS, 12, limits=limits)
    elif search == "beam":
        hyps = beam_search(decoder, memory, mask, state, BOS, EOS, 3, 12, limits=limits)
    else:
        hyps = sample_search(decoder, memory, mask, state, BOS, EOS, 12,
                             sampling=Sampling(temperature=0.5, seed=0), limits=limits)
    for tokens in hyps.tokens:
        assert len(tokens) == 12 and _no_trigram_twice(tokens)


def test_no_end_before_the_minimum_length():
    decoder = _decoder()
    with torch.no_grad():
        decoder.out.bias[EOS] = 30.0  # would end at once
    memory, mask = _inputs()
    state = decoder.initial_state(batch=2)
    assert greedy_search(decoder, memory, mask, state, BOS, EOS, 10).tokens == [[], []]
    hyps = beam_search(decoder, memory, mask, state, BOS, EOS, 2, 10, limits=Limits(3))
    assert [len(t) for t in hyps.tokens] == [3, 3]


def test_sampling_with_top_k_one_is_greedy_and_seeded_sampling_repeats():
    decoder = _decoder()
    memory, mask = _inputs()
    state = decoder.initial_state(batch=2)
    greedy = greedy_search(decoder, memory, mask, state, BOS, EOS, 8)
    top1 = sample_search(decoder, memory, mask, state, BOS, EOS, 8, sampling=Sampling(top_k=1))
    assert top1.tokens == greedy.tokens
    nucleus = Sampling(top_p=1e-6)  # only the most probable token is left
    assert sample_search(decoder, memory, mask, state, BOS, EOS, 8,
                         sampling=nucleus).tokens == greedy.tokens
    warm = Sampling(temperature=2.0, seed=3)
    first = sample_search(decoder, memory, mask, state, BOS, EOS, 8, sampling=warm)
    again = sample_search(decoder, memory, mask, state, BOS, EOS, 8, sampling=warm)
    assert first.tokens == again.tokens


def test_sampling_settings_are_checked():
    with pytest.raises(InputError, match="--temperature 0"):
        Sampling(temperature=0).validate()
    with pytest.raises(InputError, match="--top-p 1.5"):
        Sampling(top_p=1.5).validate()
