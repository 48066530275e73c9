import numpy as np
import pytest
from matplotlib.collections import PolyCollection

from rnnkit.plots.forecast import fan_figure, forecast_figure, members_loss_figure


def test_members_loss_figure_draws_each_member_in_its_colour_with_its_kept_epoch():
    histories = [{"train_loss": [1.0, 0.5, 0.4], "val_loss": [0.9, 0.6, 0.7]},
                 {"train_loss": [1.1, 0.6], "val_loss": [1.0, 0.8]}]
    fig = members_loss_figure(histories, [2, None])
    lines = fig.axes[0].get_lines()
    labels = [line.get_label() for line in lines if not line.get_label().startswith("_")]
    assert len(lines) == 5 and labels == ["member 0 train", "member 0 val", "member 1 train",
                                          "member 1 val"]
    assert lines[0].get_color() == lines[1].get_color() != lines[3].get_color()
    assert lines[1].get_linestyle() == "--"
    assert list(lines[2].get_xdata()) == [2] and list(lines[2].get_ydata()) == [0.6]  # kept
    with pytest.raises(ValueError):
        members_loss_figure(histories, [2])


def _band(ax):
    """The one fill_between band on ``ax``."""
    (band,) = [c for c in ax.collections if isinstance(c, PolyCollection)]
    return band


def _corners(ax, band):
    """The band's vertices as a set of (x in the axis' units, y) pairs."""
    return {(float(x), float(y)) for path in band.get_paths() for x, y in path.vertices}


def _expected(ax, x, lower, upper):
    numbers = ax.xaxis.convert_units(x)
    return ({(float(t), float(y)) for t, y in zip(numbers, lower, strict=True)}
            | {(float(t), float(y)) for t, y in zip(numbers, upper, strict=True)})


def _legend(ax):
    return [text.get_text() for text in ax.get_legend().get_texts()]


AXES = {
    "dates": np.arange("2024-01-01", "2024-03-01", dtype="datetime64[D]"),
    "steps": np.arange(60),
}


@pytest.mark.parametrize("axis", AXES)
def test_forecast_figure_draws_the_models_interval_over_the_test_rows(axis):
    x = AXES[axis]
    actual = np.sin(np.arange(len(x)) / 5)
    test_x, model = x[-12:], actual[-12:] + 0.1
    lower, upper = model - np.linspace(0.2, 0.4, 12), model + np.linspace(0.3, 0.5, 12)
    fig = forecast_figure(x, actual, test_x, {"model": model, "persistence": actual[-13:-1]},
                          "t", bounds=(lower, upper), level=0.9)
    ax = fig.axes[0]
    assert _corners(ax, _band(ax)) == _expected(ax, test_x, lower, upper)
    assert _legend(ax) == ["actual", "model", "persistence", "90% interval", "test period"]


def test_forecast_figure_without_bounds_draws_no_band():
    x = AXES["dates"]
    actual = np.arange(len(x), dtype=float)
    fig = forecast_figure(x, actual, x[-5:], {"model": actual[-5:]}, "t")
    ax = fig.axes[0]
    assert not [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert _legend(ax) == ["actual", "model", "test period"]


def test_forecast_figure_rejects_bounds_of_the_wrong_length():
    x = np.arange(30)
    with pytest.raises(ValueError, match="4 lower and 5 upper values for 5 x values"):
        forecast_figure(x, x * 1.0, x[-5:], {"model": x[-5:] * 1.0}, "t",
                        bounds=(np.zeros(4), np.ones(5)), level=0.8)


FANS = {
    "dates": (np.arange("2024-01-01", "2024-07-01", dtype="datetime64[D]"),
              np.arange("2024-07-01", "2024-07-08", dtype="datetime64[D]")),
    "steps": (np.arange(-179, 1), np.arange(1, 8)),
}


@pytest.mark.parametrize("axis", FANS)
def test_fan_figure_draws_the_recent_history_the_forecast_and_its_interval(axis):
    history_x, future_x = FANS[axis]
    history_y = np.cos(np.arange(len(history_x)) / 7)
    forecast = np.linspace(1.0, 1.6, 7)
    lower, upper = forecast - np.linspace(0.1, 0.7, 7), forecast + np.linspace(0.2, 0.8, 7)
    fig = fan_figure(history_x, history_y, future_x, forecast, (lower, upper), 0.8, "t",
                     context=50)
    ax = fig.axes[0]
    actual, predicted, origin = ax.get_lines()
    assert list(actual.get_xdata()) == list(history_x[-50:])
    assert np.array_equal(actual.get_ydata(), history_y[-50:])
    assert list(predicted.get_xdata()) == list(future_x)
    assert np.array_equal(predicted.get_ydata(), forecast)
    assert list(origin.get_xdata()) == [history_x[-1]] * 2
    assert _corners(ax, _band(ax)) == _expected(ax, future_x, lower, upper)
    assert _legend(ax) == ["actual", "forecast", "80% interval", "forecast origin"]


def test_fan_figure_bands_only_the_steps_with_an_interval():
    history_x, future_x = FANS["steps"]
    forecast = np.arange(7.0)
    lower, upper = forecast - 1, forecast + 1
    lower[4:] = upper[4:] = np.nan  # the model's horizon is 4 steps
    fig = fan_figure(history_x, np.zeros(len(history_x)), future_x, forecast, (lower, upper),
                     0.9, "t")
    ax = fig.axes[0]
    assert _corners(ax, _band(ax)) == _expected(ax, future_x[:4], lower[:4], upper[:4])
    assert np.array_equal(ax.get_lines()[1].get_ydata(), forecast)


def test_fan_figure_without_an_interval_draws_the_forecast_alone():
    history_x, future_x = FANS["dates"]
    fig = fan_figure(history_x, np.zeros(len(history_x)), future_x, np.ones(7), None, None, "t")
    ax = fig.axes[0]
    assert not [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert _legend(ax) == ["actual", "forecast", "forecast origin"]
