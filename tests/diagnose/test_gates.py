import pytest
import torch

from rnnkit import Recurrent
from rnnkit.diagnose import gate_statistics, gate_summary
from rnnkit.init import unit_forget_bias_


def test_lstm_and_gru_report_their_sigmoid_gates_over_time():
    _, _, trace = Recurrent("lstm", 2, 4, bidirectional=True)(torch.randn(3, 6, 2), trace=True)
    stats = gate_statistics(trace)
    assert [(s.key, s.gate) for s in stats] == [
        (key, g) for key in ("l0", "l0_reverse") for g in "ifo"
    ]
    assert all(s.mean_over_time.shape == (6,) for s in stats)
    _, _, trace = Recurrent("gru", 2, 4)(torch.randn(3, 6, 2), trace=True)
    assert [s.gate for s in gate_statistics(trace)] == ["r", "z"]
    _, _, trace = Recurrent("rnn", 2, 4)(torch.randn(3, 6, 2), trace=True)
    assert gate_statistics(trace) == []


def test_mean_and_saturation_match_a_direct_count():
    torch.manual_seed(0)
    layer = unit_forget_bias_(Recurrent("lstm", 2, 5), value=4.0)
    _, _, trace = layer(torch.randn(7, 9, 2), trace=True)
    f = trace[0][0].stack("f")
    stat = next(s for s in gate_statistics(trace) if s.gate == "f")
    torch.testing.assert_close(stat.mean_over_time, f.mean((0, 2)))
    saturated = ((f < 0.05) | (f > 0.95)).float()
    torch.testing.assert_close(stat.saturation_over_time, saturated.mean((0, 2)))
    assert stat.mean == pytest.approx(f.mean().item())
    assert stat.saturation == pytest.approx(saturated.mean().item())
    assert stat.saturation > 0.5  # a forget bias of 4 holds the gate near 1
    assert gate_summary([stat]) == {"l0": {"f": {"mean": stat.mean, "saturation": stat.saturation}}}


def test_padded_steps_are_left_out():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 2)
    _, _, trace = Recurrent("gru", 2, 4)(x, lengths=[3, 1], trace=True)
    z = trace[0][0].stack("z")
    stat = next(s for s in gate_statistics(trace) if s.gate == "z")
    torch.testing.assert_close(stat.mean_over_time[0], z[:, 0].mean())
    torch.testing.assert_close(stat.mean_over_time[1:], z[0, 1:].mean(1))
    real = torch.cat([z[:, 0].flatten(), z[0, 1:].flatten()])
    assert stat.mean == pytest.approx(real.mean().item())


def test_thresholds_must_be_ordered():
    _, _, trace = Recurrent("gru", 2, 4)(torch.randn(1, 2, 2), trace=True)
    with pytest.raises(ValueError, match="low=0.9, high=0.1"):
        gate_statistics(trace, low=0.9, high=0.1)
