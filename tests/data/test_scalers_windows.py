import numpy as np
import pytest
import torch

from rnnkit.data import scalers
from rnnkit.data.scalers import Scaler, mean_std
from rnnkit.data.windows import input_windows, origins_between, windows
from rnnkit.errors import InputError


@pytest.mark.parametrize("kind", ["minmax", "standard", "identity"])
def test_scaler_round_trips(kind):
    values = np.array([[1.0, 10.0], [3.0, 10.0], [5.0, 10.0]])
    scaler = Scaler.fit(values, kind)
    z = scaler.transform(values)
    np.testing.assert_allclose(scaler.inverse_transform(z), values)
    again = Scaler.from_dict(scaler.to_dict())
    np.testing.assert_allclose(again.transform(values), z)
    if kind == "minmax":
        assert z[:, 0].tolist() == [0, 0.5, 1] and z[:, 1].tolist() == [0, 0, 0]


def test_scaler_errors():
    with pytest.raises(InputError, match="scaler 'robust' is not known"):
        Scaler.fit(np.ones((2, 1)), "robust")
    with pytest.raises(InputError, match="malformed"):
        Scaler.from_dict({"kind": "minmax"})


def test_windows_are_views_with_the_right_content():
    values = torch.arange(20.0).reshape(10, 2)
    x, y = windows(values, lookback=3, horizon=2, n_targets=1)
    assert x.shape == (6, 3, 2) and y.shape == (6, 2, 1)
    assert x.untyped_storage().data_ptr() == values.untyped_storage().data_ptr()
    assert x[0, :, 0].tolist() == [0, 2, 4] and y[0, :, 0].tolist() == [6, 8]
    assert x[-1, -1, 0] == 14 and y[-1, -1, 0] == 18


def test_origins_keep_every_window_whose_targets_fit():
    origins = origins_between(first_target=7, stop=10, horizon=2, lookback=3)
    assert origins.tolist() == [6, 7]  # targets 7-8 and 8-9; none dropped, none outside
    values = torch.arange(10.0)[:, None]
    x, y = windows(values, 3, 2, 1, origins)
    assert y[:, :, 0].tolist() == [[7, 8], [8, 9]]
    assert x.untyped_storage().data_ptr() == values.untyped_storage().data_ptr()  # still a view
    x, y = windows(values, 3, 2, 1, torch.tensor([2, 6]))
    assert x[:, -1, 0].tolist() == [2, 6] and y[:, 0, 0].tolist() == [3, 7]


def test_too_few_rows_message():
    with pytest.raises(InputError, match=r"lookback=60 with horizon=1 needs at least 61 rows; "
                       r"the series has 40"):
        windows(torch.zeros(40, 1), 60, 1, 1)


@pytest.mark.parametrize("shape", [(1001, 8), (1000, 2), (999, 1), (5, 3)])
@pytest.mark.parametrize("fortran", [False, True])
def test_mean_std_blockwise_is_numpy_bit_for_bit(monkeypatch, shape, fortran):
    monkeypatch.setattr(scalers, "_BLOCK_ROWS", 64)  # many blocks
    rng = np.random.default_rng(0)
    values = rng.standard_normal(shape) * np.array([1e-3, 1e4, 7.0, 1.0, 2, 3, 4, 5])[
        : shape[1]] + 1e3
    values = np.asfortranarray(values) if fortran else values
    mean, std = mean_std(values)
    assert np.array_equal(mean, values.mean(axis=0)) and np.array_equal(std, values.std(axis=0))


def test_transform_of_some_columns():
    scaler = Scaler.fit(np.array([[0.0, 10.0], [2.0, 30.0]]), "minmax")
    assert scaler.transform(np.array([[1.0, 20.0]])).tolist() == [[0.5, 0.5]]
    assert scaler.transform(np.array([[20.0]]), slice(1, 2)).tolist() == [[0.5]]


def test_input_windows_reach_the_last_row_as_views():
    values = torch.arange(20.0).reshape(10, 2)
    x = input_windows(values, 3, torch.arange(7, 10))
    assert x.shape == (3, 3, 2) and x.data_ptr() == values[5].data_ptr()  # a view
    assert torch.equal(x[-1], values[7:10])
    assert torch.equal(input_windows(values, 3, torch.tensor([9, 2])), torch.stack(
        [values[7:10], values[0:3]]))
    with pytest.raises(InputError, match=r"must lie in \[2, 9\] for lookback=3 and 10 rows"):
        input_windows(values, 3, torch.tensor([1]))
