import json
import random

import pytest

from rnnkit.cli.main import main

TOPICS = ["budget", "meeting", "contract", "party", "report"]
FILLER = ["please", "see", "the", "note", "below", "thanks", "regards", "attached"]


def records(n, seed):
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        topic, day = rng.choice(TOPICS), rng.choice(["monday", "friday"])
        body = " ".join([topic, "on", day, *rng.sample(FILLER, 4), "."])
        out.append({"body": body, "subject": [f"{topic} {day}", topic]})
    return out


@pytest.fixture
def data(tmp_path):
    paths = {}
    for name, n, seed in (("train", 40, 0), ("dev", 8, 1)):
        paths[name] = tmp_path / f"{name}.jsonl"
        paths[name].write_text("".join(json.dumps(r) + "\n" for r in records(n, seed)))
    csv = tmp_path / "test.csv"
    csv.write_text("text,title\n" + "".join(f"{r['body']},{r['subject'][0]}\n"
                                            for r in records(6, 2)))
    paths["test"] = csv
    return paths


def train_args(data, out, *extra):
    return ["summarize", "train", "--train", str(data["train"]), "--dev", str(data["dev"]),
            "--source-field", "body", "--target-field", "subject", "--embedding-dim", "8",
            "--hidden-size", "8", "--epochs", "1", "--min-freq", "1", "--quiet", "--device",
            "cpu", "--max-source-tokens", "6", "--out", str(out), *extra]


def test_train_predict_evaluate_explain(data, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(train_args(data, out, "--coverage", "--json")) == 0
    result = json.loads(capsys.readouterr().out)
    valid = result["valid"]
    assert set(valid["model"]) == {"rouge1", "rouge2", "rougeL"}
    assert set(valid["model"]["rouge1"]) == {"mean", "best"}
    assert 1 <= valid["lead"]["n"] <= 20 and "lead-" in valid["verdict"]
    assert valid["truncated_sources"] == 8 and result["truncated_train_sources"] == 40
    config = json.loads((out / "config.json").read_text())
    assert config["model"]["copy"] and config["model"]["coverage"]

    assert main(["summarize", "predict", "--run", str(out), "budget on friday please note",
                 "a text with Zanzibar"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2

    assert main(["summarize", "evaluate", "--run", str(out), "--data", str(data["test"]),
                 "--source-field", "text", "--target-field", "title", "--json"]) == 0
    scores = json.loads(capsys.readouterr().out)
    assert scores["texts"] == 6 and scores["lead"]["n"] == valid["lead"]["n"]

    plot = tmp_path / "copy.png"
    assert main(["summarize", "explain", "--run", str(out), "meeting with Zanzibar",
                 "--out", str(plot), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert plot.is_file() and len(shown["copied"]) == len(shown["output_tokens"])
    assert all(0 <= p <= 1 for p in shown["p_gen"])


@pytest.mark.parametrize("case, message", [
    ("missing field", "no field 'subject'"),
    ("empty source", "field 'body' is empty"),
    ("undecodable", "not UTF-8"),
])
def test_bad_input_exits_2_and_writes_nothing(data, tmp_path, capsys, case, message):
    bad = tmp_path / "bad.jsonl"
    if case == "missing field":
        bad.write_text('{"body": "a text"}\n')
    elif case == "empty source":
        bad.write_text('{"body": "", "subject": "s"}\n')
    else:
        bad.write_bytes(b'{"body": "caf\xe9", "subject": "s"}\n')
    out = tmp_path / "run"
    assert main(train_args({**data, "train": bad}, out)) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_vectors_start_the_encoder_and_their_coverage_is_reported(data, tmp_path, capsys):
    vectors = tmp_path / "tiny.txt"
    vectors.write_text("".join(f"{w} {' '.join(['0.5'] * 8)}\n" for w in ["budget", "meeting",
                                                                          "friday", "zebra"]))
    out = tmp_path / "run"
    assert main(train_args(data, out, "--vectors", str(vectors), "--freeze-vectors")) == 0
    printed = capsys.readouterr().out
    metrics = json.loads((out / "metrics.json").read_text())
    report = metrics["vectors"]
    assert report["found"] == 3 and report["file"] == str(vectors)
    assert f"vectors: 3 of {report['words']} words" in printed
    assert json.loads((out / "config.json").read_text())["vectors"] == report
    assert main(["summarize", "predict", "--run", str(out), "budget on friday"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1
    assert main(train_args(data, tmp_path / "never", "--vectors", str(vectors),
                           "--embedding-dim", "4")) == 2
    assert "has 8 dimensions but the embedding 4" in capsys.readouterr().err
    assert not (tmp_path / "never").exists()
