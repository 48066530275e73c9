import pytest
import torch

from rnnkit.errors import InputError
from rnnkit.reservoir import Reservoir


@pytest.mark.parametrize("radius", [0.5, 0.9, 1.25])
def test_spectral_radius_is_exactly_the_request(radius):
    reservoir = Reservoir(1, 200, spectral_radius=radius, connectivity=0.05, seed=3)
    eigenvalues = torch.linalg.eigvals(reservoir.weight_hh)  # recomputed from the buffer
    assert abs(eigenvalues.abs().max().item() - radius) < 1e-4


def test_connectivity_sets_the_nonzero_weights_per_row_and_seed_reproduces():
    reservoir = Reservoir(2, 300, connectivity=0.01, seed=7)
    assert (reservoir.weight_hh != 0).sum(dim=1).tolist() == [3] * 300
    again = Reservoir(2, 300, connectivity=0.01, seed=7)
    other = Reservoir(2, 300, connectivity=0.01, seed=8)
    assert torch.equal(reservoir.weight_hh, again.weight_hh)
    assert torch.equal(reservoir.weight_ih, again.weight_ih)
    assert not torch.equal(reservoir.weight_hh, other.weight_hh)


def test_input_and_bias_scaling_bound_the_weights():
    reservoir = Reservoir(3, 100, input_scaling=0.3, bias_scaling=0.05, seed=0)
    assert reservoir.weight_ih.abs().max() <= 0.3 and reservoir.weight_ih.abs().max() > 0.2
    assert reservoir.bias.abs().max() <= 0.05 and reservoir.bias.abs().max() > 0.04
    assert torch.equal(
        Reservoir(3, 100, bias_scaling=0.0).bias, torch.zeros(100, dtype=torch.float64)
    )


def test_forward_follows_the_leaky_tanh_equation():
    reservoir = Reservoir(2, 20, spectral_radius=0.8, leak_rate=0.3, bias_scaling=0.2, seed=1)
    u = torch.randn(3, 15, 2, dtype=torch.float64)
    states, last = reservoir(u)
    x = torch.zeros(3, 20, dtype=torch.float64)
    W, W_in, b = reservoir.weight_hh, reservoir.weight_ih, reservoir.bias
    for t in range(15):
        x = 0.7 * x + 0.3 * torch.tanh(u[:, t] @ W_in.T + b + x @ W.T)
        torch.testing.assert_close(states[:, t], x)
    torch.testing.assert_close(last, x)


def test_forward_continues_from_a_given_state():
    reservoir = Reservoir(1, 30, seed=2)
    u = torch.randn(2, 40, 1, dtype=torch.float64)
    whole, _ = reservoir(u)
    _, middle = reservoir(u[:, :25])
    rest, _ = reservoir(u[:, 25:], state=middle)
    torch.testing.assert_close(rest, whole[:, 25:])


def test_csr_numpy_and_torch_dense_paths_give_the_same_states():
    kwargs = dict(input_size=1, units=400, connectivity=0.01, seed=4, leak_rate=0.5)
    sparse, dense = Reservoir(**kwargs, sparse=True), Reservoir(**kwargs, sparse=False)
    assert Reservoir(**kwargs).uses_sparse()  # 400 units at 1% on the CPU
    assert not Reservoir(1, 100, connectivity=0.01).uses_sparse()
    u = torch.randn(2, 50, 1, dtype=torch.float64)
    csr_states, csr_last = sparse(u)  # torch CSR product
    numpy_states, numpy_last = dense(u)  # the NumPy loop
    x, step = torch.zeros(2, 400, dtype=torch.float64), dense.stepper()  # torch dense product
    drive = dense.drive(u)
    for t in range(50):
        x = step(drive[:, t], x)
        torch.testing.assert_close(numpy_states[:, t], x, rtol=0, atol=1e-13)
    torch.testing.assert_close(csr_states, numpy_states, rtol=0, atol=1e-13)
    torch.testing.assert_close(csr_last, numpy_last, rtol=0, atol=1e-13)


def test_no_gradient_is_recorded_even_for_inputs_that_require_one():
    u = torch.randn(1, 10, 1, dtype=torch.float64, requires_grad=True)
    for sparse in (True, False):
        states, last = Reservoir(1, 20, seed=0, sparse=sparse)(u)
        assert not states.requires_grad and not last.requires_grad


def test_noise_perturbs_the_states_by_about_its_size():
    reservoir = Reservoir(1, 50, seed=0)
    u = torch.randn(1, 100, 1, dtype=torch.float64)
    clean, _ = reservoir(u)
    noisy, _ = reservoir(u, noise=1e-6, generator=torch.Generator().manual_seed(0))
    gap = (noisy - clean).abs().max().item()
    assert 1e-8 < gap < 1e-5


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(spectral_radius=0.0), "spectral_radius=0.0: must be > 0"),
        (dict(spectral_radius=-1.0), "spectral_radius=-1.0: must be > 0"),
        (dict(leak_rate=0.0), "leak_rate=0.0: must be in (0, 1]"),
        (dict(leak_rate=1.5), "leak_rate=1.5: must be in (0, 1]"),
        (dict(connectivity=0.0), "connectivity=0.0: must be in (0, 1]"),
        (dict(input_scaling=-0.1), "input_scaling=-0.1: must be >= 0"),
        (dict(bias_scaling=float("nan")), "bias_scaling=nan: must be >= 0"),
        (dict(units=0), "units=0: must be >= 1"),
    ],
)
def test_bad_settings_are_input_errors_naming_the_argument(kwargs, message):
    settings = dict(input_size=1, units=10) | kwargs
    with pytest.raises(InputError) as err:
        Reservoir(**settings)
    assert message in str(err.value)
