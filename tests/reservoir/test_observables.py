import math

import torch

from rnnkit.reservoir import nrmse, spectral_radius


def test_spectral_radius_of_known_matrices():
    rotation = torch.tensor([[0.0, -2.0], [2.0, 0.0]])  # eigenvalues +-2i
    assert math.isclose(spectral_radius(rotation), 2.0, rel_tol=1e-12)
    triangular = torch.tensor(
        [[0.5, 9.0, 1.0], [0.0, -0.7, 3.0], [0.0, 0.0, 0.2]], dtype=torch.float64
    )
    assert math.isclose(spectral_radius(triangular), 0.7, rel_tol=1e-12)


def test_nrmse_normalises_by_the_given_or_the_target_variance():
    target = torch.tensor([0.0, 2.0, 4.0, 6.0])  # population variance 5
    prediction = target + torch.tensor([1.0, -1.0, 1.0, -1.0])
    assert math.isclose(nrmse(prediction, target), math.sqrt(1 / 5), rel_tol=1e-12)
    assert math.isclose(nrmse(prediction, target, variance=4.0), 0.5, rel_tol=1e-12)
    assert nrmse(target, target) == 0.0
    mean = torch.full_like(target, 3.0)
    assert math.isclose(nrmse(mean, target), 1.0, rel_tol=1e-12)
