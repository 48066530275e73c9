import json
import pickle
import re

import pytest

from rnnkit.cli.main import main
from rnnkit.io.weights import load_weights

POSITIVE = ["a great film", "great fun , really", "a wonderful story", "wonderful and warm"]
NEGATIVE = ["a dull film", "dull and flat", "an awful story", "awful , really"]


def tsv(path, rows, header="sentence\tlabel"):
    path.write_text(header + "\n" + "".join(f"{text} \t{label}\n" for text, label in rows))
    return path


@pytest.fixture
def files(tmp_path):
    rows = [(t, 1) for t in POSITIVE] + [(t, 0) for t in NEGATIVE]
    return tsv(tmp_path / "train.tsv", rows * 4), tsv(tmp_path / "dev.tsv", rows)


def train_small(files, out, *extra):
    train, dev = files
    return main(["classify", "train", "--train", str(train), "--dev", str(dev),
                 "--embedding-dim", "8", "--hidden-size", "8", "--epochs", "2", "--quiet",
                 "--lr", "0.01", "--out", str(out), *extra])


@pytest.fixture
def run(files, tmp_path):
    out = tmp_path / "run"
    assert train_small(files, out) == 0
    return out


def test_train_predict_evaluate_explain_end_to_end(files, tmp_path, capsys):
    out = tmp_path / "run"
    assert train_small(files, out, "--json", "--cell", "gru", "--pooling", "attention") == 0
    dev = json.loads(capsys.readouterr().out)
    assert dev["examples"] == 8 and dev["classes"] == ["0", "1"]
    assert sum(map(sum, dev["confusion_matrix"])) == 8
    assert 0 <= dev["macro_f1"] <= 1 and dev.pop("run") == str(out)
    assert len(dev["training"]["history"]["val_score"]) == 2
    assert {"config.json", "tokenizer.json", "vocab.json", "model.safetensors", "metrics.json",
            "predictions.csv", "training.png", "COMPLETE"} <= {p.name for p in out.iterdir()}
    assert json.loads((out / "metrics.json").read_text()) == dev
    config = json.loads((out / "config.json").read_text())
    assert config["data"]["text_column"] == "sentence" and config["model"]["cell"] == "gru"

    assert main(["classify", "predict", "--run", str(out), "a wonderful film", "zebra"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and lines[1].endswith("\tzebra")
    label, probability, _ = lines[0].split("\t")
    assert label in ("0", "1") and 0.5 <= float(probability) <= 1

    assert main(["classify", "predict", "--run", str(out), "--file", str(files[1]),
                 "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert len(records) == 8 and records[0]["true"] == "1" and records[0]["text"] == "a great film"

    assert main(["classify", "evaluate", "--run", str(out), "--data", str(files[1])]) == 0
    printed = capsys.readouterr().out
    assert "accuracy" in printed and "macro-F1" in printed and "confusion matrix" in printed
    assert main(["classify", "evaluate", "--run", str(out), "--data", str(files[1]),
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["confusion_matrix"] == dev["confusion_matrix"]

    plot = tmp_path / "why.png"
    assert main(["classify", "explain", "--run", str(out), "a great zebra film",
                 "--out", str(plot), "--top", "2"]) == 0
    printed = capsys.readouterr().out
    assert "prediction:" in printed and "unknown words (read as <unk>): zebra" in printed
    assert plot.read_bytes()[:4] == b"\x89PNG"
    assert main(["classify", "explain", "--run", str(out), "a dull story", "--json"]) == 0
    explained = json.loads(capsys.readouterr().out)
    assert explained["words"] == ["a", "dull", "story"]
    assert len(explained["probability_after_each_word"]) == 3
    assert explained["plot"].startswith(str(out / "explain-a-dull-story-"))


def test_plain_text_file_and_people_output(run, tmp_path, capsys):
    texts = tmp_path / "texts.txt"
    texts.write_text("a great story\nawful\n")
    assert main(["classify", "predict", "--run", str(run), "--file", str(texts)]) == 0
    assert [line.split("\t")[2] for line in capsys.readouterr().out.splitlines()] == \
        ["a great story", "awful"]


def test_help_has_a_worked_example(capsys):
    assert main(["classify", "train", "--help"]) == 0
    printed = capsys.readouterr().out
    assert "--train" in printed and "$RNNKIT_DATA/sst2/train.tsv" in printed


def bad(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


@pytest.mark.parametrize("content,message", [
    ("body\tlabel\nok\t1\n", r"train.tsv has no text column .*available columns: \['body', "
                             r"'label'\]"),
    ("sentence\tstars\nok\t1\n", r"train.tsv has no label column .*available columns: "
                                 r"\['sentence', 'stars'\]"),
    ("sentence\tlabel\nok\t1\n\nbad\t0\n", "train.tsv, line 3 is empty"),
    (b"sentence\tlabel\nok\t1\nna\xefve\t0\n",
     r"train.tsv, line 3: bytes b'\\xef.*' are not UTF-8"),
    ("", "train.tsv is empty"),
])
def test_bad_training_files_exit_2_and_write_nothing(files, tmp_path, capsys, content, message):
    out = tmp_path / "never"
    train = bad(tmp_path, "train.tsv", content)
    assert train_small((train, files[1]), out) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1
    assert re.search(message, err), err
    assert "Traceback" not in err and not out.exists()


def test_bad_options_exit_2_and_write_nothing(files, tmp_path, capsys):
    out = tmp_path / "never"
    assert train_small(files, out, "--pooling", "sum") == 2
    assert "--pooling 'sum' is not known" in capsys.readouterr().err
    assert train_small(files, out, "--text-column", "body") == 2
    assert "no text column 'body'" in capsys.readouterr().err
    assert train_small(files, out, "--device", "tpu") == 2
    dev = tsv(tmp_path / "dev2.tsv", [("a great film", 1), ("so so", 2)])
    assert train_small((files[0], dev), out) == 2
    assert "dev2.tsv, line 3: label '2' was never seen in training" in capsys.readouterr().err
    assert not out.exists()


def test_labels_the_model_never_saw_are_refused(run, tmp_path, capsys):
    data = tsv(tmp_path / "later.tsv", [("a great film", 1), ("meh", "neutral")])
    assert main(["classify", "evaluate", "--run", str(run), "--data", str(data)]) == 2
    assert "later.tsv, line 3: label 'neutral' was never seen in training; the model knows " \
           "['0', '1']" in capsys.readouterr().err
    assert main(["classify", "predict", "--run", str(run), "--file", str(data)]) == 2
    assert "label 'neutral' was never seen" in capsys.readouterr().err
    unlabelled = tsv(tmp_path / "u.tsv", [("a great film", 1)], header="sentence\tscore")
    assert main(["classify", "evaluate", "--run", str(run), "--data", str(unlabelled)]) == 2
    assert "has no label column" in capsys.readouterr().err


def test_bad_prediction_input(run, tmp_path, capsys):
    assert main(["classify", "predict", "--run", str(run)]) == 2
    assert "not both and not neither" in capsys.readouterr().err
    empty = bad(tmp_path, "e.txt", "a film\n\nanother\n")
    assert main(["classify", "predict", "--run", str(run), "--file", str(empty)]) == 2
    assert "e.txt, line 2 is empty" in capsys.readouterr().err
    undecodable = bad(tmp_path, "u.txt", b"fine\n\xff\xfe bad\n")
    assert main(["classify", "predict", "--run", str(run), "--file", str(undecodable)]) == 2
    assert "u.txt, line 2: bytes b'\\xff' are not UTF-8" in capsys.readouterr().err
    assert main(["classify", "explain", "--run", str(run), "  "]) == 2
    assert "the text to explain is empty" in capsys.readouterr().err
    assert main(["classify", "explain", "--run", str(run), "ok", "--out", "x.jpg"]) == 2
    assert "the figure is a PNG" in capsys.readouterr().err


def test_existing_out_is_never_overwritten(files, tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert train_small(files, out) == 2
    assert "already exists and is not empty" in capsys.readouterr().err
    assert train_small(files, out, "--force") == 2  # not a run folder: never removed
    assert (out / "keep.txt").read_text() == "mine"


def test_force_replaces_a_run_only_after_the_input_is_validated(run, files, capsys):
    first = (run / "model.safetensors").read_bytes()
    assert train_small((files[1], files[1]), run, "--force", "--pooling", "sum") == 2
    assert train_small((files[0], run / "missing.tsv"), run, "--force") == 2
    assert (run / "model.safetensors").read_bytes() == first  # bad input: the run is kept
    assert train_small(files, run, "--force", "--seed", "5") == 0
    assert (run / "model.safetensors").read_bytes() != first


def test_tampered_runs_are_refused(run, capsys):
    predict = ["classify", "predict", "--run", str(run), "fine"]
    assert set(load_weights(run / "model.safetensors")) >= {"head.weight", "rnn.weight_ih_l0",
                                                            "embedding.weight"}
    config = json.loads((run / "config.json").read_text())
    (run / "config.json").write_text(json.dumps({**config, "exec": "rm -rf /"}))
    assert main(predict) == 2
    assert "unknown keys ['exec']" in capsys.readouterr().err
    (run / "config.json").write_text(json.dumps(config))
    vocab = (run / "vocab.json").read_text()
    (run / "vocab.json").write_text(json.dumps({"tokens": ["a"], "n_specials": 2}))
    assert main(predict) == 2
    assert "vocabulary" in capsys.readouterr().err
    (run / "vocab.json").write_text(vocab)
    (run / "model.safetensors").write_bytes(pickle.dumps({"head.weight": 1}))
    assert main(predict) == 2
    assert "is not a safetensors file" in capsys.readouterr().err
    (run / "COMPLETE").unlink()
    assert main(predict) == 2
    assert "is incomplete" in capsys.readouterr().err
    assert main(["classify", "predict", "--run", str(run.parent / "missing"), "x"]) == 2
    assert "no such run folder" in capsys.readouterr().err


def test_weight_average_and_schedule_options_reach_the_run(files, tmp_path, capsys):
    out = tmp_path / "averaged"
    assert train_small(files, out, "--ema", "0.9", "--lr-schedule", "cosine") == 0
    config = json.loads((out / "config.json").read_text())
    assert config["train"]["ema"] == 0.9 and config["train"]["lr_schedule"] == "cosine"
    capsys.readouterr()
    assert main(["classify", "predict", "--run", str(out), "a great film"]) == 0
    assert capsys.readouterr().out.endswith("\ta great film\n")
    plain = tmp_path / "plain"
    assert train_small(files, plain) == 0
    assert json.loads((plain / "config.json").read_text())["train"]["ema"] is None
    never = tmp_path / "never"
    for extra, message in [(["--ema", "1.5"], "--ema 1.5; expected a decay between 0 and 1"),
                           (["--lr-schedule", "linear"], "--lr-schedule 'linear' is not known")]:
        assert train_small(files, never, *extra) == 2
        assert message in capsys.readouterr().err
    assert not never.exists()


def test_ensemble_and_budget_options_reach_the_run(files, tmp_path, capsys):
    out = tmp_path / "ensemble"
    assert train_small(files, out, "--ensemble", "2", "--max-minutes", "5") == 0
    config = json.loads((out / "config.json").read_text())
    assert config["model"]["ensemble"] == 2 and config["train"]["max_minutes"] == 5
    capsys.readouterr()
    assert main(["classify", "predict", "--run", str(out), "a great film"]) == 0
    assert capsys.readouterr().out.endswith("\ta great film\n")
    assert main(["classify", "explain", "--run", str(out), "a great film",
                 "--out", str(tmp_path / "why.png")]) == 0
    assert (tmp_path / "why.png").is_file()
    never = tmp_path / "never"
    for extra, message in [(["--ensemble", "0"], "--ensemble 0; expected at least 1"),
                           (["--max-minutes", "0"], "--max-minutes 0.0; expected a positive")]:
        assert train_small(files, never, *extra) == 2
        assert message in capsys.readouterr().err
    assert not never.exists()


def test_vectors_initialise_the_embedding_and_their_coverage_is_reported(files, tmp_path,
                                                                         capsys):
    vectors = tmp_path / "glove.txt"
    vectors.write_text("".join(f"{word} {' '.join(['0.25'] * 8)}\n"
                               for word in ("great", "dull", "film", "zebra")))
    out = tmp_path / "run"
    assert train_small(files, out, "--vectors", str(vectors), "--freeze-vectors") == 0
    shown = capsys.readouterr().out
    metrics = json.loads((out / "metrics.json").read_text())
    words = metrics["vocab_size"] - 2
    assert metrics["vectors"]["found"] == 3 and metrics["vectors"]["words"] == words
    assert f"vectors: 3 of {words} words" in shown
    config = json.loads((out / "config.json").read_text())
    assert config["model"]["vectors"] == str(vectors) and config["model"]["freeze_vectors"]
    vocab = json.loads((out / "vocab.json").read_text())["tokens"]
    weight = load_weights(out / "model.safetensors")["embedding.weight"]
    assert weight[vocab.index("great")].tolist() == [0.25] * 8
    assert main(["classify", "predict", "--run", str(out), "a great film"]) == 0
    assert main(["classify", "train", "--train", str(files[0]), "--dev", str(files[1]),
                 "--vectors", str(vectors), "--embedding-dim", "4",
                 "--out", str(tmp_path / "bad")]) == 2
    assert "set --embedding-dim to at least 8" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()
