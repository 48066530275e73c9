import gzip
import json
import random

import pytest

from rnnkit.cli.main import main

LEXICON = {"ein": "a", "hund": "dog", "katze": "cat", "rennt": "runs", "schläft": "sleeps",
           "rot": "red", "groß": "big"}


def sentences(n, seed):
    rng = random.Random(seed)
    pairs = []
    for _ in range(n):
        words = [rng.choice(list(LEXICON)) for _ in range(rng.randint(2, 5))]
        pairs.append((" ".join(words) + ".", " ".join(LEXICON[w] for w in words) + "."))
    return pairs


@pytest.fixture
def corpus(tmp_path):
    files = {}
    for name, n, seed in (("train", 60, 0), ("val", 8, 1)):
        pairs = sentences(n, seed)
        de = "".join(f"{s}\n" for s, _ in pairs).encode()
        files[f"{name}.de"] = tmp_path / f"{name}.de.gz"
        files[f"{name}.de"].write_bytes(gzip.compress(de))
        files[f"{name}.en"] = tmp_path / f"{name}.en"
        files[f"{name}.en"].write_text("".join(f"{t}\n" for _, t in pairs))
    return files


def train_args(corpus, out, *extra):
    return ["translate", "train", "--src", str(corpus["train.de"]), "--tgt",
            str(corpus["train.en"]), "--valid-src", str(corpus["val.de"]), "--valid-tgt",
            str(corpus["val.en"]), "--embedding-dim", "8", "--hidden-size", "8", "--layers", "1",
            "--epochs", "2", "--min-freq", "1", "--max-length", "8", "--quiet", "--device",
            "cpu", "--out", str(out), *extra]


def test_train_predict_evaluate_explain_end_to_end(corpus, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(train_args(corpus, out, "--json", "--lr-schedule", "cosine", "--write-unk")) == 0
    result = json.loads(capsys.readouterr().out)
    config = json.loads((out / "config.json").read_text())
    assert config["model"]["attention"] == "additive"  # the default
    assert config["train"]["lr_schedule"] == "cosine" and config["model"]["write_unk"]
    assert result["run"] == str(out) and result["training"]["epochs_run"] == 2
    assert set(result["valid"]) >= {"bleu", "chrf", "perplexity", "bleu_signature"}
    assert {"config.json", "vocab.json", "model.safetensors", "metrics.json",
            "COMPLETE"} <= {p.name for p in out.iterdir()}

    texts = ["ein hund rennt.", "katze schläft.", "rot " * 10 + "hund."]
    assert main(["translate", "predict", "--run", str(out), *texts, "--beam", "3"]) == 0
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == 3
    assert "1 sentence(s) (3) had more than 8 tokens" in captured.err
    lines = tmp_path / "input.txt"
    lines.write_text("\n".join(texts) + "\n")
    assert main(["translate", "predict", "--run", str(out), "--file", str(lines), "--beam",
                 "3"]) == 0
    assert capsys.readouterr().out == captured.out  # one line per input, order kept

    assert main(["translate", "evaluate", "--run", str(out), "--src", str(corpus["val.de"]),
                 "--ref", str(corpus["val.en"]), "--beam", "1", "--json"]) == 0
    scores = json.loads(capsys.readouterr().out)
    assert scores["sentences"] == 8 and scores["beam_size"] == 1
    assert scores["bleu"] == pytest.approx(result["valid"]["bleu"])  # greedy, same pairs

    png = tmp_path / "align.png"
    assert main(["translate", "explain", "--run", str(out), "ein hund rennt.", "--out",
                 str(png), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert shown["source_tokens"] == ["ein", "hund", "rennt", "."]
    assert all(abs(sum(row) - 1) < 1e-5 for row in shown["attention"])


def test_bad_input_exits_2_and_writes_nothing(corpus, tmp_path, capsys):
    out = tmp_path / "never"
    short = tmp_path / "short.en"
    short.write_text("a dog.\n")
    args = train_args(corpus, out)
    args[args.index(str(corpus["train.en"]))] = str(short)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "has 60 lines but" in err and "short.en has 1" in err and "Traceback" not in err
    assert not out.exists()
    assert main(train_args(corpus, out, "--attention", "cosine")) == 2
    assert "--attention 'cosine' is not known" in capsys.readouterr().err
    assert main(train_args(corpus, out, "--lr-schedule", "step")) == 2
    assert "--lr-schedule 'step' is not known" in capsys.readouterr().err
    assert not out.exists()
    assert main(["translate", "predict", "--run", str(out), "ein hund."]) == 2
    assert f"{out}: no such run folder" in capsys.readouterr().err


def test_predict_refuses_empty_and_undecodable_input(corpus, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(train_args(corpus, out, "--epochs", "1")) == 0
    capsys.readouterr()
    assert main(["translate", "predict", "--run", str(out), "  "]) == 2
    assert "sentence 1 of the command line is empty" in capsys.readouterr().err
    bad = tmp_path / "bad.de"
    bad.write_bytes(b"ein hund\n\xfe\n")
    assert main(["translate", "predict", "--run", str(out), "--file", str(bad)]) == 2
    assert "bad.de, line 2: bytes b'\\xfe' are not UTF-8" in capsys.readouterr().err
    assert main(["translate", "explain", "--run", str(out), "hund", "--out",
                 str(tmp_path / "x.jpg")]) == 2
    assert "give a file name ending in .png" in capsys.readouterr().err


def test_copy_and_vectors(corpus, tmp_path, capsys):
    vectors = tmp_path / "tiny.vec"
    vectors.write_text("2 8\n" + "".join(f"{w} {' '.join(['0.1'] * 8)}\n" for w in ["hund",
                                                                                   "katze"]))
    out = tmp_path / "run"
    assert main(train_args(corpus, out, "--copy", "--coverage", "--vectors", str(vectors),
                           "--json")) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["vectors"]["found"] == 2 and result["vectors"]["coverage"] < 1
    model = json.loads((out / "config.json").read_text())["model"]
    assert model["copy"] and model["coverage"] and model["vectors"] == str(vectors)
    assert main(["translate", "predict", "--run", str(out), "ein hund rennt.", "ein Zorblax.",
                 "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert len(found) == 2 and all(isinstance(f["translation"], str) for f in found)
    assert main(train_args(corpus, tmp_path / "never", "--copy", "--tokenizer", "bpe")) == 2
    assert "--copy with --tokenizer bpe needs --shared-vocab" in capsys.readouterr().err
    assert not (tmp_path / "never").exists()
