import json
import math
from collections import Counter

import numpy as np
import pytest
from PIL import Image

from rnnkit.cli.main import main

TINY = ["--channels", "4,8", "--hidden-size", "16", "--embedding-dim", "8", "--epochs", "1",
        "--quiet", "--device", "cpu", "--threads", "1"]


def test_digits_train_predict_evaluate_explain(tmp_path, capsys):
    out = tmp_path / "digits"
    assert main(["caption", "train", "--dataset", "digits", "--train-scenes", "64",
                 "--valid-scenes", "8", "--test-scenes", "8", *TINY, "--json",
                 "--out", str(out)]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["monitor"] == "exact"
    assert set(metrics["test"]) == {"greedy", "beam3"} and metrics["test"]["greedy"]["images"] == 8
    assert {"config.json", "vocab.json", "model.safetensors", "metrics.json", "predictions.csv",
            "training.png", "report.html", "COMPLETE"} <= {p.name for p in out.iterdir()}
    examples = sorted((out / "examples").glob("*.png"))
    assert len(examples) == 8

    assert main(["caption", "predict", "--run", str(out), *map(str, examples[:3]), "--beam",
                 "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[0] for line in lines] == list(map(str, examples[:3]))

    assert main(["caption", "evaluate", "--run", str(out), "--dataset", "digits",
                 "--test-scenes", "8", "--beam", "1", "--json"]) == 0
    evaluated = json.loads(capsys.readouterr().out)
    assert evaluated["exact_match"] == pytest.approx(metrics["test"]["greedy"]["exact_match"])

    plot = tmp_path / "where.png"
    assert main(["caption", "explain", "--run", str(out), str(examples[0]), "--out",
                 str(plot), "--json"]) == 0
    explained = json.loads(capsys.readouterr().out)
    assert plot.stat().st_size > 0 and explained["grid"] == [8, 24]
    for row in explained["attention"]:
        assert np.isclose(np.sum(row), 1.0, atol=1e-4)


@pytest.fixture
def flickr(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    rng = np.random.default_rng(0)
    lines = []
    for k in range(6):
        array = rng.integers(0, 60, (20, 20, 3), dtype=np.uint8)
        array[:, :10] += 150 if k % 2 else 0
        Image.fromarray(array).save(images / f"p{k}.jpg")
        side = "left bright" if k % 2 else "all dark"
        lines += [f"p{k}.jpg#0\tThe image is {side} .", f"p{k}.jpg#1\tA picture , {side} ."]
    tokens = tmp_path / "tokens.txt"
    tokens.write_text("\n".join(lines) + "\n")
    return images, tokens


def test_flickr_folder_train_predict_evaluate(flickr, tmp_path, capsys):
    images, tokens = flickr
    out = tmp_path / "run"
    assert main(["caption", "train", "--images", str(images), "--captions", str(tokens),
                 "--image-size", "16", *TINY, "--valid-fraction", "0.34", "--json",
                 "--out", str(out)]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["train_images"] == 4 and metrics["train_captions"] == 8
    assert "test" not in metrics and metrics["valid"]["greedy"]["images"] == 2
    assert main(["caption", "predict", "--run", str(out), str(images / "p1.jpg")]) == 0
    assert capsys.readouterr().out.startswith(f"{images / 'p1.jpg'}\t")
    assert main(["caption", "evaluate", "--run", str(out), "--images", str(images),
                 "--captions", str(tokens), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["images"] == 6


def test_caption_bad_input_exits_2_and_writes_nothing(flickr, tmp_path, capsys):
    images, tokens = flickr
    bad = tmp_path / "bad.txt"
    bad.write_text("p0.jpg#0\tfine\nghost.jpg#0\tA ghost .\n")
    out = tmp_path / "never"
    assert main(["caption", "train", "--images", str(images), "--captions", str(bad), *TINY,
                 "--out", str(out)]) == 2
    assert "ghost.jpg (line 2)" in capsys.readouterr().err and not out.exists()
    assert main(["caption", "train", "--dataset", "digits", "--images", str(images),
                 "--captions", str(tokens), "--out", str(out)]) == 2
    assert "either --dataset digits or --images" in capsys.readouterr().err
    assert main(["caption", "train", "--dataset", "cifar", "--out", str(out)]) == 2
    assert "'cifar' is not built in" in capsys.readouterr().err and not out.exists()

    run = tmp_path / "flat"
    assert main(["caption", "train", "--images", str(images), "--captions", str(tokens),
                 "--image-size", "16", *TINY, "--attention", "none", "--out", str(run)]) == 0
    capsys.readouterr()
    assert main(["caption", "predict", "--run", str(run), str(tmp_path / "nope.png")]) == 2
    assert "nope.png does not exist" in capsys.readouterr().err
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\x00garbage")
    assert main(["caption", "predict", "--run", str(run), str(broken)]) == 2
    assert "broken.jpg cannot be read" in capsys.readouterr().err
    assert main(["caption", "explain", "--run", str(run), str(images / "p0.jpg")]) == 2
    assert "--attention none" in capsys.readouterr().err


@pytest.fixture
def text_file(tmp_path):
    path = tmp_path / "captions.txt"
    path.write_text("A dog runs on the grass.\nA cat sleeps on a mat.\n" * 40)
    return path


def test_generate_train_sample_evaluate_explain(text_file, tmp_path, capsys):
    out = tmp_path / "lm"
    assert main(["generate", "train", "--text", str(text_file), "--hidden-size", "32",
                 "--layers", "1", "--epochs", "2", "--seq-length", "32", "--batch-size", "4",
                 "--lr", "0.02", "--quiet", "--device", "cpu", "--threads", "1", "--prompt",
                 "A ", "--json", "--out", str(out)]) == 0
    metrics = json.loads(capsys.readouterr().out)
    text = text_file.read_text()
    counts = Counter(text)  # the entropy of the characters alone: a unigram model's bits
    unigram = -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())
    assert unigram == pytest.approx(3.88, abs=0.01)
    assert metrics["valid"]["bits_per_char"] < unigram / 2  # the model learned the context
    assert len(metrics["samples"]["texts"]) == 3
    assert (out / "samples.txt").read_text().count("--- sample") == 3

    assert main(["generate", "sample", "--run", str(out), "--prompt", "A dog", "--length",
                 "30", "--temperature", "0.8", "--count", "2", "--json"]) == 0
    samples = json.loads(capsys.readouterr().out)
    assert len(samples) == 2 and all(len(s["text"]) == 30 for s in samples)
    valid = tmp_path / "valid.txt"  # the last 5% of the lines: the validation text
    valid.write_text("".join(text.splitlines(keepends=True)[-4:]))
    assert main(["generate", "evaluate", "--run", str(out), "--data", str(valid),
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["bits_per_char"] == pytest.approx(
        metrics["valid"]["bits_per_char"])
    assert main(["generate", "evaluate", "--run", str(out), "--data", str(text_file),
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["bits_per_char"] < unigram / 2
    plot = tmp_path / "s.png"
    assert main(["generate", "explain", "--run", str(out), "A cat runs.", "--out",
                 str(plot)]) == 0
    assert "bits per token on average" in capsys.readouterr().out and plot.stat().st_size > 0

    assert main(["generate", "sample", "--run", str(out), "--temperature", "0"]) == 2
    assert "--temperature 0.0; expected a positive number" in capsys.readouterr().err


def test_generate_bad_input(tmp_path, capsys):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n  \n")
    out = tmp_path / "never"
    assert main(["generate", "train", "--text", str(empty), "--out", str(out)]) == 2
    assert "empty.txt" in capsys.readouterr().err and not out.exists()
    latin = tmp_path / "latin.txt"
    latin.write_bytes(b"fine line\ncaf\xe9\n")
    assert main(["generate", "train", "--text", str(latin), "--out", str(out)]) == 2
    assert "line 2" in capsys.readouterr().err and not out.exists()
