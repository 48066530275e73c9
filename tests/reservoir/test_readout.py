import numpy as np
import pytest
import torch

from rnnkit.errors import InputError
from rnnkit.reservoir import Ridge


def _data(samples=40, features=5, outputs=2, seed=0):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(samples, features)) + 0.5
    d = z @ rng.normal(size=(features, outputs)) + 0.1 * rng.normal(size=(samples, outputs)) - 2
    return z, d


@pytest.mark.parametrize(("ridge", "samples"), [(1e-3, 40), (0.5, 40), (10.0, 40), (0.1, 3)])
def test_ridge_equals_least_squares_on_the_augmented_system(ridge, samples):
    z, d = _data(samples=samples)  # 3 samples: fewer than the 5 features
    F = z.shape[1]
    # min ||d - z W^T - c||^2 + ridge ||W||^2  ==  plain least squares on
    # [z 1; sqrt(ridge) I 0] [W^T; c] = [d; 0]   (the intercept c is not penalised)
    a = np.block([[z, np.ones((len(z), 1))], [np.sqrt(ridge) * np.eye(F), np.zeros((F, 1))]])
    b = np.vstack([d, np.zeros((F, d.shape[1]))])
    solution = np.linalg.lstsq(a, b, rcond=None)[0]  # (F + 1, D)
    readout = Ridge(F, 2, ridge=ridge).fit(torch.tensor(z), torch.tensor(d))
    np.testing.assert_allclose(readout.weight.numpy(), solution[:F].T, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(readout.bias.numpy(), solution[F], rtol=1e-10, atol=1e-12)


def test_ridge_zero_is_ordinary_least_squares_and_predicts():
    z, d = _data(seed=1)
    a = np.hstack([z, np.ones((len(z), 1))])
    solution = np.linalg.lstsq(a, d, rcond=None)[0]
    readout = Ridge(5, 2, ridge=0.0).fit(torch.tensor(z), torch.tensor(d))
    np.testing.assert_allclose(readout(torch.tensor(z)).numpy(), a @ solution, atol=1e-10)
    assert bool(readout.fitted)


def test_ridge_zero_with_collinear_features_is_the_minimum_norm_solution():
    z, d = _data(seed=2)
    z = np.hstack([z, z[:, :1]])  # a repeated column: no unique solution
    readout = Ridge(6, 2, ridge=0.0).fit(torch.tensor(z), torch.tensor(d))
    centred = np.linalg.lstsq(z - z.mean(0), d - d.mean(0), rcond=None)[0]  # minimum norm
    np.testing.assert_allclose(readout.weight.numpy(), centred.T, atol=1e-9)
    np.testing.assert_allclose(readout.weight[:, 0], readout.weight[:, 5], atol=1e-9)


def test_fit_accepts_batched_sequences_and_float32():
    z, d = _data(samples=60)
    flat = Ridge(5, 2, ridge=0.1).fit(torch.tensor(z), torch.tensor(d))
    batched = Ridge(5, 2, ridge=0.1).fit(
        torch.tensor(z, dtype=torch.float32).view(3, 20, 5), torch.tensor(d).view(3, 20, 2)
    )
    torch.testing.assert_close(batched.weight, flat.weight, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("ridge", [-1.0, float("inf"), float("nan")])
def test_bad_ridge_is_an_input_error(ridge):
    with pytest.raises(InputError, match=rf"ridge={ridge}: must be >= 0"):
        Ridge(3, 1, ridge=ridge)
