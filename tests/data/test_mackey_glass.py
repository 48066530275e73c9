import numpy as np
import pytest
import torch
from scipy.integrate import solve_ivp

from rnnkit.data.mackey_glass import mackey_glass
from rnnkit.errors import InputError

A, B, N, TAU, X0 = 0.2, 0.1, 10.0, 17.0, 1.2


def method_of_steps(t_end: float) -> np.ndarray:
    """x(0), x(1), ..., x(t_end) by the method of steps, independently of rnnkit: on
    [k tau, (k + 1) tau] the delayed term is known (the constant history, then the previous
    piece's dense output), so each piece is an ODE solved by DOP853 to 1e-13."""
    times = np.arange(0, t_end + 1)
    out = np.empty(len(times))
    history, x, k = (lambda t: X0), X0, 0
    while k * TAU < t_end:
        lo, hi = k * TAU, (k + 1) * TAU

        def rhs(t, state, past=history):
            delayed = past(t - TAU)
            return [A * delayed / (1 + delayed**N) - B * state[0]]

        piece = solve_ivp(
            rhs, (lo, hi), [x], method="DOP853", rtol=1e-13, atol=1e-13, dense_output=True
        )
        inside = (times >= lo) & (times <= hi)
        out[inside] = piece.sol(times[inside])[0]
        history, x, k = (lambda t, p=piece: p.sol(t)[0]), piece.y[0, -1], k + 1
    return out


@pytest.fixture(scope="module")
def reference():
    return method_of_steps(300.0)


def test_matches_an_independent_high_accuracy_solution_for_tau_17(reference):
    series = mackey_glass(301, TAU, x0=X0)  # RK4, step 0.1, Hermite-interpolated delay
    assert series.dtype == torch.float64 and series.shape == (301,)
    np.testing.assert_allclose(series.numpy(), reference, rtol=0, atol=1e-8)
    # a few values of the series from x = 1.2 on [-17, 0], for reference:
    np.testing.assert_allclose(
        reference[[50, 100, 200, 300]], [1.0609544, 1.0137240, 1.1867181, 1.1525151], atol=1e-7
    )


def test_error_falls_as_the_fourth_power_of_the_step(reference):
    errors = [np.abs(mackey_glass(301, substeps=s).numpy() - reference).max() for s in (2, 4)]
    assert 10 < errors[0] / errors[1] < 25  # 2^4 = 16


def test_sample_step_subsamples_the_same_trajectory():
    fine = mackey_glass(601, sample_step=0.5, substeps=5)  # integration step 0.1 both times
    coarse = mackey_glass(301, sample_step=1.0, substeps=10)
    torch.testing.assert_close(fine[::2], coarse, rtol=0, atol=1e-12)


def test_seeded_histories_are_reproducible_and_differ():
    a, b, c = mackey_glass(400, seed=1), mackey_glass(400, seed=1), mackey_glass(400, seed=2)
    assert torch.equal(a, b)
    assert (a - c).abs().max() > 0.1  # chaos: a different start ends far away
    assert 0.1 < a.min() and a.max() < 1.5


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(length=0), "length=0: must be >= 1"),
        (dict(tau=17.05), "tau=17.05: must be a positive multiple of the integration step"),
        (dict(tau=0.0), "tau=0.0: must be a positive multiple"),
        (dict(substeps=0), "substeps=0: must be >= 1"),
        (dict(sample_step=-1.0), "sample_step=-1.0: must be > 0"),
        (dict(x0=float("nan")), "x0=nan: must be > 0"),
    ],
)
def test_bad_arguments_are_input_errors(kwargs, message):
    with pytest.raises(InputError) as err:
        mackey_glass(**({"length": 10} | kwargs))
    assert message in str(err.value)
