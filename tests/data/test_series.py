import re
import warnings

import numpy as np
import pandas as pd
import pytest
import torch

from rnnkit.data.series import Series, infer_frequency, read_series
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


UNSORTED_GAP = "Date,y\n2020-01-05,50\n2020-01-02,\n2020-01-01,10\n2020-01-03,30\n"


def test_fill_takes_neighbours_in_time_not_in_file_order(tmp_path):
    path = write(tmp_path, UNSORTED_GAP)  # the gap (line 3) is 2020-01-02, between 10 and 30
    with pytest.warns(UserWarning, match="not in time order"):
        filled = read_series(path, "y", fill="ffill")
    assert filled.values[:, 0].tolist() == [10, 10, 30, 50]
    with pytest.warns(UserWarning, match="not in time order"):
        interpolated = read_series(path, "y", fill="interpolate")
    assert interpolated.values[:, 0].tolist() == [10, 20, 30, 50]
    with pytest.warns(UserWarning, match="not in time order"):
        dropped = read_series(path, "y", fill="drop")
    assert dropped.values[:, 0].tolist() == [10, 30, 50]
    assert [str(t.date()) for t in dropped.time] == ["2020-01-01", "2020-01-03", "2020-01-05"]


def test_ffill_refuses_a_gap_at_the_earliest_time_though_not_first_in_the_file(tmp_path):
    path = write(tmp_path, "Date,y\n2020-01-02,20\n2020-01-01,\n")
    with pytest.warns(UserWarning, match="not in time order"), pytest.raises(
            InputError, match=r"^" + re.escape(
                f"{path}, column 'y': cannot ffill the missing value at line 3 (nothing before "
                "it in time); use --fill interpolate or drop") + "$"):
        read_series(path, "y", fill="ffill")


def test_a_column_with_no_values_is_named_whatever_the_fill(tmp_path):
    path = write(tmp_path, "y,z\n1,\n2,\n")
    for fill in ("ffill", "interpolate"):
        with pytest.raises(InputError, match=r"^" + re.escape(
                f"{path}, column 'z' has no values; leave it out") + "$"):
            read_series(path, "y", features=["z"], fill=fill)


def test_jump_warning_names_file_lines_in_an_unsorted_file(tmp_path):
    days = range(1, 13)  # a x2 level jump from day 6 (105) to day 7 (220)
    rows = [f"2020-01-{d:02d},{100 + d - 1 if d <= 6 else 220 + d - 7}" for d in days]
    path = write(tmp_path, "Date,y\n" + "\n".join(reversed(rows)) + "\n")  # day d on line 14 - d
    with pytest.warns(UserWarning) as caught:
        series = read_series(path, "y")
    assert series.values[[5, 6], 0].tolist() == [105, 220]
    assert [str(w.message) for w in caught] == [
        f"{path}: rows are not in time order; sorted by 'Date'",
        f"{path}: column 'y' jumps x2.10 between lines 8 and 7 (2020-01-06 -> 2020-01-07), far "
        "beyond its usual change: an unadjusted stock split or a change of units? Adjust the "
        "column or leave it out",
    ]


def test_errors_in_an_unsorted_file_name_file_lines(tmp_path):
    path = write(tmp_path, "Date,y\n2020-01-03,\n2020-01-01,1\n2020-01-02,2\n")
    with pytest.warns(UserWarning, match="not in time order"), pytest.raises(
            InputError, match=r"^" + re.escape(
                f"{path}, line 2, column 'y': missing value (1 missing in all); choose --fill "
                "ffill, interpolate or drop") + "$"):
        read_series(path, "y")
    path = write(tmp_path, "Date,y\n2020-01-02,1\n2020-01-01,2\n2020-01-02,3\n")
    with pytest.warns(UserWarning, match="not in time order"), pytest.raises(
            InputError, match=r"^" + re.escape(
                f"{path}, line 4, column 'Date': timestamp 2020-01-02 00:00:00 appears more than "
                "once; remove or aggregate the duplicates") + "$"):
        read_series(path, "y")
    path = write(tmp_path, "Date,y\n2020-01-03,3\n2020-01-01,1\n2020-01-02,two\n")
    with pytest.raises(InputError, match=r"^" + re.escape(
            f"{path}, line 4, column 'y': 'two' is not a number (1 such cell(s) in that column);"
            " fix or remove those rows") + "$"):
        read_series(path, "y")


EUROPEAN = "Datum;Umsatz;Menge\n2023-01-02;1014,24;3\n2023-01-03;1.207,5;-0,25\n2023-01-04;987;4\n"
COMMA_TWIN = ('Datum,Umsatz,Menge\n2023-01-02,1014.24,3\n2023-01-03,"1,207.5",-0.25\n'
              "2023-01-04,987,4\n")


def test_a_semicolon_decimal_comma_file_reads_like_its_comma_twin(tmp_path):
    twin = read_series(write(tmp_path, COMMA_TWIN, "twin.csv"), "Umsatz", "Datum", ["Menge"])
    european = read_series(write(tmp_path, EUROPEAN, "eu.csv"), "Umsatz", "Datum", ["Menge"])
    assert european.values.tolist() == [[1014.24, 3], [1207.5, -0.25], [987, 4]]
    np.testing.assert_array_equal(european.values, twin.values)
    assert european.time.equals(twin.time)
    dotted = write(tmp_path, re.sub(r"2023-01-(\d\d)", r"\1.01.2023", EUROPEAN), "dotted.csv")
    assert read_series(dotted, "Umsatz", "Datum").time.equals(twin.time)  # day first


def test_tab_separated_files_with_either_decimal_mark(tmp_path):
    points = read_series(write(tmp_path, "Date\ty\n2023-01-02\t1.5\n2023-01-03\t2\n"), "y")
    commas = read_series(write(tmp_path, "Date\ty\n2023-01-02\t1,5\n2023-01-03\t2\n"), "y")
    assert points.values[:, 0].tolist() == commas.values[:, 0].tolist() == [1.5, 2]
    assert str(commas.time[0].date()) == "2023-01-02"


def test_explicit_sep_and_decimal(tmp_path):
    path = write(tmp_path, EUROPEAN)
    explicit = read_series(path, "Umsatz", "Datum", sep=";", decimal=",")
    assert explicit.values[:, 0].tolist() == [1014.24, 1207.5, 987]
    tab = write(tmp_path, "y\tz\n1,5\t2\n", "tab.txt")
    assert read_series(tab, "y", sep="\t", features=["z"]).values.tolist() == [[1.5, 2]]
    assert read_series(tab, "y", sep="\\t", features=["z"]).values.tolist() == [[1.5, 2]]
    quoted = write(tmp_path, 'y,z\n"1,5",2\n', "quoted.csv")  # a decimal comma in quotes
    assert read_series(quoted, "y", decimal=",", features=["z"]).values.tolist() == [[1.5, 2]]
    points = write(tmp_path, "y;z\n1,014;2.5\n", "points.csv")  # thousands comma, decimal point
    assert read_series(points, "y", decimal=".", features=["z"]).values.tolist() == [[1014, 2.5]]


def test_a_cell_against_the_decimal_mark_names_the_option(tmp_path):
    path = write(tmp_path, "y;z\n1,5;2\n2,5;1.5\n")
    with pytest.raises(InputError, match=r"^" + re.escape(
            f"{path}, line 3, column 'z': '1.5' is not a number (1 such cell(s) in that column);"
            " fix or remove those rows (read with --decimal ','; pass --decimal '.' if the file "
            "uses decimal points)") + "$"):
        read_series(path, "y", features=["z"])


@pytest.mark.parametrize("sep,decimal,message", [
    ("|", None, "--sep '|' is not known; use ',', ';' or '\\t' (tab)"),
    (None, ";", "--decimal ';' is not known; use '.' or ','"),
])
def test_unknown_sep_or_decimal_names_the_option(tmp_path, sep, decimal, message):
    with pytest.raises(InputError, match=r"^" + re.escape(message) + "$"):
        read_series(write(tmp_path, COMMA_TWIN), "Umsatz", sep=sep, decimal=decimal)


def test_a_header_of_one_column_holding_a_separator_says_which_sep_to_pass(tmp_path):
    path = write(tmp_path, EUROPEAN)
    message = (f"{path} has one column 'Datum;Umsatz;Menge': the file looks "
               "semicolon-separated; pass --sep ';'")
    for target in ("Umsatz", "all"):
        with pytest.raises(InputError, match=r"^" + re.escape(message) + "$"):
            read_series(path, target, sep=",")
    tab = write(tmp_path, "Date\ty\n2023-01-02\t1\n", "tab.csv")
    with pytest.raises(InputError, match=re.escape("looks tab-separated; pass --sep '\\t'")):
        read_series(tab, "y", sep=";")
    named = write(tmp_path, "Umsatz, EUR\n5\n6\n", "named.csv")  # a comma inside a real name
    assert read_series(named, "Umsatz, EUR", sep=";").values[:, 0].tolist() == [5, 6]


def _future(time, n=3):
    freq = infer_frequency(time)
    return freq, [str(t.date()) for t in pd.date_range(time[-1], periods=n + 1, freq=freq)[1:]]


def test_stock_dates_are_business_days(data_dir):
    with pytest.warns(UserWarning, match="jumps"):
        train = read_series(data_dir / "google_stock" / "Google_Stock_Price_Train.csv", "Open",
                            features=["Close"])
    # Business days ignore holidays: the test file starts 2017-01-03 (Jan 2 was a market
    # holiday), yet the next business day after Friday 2016-12-30 is Monday 2017-01-02
    expected = ("B", ["2017-01-02", "2017-01-03", "2017-01-04"])
    assert _future(train.time) == _future(train.time[-50:]) == expected


@pytest.mark.parametrize("freq", ["h", "15min", "D", "W-SAT", "W-MON", "B", "MS", "ME",
                                  "QS-JAN", "QE-DEC", "YS-JAN", "YE-DEC"])
def test_calendars_with_a_few_missing_rows(freq):
    whole = pd.date_range("2000-01-03", periods=41, freq=freq)
    gappy = whole[:-1].delete([5, 17, 30])  # a few rows missing, as in weekly CO2 records
    assert infer_frequency(whole[:-1]) == infer_frequency(gappy) == freq
    assert pd.date_range(gappy[-1], periods=2, freq=infer_frequency(gappy))[-1] == whole[-1]


def test_weekly_co2_like_dates_are_weekly():
    # Mauna Loa's weekly CO2 record: Saturdays from 1958-03-29, some weeks missing
    weeks = pd.date_range("1958-03-29", periods=120, freq="7D").delete([3, 4, 50, 51, 52])
    assert infer_frequency(weeks) == "W-SAT"


def test_irregular_dates_have_no_frequency():
    days = pd.DatetimeIndex(["2020-01-01", "2020-01-02", "2020-01-05", "2020-01-11",
                             "2020-02-03", "2020-02-04"])
    assert infer_frequency(days) is None
    assert infer_frequency(days[:2]) is None
    weekdays = pd.date_range("2020-01-06", periods=60, freq="B")
    assert infer_frequency(weekdays[::3].append(weekdays[1::3]).sort_values()) is None
