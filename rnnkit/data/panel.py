"""Read many series at once (a panel) with the care of `read_series`: long, wide and M4 files.

Reads CSV only: Parquet would need ``pyarrow``, which rnnkit does not depend on.
"""

from __future__ import annotations

import csv
import io
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path

import numpy as np
import pandas as pd

from rnnkit.data.series import (
    DECIMALS,
    FILL_POLICIES,
    Series,
    _chunks,
    _detect_decimal,
    _find_time_column,
    _line,
    _read_values,
    _sample,
    check_sep,
    check_table,
    detect_sep,
    fill_rows,
    refuse_split_header,
)
from rnnkit.errors import InputError

#: The target name of a panel whose file gives each series one unnamed value column (wide, M4).
VALUE = "value"


def _offsets(lengths: np.ndarray) -> np.ndarray:
    """Row offsets (S + 1,) int64 of series with these lengths (S,)."""
    return np.concatenate([[0], np.cumsum(lengths, dtype=np.int64)])


def _gather(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Row indices of ``lengths[k]`` rows from ``starts[k]``, for every k, concatenated."""
    total = int(lengths.sum())
    shift = np.repeat(starts - _offsets(lengths)[:-1], lengths)
    return shift + np.arange(total)


@dataclass
class Panel:
    """Many validated time series of different lengths, stored without padding.

    With S series of lengths T_1..T_S and N = T_1 + ... + T_S rows in all:

    - ``values``: (N, C) float64, the rows of every series concatenated in the order of
      ``ids``, each series in time order; columns are the targets, then the features.
    - ``offsets``: (S + 1,) int64; series k is ``values[offsets[k]:offsets[k + 1]]``.
    - ``ids``: the S series names, distinct.
    - ``time``: (N,) timestamps of every row, or None when the data has none.
    - ``source``: where it came from, for messages.

    Example:
        >>> import tempfile
        >>> folder = tempfile.TemporaryDirectory()
        >>> path = Path(folder.name) / "sales.csv"
        >>> _ = path.write_text("store,date,sales\\nb,2024-01-01,4\\na,2024-01-01,1\\n"
        ...                     "b,2024-01-02,5\\na,2024-01-02,2\\na,2024-01-03,3\\n")
        >>> panel = read_long(path, id_column="store", target="sales")
        >>> len(panel), panel.ids, panel.lengths.tolist()
        (2, ['b', 'a'], [2, 3])
        >>> panel.series(1).target_values[:, 0].tolist()
        [1.0, 2.0, 3.0]
        >>> train, test = panel.split_last(1)
        >>> train.lengths.tolist(), test.values[:, 0].tolist()
        ([1, 2], [5.0, 3.0])
    """

    values: np.ndarray
    offsets: np.ndarray
    ids: list[str]
    targets: list[str]
    features: list[str] = field(default_factory=list)
    time: pd.DatetimeIndex | None = None
    source: str = "<memory>"

    def __post_init__(self) -> None:
        self.values = np.asarray(self.values, dtype=np.float64)
        self.offsets = np.asarray(self.offsets, dtype=np.int64)
        self.ids = [str(i) for i in self.ids]
        check_table(self.values, self.targets, self.features, self.time)
        if (len(self.offsets) != len(self.ids) + 1 or self.offsets[0] != 0
                or self.offsets[-1] != len(self.values) or np.any(np.diff(self.offsets) < 0)):
            raise ValueError(f"offsets {self.offsets} do not split {len(self.values)} rows into "
                             f"{len(self.ids)} series")
        if len(set(self.ids)) != len(self.ids):
            raise ValueError("series ids are not distinct")

    def __len__(self) -> int:
        """The number of series S."""
        return len(self.ids)

    @property
    def columns(self) -> list[str]:
        """All column names in the order of ``values``."""
        return [*self.targets, *self.features]

    @property
    def lengths(self) -> np.ndarray:
        """Rows per series, (S,) int64."""
        return np.diff(self.offsets)

    def series(self, k: int) -> Series:
        """Series k as a `Series` whose values are a view of this panel's (no copy)."""
        start, stop = self.offsets[k], self.offsets[k + 1]
        time = None if self.time is None else self.time[start:stop]
        return Series(self.values[start:stop], self.targets, self.features, time,
                      f"{self.source}, series {self.ids[k]!r}")

    def _take(self, keep: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> Panel:
        """The series where ``keep`` (S,) holds, each ``lengths[k]`` rows from row ``starts[k]``
        (absolute rows of ``values``)."""
        starts, lengths = starts[keep], lengths[keep]
        rows = _gather(starts, lengths)
        time = None if self.time is None else self.time[rows]
        ids = [i for i, kept in zip(self.ids, keep, strict=True) if kept]
        return Panel(self.values[rows], _offsets(lengths), ids, self.targets, self.features,
                     time, self.source)

    def slice_each(self, start: int | None = None, stop: int | None = None) -> Panel:
        """Rows ``start:stop`` of every series (Python slice rules per series, negative counts
        from each series' end) as a new panel; a series may come out empty."""
        lengths = self.lengths
        bounds = [slice(start, stop).indices(int(n))[:2] for n in lengths]
        first, last = np.array(bounds, dtype=np.int64).reshape(-1, 2).T
        keep = np.ones(len(self), dtype=bool)
        return self._take(keep, self.offsets[:-1] + first, np.maximum(last - first, 0))

    def split_last(self, n: int) -> tuple[Panel, Panel]:
        """(train, test): the test panel holds the last ``n`` rows of every series, the train
        panel the rows before them (``--test-size N`` with ``--id``).

        Every series must have more than ``n`` rows; an `InputError` names the first that has
        not.
        """
        if n < 1:
            raise InputError(f"--test-size {n} must be at least 1")
        short = np.flatnonzero(self.lengths <= n)
        if len(short):
            k = int(short[0])
            raise InputError(
                f"--test-size {n} leaves no training rows in series {self.ids[k]!r} of "
                f"{self.source}, which has {self.lengths[k]} ({len(short)} such series); "
                "choose a smaller --test-size"
            )
        return self.slice_each(None, -n), self.slice_each(-n, None)

    def drop_short(self, min_rows: int) -> tuple[Panel, list[str]]:
        """(panel of the series with at least ``min_rows`` rows, ids of those dropped).

        For series too short for the lookback: the caller reports how many were dropped. An
        `InputError` when none is left.
        """
        keep = self.lengths >= min_rows
        if not keep.any():
            longest = int(np.argmax(self.lengths))
            raise InputError(
                f"no series of {self.source} has {min_rows} rows; the longest, "
                f"{self.ids[longest]!r}, has {self.lengths[longest]}: use a shorter lookback"
            )
        dropped = [i for i, kept in zip(self.ids, keep, strict=True) if not kept]
        return self._take(keep, self.offsets[:-1], self.lengths), dropped


def _check_options(fill: str | None, sep: str | None, decimal: str | None) -> str | None:
    """Validate the options shared with `read_series`; the separator as `check_sep` gives it."""
    if fill is not None and fill not in FILL_POLICIES:
        raise InputError(f"--fill {fill!r} is not known; use one of {', '.join(FILL_POLICIES)}")
    if decimal is not None and decimal not in DECIMALS:
        raise InputError(f"--decimal {decimal!r} is not known; use '.' or ','")
    return check_sep(sep)


def _open(path: Path, sep: str | None, decimal: str | None, needed: list[str]
          ) -> tuple[str, str, list[str], Iterator[pd.DataFrame], pd.DataFrame]:
    """(separator, decimal mark, header, the remaining chunks, the first chunk) of a CSV file, as
    `read_series` detects them; a header split by the wrong separator is refused when a
    ``needed`` column is not in it."""
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    sample = _sample(path)
    sep = sep or detect_sep(sample)
    decimal = decimal or _detect_decimal(sample, sep)
    header = [c.strip() for c in next(csv.reader(io.StringIO(sample, newline=""), delimiter=sep),
                                      [])]
    if not set(needed) <= set(header):
        refuse_split_header(path, header, sep)  # before pandas fails on the rows
    chunks = _chunks(path, sep)
    frame = next(chunks)
    if len(frame) == 0:
        raise InputError(f"{path} has a header but no data rows")
    return sep, decimal, header, chunks, frame


def _available(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c and not c.startswith("Unnamed:")]


def _with_text(chunks: Iterator[pd.DataFrame], column: str,
               sink: list[pd.Series]) -> Iterator[pd.DataFrame]:
    """Pass the chunks on, keeping each one's stripped ``column`` in ``sink``: the id column
    is read in the same pass as the numbers."""
    for chunk in chunks:
        sink.append(chunk[column].str.strip())
        yield chunk


def _read_ids(parts: list[pd.Series], column: str, path: Path) -> np.ndarray:
    ids = pd.concat(parts, ignore_index=True).to_numpy(dtype=object)
    empty = np.flatnonzero(ids == "")
    if len(empty):
        raise InputError(f"{path}, line {_line(int(empty[0]))}, column {column!r}: the series "
                         f"id is empty ({len(empty)} such cell(s)); fill or remove those rows")
    return ids


def _fill_each(values: np.ndarray, offsets: np.ndarray, rows: np.ndarray, ids: list[str],
               columns: list[str] | None, fill: str | None, path: Path) -> np.ndarray:
    """Fill empty cells series by series, never across series; returns the rows (N,) to keep.

    ``values`` (N, C) is filled in place; without ``fill`` the missing cell of the earliest
    file line is an `InputError`. ``columns`` names the file's columns for messages; None:
    each series is its own file column, named by its id (a wide file).
    """
    missing = np.isnan(values)
    if not missing.any():
        return np.ones(len(values), dtype=bool)
    if fill is None:
        cells = np.argwhere(missing)
        row, col = cells[np.argmin(rows[cells[:, 0]])]
        k = int(np.searchsorted(offsets, row, side="right")) - 1
        name = ids[k] if columns is None else columns[col]
        raise InputError(
            f"{path}, line {_line(int(rows[row]))}, column {name!r}: missing value in "
            f"series {ids[k]!r} ({int(missing.sum())} missing in all); choose --fill ffill, "
            "interpolate or drop"
        )
    keep = np.ones(len(values), dtype=bool)
    gappy = np.searchsorted(offsets, np.flatnonzero(missing.any(axis=1)), side="right") - 1
    for k in np.unique(gappy):
        start, stop = offsets[k], offsets[k + 1]
        names = [ids[k]] if columns is None else columns
        keep[start:stop] = fill_rows(values[start:stop], rows[start:stop], names, fill,
                                        f"{path}, series {ids[k]!r}")
    return keep


def _finish(values: np.ndarray, offsets: np.ndarray, rows: np.ndarray,
            stamps: pd.DatetimeIndex | None, ids: list[str], targets: list[str],
            features: list[str], fill: str | None, path: Path, wide: bool = False) -> Panel:
    """The panel of grouped, time-sorted rows once their empty cells are filled per series;
    ``wide``: each series was a file column named by its id."""
    columns = None if wide else [*targets, *features]
    keep = _fill_each(values, offsets, rows, ids, columns, fill, path)
    if not keep.all():
        offsets = _offsets(np.add.reduceat(keep.astype(np.int64), offsets[:-1]))
        values = values[keep]
        stamps = None if stamps is None else stamps[keep]
    return Panel(values, offsets, ids, targets, features, stamps, str(path))


def read_long(
    path: str | Path,
    id_column: str,
    target: str | list[str],
    time: str | None = None,
    features: list[str] | None = None,
    fill: str | None = None,
    sep: str | None = None,
    decimal: str | None = None,
) -> Panel:
    """Read a long CSV file (one row per series and time) into a `Panel`.

    Args:
        path: the CSV file (header row; extra columns are ignored). CSV only: Parquet would
            need ``pyarrow``, which is not a dependency.
        id_column: the column naming the series of each row.
        target: the column(s) to forecast; ``"all"``: every column but the id and time columns.
        time: the time column; None looks for one named date/time/datetime/timestamp/ds,
            ``"none"`` keeps each series' rows in file order.
        features: extra input columns; ``["all"]``: every column that is neither id, target
            nor time.
        fill: empty cells: None (an error), ``"ffill"``, ``"interpolate"`` or ``"drop"``,
            applied within each series, never across series.
        sep, decimal: as in `read_series` (None detects them).

    Rows may be in any order and interleaved; series keep the order of their first row in the
    file and each is sorted by time (a warning says so when a series' own rows were not in
    time order) before its empty cells are filled. Duplicate (id, time) rows are an
    `InputError` naming the id, the time and both lines; non-numeric cells name file, line,
    column and value; lines are the file's (the header is line 1), also after sorting.

    Returns:
        a Panel with S series (one per id), values (N, len(targets) + len(features)).
    """
    path = Path(path)
    sep = _check_options(fill, sep, decimal)
    targets = [target] if isinstance(target, str) else list(target)
    features = list(features or [])
    if not targets:
        raise InputError("no target column given; name one with --target")
    named = [id_column, *targets, *features, *([time] if time not in (None, "none") else [])]
    sep, decimal, _, chunks, frame = _open(path, sep, decimal, [n for n in named if n != "all"])
    available = _available(frame)
    time_column = _find_time_column(frame) if time is None else (None if time == "none" else time)
    for name in [id_column, *([time_column] if time_column else [])]:
        if name not in frame.columns:
            raise InputError(f"{path} has no column {name!r}; available columns: {available}")
    if targets == ["all"]:
        targets = [c for c in available if c not in (id_column, time_column)]
    if features == ["all"]:
        features = [c for c in available if c not in (id_column, time_column, *targets)]
    for name in [*targets, *features]:
        if name not in frame.columns:
            raise InputError(f"{path} has no column {name!r}; available columns: {available}")
    overlap = set(targets) & set(features)
    if overlap:
        raise InputError(f"columns {sorted(overlap)} are given both as target and as feature")
    if id_column in (*targets, *features, time_column):
        raise InputError(f"the id column {id_column!r} cannot also be a target, feature or time")

    parts: list[pd.Series] = []
    values, stamps = _read_values(_with_text(chain([frame], chunks), id_column, parts),
                                  [*targets, *features], time_column, path, sep, decimal)
    codes, uniques = pd.factorize(_read_ids(parts, id_column, path))
    grouped = np.argsort(codes, kind="stable")
    rows = grouped  # the data row of each value row, for messages: `_line(rows[i])`
    if stamps is not None:
        rows = np.lexsort((stamps.asi8, codes))
        if not np.array_equal(rows, grouped):
            warnings.warn(f"{path}: rows of a series are not in time order; sorted by "
                          f"{time_column!r} within each {id_column!r}", stacklevel=2)
        stamps = stamps[rows]
    values, codes = values[rows], codes[rows]
    ids = [str(i) for i in uniques]
    if stamps is not None:
        same = np.flatnonzero((np.diff(codes) == 0) & (np.diff(stamps.asi8) == 0))
        if len(same):
            j = int(same[0])
            raise InputError(
                f"{path}: series {ids[codes[j]]!r} has time {stamps[j]} twice, at lines "
                f"{_line(int(rows[j]))} and {_line(int(rows[j + 1]))} ({len(same)} duplicate "
                "row(s) in all); remove or aggregate the duplicates"
            )
    offsets = _offsets(np.bincount(codes, minlength=len(ids)))
    return _finish(values, offsets, rows, stamps, ids, targets, features, fill, path)


def read_wide(
    path: str | Path,
    time: str | None = None,
    fill: str | None = None,
    sep: str | None = None,
    decimal: str | None = None,
) -> Panel:
    """Read a wide CSV file (one column per series, one row per time) into a `Panel`.

    Args:
        path: the CSV file; every column but the time column is a series, named by its header.
        time: the time column; None looks for one named date/time/datetime/timestamp/ds,
            ``"none"``: there is none and rows are in time order.
        fill: empty cells inside a series: None (an error), ``"ffill"``, ``"interpolate"`` or
            ``"drop"``, within each series.
        sep, decimal: as in `read_series` (None detects them).

    Empty cells before a column's first value or after its last mean that series starts later
    or ends earlier; only those inside are gaps. Rows are sorted by time first (with a warning);
    duplicate times and non-numeric cells are `InputError`s naming file, line, column and value.

    Returns:
        a Panel with one series per column and the single target `VALUE`, values (N, 1).
    """
    path = Path(path)
    sep = _check_options(fill, sep, decimal)
    sep, decimal, header, chunks, frame = _open(path, sep, decimal,
                                                [time] if time not in (None, "none") else [])
    available = _available(frame)
    time_column = _find_time_column(frame) if time is None else (None if time == "none" else time)
    if time_column is not None and time_column not in frame.columns:
        raise InputError(f"{path} has no time column {time_column!r}; available: {available}")
    ids = [c for c in available if c != time_column]
    repeated = [c for k, c in enumerate(header) if c and c in header[:k]]
    if repeated:  # pandas would rename the second to x.1
        raise InputError(f"{path}: the column {repeated[0]!r} appears more than once; give "
                         "every series its own name")
    if not ids:
        raise InputError(f"{path} has no series columns besides the time column; "
                         f"available: {available}")
    table, stamps = _read_values(chain([frame], chunks), ids, time_column, path, sep, decimal)
    order = np.arange(len(table))  # the data row of each table row, for messages
    if stamps is not None:
        if not stamps.is_monotonic_increasing:
            warnings.warn(f"{path}: rows are not in time order; sorted by {time_column!r}",
                          stacklevel=2)
            order = np.argsort(stamps.asi8, kind="stable")
            table, stamps = table[order], stamps[order]
        duplicated = np.flatnonzero(stamps.duplicated())
        if len(duplicated):
            j = int(duplicated[0])
            raise InputError(
                f"{path}, line {_line(int(order[j]))}, column {time_column!r}: timestamp "
                f"{stamps[j]} appears more than once; remove or aggregate the duplicates"
            )
    present = ~np.isnan(table)  # (T, S)
    empty = np.flatnonzero(~present.any(axis=0))
    if len(empty):
        raise InputError(f"{path}, column {ids[empty[0]]!r} has no values; leave it out")
    first = present.argmax(axis=0)
    lengths = len(table) - present[::-1].argmax(axis=0) - first
    rows = _gather(first, lengths)  # table rows, series after series
    columns = np.repeat(np.arange(len(ids)), lengths)
    values = table[rows, columns][:, None]
    stamps = None if stamps is None else stamps[rows]
    return _finish(values, _offsets(lengths), order[rows], stamps, ids, [VALUE], [], fill, path,
                   wide=True)


def _read_m4_file(path: Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(ids, the id's data row per series, values) of one M4 file as a panel's parts."""
    _, _, _, chunks, frame = _open(path, ",", ".", [])
    columns = list(frame.columns)
    if len(columns) < 2:
        raise InputError(f"{path} has {len(columns)} column(s); an M4 file has the series id "
                         "and then its values")
    parts: list[pd.Series] = []
    table, _ = _read_values(_with_text(chain([frame], chunks), columns[0], parts), columns[1:],
                            None, path, ",", ".")
    ids = _read_ids(parts, columns[0], path)
    present = ~np.isnan(table)  # (S, T_max)
    lengths = table.shape[1] - present[:, ::-1].argmax(axis=1)
    lengths[~present.any(axis=1)] = 0
    empty = np.flatnonzero(lengths == 0)
    if len(empty):
        raise InputError(f"{path}, line {_line(int(empty[0]))}: series {ids[empty[0]]!r} has no "
                         "values; remove its row")
    inside = present | (np.arange(table.shape[1]) >= lengths[:, None])  # empty cells at the end
    if not inside.all():
        row, col = np.argwhere(~inside)[0]
        raise InputError(
            f"{path}, line {_line(int(row))}, column {columns[col + 1]!r}: missing value in "
            f"series {ids[row]!r}; an M4 series has values from its first column and ends in "
            "empty cells"
        )
    return [str(i) for i in ids], table[present], lengths


def read_m4(train_path: str | Path,
            test_path: str | Path | None = None) -> tuple[Panel, Panel | None]:
    """Read M4 competition files (one row per series) into panels.

    Args:
        train_path: e.g. ``Hourly-train.csv``: header ``"V1","V2",...``; the first cell of a
            row is the series id, then its values in time order, quoted; shorter series end in
            empty cells. There are no timestamps.
        test_path: the matching ``*-test.csv`` (the horizon's values), or None.

    Returns:
        (train, test or None): panels with the single target `VALUE` and no time; the test
        panel's ids are the train panel's, in the same order (otherwise an `InputError`).
    """
    train_path = Path(train_path)
    ids, values, lengths = _read_m4_file(train_path)
    train = Panel(values[:, None], _offsets(lengths), ids, [VALUE], source=str(train_path))
    if test_path is None:
        return train, None
    test_path = Path(test_path)
    test_ids, values, lengths = _read_m4_file(test_path)
    if test_ids != ids:
        known = set(ids)
        row = next((k for k, (a, b) in enumerate(zip(test_ids, ids, strict=False)) if a != b),
                   min(len(ids), len(test_ids)))
        if row < len(test_ids) and test_ids[row] not in known:
            why = f"series {test_ids[row]!r} is not in {train_path}"
        elif row < len(test_ids) and row < len(ids):
            why = f"series {test_ids[row]!r} is where {train_path} has {ids[row]!r}"
        else:
            why = f"{len(test_ids)} series for the {len(ids)} of {train_path}"
        raise InputError(f"{test_path}, line {_line(row)}: {why}; the test file must list the "
                         "train file's series in the same order")
    return train, Panel(values[:, None], _offsets(lengths), ids, [VALUE], source=str(test_path))
