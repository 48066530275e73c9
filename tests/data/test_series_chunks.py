"""read_series parses large files in chunks: the same series and the same errors as in one piece."""

import numpy as np
import pytest

from rnnkit.data import series as series_module
from rnnkit.data.series import read_series
from rnnkit.errors import InputError

TYPICAL = (
    "Date,Open,Volume,Note\n"
    "1/5/2017,\"1,008.64\",7000,a\n"
    "1/3/2017,786.08, 1500 ,b\n"  # out of order, spaces
    "1/4/2017,,2000,c\n"  # missing: filled
    "1/6/2017,790.5,1e3,d\n"
    "1/9/2017,-1.25,3000,e\n"
    "1/10/2017,inf,\"2,500\",f\n"
    "1/11/2017,800,4000,g\n"
)


@pytest.mark.parametrize("chunk", [1, 2, 3])
def test_chunked_reading_returns_the_same_series(tmp_path, monkeypatch, chunk):
    path = tmp_path / "typical.csv"
    path.write_text(TYPICAL)
    with pytest.warns(UserWarning, match="not in time order"):
        whole = read_series(path, "Open", features=["Volume"], fill="interpolate")
    assert len(whole) == 7 and whole.values[0].tolist() == [786.08, 1500.0]
    monkeypatch.setattr(series_module, "_CHUNK_ROWS", chunk)
    with pytest.warns(UserWarning, match="not in time order"):
        parts = read_series(path, "Open", features=["Volume"], fill="interpolate")
    np.testing.assert_array_equal(parts.values, whole.values)
    assert parts.time.equals(whole.time) and parts.time.dtype == whole.time.dtype
    assert (parts.targets, parts.features, parts.source) == (whole.targets, whole.features,
                                                             whole.source)


def test_time_zones_that_differ_between_chunks_are_parsed_whole(tmp_path, monkeypatch):
    path = tmp_path / "zones.csv"
    path.write_text("time,y\n2020-01-01T00:00+01:00,1\n2020-01-02T00:00+02:00,2\n")
    monkeypatch.setattr(series_module, "_CHUNK_ROWS", 1)
    with pytest.raises(InputError, match=r"column 'time': cannot parse timestamps"):
        read_series(path, "y")


def test_bad_value_deep_in_a_large_file_names_its_line(tmp_path):
    rows = 3 * series_module._CHUNK_ROWS + 17
    lines = ["y,z", *(f"{k}.5,{k % 7}" for k in range(rows))]
    lines[1] = "1.5,0"  # no x3 jump warning from 0.5 to 1.5
    deep = 2 * series_module._CHUNK_ROWS + 11  # in the third chunk
    lines[deep + 1] = f"{deep}.5,n/a"
    lines[rows] = f"{rows - 1}.5,?"  # the very last row, in another chunk
    path = tmp_path / "large.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=rf"large.csv, line {deep + 2}, column 'z': 'n/a' is not "
                       r"a number \(2 such cell\(s\) in that column\); fix or remove those rows"):
        read_series(path, "y", time="none", features=["z"])
    lines[deep + 1], lines[rows] = f"{deep}.5,", f"{rows - 1}.5,1"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=rf"line {deep + 2}, column 'z': missing value \(1 "):
        read_series(path, "y", time="none", features=["z"])
    filled = read_series(path, "y", time="none", features=["z"], fill="ffill")
    assert len(filled) == rows and filled.values[-1].tolist() == [rows - 0.5, 1]
    assert filled.values[deep].tolist() == [deep + 0.5, (deep - 1) % 7]
