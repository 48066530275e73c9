import json

import pytest

from rnnkit.cli.main import main

SENTENCES = [
    [("EU", "NNP", "B-ORG"), ("rejects", "VBZ", "O"), ("German", "JJ", "B-MISC"),
     ("call", "NN", "O")],
    [("Peter", "NNP", "B-PER"), ("Blackburn", "NNP", "I-PER"), ("visits", "VBZ", "O"),
     ("Paris", "NNP", "B-LOC")],
    [("BRUSSELS", "NNP", "B-LOC"), ("says", "VBZ", "O"), ("EU", "NNP", "B-ORG")],
]


def conll(path, sentences, docstart=True):
    lines = ["-DOCSTART- -X- O", ""] if docstart else []
    for sentence in sentences:
        lines += [" ".join(fields) for fields in sentence] + [""]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def files(tmp_path):
    return conll(tmp_path / "train.txt", SENTENCES * 4), conll(tmp_path / "dev.txt", SENTENCES)


def train_small(files, out, *extra):
    train, dev = files
    return main(["tag", "train", "--train", str(train), "--dev", str(dev), "--column", "2",
                 "--embedding-dim", "8", "--hidden-size", "8", "--epochs", "2", "--quiet",
                 "--lr", "0.05", "--out", str(out), *extra])


def test_train_predict_evaluate_explain_end_to_end(files, tmp_path, capsys):
    out = tmp_path / "run"
    assert train_small(files, out, "--json", "--scheme", "iobes") == 0
    dev = json.loads(capsys.readouterr().out)
    assert dev["sentences"] == 3 and dev["tokens"] == 11 and dev["scheme"] == "iobes"
    assert 0 <= dev["f1"] <= 1 and 0 <= dev["baseline"]["f1"] <= 1
    assert set(dev["per_type"]) <= {"ORG", "MISC", "PER", "LOC"}
    assert {"config.json", "vocab.json", "model.safetensors", "metrics.json", "predictions.txt",
            "training.png", "transitions.png", "COMPLETE"} <= {p.name for p in out.iterdir()}
    predictions = (out / "predictions.txt").read_text().splitlines()
    assert predictions[0].startswith("EU NNP S-ORG ") and len(predictions[0].split()) == 4

    assert main(["tag", "predict", "--run", str(out), "EU rejects German call ."]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split("\t")[0] for line in lines] == ["EU", "rejects", "German", "call", "."]

    tagged = tmp_path / "tagged.txt"
    assert main(["tag", "predict", "--run", str(out), "--file", str(files[1]),
                 "--out", str(tagged)]) == 0
    rows = [r.split() for r in tagged.read_text().splitlines()]
    assert [len(r) for r in rows[:2]] == [4, 4] and rows[4] == []

    capsys.readouterr()
    assert main(["tag", "evaluate", "--run", str(out), "--data", str(files[1]), "--json"]) == 0
    scores = json.loads(capsys.readouterr().out)
    assert scores["tokens"] == 11 and "f1" in scores and "confusion_matrix" in scores

    plot = tmp_path / "why.png"
    assert main(["tag", "explain", "--run", str(out), "Peter visits Paris",
                 "--out", str(plot), "--json"]) == 0
    why = json.loads(capsys.readouterr().out)
    assert [row["token"] for row in why["tokens"]] == ["Peter", "visits", "Paris"]
    assert all(abs(sum(row["top"].values()) - 1) < 0.3 for row in why["tokens"])
    assert plot.stat().st_size > 0


def test_softmax_cnn_and_slash_format(tmp_path, capsys):
    slash = tmp_path / "pos.txt"
    slash.write_text("the/DET dog/NOUN runs/VERB\na/DET cat/NOUN sleeps/VERB\n" * 3)
    out = tmp_path / "pos"
    assert main(["tag", "train", "--train", str(slash), "--dev", str(slash), "--output",
                 "softmax", "--char-features", "cnn", "--epochs", "1", "--quiet",
                 "--embedding-dim", "8", "--hidden-size", "8", "--out", str(out), "--json"]) == 0
    dev = json.loads(capsys.readouterr().out)
    assert dev["scheme"] is None and "f1" not in dev and 0 <= dev["accuracy"] <= 1
    assert not (out / "transitions.png").exists()
    assert main(["tag", "predict", "--run", str(out), "--file", str(slash)]) == 0
    first = capsys.readouterr().out.splitlines()[0].split()
    assert [w.rsplit("/", 1)[0] for w in first] == ["the", "dog", "runs"]


@pytest.mark.parametrize("content, message", [
    ("EU B-ORG\nrejects\n", "line 2 has 1 field(s)"),
    ("EU B-ORG\n\nrejects NN\n", "tag 'NN' is not a chunk tag"),
])
def test_bad_input_exits_2_and_writes_nothing(tmp_path, capsys, content, message):
    bad = tmp_path / "bad.txt"
    bad.write_text(content)
    out = tmp_path / "run"
    code = main(["tag", "train", "--train", str(bad), "--dev", str(bad), "--scheme", "iob2",
                 "--out", str(out), "--quiet"])
    assert code == 2 and not out.exists()
    err = capsys.readouterr().err
    assert message in err and str(bad) in err and len(err.strip().splitlines()) == 1


def test_unknown_options_and_runs_exit_2(files, tmp_path, capsys):
    out = tmp_path / "run"
    assert train_small(files, out, "--output", "hmm") == 2 and not out.exists()
    assert "--output 'hmm' is not known" in capsys.readouterr().err
    vectors = tmp_path / "glove.txt"
    vectors.write_text("eu" + " 0.1" * 9 + "\n")
    assert train_small(files, out, "--vectors", str(vectors)) == 2 and not out.exists()
    assert "has 9 dimensions but the embedding 8; set --embedding-dim to at least 9" in \
        capsys.readouterr().err
    assert main(["tag", "predict", "--run", str(tmp_path / "nope"), "word"]) == 2
    for options, named in ((["--freeze-vectors"], "--freeze-vectors/--tune-vectors"),
                           (["--vectors-vocab", "10"], "--vectors-vocab")):
        assert train_small(files, out, *options) == 2 and not out.exists()
        assert f"{named}: only with --vectors FILE" in capsys.readouterr().err


def test_a_word_only_the_vectors_file_has_keeps_its_row_in_the_run(files, tmp_path, capsys):
    vectors = tmp_path / "glove.txt"
    vectors.write_text("".join(f"{w} " + " ".join(["0.5"] * 8) + "\n"
                               for w in ("eu", "london", "says", "zurich")))
    out = tmp_path / "run"
    assert train_small(files, out, "--vectors", str(vectors), "--vectors-vocab", "3") == 0
    shown = capsys.readouterr().out
    assert "vectors: 2 of " in shown and "; 1 more words of the file have a row" in shown
    assert json.loads((out / "config.json").read_text())["fixed_words"] == 1
    assert main(["tag", "explain", "--run", str(out), "London or Zurich",
                 "--out", str(tmp_path / "why.png"), "--json"]) == 0
    why = json.loads(capsys.readouterr().out)
    assert [row["unknown"] for row in why["tokens"]] == [False, True, True]
    assert main(["tag", "evaluate", "--run", str(out), "--data", str(files[1]), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["tokens"] == 11


def test_a_run_with_feature_columns_tags_files_as_it_did_in_memory(files, tmp_path, capsys):
    from rnnkit.models.tagger import Tagger, TaggerConfig
    from rnnkit.tasks.tag import DataSpec, TagTask
    from rnnkit.tasks.workflow import train
    from rnnkit.train.settings import TrainSettings

    spec = DataSpec(str(files[0]), str(files[1]), column=2, features=[1])
    tagger = Tagger(TaggerConfig(embedding_dim=8, hidden_size=8, char_dim=4, char_hidden=4,
                                 feature_dim=4), TrainSettings(epochs=2, lr=0.05))
    out = tmp_path / "run"
    outcome = train(TagTask(spec, tagger), out, progress=False)
    config = json.loads((out / "config.json").read_text())
    assert config["data"]["features"] == [1] and config["model"]["feature_dim"] == 4
    assert TagTask.from_settings(config, "config.json").spec.features == [1]  # --resume
    assert json.loads((out / "vocab.json").read_text())["features"][0]["tokens"][2:] == \
        ["NNP", "VBZ", "JJ", "NN"]

    tagged = tmp_path / "tagged.txt"
    assert main(["tag", "predict", "--run", str(out), "--file", str(files[1]),
                 "--out", str(tagged)]) == 0
    rows = [line.split() for line in tagged.read_text().splitlines() if line]
    dev = spec.read(str(files[1]))
    in_memory = outcome.task.estimator.predict(dev.tokens, features=dev.features)
    assert [row[-1] for row in rows] == [tag for s in in_memory for tag in s]
    capsys.readouterr()
    assert main(["tag", "evaluate", "--run", str(out), "--data", str(files[1]), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["tokens"] == 11

    no_pos = tmp_path / "no-pos.txt"
    no_pos.write_text("EU\nrejects\n")
    assert main(["tag", "predict", "--run", str(out), "--file", str(no_pos)]) == 2
    err = capsys.readouterr().err
    assert f"{no_pos}, line 1 has 1 field(s) and no feature column 1" in err


def test_feature_columns_refused_where_they_cannot_be_read(files, tmp_path, capsys):
    out = tmp_path / "run"
    assert train_small(files, out, "--features", "1", "--feature-dim", "4") == 0
    for command in (["predict", "--run", str(out), "EU rejects German call ."],
                    ["explain", "--run", str(out), "EU rejects German call ."]):
        capsys.readouterr()
        assert main(["tag", *command]) == 2
        err = capsys.readouterr().err
        assert "this run reads feature column(s) 1 beside the words (--features 1)" in err
        assert "--file FILE" in err and len(err.strip().splitlines()) == 1

    slash = tmp_path / "pos.txt"
    slash.write_text("the/DET dog/NOUN runs/VERB\n")
    for options, message in (
            (["--features", "2"], "--features 2 and --column 2: the tag column cannot be a "
                                  "feature"),
            (["--features", "pos"], "--features 'pos': give column numbers"),
            (["--feature-dim", "4"], "--feature-dim: only with --features COLUMN"),
            (["--features", "1", "--train", str(slash), "--format", "slash"],
             f"--features 1: {slash} is in the slash format (word/TAG), which has no columns")):
        new = tmp_path / "refused"
        assert train_small(files, new, *options) == 2 and not new.exists()
        assert message in capsys.readouterr().err
