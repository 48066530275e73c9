import math

import pytest
import torch

from rnnkit import Recurrent
from rnnkit.diagnose import (
    gradient_flow,
    recurrent_spectra,
    singular_values,
    spectral_radius,
    tanh_gradient_bound,
)
from rnnkit.init import orthogonal_


def test_spectral_radius_and_singular_values_of_known_matrices():
    rotation = torch.tensor([[0.0, -2.0], [2.0, 0.0]])  # eigenvalues +-2i
    assert spectral_radius(rotation) == pytest.approx(2.0)
    nilpotent = torch.tensor([[0.0, 3.0], [0.0, 0.0]])  # radius 0, yet it stretches by 3
    assert spectral_radius(nilpotent) == 0.0
    assert singular_values(nilpotent).tolist() == pytest.approx([3.0, 0.0])
    assert singular_values(torch.diag(torch.tensor([0.5, 2.0, 1.0]))).tolist() == [2.0, 1.0, 0.5]


def test_bound_holds_for_a_tanh_rnn():
    torch.manual_seed(0)
    layer = Recurrent("rnn", 2, 16)
    T = 30
    out, _, trace = layer(torch.randn(8, T, 2), trace=True)
    norms = gradient_flow(out[:, -1].sum(), trace).norms[0, 0]
    bound = tanh_gradient_bound(layer.cells["l0"].weight_hh, T)
    sigma = singular_values(layer.cells["l0"].weight_hh)[0].item()
    assert bound[0] == 1 and bound[5].item() == pytest.approx(sigma**5)
    measured = (norms / norms[-1]).flip(0).double()  # k = 0 .. T - 1 steps back
    assert (measured <= bound * (1 + 1e-5)).all()


def test_recurrent_spectra_names_every_matrix():
    lstm = recurrent_spectra(Recurrent("lstm", 2, 8, num_layers=2))
    assert list(lstm) == [f"cells.l{k}.{g}" for k in (0, 1) for g in "ifgo"]
    assert len(lstm["cells.l1.f"]["singular_values"]) == 8
    gru = recurrent_spectra(Recurrent("gru", 2, 8, bidirectional=True))
    assert list(gru) == [f"cells.{key}.{g}" for key in ("l0", "l0_reverse") for g in "rzn"]
    irnn = recurrent_spectra(Recurrent("irnn", 2, 8))["cells.l0"]
    assert irnn["spectral_radius"] == pytest.approx(1.0) and irnn["sigma_max"] == 1.0
    orth = recurrent_spectra(orthogonal_(Recurrent("rnn", 2, 8)))["cells.l0"]
    assert orth["singular_values"] == pytest.approx([1.0] * 8)


def test_default_init_spectral_radius_follows_the_circular_law():
    # torch's uniform(+-1/sqrt(H)) entries have variance 1/(3H): radius about sqrt(1/3)
    torch.manual_seed(0)
    radius = spectral_radius(Recurrent("rnn", 2, 256).cells["l0"].weight_hh)
    assert radius == pytest.approx(math.sqrt(1 / 3), rel=0.1)
