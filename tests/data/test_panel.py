import re

import numpy as np
import pandas as pd
import pytest

from rnnkit.data.panel import (
    VALUE,
    Panel,
    check_future,
    read_long,
    read_long_with_future,
    read_m4,
    read_wide,
)
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


# Stores with a categorical and a numeric static column, a past and a future covariate; after
# its last sale each store has rows giving only the next days' price (known ahead)
STORES = """store,date,region,size,sales,visits,price
a,2024-01-01,north,3,1,10,9
b,2024-01-01,south,2,5,50,4
a,2024-01-02,north,3,2,20,8
b,2024-01-02,south,2,6,60,4
a,2024-01-03,north,3,3,30,8
b,2024-01-03,south,2,7,70,5
a,2024-01-04,north,3,,,7
b,2024-01-04,south,2,,,5
a,2024-01-05,north,3,,,7
b,2024-01-05,south,2,,,6
"""
ROLES = {"static": ["region", "size"], "past": ["visits"], "future": ["price"]}


def test_covariate_roles_and_static_rows_follow_every_panel_method(tmp_path):
    path = write(tmp_path, STORES.replace(",,,", ",4,40,"))
    panel = read_long(path, "store", "sales", **ROLES)
    assert panel.features == ["visits", "price"] and panel.columns == ["sales", "visits", "price"]
    assert panel.past == ["visits"] and panel.future == ["price"]
    assert panel.static_names == ["region", "size"]
    assert panel.static_levels == {"region": ["north", "south"]}  # size is numeric
    assert panel.static.tolist() == [[0, 3], [1, 2]]
    train, test = panel.split_last(2)
    assert train.static.tolist() == test.static.tolist() == [[0, 3], [1, 2]]
    assert train.future == ["price"] and test.static_levels == panel.static_levels
    kept, dropped = read_long(path, "store", "sales", **ROLES).slice_each(1).drop_short(4)
    assert kept.ids == ["a", "b"] and dropped == [] and kept.static.tolist() == [[0, 3], [1, 2]]
    short = Panel(panel.values[:6], [0, 4, 6], ["a", "b"], ["sales"], ["visits", "price"],
                  static=[[0, 3], [1, 2]], static_names=["region", "size"],
                  static_levels={"region": ["north", "south"]})
    kept, dropped = short.drop_short(3)
    assert kept.ids == ["a"] and dropped == ["b"] and kept.static.tolist() == [[0, 3]]
    assert kept.static_levels == {"region": ["north", "south"]}
    assert short.past == ["visits", "price"]  # no roles given: every feature is a past one


def test_features_keep_meaning_past_covariates(tmp_path):
    with pytest.warns(UserWarning, match="not in time order"):
        panel = read_long(write(tmp_path, LONG), "id", "y", features=["x"])
    assert panel.past == ["x"] and panel.future == [] and panel.static.shape == (3, 0)
    with pytest.raises(InputError, match=r"columns \['x'\] are given both as past and as future"):
        read_long(write(tmp_path, LONG), "id", "y", past=["x"], future=["x"])


def test_static_must_be_given_and_constant_within_each_series(tmp_path):
    changed = STORES.replace("b,2024-01-03,south", "b,2024-01-03,west")
    with pytest.raises(InputError, match=re.escape(
            "column 'region': series 'b' has the static value 'south' at line 3 but 'west' at "
            "line 7; a static column holds one value per series")):
        read_long(write(tmp_path, changed), "store", "sales", static=["region"], fill="ffill")
    empty = STORES.replace("a,2024-01-02,north,3", "a,2024-01-02,north,")
    with pytest.raises(InputError, match=r"line 4, column 'size': the static value of series "
                       r"'a' is empty"):
        read_long(write(tmp_path, empty), "store", "sales", static=["size"], fill="ffill")


def test_future_rows_are_split_off_after_each_series_last_target(tmp_path):
    path = write(tmp_path, STORES.replace("a,2024-01-02,north,3,2,", "a,2024-01-02,north,3,,"))
    panel, ahead = read_long_with_future(path, "store", "sales", fill="interpolate", **ROLES)
    assert panel.lengths.tolist() == [3, 3] and ahead.lengths.tolist() == [2, 2]
    assert column(panel, 0) == [1, 2, 3]  # the gap inside 'a' was filled
    assert ahead.ids == panel.ids and ahead.columns == panel.columns
    assert np.isnan(ahead.values[:, :2]).all()  # target and past covariate: unknown ahead
    assert ahead.values[:, 2].tolist() == [7, 7, 5, 6]
    assert [str(t.date()) for t in ahead.series(1).time] == ["2024-01-04", "2024-01-05"]
    assert ahead.static.tolist() == panel.static.tolist()
    check_future(panel, ahead, horizon=2)
    with pytest.raises(InputError, match=r"line 4, column 'sales': missing value"):
        read_long(path, "store", "sales", **ROLES)  # without the split, ahead rows are gaps
    unknown = STORES.replace("b,2024-01-05,south,2,,,6", "b,2024-01-05,south,2,,,")
    with pytest.raises(InputError, match=r"line 11, column 'price': series 'b' has no value "
                       r"for the future covariate 'price' in a row after its last observed"):
        read_long_with_future(write(tmp_path, unknown), "store", "sales", **ROLES)


def test_check_future_teaches_the_length_rule(tmp_path):
    few = "\n".join(line for line in STORES.splitlines() if not line.startswith("b,2024-01-05"))
    panel, ahead = read_long_with_future(write(tmp_path, few + "\n"), "store", "sales", **ROLES)
    check_future(panel, ahead, horizon=1)
    with pytest.raises(InputError) as caught:
        check_future(panel, ahead, horizon=2)
    assert str(caught.value).endswith(
        "series 'b' has 1 future row(s) but --horizon 2 needs 2: to forecast 2 step(s), every "
        "series needs at least 2 row(s) right after its last observed row, one per step, each "
        "with the target empty and every future column ['price'] given; add 1 row(s) to 'b' "
        "after 2024-01-03")
    with pytest.raises(InputError, match=r"series 'a' has 2 future row\(s\) but --horizon 3 "
                       r"needs 3.*add 1 row\(s\) to 'a' after 2024-01-03 \(2 series fall short"):
        check_future(panel, ahead, horizon=3)


def test_check_future_finds_a_gap_in_the_future_rows(tmp_path):
    gap = STORES.replace("b,2024-01-04,south,2,,,5", "b,2024-01-06,south,2,,,5")
    with pytest.warns(UserWarning, match="not in time order"):
        panel, ahead = read_long_with_future(write(tmp_path, gap), "store", "sales", **ROLES)
    with pytest.raises(InputError, match=re.escape(
            "series 'b': future row 1 is at 2024-01-05, but step 1 after its last observed row "
            "(2024-01-03) at its frequency (D) is 2024-01-04: to forecast 2 step(s)")) as caught:
        check_future(panel, ahead, horizon=2)
    assert str(caught.value).endswith("without gaps; add (or correct) the row for 2024-01-04")


def test_parquet_reads_like_its_csv_twin(tmp_path):
    csv = write(tmp_path, STORES.replace(",,,", ",4,40,"))
    frame = pd.read_csv(csv, parse_dates=["date"])
    frame.to_parquet(tmp_path / "stores.parquet")
    ours = read_long(csv, "store", "sales", **ROLES)
    theirs = read_long(tmp_path / "stores.parquet", "store", "sales", **ROLES)
    assert theirs.ids == ours.ids and theirs.offsets.tolist() == ours.offsets.tolist()
    assert theirs.values.tolist() == ours.values.tolist() and theirs.time.equals(ours.time)
    assert theirs.static.tolist() == ours.static.tolist()
    assert theirs.static_levels == ours.static_levels
    frame["visits"] = frame["visits"].astype(str).replace({"70": "7O"})
    frame.to_parquet(tmp_path / "bad.parquet")
    with pytest.raises(InputError, match=r"bad.parquet, line 7, column 'visits': '7O' is not a "
                       r"number \(1 such cell\(s\) in that column"):
        read_long(tmp_path / "bad.parquet", "store", "sales", **ROLES)
