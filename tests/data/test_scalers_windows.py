import numpy as np
import pytest
import torch

from rnnkit.data.scalers import Scaler
from rnnkit.data.windows import origins_between, windows
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
