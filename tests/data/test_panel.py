import re

import numpy as np
import pytest

from rnnkit.data.panel import VALUE, Panel, read_long, read_m4, read_wide
from rnnkit.errors import InputError

# Three series, rows interleaved and out of time order; 'a' has 3 rows, 'b' 2, 'c' 4
LONG = """id,date,y,x
b,2024-01-02,20,2
a,2024-01-03,3,0.3
c,2024-01-01,100,10
a,2024-01-01,1,0.1
c,2024-01-04,400,40
b,2024-01-01,10,1
c,2024-01-03,300,30
a,2024-01-02,2,0.2
c,2024-01-02,200,20
"""


def write(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def column(panel, k, c=0):
    return panel.series(k).values[:, c].tolist()


def test_long_rows_in_any_order_give_each_series_sorted(tmp_path):
    with pytest.warns(UserWarning, match="not in time order; sorted by 'date' within each 'id'"):
        panel = read_long(write(tmp_path, LONG), "id", "y", features=["x"])
    assert panel.ids == ["b", "a", "c"]  # order of first appearance in the file
    assert panel.lengths.tolist() == [2, 3, 4] and panel.offsets.tolist() == [0, 2, 5, 9]
    assert column(panel, 0) == [10, 20] and column(panel, 1) == [1, 2, 3]
    assert column(panel, 2) == [100, 200, 300, 400] and column(panel, 2, 1) == [10, 20, 30, 40]
    assert [str(t.date()) for t in panel.series(1).time] == ["2024-01-01", "2024-01-02",
                                                             "2024-01-03"]
    assert panel.columns == ["y", "x"] and panel.values.shape == (9, 2)
    series = panel.series(2)
    assert np.shares_memory(series.values, panel.values)  # a view, not a copy
    assert "series 'c'" in series.source


def test_long_without_time_keeps_file_order_per_series(tmp_path):
    panel = read_long(write(tmp_path, "k,v\nb,1\na,5\nb,2\na,6\nb,3\n"), "k", "v")
    assert panel.time is None and panel.ids == ["b", "a"]
    assert column(panel, 0) == [1, 2, 3] and column(panel, 1) == [5, 6]


def test_fill_stays_within_each_series(tmp_path):
    # 'a' starts with a gap and 'b' ends with one: filling across series would take 9 or 1
    text = "id,t,y\na,1,\na,2,1\na,3,\nb,1,9\nb,2,\n"
    path = write(tmp_path, text.replace(",t,", ",date,").replace(",1,", ",2024-01-01,")
                 .replace(",2,", ",2024-01-02,").replace(",3,", ",2024-01-03,"))
    with pytest.raises(InputError, match=r"line 2, column 'y': missing value in series 'a' "
                       r"\(3 missing in all\); choose --fill"):
        read_long(path, "id", "y")
    interpolated = read_long(path, "id", "y", fill="interpolate")
    assert column(interpolated, 0) == [1, 1, 1] and column(interpolated, 1) == [9, 9]
    with pytest.raises(InputError, match=r"series 'a', column 'y': cannot ffill the missing "
                       r"value at line 2"):
        read_long(path, "id", "y", fill="ffill")
    dropped = read_long(path, "id", "y", fill="drop")
    assert dropped.lengths.tolist() == [1, 1] and dropped.values[:, 0].tolist() == [1, 9]
    assert [str(t.date()) for t in dropped.time] == ["2024-01-02", "2024-01-01"]


def test_ffill_uses_the_series_own_past_after_sorting(tmp_path):
    path = write(tmp_path, "id,date,y\nb,2024-01-02,\na,2024-01-01,7\nb,2024-01-01,4\n"
                           "a,2024-01-02,\n")
    with pytest.warns(UserWarning, match="not in time order"):
        panel = read_long(path, "id", "y", fill="ffill")
    assert column(panel, 0) == [4, 4] and column(panel, 1) == [7, 7]


def test_duplicate_id_and_time_names_both_lines(tmp_path):
    path = write(tmp_path, "id,date,y\na,2024-01-01,1\nb,2024-01-01,2\na,2024-01-02,3\n"
                           "a,2024-01-01,4\n")
    with pytest.warns(UserWarning), pytest.raises(
            InputError, match=r"series 'a' has time 2024-01-01 00:00:00 twice, at lines 2 and 5"):
        read_long(path, "id", "y")


def test_bad_cell_names_file_line_column_and_value(tmp_path):
    path = write(tmp_path, LONG.replace("300,30", "3OO,30"))
    with pytest.raises(InputError, match=r"data.csv, line 8, column 'y': '3OO' is not a number"):
        read_long(path, "id", "y", features=["x"])


def test_missing_columns_and_empty_ids_are_reported(tmp_path):
    path = write(tmp_path, LONG)
    for kwargs, name in (({"id_column": "series", "target": "y"}, "series"),
                         ({"id_column": "id", "target": "z"}, "z"),
                         ({"id_column": "id", "target": "y", "time": "when"}, "when")):
        with pytest.raises(InputError, match=re.escape(
                f"has no column {name!r}; available columns: ['id', 'date', 'y', 'x']")):
            read_long(path, **kwargs)
    with pytest.raises(InputError, match=r"line 3, column 'id': the series id is empty"):
        read_long(write(tmp_path, "id,y\na,1\n ,2\n", "blank.csv"), "id", "y")


def test_semicolon_decimal_comma_long_file_reads_like_its_comma_twin(tmp_path):
    comma = write(tmp_path, "id,date,y\nb,2024-01-01,1.5\na,2024-01-01,1014.25\n"
                            "a,2024-01-02,2.75\n", "comma.csv")
    semicolon = write(tmp_path, "id;date;y\nb;2024-01-01;1,5\na;2024-01-01;1.014,25\n"
                                "a;2024-01-02;2,75\n", "semicolon.csv")
    ours, theirs = read_long(comma, "id", "y"), read_long(semicolon, "id", "y")
    assert theirs.ids == ours.ids == ["b", "a"]
    assert theirs.values.tolist() == ours.values.tolist() == [[1.5], [1014.25], [2.75]]
    assert theirs.offsets.tolist() == ours.offsets.tolist() and theirs.time.equals(ours.time)


def test_wide_columns_start_late_and_end_early(tmp_path):
    path = write(tmp_path, "date,a,b,c\n2024-01-03,3,30,30\n2024-01-01,1,,\n2024-01-02,2,20,\n"
                           "2024-01-04,,40,40\n")
    with pytest.warns(UserWarning, match="not in time order"):
        panel = read_wide(path)
    assert panel.ids == ["a", "b", "c"] and panel.targets == [VALUE]
    assert panel.lengths.tolist() == [3, 3, 2]
    assert column(panel, 0) == [1, 2, 3] and column(panel, 1) == [20, 30, 40]
    assert column(panel, 2) == [30, 40]
    assert [str(t.date()) for t in panel.series(1).time] == ["2024-01-02", "2024-01-03",
                                                             "2024-01-04"]
    assert [str(t.date()) for t in panel.series(2).time] == ["2024-01-03", "2024-01-04"]


def test_wide_gaps_inside_a_series_need_fill(tmp_path):
    path = write(tmp_path, "date,a,b\n2024-01-01,1,\n2024-01-02,,20\n2024-01-03,3,\n"
                           "2024-01-04,,40\n")
    with pytest.raises(InputError, match=r"line 3, column 'a': missing value in series 'a'"):
        read_wide(path)
    panel = read_wide(path, fill="interpolate")
    assert column(panel, 0) == [1, 2, 3] and column(panel, 1) == [20, 30, 40]
    assert panel.lengths.tolist() == [3, 3]


def test_wide_without_time_and_repeated_column(tmp_path):
    panel = read_wide(write(tmp_path, "a,b\n1,\n2,5\n"), time="none")
    assert panel.time is None and column(panel, 0) == [1, 2] and column(panel, 1) == [5]
    with pytest.raises(InputError, match="the column 'a' appears more than once"):
        read_wide(write(tmp_path, "a,a\n1,2\n", "twice.csv"))
    with pytest.raises(InputError, match="column 'b' has no values"):
        read_wide(write(tmp_path, "a,b\n1,\n2,\n", "empty.csv"))


def panel_of(*series):
    values = np.concatenate([np.asarray(s, dtype=float) for s in series])[:, None]
    offsets = np.concatenate([[0], np.cumsum([len(s) for s in series])])
    return Panel(values, offsets, [f"s{k}" for k in range(len(series))], ["y"], source="mem")


def test_split_last_takes_the_last_rows_of_every_series():
    panel = panel_of([1, 2, 3, 4, 5], [10, 20, 30])
    train, test = panel.split_last(2)
    assert train.ids == test.ids == ["s0", "s1"]
    assert column(train, 0) == [1, 2, 3] and column(train, 1) == [10]
    assert column(test, 0) == [4, 5] and column(test, 1) == [20, 30]
    assert test.offsets.tolist() == [0, 2, 4]
    with pytest.raises(InputError, match=r"--test-size 3 leaves no training rows in series 's1' "
                       r"of mem, which has 3"):
        panel.split_last(3)
    middle = panel.slice_each(1, -1)
    assert column(middle, 0) == [2, 3, 4] and column(middle, 1) == [20]


def test_split_last_keeps_time_with_rows(tmp_path):
    with pytest.warns(UserWarning):
        train, test = read_long(write(tmp_path, LONG), "id", "y").split_last(1)
    assert [str(t.date()) for t in test.time] == ["2024-01-02", "2024-01-03", "2024-01-04"]
    assert len(train.time) == len(train.values) == 6


def test_drop_short_reports_the_dropped_ids():
    panel = panel_of([1, 2, 3, 4], [5], [6, 7, 8])
    kept, dropped = panel.drop_short(3)
    assert kept.ids == ["s0", "s2"] and dropped == ["s1"]
    assert column(kept, 1) == [6, 7, 8]
    with pytest.raises(InputError, match=r"no series of mem has 5 rows; the longest, 's0', has 4"):
        panel.drop_short(5)


def test_panel_checks_its_parts():
    with pytest.raises(ValueError, match="do not split 3 rows into 2 series"):
        Panel(np.zeros((3, 1)), [0, 1, 2], ["a", "b"], ["y"])
    with pytest.raises(ValueError, match="not distinct"):
        Panel(np.zeros((2, 1)), [0, 1, 2], ["a", "a"], ["y"])


def test_m4_hourly_files(data_dir):
    folder = data_dir / "m4"
    train, test = read_m4(folder / "Hourly-train.csv", folder / "Hourly-test.csv")
    assert len(train) == len(test) == 414 and train.ids == test.ids
    assert train.ids[0] == "H1" and train.ids[-1] == "H414"
    assert set(train.lengths.tolist()) == {700, 960} and set(test.lengths.tolist()) == {48}
    assert column(train, 0)[:3] == [605, 586, 586] and column(train, 0)[-2:] == [739, 684]
    assert len(train.series(0)) == 700 and column(test, 0)[:3] == [619, 565, 532]
    assert column(train, 413)[-1] == 17 and column(test, 413)[-1] == 24
    assert train.time is None and train.targets == [VALUE]


def test_m4_test_rows_must_match_train(tmp_path):
    train = write(tmp_path, '"V1","V2","V3","V4"\n"X1","1","2","3"\n"X2","4","5",\n', "tr.csv")
    good = write(tmp_path, '"V1","V2"\n"X1","7"\n"X2","8"\n', "te.csv")
    ours, test = read_m4(train, good)
    assert ours.lengths.tolist() == [3, 2] and ours.values[:, 0].tolist() == [1, 2, 3, 4, 5]
    assert test.values[:, 0].tolist() == [7, 8]
    for text, why in (('"X1","7"\n"X9","8"\n', "line 3: series 'X9' is not in"),
                      ('"X2","7"\n"X1","8"\n', "line 2: series 'X2' is where"),
                      ('"X1","7"\n', "line 3: 1 series for the 2 of")):
        with pytest.raises(InputError, match=re.escape(why)):
            read_m4(train, write(tmp_path, '"V1","V2"\n' + text, "bad.csv"))
    with pytest.raises(InputError, match=r"line 2, column 'V3': missing value in series 'X1'"):
        read_m4(write(tmp_path, '"V1","V2","V3","V4"\n"X1","1",,"3"\n', "gap.csv"))
