import warnings

import numpy as np
import pytest
import torch

from rnnkit.data.series import Series, read_series
from rnnkit.errors import InputError


def write(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_google_files_parse_to_known_values(data_dir):
    folder = data_dir / "google_stock"
    with pytest.warns(UserWarning, match=r"column 'Close' jumps x0.49 between lines 561 and 562 "
                      r"\(2014-03-26 -> 2014-03-27\).*unadjusted stock split"):
        train = read_series(folder / "Google_Stock_Price_Train.csv", "Open", features=["Close"])
    test = read_series(folder / "Google_Stock_Price_Test.csv", "Open")
    assert len(train) == 1258 and len(test) == 20
    assert train.values[0].tolist() == [325.25, 663.59]
    assert train.values[-1].tolist() == [782.75, 771.82]
    assert str(train.time[0].date()) == "2012-01-03" and str(train.time[-1].date()) == "2016-12-30"
    row = np.flatnonzero(train.time == "2013-10-18")[0]  # line 453: "1,008.64"
    assert train.values[row].tolist() == [486.47, 1008.64]
    assert test.values[[0, -1], 0].tolist() == [778.81, 796.86]
    assert str(test.time[-1].date()) == "2017-01-31"
    with pytest.raises(InputError, match="has columns"):
        train.concat(test)  # a feature column on one side only


def test_time_column_is_found_and_series_sorted(tmp_path):
    path = write(tmp_path, "when,y\n2020-01-03,3\n2020-01-01,1\n2020-01-02,2\n")
    with pytest.warns(UserWarning, match="not in time order; sorted by 'when'"):
        series = read_series(path, "y", time="when")
    assert series.values[:, 0].tolist() == [1, 2, 3]
    plain = read_series(write(tmp_path, "y\n5\n6\n", "plain.csv"), "y")
    assert plain.time is None and plain.values[:, 0].tolist() == [5, 6]


def test_missing_column_lists_available(tmp_path):
    path = write(tmp_path, "Date,Open,Close,\n1/3/2017,1,2,\n")
    with pytest.raises(InputError, match=r"has no column 'open'; available columns: "
                       r"\['Date', 'Open', 'Close'\]"):
        read_series(path, "open")


def test_non_numeric_cell_names_line_column_and_value(tmp_path):
    path = write(tmp_path, "Date,Open\n1/3/2017,1\n1/4/2017,abc\n1/5/2017,x\n")
    with pytest.raises(InputError, match=r"data.csv, line 3, column 'Open': 'abc' is not a "
                       r"number \(2 such cell\(s\)"):
        read_series(path, "Open")


def test_duplicate_timestamps_are_refused(tmp_path):
    path = write(tmp_path, "Date,Open\n1/3/2017,1\n1/4/2017,2\n1/4/2017,3\n")
    with pytest.raises(InputError, match=r"line 4, column 'Date': timestamp 2017-01-04 "
                       r"00:00:00 appears more than once"):
        read_series(path, "Open")


def test_bad_timestamp(tmp_path):
    path = write(tmp_path, "Date,Open\n1/3/2017,1\nsoon,2\n")
    with pytest.raises(InputError, match=r"line 3, column 'Date': 'soon' is not a date/time"):
        read_series(path, "Open")


def test_missing_values_need_a_fill_policy(tmp_path):
    path = write(tmp_path, "y,z\n1,10\n,20\n3,30\n")
    with pytest.raises(InputError, match=r"line 3, column 'y': missing value \(1 missing in all\);"
                       r" choose --fill ffill, interpolate or drop"):
        read_series(path, "y", features=["z"])
    assert read_series(path, "y", fill="ffill").values[:, 0].tolist() == [1, 1, 3]
    assert read_series(path, "y", fill="interpolate").values[:, 0].tolist() == [1, 2, 3]
    dropped = read_series(path, "y", features=["z"], fill="drop")
    assert dropped.values.tolist() == [[1, 10], [3, 30]]
    with pytest.raises(InputError, match="nothing before it"):
        read_series(write(tmp_path, "y,z\n,1\n2,3\n", "lead.csv"), "y", fill="ffill")
    with pytest.raises(InputError, match="every row has a missing value"):
        read_series(write(tmp_path, "y,z\n,1\n,3\n", "none.csv"), "y", fill="drop")
    with pytest.raises(InputError, match="--fill 'mean' is not known"):
        read_series(path, "y", fill="mean")


def test_unreadable_files(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_series(tmp_path / "nope.csv", "y")
    bad = tmp_path / "latin.csv"
    bad.write_bytes(b"y\n1\n\xff\n")
    with pytest.raises(InputError, match="is not UTF-8 text"):
        read_series(bad, "y")
    with pytest.raises(InputError, match="is not a readable CSV file"):
        read_series(write(tmp_path, "", "empty.csv"), "y")
    with pytest.raises(InputError, match="has a header but no data rows"):
        read_series(write(tmp_path, "y\n", "header.csv"), "y")


def test_series_slice_and_concat_order():
    a = Series(np.arange(3.0), ["y"])
    assert a.slice(1).values[:, 0].tolist() == [1, 2]
    assert a.concat(a).values.shape == (6, 1)


def test_a_read_only_array_is_copied_so_torch_can_view_it_without_warning():
    data = np.arange(6.0).reshape(3, 2)
    data.setflags(write=False)
    series = Series(data, ["y"], ["x"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        view = torch.from_numpy(series.values)
    assert view.shape == (3, 2) and not data.flags.writeable  # the caller's array untouched
    writable = np.arange(4.0)
    assert np.shares_memory(Series(writable, ["y"]).values, writable)  # no copy otherwise
