import json
import os
import random
import subprocess
import sys

import pytest

from rnnkit.cli.main import main

GREETINGS = ["hi", "hello", "good morning"]
QUESTIONS = ["how are you ?", "where is the bank ?", "what time is it ?"]
ANSWERS = ["fine , thanks .", "on main street .", "it is five ."]


def dialogues(n, seed):
    rng = random.Random(seed)
    lines = []
    for _ in range(n):
        k = rng.randrange(3)
        turns = [rng.choice(GREETINGS), rng.choice(GREETINGS), QUESTIONS[k], ANSWERS[k]]
        lines.append(" __eou__ ".join(turns) + " __eou__")
    return "\n".join(lines) + "\n"


@pytest.fixture
def data(tmp_path):
    paths = {"train": tmp_path / "train.txt", "dev": tmp_path / "dev.txt",
             "test": tmp_path / "test.txt"}
    paths["train"].write_text(dialogues(30, 0))
    paths["dev"].write_text(dialogues(6, 1))
    paths["test"].write_text(dialogues(5, 2))
    return paths


def train_args(data, out, *extra):
    return ["chat", "train", "--train", str(data["train"]), "--dev", str(data["dev"]),
            "--embedding-dim", "8", "--hidden-size", "8", "--epochs", "1", "--min-freq", "1",
            "--quiet", "--device", "cpu", "--out", str(out), *extra]


@pytest.fixture
def run(data, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(train_args(data, out, "--json", "--context-turns", "2")) == 0
    result = json.loads(capsys.readouterr().out)
    valid = result["valid"]
    assert {"perplexity", "beam", "retrieval", "verdict"} <= set(valid)
    assert set(valid["beam"]) >= {"bleu2", "distinct1", "distinct2"}
    assert result["dialogues"]["duplicates_removed"] > 0  # 30 draws of 9 kinds
    assert result["dialogues"]["valid_overlap_removed"] > 0
    return out


def test_train_evaluate_explain(run, data, tmp_path, capsys):
    assert main(["chat", "evaluate", "--run", str(run), "--data", str(data["test"]),
                 "--greedy", "--sample", "--json"]) == 0
    scores = json.loads(capsys.readouterr().out)
    assert {"beam", "greedy", "sample", "retrieval"} <= set(scores)
    assert scores["overlap_removed"] + scores["duplicates_removed"] > 0
    plot = tmp_path / "chat.png"
    assert main(["chat", "explain", "--run", str(run), "hi", "where is the bank ?",
                 "--out", str(plot), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert plot.is_file() and shown["context_tokens"] == ["hi", "__eou__", "where", "is", "the",
                                                          "bank", "?"]


def test_the_conversation_answers_through_a_pipe_and_honours_reset(run):
    lines = "hi\nwhere is the bank ?\n/reset\n\nhello\n/quit\nnever read\n"
    done = subprocess.run([sys.executable, "-m", "rnnkit.cli.main", "chat", "--run", str(run),
                           "--beam", "2"], input=lines, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr
    out = done.stdout.splitlines()
    assert len(out) == 4 and out[2] == "(conversation reset)"


def test_reset_clears_the_context(run):
    from rnnkit.tasks.chat import Decoding, chat

    seen = []
    replies = chat(run, Decoding(beam_size=1), ["hello", "hi", "/reset", "hi"], seen.append)
    assert replies == 3 and seen[2] == "(conversation reset)"
    fresh = []
    chat(run, Decoding(beam_size=1), ["hi"], fresh.append)
    assert seen[3] == fresh[0]  # after /reset, as if the conversation had just begun


def test_sampled_replies_draw_with_the_seed_advanced_per_reply(run, monkeypatch):
    from rnnkit.models.decoder import Sampling
    from rnnkit.tasks import chat as chat_task

    seeds, real = [], chat_task.reply

    def recording(bot, turns, context_turns, decoding):
        seeds.append(decoding.sampling.seed)
        return real(bot, turns, context_turns, decoding)

    monkeypatch.setattr(chat_task, "reply", recording)
    decoding = chat_task.Decoding(sampling=Sampling(seed=7))
    chat_task.chat(run, decoding, ["hi", "/reset", "hi", "where is the bank ?"], [].append)
    assert seeds == [7, 8, 9] and decoding.sampling.seed == 7


@pytest.mark.parametrize("content, message", [
    ("one turn only __eou__\n", "at least two turns"),
    (None, "not UTF-8"),
])
def test_bad_input_exits_2_and_writes_nothing(data, tmp_path, capsys, content, message):
    bad = tmp_path / "bad.txt"
    if content is None:
        bad.write_bytes(b"caf\xe9 __eou__ ok __eou__\n")
    else:
        bad.write_text(content)
    out = tmp_path / "bad-run"
    assert main(train_args({**data, "train": bad}, out)) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()
    assert main(["chat", "--run", str(tmp_path / "none"), "--sample", "--top-p", "0"]) == 2


def test_a_hierarchical_encoder_trains_and_answers(data, tmp_path, capsys):
    out = tmp_path / "hred"
    assert main(train_args(data, out, "--encoder", "hierarchical")) == 0
    assert "(hierarchical)" in capsys.readouterr().out
    assert json.loads((out / "config.json").read_text())["model"]["encoder"] == "hierarchical"
    assert main(["chat", "explain", "--run", str(out), "hi", "where is the bank ?",
                 "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert len(shown["attention"][0]) == len(shown["context_tokens"])
    assert main(train_args(data, tmp_path / "never", "--encoder", "tree")) == 2
    assert "--encoder 'tree'" in capsys.readouterr().err


def test_vectors_start_the_chatbot_and_their_coverage_is_reported(data, tmp_path, capsys):
    vectors = tmp_path / "tiny.txt"
    vectors.write_text("".join(f"{w} {' '.join(['0.5'] * 8)}\n" for w in ["bank", "street",
                                                                        "zebra"]))
    out = tmp_path / "vec"
    assert main(train_args(data, out, "--vectors", str(vectors))) == 0
    printed = capsys.readouterr().out
    report = json.loads((out / "metrics.json").read_text())["vectors"]
    assert report["found"] == 2 and f"vectors: 2 of {report['words']} words" in printed
    assert main(train_args(data, tmp_path / "never", "--freeze-vectors")) == 2
    assert "--freeze-vectors/--tune-vectors: only with --vectors FILE" in capsys.readouterr().err
    assert not (tmp_path / "never").exists()
