import math
import random
from dataclasses import replace

import pytest
import torch

from rnnkit.data.parallel import CorpusConfig, ParallelCorpus, build_sides
from rnnkit.errors import InputError
from rnnkit.io.weights import load_weights, save_weights
from rnnkit.models.seq2seq import (
    TRAINING,
    PointerGenerator,
    Seq2Seq,
    Seq2SeqConfig,
    Translator,
)

WORDS = "a b c d e f".split()


def reversal_corpus(n, seed):
    rng = random.Random(seed)
    src = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 5))) for _ in range(n)]
    return ParallelCorpus(src, [" ".join(s.split()[::-1]) for s in src],
                          list(range(1, n + 1)), "generated")


def test_shapes_and_bridge_of_a_bidirectional_stack():
    torch.manual_seed(0)
    net = Seq2Seq(Seq2SeqConfig(embedding_dim=4, hidden_size=3, num_layers=2,
                                src_vocab_size=10, tgt_vocab_size=11)).eval()
    source, lengths = torch.randint(4, 10, (2, 6)), torch.tensor([6, 4])
    memory, mask, state = net.encode(source, lengths)
    assert memory.shape == (2, 6, 6) and mask.sum(1).tolist() == [6, 4]
    assert state.rnn.h.shape == (2, 2, 6)  # layers, batch, 2 directions x 3
    _, final = net.encoder(net.embedding(source), lengths=lengths)
    # layer 1: forward final state, then backward final state
    assert torch.allclose(state.rnn.h[1], torch.cat([final.h[2], final.h[3]], -1))
    assert net(source, lengths, torch.randint(4, 11, (2, 5))).shape == (2, 5, 11)


def test_a_small_model_learns_to_reverse_sequences():
    torch.manual_seed(0)
    translator = Translator(
        Seq2SeqConfig(cell="gru", embedding_dim=16, hidden_size=32, num_layers=1, dropout=0.0,
                      attention="additive", label_smoothing=0.0, beam_size=3),
        CorpusConfig(min_freq=1),
        replace(TRAINING, epochs=12, batch_size=32, lr=1e-2, device="cpu", patience=None))
    translator.fit(reversal_corpus(500, 0), reversal_corpus(40, 1), progress=False)
    held_out = reversal_corpus(40, 2)
    found = translator.translate(held_out.source)
    exact = sum(t.text == y for t, y in zip(found, held_out.target, strict=True))
    assert exact >= 34, [t.text for t in found[:5]]
    # attention of an output word: mostly on its mirrored source word
    first = found[0]
    n = len(first.source_tokens)
    hits = sum(int(first.attention[k].argmax()) == n - 1 - k for k in range(len(first.tokens)))
    assert hits >= len(first.tokens) - 1


def test_round_trip_through_state_and_safetensors(tmp_path):
    translator = Translator(Seq2SeqConfig(embedding_dim=4, hidden_size=4, num_layers=1),
                            CorpusConfig(min_freq=1), replace(TRAINING, epochs=1, device="cpu"))
    translator.fit(reversal_corpus(20, 0), reversal_corpus(4, 1), progress=False)
    save_weights(tmp_path / "w.safetensors", translator.net)
    again = Translator.from_state(translator.state(), translator.sides_dict(),
                                  load_weights(tmp_path / "w.safetensors"), "config.json")
    texts = ["a b c", "f e d c b a"]
    assert [t.text for t in again.translate(texts)] == \
        [t.text for t in translator.translate(texts)]
    state = translator.state()
    state["model"]["colour"] = "red"
    with pytest.raises(InputError, match=r"unknown Seq2SeqConfig keys \['colour'\]"):
        Translator.from_state(state, translator.sides_dict(), {}, "config.json")


def test_long_inputs_are_truncated_and_flagged():
    translator = Translator(Seq2SeqConfig(embedding_dim=4, hidden_size=4, num_layers=1),
                            CorpusConfig(min_freq=1, max_length=6),
                            replace(TRAINING, epochs=1, device="cpu"))
    translator.fit(reversal_corpus(20, 0), reversal_corpus(4, 1), progress=False)
    long, short = translator.translate(["a b c d e f a b", "a b"], beam_size=2)
    assert long.truncated and len(long.source_tokens) == 6 and long.attention.shape[1] == 6
    assert not short.truncated
    pairs = ParallelCorpus(["a b", "a b c d e f a", "c", ""], ["x y", "x", "y z w v u t", "x"],
                           [1, 2, 3, 4], "pairs")
    kept = translator.training_pairs(pairs)  # 7 source / 6+<eos> target tokens / no source
    assert len(kept) == 1 and translator.dropped_long == 3
    with pytest.raises(InputError, match="every pair is longer than max_length=6"):
        translator.training_pairs(ParallelCorpus(["a b c d e f a"], ["x"], [1], "long"))


@pytest.mark.parametrize("change,message", [
    (dict(attention="luong"), "--attention 'luong' is not known"),
    (dict(teacher_forcing=1.5), "--teacher-forcing 1.5; expected a ratio in"),
    (dict(cell="transformer"), "--cell 'transformer' is not known"),
])
def test_config_validation(change, message):
    with pytest.raises(InputError, match=message):
        Seq2SeqConfig(**change).validate()


def test_unk_is_never_written_unless_asked():
    translator = Translator(Seq2SeqConfig(embedding_dim=4, hidden_size=4, num_layers=1),
                            CorpusConfig(min_freq=1), replace(TRAINING, epochs=1, device="cpu"))
    translator.fit(reversal_corpus(20, 0), reversal_corpus(4, 1), progress=False)
    unk = translator.target.vocab.unk_index
    with torch.no_grad():  # make <unk> the favourite word everywhere
        translator.net.decoder.out.bias[unk] = 100.0
    texts = ["a b c", "f e d"]
    for beam in (1, 3):
        assert all("<unk>" not in t.tokens for t in translator.translate(texts, beam_size=beam))
    translator.config.write_unk = True
    assert all(t.tokens[0] == "<unk>" for t in translator.translate(texts, beam_size=1))


def test_learning_rate_schedule_is_checked():
    with pytest.raises(InputError, match="--lr-schedule 'step' is not known"):
        replace(TRAINING, lr_schedule="step").validate()


def test_perplexity_is_per_target_token_over_the_whole_corpus():
    short, long = ("a", "a"), ("a b c d e f a b", "b a f e d c b a")
    pairs = [short] * 200 + [long] * 100  # more than one batch of 256
    corpus = ParallelCorpus([s for s, _ in pairs], [t for _, t in pairs], list(range(1, 301)),
                            "generated")
    translator = Translator(corpus=CorpusConfig(min_freq=1))
    src_side, tgt_side = build_sides(corpus, translator.corpus_config)
    torch.manual_seed(0)
    net = PointerGenerator(Seq2SeqConfig(embedding_dim=4, hidden_size=4,
                                         src_vocab_size=len(src_side.vocab),
                                         tgt_vocab_size=len(tgt_side.vocab))).eval()  # untrained
    with torch.no_grad():  # <eos> cheap, words dear: a long sentence costs more per token
        net.decoder.out.bias[tgt_side.eos_index] = 5.0
    translator.source, translator.target, translator.net = src_side, tgt_side, net
    nll = []  # of each pair, summed over its target tokens and <eos>
    for source, target in (short, long):
        src, tgt = src_side.encode(source), tgt_side.encode(target)
        with torch.no_grad():
            logits = net(torch.tensor([src]), torch.tensor([len(src)]),
                         torch.tensor([[tgt_side.bos_index, *tgt]]), torch.tensor([src]))[0][0]
        nll.append(float(torch.nn.functional.cross_entropy(
            logits, torch.tensor([*tgt, tgt_side.eos_index]), reduction="sum")))
    per_token = math.exp((200 * nll[0] + 100 * nll[1]) / (200 * 2 + 100 * 9))
    per_sentence = math.exp((200 * nll[0] / 2 + 100 * nll[1] / 9) / 300)
    assert abs(per_sentence / per_token - 1) > 0.05  # the two averages differ here
    assert translator.perplexity(corpus) == pytest.approx(per_token, rel=1e-5)



def naming_corpus(n, seed, names):
    rng = random.Random(seed)
    src, tgt = [], []
    for _ in range(n):
        name = rng.choice(names)
        greeting = rng.choice(["hallo", "guten tag"])
        src.append(f"{greeting} ich heiße {name} .")
        tgt.append(f"hello my name is {name} .")
    return ParallelCorpus(src, tgt, list(range(1, n + 1)), "generated")


def test_a_copying_translator_writes_a_source_word_outside_its_vocabulary():
    names = [f"n{k}x" for k in range(400)]  # each seen once or twice: below --min-freq 3
    train = naming_corpus(600, 0, names)
    config = Seq2SeqConfig(cell="gru", embedding_dim=16, hidden_size=32, dropout=0.0,
                           label_smoothing=0.0, beam_size=1, copy=True)
    translator = Translator(config, CorpusConfig(min_freq=3),
                            replace(TRAINING, epochs=8, batch_size=32, lr=1e-2, device="cpu",
                                    patience=None))
    translator.fit(train, naming_corpus(20, 1, names), progress=False)
    assert "zorblax" not in translator.target.vocab and translator.net.decoder.copies
    out = translator.translate(["hallo ich heiße zorblax ."])[0]
    assert out.tokens == ["hello", "my", "name", "is", "zorblax", "."]
    assert translator.perplexity(naming_corpus(20, 2, ["quux", "blorp"])) < 2.0


def test_copy_with_separate_bpe_vocabularies_is_refused():
    translator = Translator(Seq2SeqConfig(copy=True), CorpusConfig(tokenizer="bpe"))
    with pytest.raises(InputError, match="--copy with --tokenizer bpe needs --shared-vocab"):
        translator.check(reversal_corpus(4, 0), reversal_corpus(4, 1))


def test_the_encoder_starts_from_word_vectors_and_reports_coverage(tmp_path):
    vectors = tmp_path / "tiny.vec"
    vectors.write_text("a 1 0 0 0\nb 0 1 0 0\nc 0 0 1 0\nzebra 1 1 1 1\n")
    translator = Translator(Seq2SeqConfig(embedding_dim=4, hidden_size=4,
                                          vectors=str(vectors), freeze_vectors=True),
                            CorpusConfig(min_freq=1), replace(TRAINING, epochs=1, device="cpu"))
    translator.fit(reversal_corpus(30, 0), reversal_corpus(4, 1), progress=False)
    report = translator.vectors
    assert report["found"] == 3 and report["words"] == 6  # a b c of a..f
    assert report["coverage"] == pytest.approx(0.5) and report["file"] == str(vectors)
    vocab = translator.source.vocab
    table = translator.net.embedding.weight  # frozen: still the file's rows after training
    assert table[vocab.index["b"]].tolist() == [0.0, 1.0, 0.0, 0.0]
    assert translator.state()["vectors"] == report
    wrong = Translator(Seq2SeqConfig(embedding_dim=3, vectors=str(vectors)))
    with pytest.raises(InputError, match="has 4 dimensions but the embedding 3"):
        wrong.check(reversal_corpus(4, 0), reversal_corpus(4, 1))
