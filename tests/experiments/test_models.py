import pytest
import torch

from rnnkit.errors import InputError
from rnnkit.experiments.models import CONTENDERS, build_model, parse_cells


def test_parse_cells_accepts_lists_and_comma_strings():
    assert parse_cells("rnn, lstm,gru") == ("rnn", "lstm", "gru")
    assert parse_cells(["irnn"]) == ("irnn",)


@pytest.mark.parametrize(
    "cells,message",
    [
        ("rnn,lstn", "--cells rnn,lstn: unknown cell 'lstn'; choose from rnn, rnn_orth"),
        (" , ", "--cells ' , ' names no cell"),
        ("gru,gru", "--cells gru,gru names a cell twice"),
    ],
)
def test_parse_cells_errors(cells, message):
    with pytest.raises(InputError, match=message):
        parse_cells(cells)


def test_build_model_applies_the_contenders_initialisation():
    lstm = build_model("lstm", 2, 1, 8, False, seed=0).rnn.cells["l0"]
    forget = slice(8, 16)
    assert (lstm.bias_ih[forget] == 1).all() and (lstm.bias_hh[forget] == 0).all()
    orth = build_model("rnn_orth", 2, 1, 8, False, seed=0).rnn.cells["l0"].weight_hh
    torch.testing.assert_close(orth @ orth.T, torch.eye(8), atol=1e-5, rtol=0)
    irnn = build_model("irnn", 2, 1, 8, False, seed=0).rnn.cells["l0"].weight_hh
    assert torch.equal(irnn, torch.eye(8))
    assert {name: c.cell for name, c in CONTENDERS.items()}["rnn_orth"] == "rnn"


def test_same_seed_same_weights_and_the_callers_random_state_is_kept():
    torch.manual_seed(5)
    expected = torch.rand(1)
    torch.manual_seed(5)
    a = build_model("gru", 2, 3, 4, True, seed=1)
    assert torch.rand(1) == expected
    b = build_model("gru", 2, 3, 4, True, seed=1)
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(p, q)


def test_readout_at_the_last_step_or_every_step_and_the_trace():
    x = torch.randn(3, 5, 2)
    last, trace = build_model("lstm", 2, 1, 4, False, seed=0)(x)
    assert last.shape == (3, 1) and trace is None
    every, trace = build_model("lstm", 2, 10, 4, True, seed=0)(x, trace=True)
    assert every.shape == (3, 5, 10) and len(trace[0][0].h) == 5
