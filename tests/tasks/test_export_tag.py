import json
import re

import numpy as np
import onnxruntime
import pytest
import torch

from rnnkit.cli.main import main
from rnnkit.tasks.tag import load

SENTENCES = [
    [("EU", "NNP", "B-ORG"), ("rejects", "VBZ", "O"), ("German", "JJ", "B-MISC"),
     ("call", "NN", "O")],
    [("Peter", "NNP", "B-PER"), ("Blackburn", "NNP", "I-PER"), ("visits", "VBZ", "O"),
     ("Paris", "NNP", "B-LOC"), ("in", "IN", "O"), ("1996", "CD", "O")],
    [("BRUSSELS", "NNP", "B-LOC"), ("says", "VBZ", "O"), ("EU", "NNP", "B-ORG")],
    [("Paris", "NNP", "B-LOC")],
]
#: lengths 6, 1, 3, 4, 2; "Zorg", "Rome" and "2024" are unknown (the digits look up 0000)
TAGGED = [
    [("Peter", "NNP"), ("visits", "VBZ"), ("Rome", "NNP"), ("in", "IN"), ("2024", "CD"),
     ("Blackburn", "NNP")],
    [("EU", "NNP")],
    [("Zorg", "NNP"), ("says", "VBZ"), ("german", "JJ")],
    [("BRUSSELS", "NNP"), ("rejects", "VBZ"), ("Paris", "NNP"), ("call", "NN")],
    [("Blackburn", "NNP"), ("visits", "XX")],
]


def conll(path, sentences):
    path.write_text("".join("\n".join(" ".join(f) for f in s) + "\n\n" for s in sentences))
    return str(path)


def train(tmp_path, *extra):
    out = tmp_path / "run"
    assert main(["tag", "train", "--train", conll(tmp_path / "train.txt", SENTENCES * 4),
                 "--dev", conll(tmp_path / "dev.txt", SENTENCES), "--column", "2",
                 "--embedding-dim", "8", "--hidden-size", "8", "--dropout", "0",
                 "--epochs", "4", "--lr", "0.05",
                 "--quiet", "--out", str(out), *extra]) == 0
    return out


def inputs_from_export_json(run, tokens, features):
    """The model's inputs built as export.json says, from vocab.json alone (no rnnkit)."""
    spec = json.loads((run / "export.json").read_text())
    vocab = json.loads((run / spec["vocab"]).read_text())
    B, T = len(tokens), max(map(len, tokens))
    L = max(len(w) for s in tokens for w in s)
    x = {}
    for i in spec["inputs"]:
        if i["name"] == "lengths":
            x["lengths"] = np.array([len(s) for s in tokens])
            continue
        tables = vocab[i["vocab"]] if i["name"] == "features" else [vocab[i["vocab"]]]
        index = [{t: k for k, t in enumerate(table["tokens"])} for table in tables]

        def lookup(value, table, i=i):
            value = value.lower() if i.get("lowercase") else value
            if value not in table and i.get("digits_as_zero"):
                value = re.sub(r"\d", "0", value)
            return table.get(value, i["unknown"])

        shape = {"words": (B, T), "chars": (B, T, L), "features": (B, T, len(index))}
        x[i["name"]] = np.full(shape[i["name"]], i["pad"], np.int64)
        for b, sentence in enumerate(tokens):
            for t, w in enumerate(sentence):
                if i["name"] == "words":
                    x["words"][b, t] = lookup(w, index[0])
                elif i["name"] == "chars":
                    x["chars"][b, t, : len(w)] = [lookup(ch, index[0]) for ch in w]
                else:
                    x["features"][b, t] = [lookup(v, table) for v, table in
                                           zip(features[b][t], index, strict=True)]
    return x, spec


@pytest.mark.parametrize("extra", [
    (),
    ("--output", "softmax", "--char-features", "cnn", "--features", "1", "--feature-dim", "4"),
    ("--char-features", "none", "--features", "1", "--feature-dim", "4", "--scheme", "iobes"),
])
def test_exported_tags_match_the_runs_predictions(tmp_path, extra):
    out = train(tmp_path, *extra)
    tagger, spec = load(out)
    tokens = [[w for w, _ in s] for s in TAGGED]
    features = [[[pos] for _, pos in s] for s in TAGGED] if spec.features else None
    expected = tagger.predict(tokens, features=features)
    assert len({tag for s in expected for tag in s}) > 1  # a real comparison, not all "O"

    assert main(["export", "--run", str(out), "--format", "onnx"]) == 0
    x, spec_json = inputs_from_export_json(out, tokens, features)
    assert [i["name"] for i in spec_json["inputs"]] == \
        ["words", *(["chars"] if "none" not in extra else []), "lengths",
         *(["features"] if spec.features else [])]
    encoded = tagger.encode(tokens, features)[list(range(5))][0]  # the docs say what rnnkit does
    assert np.array_equal(x["words"], encoded[0]) and np.array_equal(x["lengths"], encoded[2])
    assert "chars" not in x or np.array_equal(x["chars"], encoded[1])
    assert "features" not in x or np.array_equal(x["features"], encoded[3])
    tags = spec_json["output"]["columns"]
    session = onnxruntime.InferenceSession(str(out / "model.onnx"))
    best = session.run(None, x)[0]
    assert best.shape == (5, 6)
    assert [[tags[k] for k in row[:n]] for row, n in zip(best, x["lengths"], strict=True)] == \
        expected
    assert (best[1, 1:] == 0).all()  # padding
    for k, n in ((2, 3), (1, 1)):  # batches of one, no padding (one token: no Viterbi step)
        one = {name: v[k : k + 1] if name == "lengths" else v[k : k + 1, :n]
               for name, v in x.items()}
        assert [tags[t] for t in session.run(None, one)[0][0]] == expected[k]

    assert main(["export", "--run", str(out), "--format", "torchscript"]) == 0
    module = torch.jit.load(str(out / "model.torchscript.pt"))
    with torch.no_grad():
        scripted = module(*(torch.as_tensor(v) for v in x.values())).numpy()
    assert np.array_equal(scripted, best)
    assert json.loads((out / "export.json").read_text())["file"] == "model.torchscript.pt"


def test_taggers_that_cannot_be_exported_are_refused(tmp_path, capsys):
    out = train(tmp_path, "--cell", "peephole", "--epochs", "1")
    assert main(["export", "--run", str(out), "--format", "onnx"]) == 2
    err = capsys.readouterr().err
    assert "the 'peephole' cell runs a Python loop over the words, which cannot be exported " \
           "for sentences of any length; export supports taggers with the lstm" in err
    assert not (out / "model.onnx").exists()
