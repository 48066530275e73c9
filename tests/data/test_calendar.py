import numpy as np
import pandas as pd
import pytest

from rnnkit.data.calendar import calendar_features, seasonal_lags
from rnnkit.errors import InputError


def named(time, freq=None):
    features, names = calendar_features(pd.DatetimeIndex(time), freq)
    assert features.dtype == np.float32 and features.shape == (len(time), len(names))
    assert np.all(np.abs(features) <= 1)
    return {name: features[:, k].round(6).tolist() for k, name in enumerate(names)}


def test_hourly_features_on_known_dates():
    # 2024-01-01 00:00 is a Monday: hour 0 and weekday 0 both sit at angle 0
    got = named(pd.date_range("2024-01-01", periods=30, freq="h"))
    assert list(got) == ["hour_sin", "hour_cos", "day_of_week_sin", "day_of_week_cos",
                         "day_of_year_sin", "day_of_year_cos"]
    assert got["hour_sin"][0] == 0 and got["hour_cos"][0] == 1
    assert got["hour_sin"][6] == 1 and got["hour_cos"][12] == -1 and got["hour_cos"][24] == 1
    assert got["day_of_week_sin"][0] == 0 and got["day_of_week_cos"][0] == 1
    tuesday = 2 * np.pi / 7
    assert got["day_of_week_sin"][24] == pytest.approx(np.sin(tuesday), abs=1e-6)
    assert got["day_of_year_cos"][0] == 1  # 1 January: the start of the year


def test_daily_weekly_monthly_and_quarterly_features():
    daily = named(pd.date_range("2024-02-26", periods=7, freq="D"))  # Monday 26 February
    assert list(daily) == ["day_of_week_sin", "day_of_week_cos", "day_of_month_sin",
                           "day_of_month_cos", "month_sin", "month_cos"]
    assert daily["day_of_month_cos"][4] == 1  # 1 March: a month's first day
    assert daily["day_of_week_cos"][0] == 1 and daily["day_of_week_cos"][6] != 1
    weekly = named(pd.date_range("2024-01-07", periods=60, freq="W-SUN"))
    assert list(weekly) == ["week_of_year_sin", "week_of_year_cos"]
    assert weekly["week_of_year_cos"][0] == 1  # 7 January 2024: the end of ISO week 1
    monthly = named(pd.date_range("2024-01-01", periods=12, freq="MS"))
    assert list(monthly) == ["month_sin", "month_cos"]
    assert monthly["month_cos"][::3] == [1, 0, -1, 0] and monthly["month_sin"][3] == 1
    quarterly = named(pd.date_range("2024-01-01", periods=4, freq="QS"))
    assert quarterly["quarter_sin"] == [0, 1, 0, -1]
    assert named(pd.date_range("2000-01-01", periods=5, freq="YS")) == {}


def test_frequency_given_inferred_or_from_the_median_step():
    gappy = pd.DatetimeIndex(["2024-01-01 00:00", "2024-01-01 01:00", "2024-01-01 05:00",
                              "2024-01-01 06:00", "2024-01-01 09:00"])
    assert "hour_sin" in named(gappy)  # no pandas frequency; the median step is an hour
    assert list(named(gappy[:2], freq="D")) == list(named(pd.date_range("2024-01-01", periods=3)))
    with pytest.raises(InputError, match="need the data's frequency: pass freq"):
        calendar_features(gappy[:1])
    with pytest.raises(InputError, match="freq 'fortnightly' is not a pandas frequency"):
        calendar_features(gappy, "fortnightly")


def test_seasonal_lags():
    assert seasonal_lags("h") == [24, 168] and seasonal_lags("30min") == [48, 336]
    assert seasonal_lags("D") == [7] and seasonal_lags("B") == [5]
    assert seasonal_lags("W-SUN") == [52] and seasonal_lags("MS") == [12]
    assert seasonal_lags("ME") == [12] and seasonal_lags("QS-JAN") == [4]
    assert seasonal_lags("3MS") == [4] and seasonal_lags("YE-DEC") == []
