import random
from dataclasses import replace

import pytest
import torch

from rnnkit.data.dialogues import TURN
from rnnkit.data.summaries import SummaryCorpus
from rnnkit.errors import InputError
from rnnkit.models.summarizer import (
    CHAT_CORPUS,
    CHAT_MODEL,
    CORPUS,
    Chatbot,
    HierarchicalPointerGenerator,
    Summarizer,
    SummarizerConfig,
)
from rnnkit.train.settings import TrainSettings

QUESTIONS = {"how are you ?": "fine , thanks .", "where is the bank ?": "on main street .",
             "what time is it ?": "it is five ."}


def chat_pairs(n, seed):
    rng = random.Random(seed)
    source, target = [], []
    for _ in range(n):
        question = rng.choice(list(QUESTIONS))
        turns = [rng.choice(["hi", "hello"]), rng.choice(["hi there", "good morning"]), question]
        source.append(f" {TURN} ".join(turns))
        target.append(QUESTIONS[question])
    return SummaryCorpus(source, target, [[t] for t in target], "generated")


def test_the_hierarchical_encoder_reads_each_turn_alone_then_the_turns():
    torch.manual_seed(0)
    config = SummarizerConfig(embedding_dim=4, hidden_size=3, num_layers=2, dropout=0.0,
                              src_vocab_size=12, tgt_vocab_size=12, encoder="hierarchical",
                              turn_index=5)
    net = HierarchicalPointerGenerator(config).eval()
    source = torch.tensor([[7, 8, 5, 9, 10, 11, 5, 6], [9, 5, 7, 0, 0, 0, 0, 0]])
    lengths = torch.tensor([8, 3])
    memory, mask, state = net.encode(source, lengths)
    assert memory.shape == (2, 8, 6) and mask.sum(1).tolist() == [8, 3]
    # a token's memory is its turn read alone: turn 2 of row 1 is [9, 10, 11, 5]
    alone, _ = net.encoder(net.embedding(torch.tensor([[9, 10, 11, 5]])))
    torch.testing.assert_close(memory[0, 3:7], alone[0])
    # the decoder starts from the context RNN over the turn vectors (3 turns, then 2)
    turn_vectors = []
    for turn in ([7, 8, 5], [9, 10, 11, 5], [6]):
        _, final = net.encoder(net.embedding(torch.tensor([turn])))
        turn_vectors.append(net._bridge(final.h)[-1])
    _, context = net.context(torch.stack(turn_vectors, 1))
    torch.testing.assert_close(state.rnn.h[:, :1], context.h)


def test_a_hierarchical_chatbot_trains_and_lowers_the_loss():
    bot = Chatbot(replace(CHAT_MODEL, embedding_dim=16, hidden_size=16, encoder="hierarchical",
                          beam_size=1),
                  replace(CHAT_CORPUS, min_freq=1),
                  TrainSettings(epochs=6, batch_size=16, lr=1e-2, device="cpu", patience=None))
    result = bot.fit(chat_pairs(120, 0), chat_pairs(12, 1), progress=False)
    losses = result.history["train_loss"]
    assert losses[-1] < 0.5 * losses[0], losses
    assert isinstance(bot.net, HierarchicalPointerGenerator)
    assert bot.network.turn_index == bot.side.vocab.index[TURN]
    reply = bot.summarize([f"hi {TURN} hello {TURN} where is the bank ?"])[0]
    assert reply.text == "on main street.", reply.text
    assert reply.attention.shape[1] == len(reply.source_tokens)


def test_the_encoder_is_checked():
    s = Summarizer(replace(SummarizerConfig(), encoder="tree"), replace(CORPUS))
    with pytest.raises(InputError, match="--encoder 'tree'"):
        s.check(chat_pairs(2, 0), chat_pairs(2, 1))


def test_a_long_context_keeps_its_latest_turns_and_a_long_source_its_first_words():
    corpus = chat_pairs(20, seed=0)
    small = replace(CHAT_MODEL, embedding_dim=4, hidden_size=4, beam_size=1, max_source_tokens=4)
    bot = Chatbot(small, train=TrainSettings(epochs=1, batch_size=8, patience=None))
    bot.fit(corpus, corpus, progress=False)
    summarizer = Summarizer(replace(small, copy=True), CORPUS,
                            TrainSettings(epochs=1, batch_size=8, patience=None))
    summarizer.fit(corpus, corpus, progress=False)
    context = f"hi {TURN} good morning {TURN} where is the bank ?"
    (latest,) = bot.encode([context])
    (opening,) = summarizer.encode([context])
    assert latest.truncated and latest.tokens == ["is", "the", "bank", "?"]
    assert opening.truncated and opening.tokens == ["hi", TURN, "good", "morning"]
