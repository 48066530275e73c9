"""Bad bytes never crash the CSV reader: it parses or raises rnnkit's InputError."""

import warnings

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnnkit.data.series import read_series
from rnnkit.errors import InputError

CELLS = st.one_of(
    st.from_regex(r"-?\d{1,4}(\.\d{1,3})?", fullmatch=True),
    st.from_regex(r"\d{1,2}/\d{1,2}/20\d\d", fullmatch=True),
    st.sampled_from(["", "nan", "1,207.94", "abc", "\"1,0\"", "2017-13-45", "inf", " "]),
    st.text(max_size=6),
)
ROWS = st.lists(st.lists(CELLS, min_size=1, max_size=4), max_size=8)


def check(tmp_path, data: bytes, **kwargs):
    path = tmp_path / "fuzz.csv"
    path.write_bytes(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            series = read_series(path, **kwargs)
        except InputError as err:
            assert str(err)
            return
    assert len(series) >= 1 and series.values.shape[1] == 1
    assert series.values.dtype.kind == "f"


FUZZ = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(data=st.binary(max_size=300))
def test_arbitrary_bytes(tmp_path, data):
    check(tmp_path, b"Date,y\n" + data, target="y")


@FUZZ
@given(rows=ROWS, fill=st.sampled_from([None, "ffill", "interpolate", "drop"]))
def test_malformed_rows(tmp_path, rows, fill):
    body = "\n".join(",".join(row) for row in rows)
    check(tmp_path, ("Date,y\n" + body).encode(), target="y", fill=fill)
