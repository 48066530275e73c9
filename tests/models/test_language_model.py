import math
from dataclasses import replace

import pytest
import torch

from rnnkit.data.text import Vocab, build_tokenizer
from rnnkit.errors import InputError
from rnnkit.models.language_model import (
    TRAINING,
    LanguageModel,
    LanguageModelConfig,
    RecurrentLM,
)

TEXT = "abcabd\n" * 100


@pytest.fixture(scope="module")
def lm():
    model = LanguageModel(LanguageModelConfig(hidden_size=32, num_layers=1, embedding_dim=8,
                                              dropout=0.0, seq_length=20),
                          replace(TRAINING, epochs=30, batch_size=8, lr=1e-2, patience=None,
                                        device="cpu"))
    model.fit(TEXT, "abcabd\n" * 5, progress=False)
    return model


def test_learns_a_periodic_text(lm):
    scores = lm.evaluate("abcabd\n" * 8)
    uniform = math.log2(len(lm.vocab) - 2)
    assert scores["bits_per_char"] < 0.3 * uniform
    assert scores["bits_per_token"] == pytest.approx(scores["bits_per_char"])  # char level
    assert lm.sample("\nabc", length=11, greedy=True).text == "abd\nabcabd\n"


def test_low_temperature_sampling_equals_greedy(lm):
    greedy = lm.sample("ab", length=40, greedy=True).text
    for seed in range(3):
        assert lm.sample("ab", length=40, temperature=1e-4, seed=seed).text == greedy


def test_sampling_is_seeded_and_top_k_one_is_greedy(lm):
    a = lm.sample("a", length=50, temperature=2.0, seed=1).text
    assert a == lm.sample("a", length=50, temperature=2.0, seed=1).text
    assert lm.sample("a", length=50, temperature=5.0, top_k=1, seed=4).text == \
        lm.sample("a", length=50, greedy=True).text
    assert "<unk>" not in a and "<pad>" not in a


def test_surprisal_matches_evaluate_on_one_stream(lm):
    tokens, bits = lm.surprisal("abcabd\nabcabc")
    assert len(tokens) == 13 and bits.shape == (12,)
    assert float(bits.mean()) == pytest.approx(lm.evaluate("abcabd\nabcabc",
                                                           streams=1)["bits_per_token"],
                                               rel=1e-5)
    gates = lm.gates("abcab")
    assert set(gates) == {"i", "f", "g", "o"} and gates["f"].shape == (1, 5, 32)


def test_bad_settings_and_inputs(lm):
    with pytest.raises(InputError, match="--temperature 0"):
        lm.sample("a", temperature=0)
    with pytest.raises(InputError, match="--temperature -1"):
        lm.sample("a", temperature=-1.0)
    with pytest.raises(InputError, match="no token of the prompt"):
        lm.sample("zzz")
    with pytest.raises(InputError, match="training text is empty"):
        LanguageModel().fit("  \n", "abc")
    with pytest.raises(InputError, match="--level 'byte'"):
        LanguageModelConfig(level="byte").validate()


def test_word_level_keeps_lines():
    model = LanguageModel(LanguageModelConfig(level="word", hidden_size=16, num_layers=1,
                                              embedding_dim=8, seq_length=4),
                          replace(TRAINING, epochs=1, device="cpu"))
    model.fit("A dog runs.\nA cat sleeps.\n" * 10, "A dog sleeps.\n", progress=False)
    assert model.tokens("A dog.\nA cat") == ["A", "dog", ".", "\n", "A", "cat"]
    assert model.detokenize(["A", "dog", ".", "\n", "A", "cat"]) == "A dog.\nA cat"
    again = LanguageModel.from_state(model.state(), model.vocab_dict(),
                                     model.net.state_dict(), "run")
    assert torch.equal(again.encode("A dog"), model.encode("A dog"))
    assert again.sample("A", length=5, seed=2).text == model.sample("A", length=5, seed=2).text


def test_bits_per_char_divide_by_the_characters_of_the_scored_text():
    model = LanguageModel(LanguageModelConfig(level="word", hidden_size=8, num_layers=1,
                                              embedding_dim=4))
    model.tokenizer = build_tokenizer("word", [])
    model.vocab = Vocab.build([model.tokens("A dog runs.\nA cat sleeps.")])
    torch.manual_seed(0)
    model.net = RecurrentLM(replace(model.config, vocab_size=len(model.vocab)))  # untrained
    text = "A dog runs.\nA  zebra sleeps."  # "zebra" is <unk>; two spaces before it
    assert model.tokens(text) == ["A", "dog", "runs", ".", "\n", "A", "zebra", "sleeps", "."]
    one = model.evaluate(text, streams=1)
    assert one["unknown_tokens"] == 1 and one["tokens"] == 8
    # every token after the first: " dog runs.\nA  zebra sleeps.", spaces and all
    assert one["bits_per_char"] == pytest.approx(one["bits_per_token"] * 8 / 27)
    assert one["characters"] == len(text) - 1 == 27
    # two streams of 4 tokens, each scored after its first token; the last "." is left out:
    # " dog runs." and "A  zebra sleeps"
    two = model.evaluate(text, streams=2)
    assert two["bits_per_char"] == pytest.approx(two["bits_per_token"] * 6 / 25)
    assert two["characters"] == 10 + 15 and two["tokens"] == 6
