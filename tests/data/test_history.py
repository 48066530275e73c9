import numpy as np
import pandas as pd
import pytest

from rnnkit.data.history import continue_history, history_from_dict, history_to_dict
from rnnkit.data.series import Series
from rnnkit.errors import InputError


def daily(start, values, source="new.csv"):
    time = pd.date_range(start, periods=len(values), freq="D")
    return Series(np.asarray(values, dtype=float), ["y"], [], time, source)


HISTORY = daily("2024-01-01", np.arange(10.0), "train.csv")


def test_the_history_round_trips_through_json_without_pickle():
    data = history_to_dict(HISTORY, 4, "D")
    assert data["time"][0] == "2024-01-07T00:00:00" and data["values"] == [[6.0], [7.0], [8.0],
                                                                           [9.0]]
    series, frequency = history_from_dict(data, "history.json")
    assert frequency == "D" and series.values[:, 0].tolist() == [6.0, 7.0, 8.0, 9.0]
    assert series.time[-1] == pd.Timestamp("2024-01-10")
    with pytest.raises(InputError, match="history.json is malformed"):
        history_from_dict({"values": [[1.0]]}, "history.json")


def test_rows_that_continue_the_history_are_appended():
    series = continue_history(HISTORY, daily("2024-01-11", [10.0, 11.0]), 5, "D")
    assert series.values[:, 0].tolist() == list(range(12))
    assert series.time[-1] == pd.Timestamp("2024-01-12")


def test_rows_the_history_already_holds_are_not_new():
    same = daily("2024-01-08", [7.0, 8.0, 9.0, 10.0])  # three known rows, then one new
    assert continue_history(HISTORY, same, 5, "D").values[:, 0].tolist() == list(range(11))
    inside = daily("2024-01-03", [2.0, 3.0, 4.0, 5.0, 6.0, 7.0])  # ends inside the history
    assert continue_history(HISTORY, inside, 5, "D").time[-1] == pd.Timestamp("2024-01-08")


def test_an_overlap_with_other_values_or_a_gap_is_refused_unless_the_file_suffices():
    with pytest.raises(InputError, match=r"new.csv overlaps the run's data \(which ends at "
                                         r"2024-01-10\) with other values; give rows from "
                                         r"2024-01-11 on, or at least 5 rows"):
        continue_history(HISTORY, daily("2024-01-09", [0.0, 0.0]), 5, "D")
    with pytest.raises(InputError, match=r"new.csv starts at 2024-01-13, leaving a gap after "
                                         r"the run's data \(which ends at 2024-01-10; the next "
                                         r"row is due 2024-01-11\)"):
        continue_history(HISTORY, daily("2024-01-13", [1.0, 2.0]), 5, "D")
    alone = daily("2024-01-13", np.arange(6.0))
    assert continue_history(HISTORY, alone, 5, "D") is alone  # enough to stand alone


def test_without_timestamps_a_file_must_be_long_enough():
    bare = Series(np.arange(3.0), ["y"], [], None, "bare.csv")
    with pytest.raises(InputError, match="bare.csv has 3 rows and no time column .* give at "
                                         "least 5 rows"):
        continue_history(HISTORY, bare, 5, "D")
    assert continue_history(HISTORY, bare, 3, "D") is bare
