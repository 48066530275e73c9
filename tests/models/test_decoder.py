import math

import pytest
import torch

from rnnkit.cells.lstm import LSTMState
from rnnkit.models.decoder import (
    AttentionDecoder,
    DecoderMemory,
    beam_search,
    greedy_search,
    length_penalty,
)

BOS, EOS, A, B = 1, 2, 3, 4


class MarkovDecoder:
    """A constructed decoder: p(next | previous token) from a fixed table, memory ignored."""

    def __init__(self, table):
        self.logp = torch.log(torch.tensor(table))

    def prepare(self, memory, mask):
        return DecoderMemory(memory, memory, mask)

    def step(self, tokens, state, memory):
        weights = memory.mask.float() / memory.mask.sum(-1, keepdim=True)
        return self.logp[tokens], state, weights

    def reorder_state(self, state, index):
        return state.index_select(0, index)


def trap_table():
    # greedy takes A (0.6) and then cannot end well; B then <eos> is more probable overall
    table = [[1e-9] * 5 for _ in range(5)]
    table[BOS][A], table[BOS][B] = 0.6, 0.4
    table[A][EOS], table[A][A], table[A][B] = 0.34, 0.33, 0.33
    table[B][EOS], table[B][A] = 0.99, 0.01
    table[EOS][EOS] = 1.0
    return table


def test_beam_search_finds_a_more_probable_hypothesis_than_greedy():
    decoder = MarkovDecoder(trap_table())
    memory, mask = torch.zeros(2, 3, 1), torch.ones(2, 3, dtype=torch.bool)
    state = torch.zeros(2)
    greedy = greedy_search(decoder, memory, mask, state, BOS, EOS, max_length=10)
    beam = beam_search(decoder, memory, mask, state, BOS, EOS, beam_size=2, max_length=10,
                       alpha=0.0)
    assert greedy.tokens == [[A], [A]] and beam.tokens == [[B], [B]]
    assert torch.allclose(greedy.scores, torch.tensor(math.log(0.6 * 0.34)).repeat(2))
    assert torch.allclose(beam.scores, torch.tensor(math.log(0.4 * 0.99)).repeat(2))
    assert (beam.scores > greedy.scores).all()


def small_decoder(cell="lstm", attention="general"):
    torch.manual_seed(0)
    decoder = AttentionDecoder(vocab_size=12, embedding_dim=5, hidden_size=8, memory_size=6,
                               num_layers=2, cell=cell, attention=attention)
    return decoder.eval()


@pytest.mark.parametrize("cell,attention", [("lstm", "general"), ("gru", "additive")])
def test_beam_of_one_equals_greedy(cell, attention):
    decoder = small_decoder(cell, attention)
    memory = torch.randn(4, 7, 6)
    mask = torch.arange(7)[None] < torch.tensor([7, 3, 5, 1])[:, None]
    state = decoder.initial_state(batch=4)
    greedy = greedy_search(decoder, memory, mask, state, BOS, EOS, max_length=12)
    beam = beam_search(decoder, memory, mask, state, BOS, EOS, beam_size=1, max_length=12)
    assert greedy.tokens == beam.tokens
    assert torch.allclose(greedy.scores, beam.scores, atol=1e-5)
    for g, b, n in zip(greedy.attention, beam.attention, [7, 3, 5, 1], strict=True):
        assert torch.allclose(g, b, atol=1e-6)
        assert torch.allclose(g.sum(-1), torch.ones(len(g)), atol=1e-5)
        assert (g[:, n:] == 0).all()  # padded source positions get no attention


def test_beam_search_is_batched_row_by_row_alike():
    decoder = small_decoder()
    memory = torch.randn(3, 5, 6)
    mask = torch.ones(3, 5, dtype=torch.bool)
    together = beam_search(decoder, memory, mask, decoder.initial_state(batch=3), BOS, EOS,
                           beam_size=4, max_length=9)
    for row in range(3):
        alone = beam_search(decoder, memory[row:row + 1], mask[row:row + 1],
                            decoder.initial_state(batch=1), BOS, EOS, beam_size=4, max_length=9)
        assert alone.tokens[0] == together.tokens[row]
        assert torch.allclose(alone.scores[0], together.scores[row], atol=1e-5)


def test_teacher_forced_forward_equals_stepping():
    decoder = small_decoder()
    memory, mask = torch.randn(2, 4, 6), torch.ones(2, 4, dtype=torch.bool)
    h = torch.randn(2, 2, 8)
    state = decoder.initial_state(LSTMState(h, torch.zeros_like(h)))
    targets = torch.randint(3, 12, (2, 5))
    logits = decoder(targets, memory, mask, state)
    prepared, stepped = decoder.prepare(memory, mask), []
    for t in range(5):
        step_logits, state, _ = decoder.step(targets[:, t], state, prepared)
        stepped.append(step_logits)
    assert torch.allclose(logits, torch.stack(stepped, 1), atol=1e-5)


def test_teacher_forcing_ratio_zero_feeds_own_predictions():
    decoder = small_decoder().train()  # no dropout: only the inputs differ
    memory, mask = torch.randn(2, 4, 6), torch.ones(2, 4, dtype=torch.bool)
    targets = torch.randint(3, 12, (2, 6))
    forced = decoder(targets, memory, mask, teacher_forcing=1.0)
    free = decoder(targets, memory, mask, teacher_forcing=0.0)
    assert torch.allclose(forced[:, 0], free[:, 0])  # the first input is the same either way
    assert not torch.allclose(forced, free)
    prepared, previous, stepped = decoder.prepare(memory, mask), targets[:, 0], []
    state = decoder.initial_state(batch=2)
    for _ in range(6):  # the decoder fed its own argmax at every step after the first
        logits, state, _ = decoder.step(previous, state, prepared)
        stepped.append(logits)
        previous = logits.argmax(-1)
    assert torch.allclose(free, torch.stack(stepped, 1), atol=1e-5)


def test_length_penalty_is_gnmts():
    assert length_penalty(torch.tensor([1]), 0.0).item() == 1.0
    assert length_penalty(torch.tensor([7]), 1.0).item() == pytest.approx(2.0)


class _Favours:
    """A decoder whose scores prefer padding, then <bos> (2), then token 5, then <eos> (3)."""

    def prepare(self, memory, mask):
        return DecoderMemory(memory, memory, mask)

    def step(self, tokens, state, memory):
        logits = torch.full((len(tokens), 7), -5.0)
        logits[:, 0], logits[:, 2], logits[:, 5] = 9.0, 8.0, 1.0
        logits[:, 3] = torch.where(state > 1, 7.0, -20.0)  # <eos> best from the third step
        return logits, state + 1, torch.ones(len(tokens), memory.mask.shape[1])

    def reorder_state(self, state, index):
        return state[index]


def test_searches_never_write_padding_or_bos():
    memory, mask = torch.zeros(2, 3, 4), torch.ones(2, 3, dtype=torch.bool)
    state = torch.zeros(2)
    for found in (greedy_search(_Favours(), memory, mask, state, 2, 3, 10),
                  beam_search(_Favours(), memory, mask, state, 2, 3, beam_size=3, max_length=10,
                              alpha=0.0)):
        assert found.tokens == [[5, 5], [5, 5]]


def test_banned_tokens_are_never_written():
    memory, mask = torch.zeros(2, 3, 4), torch.ones(2, 3, dtype=torch.bool)
    state = torch.zeros(2)
    for found in (greedy_search(_Favours(), memory, mask, state, 2, 3, 10, banned=[5]),
                  beam_search(_Favours(), memory, mask, state, 2, 3, beam_size=3, max_length=10,
                              alpha=0.0, banned=[5])):
        # 5 was the favourite; now one of the tokens tied at -5 (1, 4 or 6) takes its place
        assert [len(row) for row in found.tokens] == [2, 2]
        assert {t for row in found.tokens for t in row} <= {1, 4, 6}


@torch.no_grad()
def test_search_is_greedy_for_one_beam_and_beam_search_for_more():
    decoder = small_decoder()
    memory, mask = torch.randn(3, 5, 6), torch.ones(3, 5, dtype=torch.bool)
    state = decoder.initial_state(batch=3)
    greedy = greedy_search(decoder, memory, mask, state, BOS, EOS, max_length=9)
    beam = beam_search(decoder, memory, mask, state, BOS, EOS, beam_size=3, max_length=9,
                       alpha=0.6)
    assert decoder.search(memory, mask, state, BOS, EOS, max_length=9).tokens == greedy.tokens
    assert decoder.search(memory, mask, state, BOS, EOS, beam_size=3, max_length=9,
                          alpha=0.6).tokens == beam.tokens
