import json

import numpy as np
import onnxruntime
import pytest
import torch

from rnnkit.cli.main import main
from rnnkit.data.text import pad_batch
from rnnkit.errors import InputError
from rnnkit.io.files import write_json
from rnnkit.tasks.classify import load
from rnnkit.tasks.export import export_run

POSITIVE = ["a great film", "great fun , really", "a wonderful story", "wonderful and warm"]
NEGATIVE = ["a dull film", "dull and flat", "an awful story", "awful , really"]
SENTENCES = ["a great , wonderful and warm film", "dull", "an awful zebra story , really",
             "great fun", "flat"]  # lengths 7, 1, 6, 2, 1; "zebra" is unknown


def train(tmp_path, *extra):
    rows = "".join(f"{t}\t1\n" for t in POSITIVE) + "".join(f"{t}\t0\n" for t in NEGATIVE)
    (tmp_path / "train.tsv").write_text("sentence\tlabel\n" + rows * 4)
    (tmp_path / "dev.tsv").write_text("sentence\tlabel\n" + rows)
    out = tmp_path / "run"
    assert main(["classify", "train", "--train", str(tmp_path / "train.tsv"), "--dev",
                 str(tmp_path / "dev.tsv"), "--embedding-dim", "8", "--hidden-size", "8",
                 "--epochs", "2", "--quiet", "--lr", "0.01", "--out", str(out), *extra]) == 0
    return out


def model_inputs(clf, texts):
    tokens, lengths = pad_batch([torch.as_tensor(ids) for ids in clf.encode(texts)])
    return tokens.numpy(), lengths.numpy()


@pytest.mark.parametrize("pooling,ensemble", [("max", "1"), ("last", "1"), ("max", "2")])
def test_onnx_probabilities_match_rnnkit(tmp_path, pooling, ensemble):
    out = train(tmp_path, "--pooling", pooling, "--ensemble", ensemble)
    assert main(["export", "--run", str(out), "--format", "onnx"]) == 0
    spec = json.loads((out / "export.json").read_text())
    assert [i["name"] for i in spec["inputs"]] == ["tokens", "lengths"]
    assert spec["output"]["columns"] == ["0", "1"] and spec["vocab"] == "vocab.json"
    clf, _ = load(out)
    tokens, lengths = model_inputs(clf, SENTENCES)
    assert tokens.shape == (5, 7) and lengths.tolist() == [7, 1, 6, 2, 1]
    session = onnxruntime.InferenceSession(str(out / "model.onnx"))
    got = session.run(None, {"tokens": tokens, "lengths": lengths})[0]
    expected = clf.predict_proba(SENTENCES)
    np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0)
    assert np.ptp(expected[:, 1]) > 1e-3  # the sentences are told apart: a real comparison
    one = session.run(None, dict(zip(["tokens", "lengths"], model_inputs(clf, SENTENCES[2:3]),
                                     strict=True)))[0]
    np.testing.assert_allclose(one, expected[2:3], atol=1e-5, rtol=0)  # padding changes nothing


def test_torchscript_probabilities_match_rnnkit(tmp_path):
    out = train(tmp_path, "--cell", "gru", "--pooling", "attention")
    assert main(["export", "--run", str(out), "--format", "torchscript"]) == 0
    module = torch.jit.load(str(out / "model.torchscript.pt"))
    clf, _ = load(out)
    tokens, lengths = model_inputs(clf, SENTENCES)
    with torch.no_grad():
        got = module(torch.as_tensor(tokens), torch.as_tensor(lengths)).numpy()
    np.testing.assert_allclose(got, clf.predict_proba(SENTENCES), atol=1e-5, rtol=0)


def test_runs_that_cannot_be_exported_are_refused(tmp_path, capsys):
    out = train(tmp_path, "--cell", "peephole")
    assert main(["export", "--run", str(out), "--format", "onnx"]) == 2
    err = capsys.readouterr().err
    assert "the 'peephole' cell runs a Python loop over the words" in err
    assert "lstm, gru, rnn, rnn_relu or irnn" in err and not (out / "model.onnx").exists()
    translated = tmp_path / "translate-run"
    translated.mkdir()
    write_json(translated / "config.json", {"group": "translate", "corpus": {},
                                            "model": {}, "train": {}})
    (translated / "COMPLETE").touch()
    with pytest.raises(InputError, match=r"is not a forecast, classify or tag run; export "
                       r"supports those three \(translate runs have no export yet\)"):
        export_run(translated, "onnx")
    assert main(["export", "--run", str(translated)]) == 2
    assert "is not a forecast, classify or tag run" in capsys.readouterr().err


def test_only_the_packing_notes_are_dropped_from_the_exporters_stderr(capfd):
    import os

    from rnnkit.tasks.export import _without_packing_notes

    with _without_packing_notes():
        os.write(2, b"[W] Warning: The shape inference of prim::PackPadded type is missing, so\n")
        os.write(2, b"a real problem the user must see\n")
    err = capfd.readouterr().err
    assert "a real problem the user must see" in err and "PackPadded" not in err
