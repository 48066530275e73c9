import itertools
import warnings

import pytest
import torch

from rnnkit import LSTMState, Recurrent
from rnnkit.cells import ElmanCell
from rnnkit.layers import recurrent
from rnnkit.layers.recurrent import SMALL_LAYER, runs_grouped

TORCH = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}
LENGTHS = torch.tensor([7, 3, 5, 1])
#: Lengths by kind of batch: all distinct (the fast path packs the batch), repeated (it groups
#: the rows by length and runs each group dense), none (full length).
LENGTH_CASES = {"distinct": LENGTHS, "repeated": torch.tensor([7, 3, 3, 7, 1, 3, 7, 1, 1]),
                "none": None}


@pytest.fixture(autouse=True)
def tiny_layers_group_like_big_ones(monkeypatch):
    """The 5-unit test layers follow the rule of big layers, so "repeated" lengths run grouped
    (small layers group only big groups; that rule has its own test below)."""
    monkeypatch.setattr(recurrent, "SMALL_LAYER", 1)


def make_pair(kind, layers, bidirectional, batch_first=True, seed=0):
    torch.manual_seed(seed)
    ref = TORCH[kind](3, 5, num_layers=layers, bidirectional=bidirectional, batch_first=batch_first)
    ours = Recurrent(kind, 3, 5, layers, bidirectional, batch_first=batch_first)
    ours.load_state_dict(ref.state_dict())
    return ref, ours


def run_torch(ref, x, lengths, batch_first=True):
    if lengths is None:
        return ref(x)
    packed = torch.nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first, enforce_sorted=False)
    out, state = ref(packed)
    steps = x.shape[1] if batch_first else x.shape[0]
    out, _ = torch.nn.utils.rnn.pad_packed_sequence(out, batch_first, total_length=steps)
    return out, state


def as_tuple(state):
    return tuple(state) if isinstance(state, tuple) else (state,)


CASES = list(itertools.product(["lstm", "gru", "rnn"], [1, 2], [False, True], LENGTH_CASES))


@pytest.mark.parametrize("kind,layers,bidirectional,length_case", CASES)
@pytest.mark.parametrize("trace", [False, True])
def test_recurrent_equals_torch(kind, layers, bidirectional, length_case, trace):
    ref, ours = make_pair(kind, layers, bidirectional)
    lengths = LENGTH_CASES[length_case]
    x = torch.randn(4 if lengths is None else len(lengths), 7, 3)
    out_ref, state_ref = run_torch(ref, x, lengths)
    result = ours(x, lengths=lengths, trace=trace)
    out, state = result[0], result[1]
    torch.testing.assert_close(out, out_ref, atol=1e-5, rtol=0)
    for a, b in zip(as_tuple(state), as_tuple(state_ref), strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=0)
    if lengths is not None:
        padded = torch.arange(7)[None, :] >= lengths[:, None]
        assert out[padded].abs().max() == 0
    loss = out.pow(2).sum() + sum(s.sum() for s in as_tuple(state))
    loss_ref = out_ref.pow(2).sum() + sum(s.sum() for s in as_tuple(state_ref))
    loss.backward()
    loss_ref.backward()
    grads_ref = {k: p.grad for k, p in ref.named_parameters()}
    grads = dict(zip(ours.state_dict().keys(), [p.grad for p in ours.parameters()], strict=True))
    assert grads.keys() == grads_ref.keys()
    for name, grad in grads.items():
        torch.testing.assert_close(grad, grads_ref[name], atol=1e-5, rtol=0, msg=name)


@pytest.mark.parametrize("trace", [False, True])
def test_time_first_layout_and_initial_state(trace):
    ref, ours = make_pair("lstm", 2, True, batch_first=False)
    x = torch.randn(6, 3, 3)  # (T, B, H_in)
    h0, c0 = torch.randn(4, 3, 5), torch.randn(4, 3, 5)
    out_ref, (h_ref, c_ref) = ref(x, (h0, c0))
    out, state = ours(x, LSTMState(h0, c0), trace=trace)[:2]
    torch.testing.assert_close(out, out_ref, atol=1e-5, rtol=0)
    torch.testing.assert_close(state.h, h_ref, atol=1e-5, rtol=0)
    torch.testing.assert_close(state.c, c_ref, atol=1e-5, rtol=0)


@pytest.mark.parametrize("length_case", ["distinct", "repeated"])
def test_time_first_layout_with_lengths_and_initial_state(length_case):
    ref, ours = make_pair("gru", 2, True, batch_first=False)
    lengths = LENGTH_CASES[length_case]
    x = torch.randn(7, len(lengths), 3)  # (T, B, H_in)
    h0 = torch.randn(4, len(lengths), 5)
    packed = torch.nn.utils.rnn.pack_padded_sequence(x, lengths, False, enforce_sorted=False)
    out_ref, h_ref = ref(packed, h0)
    out_ref, _ = torch.nn.utils.rnn.pad_packed_sequence(out_ref, False, total_length=7)
    out, h = ours(x, h0, lengths=lengths)
    torch.testing.assert_close(out, out_ref, atol=1e-5, rtol=0)
    torch.testing.assert_close(h, h_ref, atol=1e-5, rtol=0)


@pytest.mark.parametrize("lengths,packs", [
    ([5, 5, 5, 5], False),  # one length: one dense run
    ([5], False),
    ([5, 2, 5, 2, 2, 5], False),  # 3 rows per length: grouped
    ([5, 2, 5, 4, 2], True),  # fewer than MIN_GROUP_ROWS rows per length: packed
])
def test_fast_path_groups_rows_by_length_unless_groups_are_tiny(monkeypatch, lengths, packs):
    layer = Recurrent("lstm", 3, 5)
    calls = []
    original = Recurrent._packed
    monkeypatch.setattr(Recurrent, "_packed",
                        lambda self, *args: calls.append(1) or original(self, *args))
    out, _ = layer(torch.randn(len(lengths), 5, 3), lengths=lengths)
    assert bool(calls) is packs
    assert out.shape == (len(lengths), 5, 5)


def test_small_layers_pack_many_short_lengths_that_big_layers_group(monkeypatch):
    monkeypatch.setattr(recurrent, "SMALL_LAYER", SMALL_LAYER)
    # the tagger's character layer: ~300 words of 14 distinct lengths, 25 units per direction
    lengths = torch.arange(300) % 14 + 1
    assert not runs_grouped(lengths, hidden_size=25)
    assert runs_grouped(lengths, hidden_size=128)
    assert runs_grouped(torch.arange(300) % 4 + 1, hidden_size=25)  # big groups still pay
    assert runs_grouped(torch.full((300,), 7), hidden_size=25)


def test_under_autocast_small_groups_are_packed(monkeypatch):
    # 128 rows of 24 lengths: about 5 rows per group, grouped in float32, packed in bfloat16
    lengths = torch.arange(128) % 24 + 1
    assert runs_grouped(lengths, hidden_size=128)
    assert not runs_grouped(lengths, hidden_size=128, autocast=True)
    assert runs_grouped(torch.arange(128) % 8 + 1, hidden_size=128, autocast=True)
    layer = Recurrent("lstm", 3, 64)
    calls = []
    original = Recurrent._packed
    monkeypatch.setattr(Recurrent, "_packed",
                        lambda self, *args: calls.append(1) or original(self, *args))
    x = torch.randn(128, 24, 3)
    layer(x, lengths=lengths)
    assert not calls
    with torch.autocast("cpu", dtype=torch.bfloat16):
        layer(x, lengths=lengths)
    assert calls == [1]


def test_groups_under_autocast_match_the_packed_batch_and_train_float32_weights(monkeypatch):
    torch.manual_seed(0)
    layer = Recurrent("lstm", 4, 16, num_layers=2, bidirectional=True)
    x = torch.randn(12, 7, 4)
    lengths = torch.tensor([7, 3, 7, 5, 3, 5, 7, 3, 5, 7, 3, 5])
    results = []
    for grouped in (True, False):
        monkeypatch.setattr(recurrent, "grouping_pays", lambda *args, g=grouped: g)
        layer.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out, (h, c) = layer(x, lengths=lengths)
        assert out.dtype == torch.bfloat16
        out.float().pow(2).sum().backward()
        grads = [p.grad.clone() for p in layer.parameters()]
        assert all(p.dtype == g.dtype == torch.float32 for p, g in zip(layer.parameters(), grads,
                                                                        strict=True))
        results.append((out.float(), h.float(), grads))
    (out_g, h_g, grads_g), (out_p, h_p, grads_p) = results
    torch.testing.assert_close(out_g, out_p, atol=2e-2, rtol=0)
    torch.testing.assert_close(h_g, h_p, atol=2e-2, rtol=0)
    for a, b in zip(grads_g, grads_p, strict=True):
        torch.testing.assert_close(a, b, atol=0.1, rtol=0.05)


@pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning", "ignore::DeprecationWarning")
def test_a_traced_layer_takes_any_lengths():
    class WithLengths(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = Recurrent("lstm", 3, 5, 2, True)

        def forward(self, x, lengths):
            return self.rnn(x, lengths=lengths)[0]

    model = WithLengths().eval()
    with torch.no_grad():
        traced = torch.jit.trace(model, (torch.randn(6, 4, 3), torch.tensor([4, 2, 2, 4, 2, 4])))
        x, lengths = torch.randn(5, 7, 3), torch.tensor([7, 1, 3, 6, 1])
        torch.testing.assert_close(traced(x, lengths), model(x, lengths), atol=1e-6, rtol=0)


def test_state_dict_round_trips_both_ways():
    for kind in TORCH:
        ref = TORCH[kind](3, 5, num_layers=2, bidirectional=True)
        ours = Recurrent(kind, 3, 5, 2, True)
        assert [(k, v.shape) for k, v in ours.state_dict().items()] == [
            (k, v.shape) for k, v in ref.state_dict().items()
        ]
        ours.load_state_dict(ref.state_dict())
        back = TORCH[kind](3, 5, num_layers=2, bidirectional=True)
        back.load_state_dict(ours.state_dict())
        for k, v in back.state_dict().items():
            assert torch.equal(v, ref.state_dict()[k]), k


def test_fast_path_uses_the_layer_parameters_without_copies():
    layer = Recurrent("lstm", 3, 5, 2)
    weights = layer._flat_weights()
    params = list(layer.parameters())
    assert all(w is p for w, p in zip(weights, params, strict=True))


def test_trace_records_every_step_and_gate():
    layer = Recurrent("lstm", 3, 5, 2, bidirectional=True)
    out, _, trace = layer(torch.randn(4, 7, 3), trace=True)
    assert len(trace.layers) == 2 and len(trace[0]) == 2
    record = trace[1][0]
    assert len(record.h) == 7 and len(record.c) == 7
    assert record.stack("f").shape == (4, 7, 5)
    assert set(record.gates) == {"i", "f", "g", "o"}
    torch.testing.assert_close(record.stack("h"), out[..., :5])
    assert trace[1][1].reverse
    torch.testing.assert_close(trace[1][1].stack("h").flip(1), out[..., 5:])
    with pytest.raises(KeyError, match="no trace named 'x'"):
        record.stack("x")


def test_trace_gives_total_gradient_through_time():
    """d loss / d h_t read from the trace equals the total derivative (probe method)."""
    torch.manual_seed(0)
    layer = Recurrent("lstm", 2, 4)
    x = torch.randn(3, 6, 2)
    out, _, trace = layer(x, trace=True)
    loss = out[:, -1].pow(2).sum()
    grads = torch.autograd.grad(loss, trace[0][0].h)
    # reference: the same recurrence with a zero probe added to every h_t
    cell = layer.cells["l0"]
    probes = [torch.zeros(3, 4, requires_grad=True) for _ in range(6)]
    state = cell.zero_state(3, x)
    for t in range(6):
        _, state = cell(x[:, t], state)
        state = type(state)(state.h + probes[t], state.c)
    expected = torch.autograd.grad(state.h.pow(2).sum(), probes)
    for g, e in zip(grads, expected, strict=True):
        torch.testing.assert_close(g, e, atol=1e-6, rtol=0)
    assert grads[0].abs().sum() > 0  # the first step is reached through the recurrence


@pytest.mark.parametrize("cell", ["peephole", "cifg", "irnn", "rnn_relu"])
def test_variants_run_with_lengths_and_bidirection(cell):
    layer = Recurrent(cell, 3, 5, 2, bidirectional=True)
    x = torch.randn(4, 7, 3)
    out, _ = layer(x, lengths=LENGTHS)
    assert out.shape == (4, 7, 10)
    # a sequence's result does not depend on the padding after it
    short, _ = layer(x[1:2, :3])
    torch.testing.assert_close(out[1:2, :3], short, atol=1e-5, rtol=0)


def test_cell_class_is_accepted():
    layer = Recurrent(ElmanCell, 3, 5)
    assert layer(torch.randn(2, 4, 3))[0].shape == (2, 4, 5)


def test_dropout_applies_between_layers_not_after_the_last():
    torch.manual_seed(0)
    x = torch.randn(8, 5, 3)
    with pytest.warns(UserWarning, match="no effect with num_layers=1"):
        single = Recurrent("lstm", 3, 5, 1, dropout=0.5)
    single.train()
    torch.testing.assert_close(single(x)[0], single.eval()(x)[0])
    stacked = Recurrent("lstm", 3, 5, 2, dropout=0.5)
    for trace in (False, True):
        train_out = stacked.train()(x, trace=trace)[0]
        eval_out = stacked.eval()(x, trace=trace)[0]
        assert not torch.allclose(train_out, eval_out)


def test_errors_name_the_argument_value_and_fix():
    layer = Recurrent("lstm", 3, 5, 2)
    with pytest.raises(ValueError, match=r"input has shape \(2, 4, 7\); expected \(batch, time, "
                       r"features\) with features=3"):
        layer(torch.randn(2, 4, 7))
    with pytest.raises(ValueError, match=r"state h has shape \(1, 2, 5\); expected \(2, 2, 5\)"):
        layer(torch.randn(2, 4, 3), (torch.zeros(1, 2, 5), torch.zeros(1, 2, 5)))
    with pytest.raises(ValueError, match=r"state has 1 tensor\(s\); .* expects 2 \(h, c\)"):
        layer(torch.randn(2, 4, 3), torch.zeros(2, 2, 5))
    with pytest.raises(ValueError, match=r"lengths must lie in \[1, 4\].*max 9"):
        layer(torch.randn(2, 4, 3), lengths=[9, 2])
    with pytest.raises(ValueError, match=r"lengths must lie in \[1, 4\].*got min 0"):
        layer(torch.randn(2, 4, 3), lengths=[0, 2])
    with pytest.raises(ValueError, match=r"lengths has shape \(3,\); expected \(2,\)"):
        layer(torch.randn(2, 4, 3), lengths=[1, 2, 3])
    with pytest.raises(ValueError, match=r"cell='lstn' is not a known cell; choose one of "
                       r"\['cifg', 'gru', 'irnn', 'lstm', 'peephole', 'rnn', 'rnn_relu'\]"):
        Recurrent("lstn", 3, 5)
    for bad in (-0.1, 1.0):
        with pytest.raises(ValueError, match=rf"dropout={bad}; expected a probability in \[0, 1\)"):
            Recurrent("lstm", 3, 5, 2, dropout=bad)


def _storages(layer):
    return {p.untyped_storage().data_ptr() for p in layer.parameters()}


def test_flatten_parameters_changes_nothing_off_cuda():
    layer = Recurrent("lstm", 3, 5, 2, True)
    before = {k: v.clone() for k, v in layer.state_dict().items()}
    storages = _storages(layer)
    layer.flatten_parameters()
    assert _storages(layer) == storages and len(storages) == 16
    for key, value in layer.state_dict().items():
        assert torch.equal(value, before[key])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="cuDNN's flat weights need CUDA")
@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn"])
def test_contiguous_weights_path_equals_the_plain_one(kind):
    _, flat = make_pair(kind, 2, True)
    flat = flat.cuda()  # moving lays the weights out in one buffer
    plain = Recurrent(kind, 3, 5, 2, True).cuda()
    plain.load_state_dict(flat.state_dict())
    for p in plain.parameters():
        p.data = p.data.clone()  # one buffer per weight: cuDNN copies them on every call
    assert len(_storages(flat)) == 1 and len(_storages(plain)) == 16
    x = torch.randn(4, 7, 3, device="cuda")
    outs = []
    for layer in (flat, plain):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out, state = layer(x)
        outs.append((out, state, [str(w.message) for w in caught]))
        (out.pow(2).sum() + sum(s.sum() for s in as_tuple(state))).backward()
    assert not any("contiguous chunk" in m for m in outs[0][2])
    torch.testing.assert_close(outs[0][0], outs[1][0], atol=1e-5, rtol=0)
    for a, b in zip(as_tuple(outs[0][1]), as_tuple(outs[1][1]), strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=0)
    for (name, a), b in zip(flat.named_parameters(), plain.parameters(), strict=True):
        torch.testing.assert_close(a.grad, b.grad, atol=1e-5, rtol=0, msg=name)
