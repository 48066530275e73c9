"""Read many series at once (a panel) with the care of `read_series`: long, wide and M4 files.

A long file may also give each series static covariates, past covariates (known up to each
forecast origin) and future covariates (known ahead, e.g. prices or holidays), and rows beyond
the observed targets that hold the future covariates of the horizon (`read_long_with_future`,
checked by `check_future`). Long files may be CSV or Parquet.
"""

from __future__ import annotations

import csv
import io
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from itertools import chain, combinations
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rnnkit.data.series import (
    DECIMALS,
    FILL_POLICIES,
    Series,
    Table,
    _chunks,
    _detect_decimal,
    _find_time_column,
    _line,
    _parse_numbers,
    _parse_time,
    _read_values,
    _sample,
    check_sep,
    detect_sep,
    fill_rows,
    infer_frequency,
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
class Panel(Table):
    """Many validated time series of different lengths, stored without padding.

    With S series of lengths T_1..T_S and N = T_1 + ... + T_S rows in all:

    - ``values``: (N, C) float64, the rows of every series concatenated in the order of
      ``ids``, each series in time order; columns are the targets, then the features.
    - ``offsets``: (S + 1,) int64; series k is ``values[offsets[k]:offsets[k + 1]]``.
    - ``ids``: the S series names, distinct.
    - ``time``: (N,) timestamps of every row, or None when the data has none.
    - ``source``: where it came from, for messages.
    - ``past``, ``future``: the feature names by role, ``features == past + future``: past
      covariates are known up to each forecast origin, future covariates also over the horizon.
      Left empty, every feature is a past covariate.
    - ``static``: (S, len(static_names)) float64, one row of static covariates per series
      (None: no static covariates, (S, 0)).
    - ``static_names``: the static columns; ``static_levels``: for each categorical one, its
      levels, the column of ``static`` then holding the codes 0..k-1 into them.

    Example:
        >>> path = Path("sales.csv")  # in the current folder
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
    past: list[str] = field(default_factory=list)
    future: list[str] = field(default_factory=list)
    static: np.ndarray | None = None
    static_names: list[str] = field(default_factory=list)
    static_levels: dict[str, list[str]] = field(default_factory=dict)
    time_column: str | None = None  # the name of the file's time column, if any

    def __post_init__(self) -> None:
        self.values = np.asarray(self.values, dtype=np.float64)
        self.offsets = np.asarray(self.offsets, dtype=np.int64)
        self.ids = [str(i) for i in self.ids]
        self.check_table()
        if not self.past and not self.future:
            self.past = list(self.features)
        if [*self.past, *self.future] != list(self.features):
            raise ValueError(f"features {self.features} are not past {self.past} followed by "
                             f"future {self.future}")
        if self.static is None:
            self.static = np.zeros((len(self.ids), len(self.static_names)))
        self.static = np.asarray(self.static, dtype=np.float64)
        if self.static.shape != (len(self.ids), len(self.static_names)):
            raise ValueError(f"static of shape {self.static.shape} does not match "
                             f"{len(self.ids)} series and {len(self.static_names)} static names")
        if not set(self.static_levels) <= set(self.static_names):
            raise ValueError(f"static_levels names {sorted(self.static_levels)}, not all "
                             f"among static_names {self.static_names}")
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
        return replace(self, values=self.values[rows], offsets=_offsets(lengths), ids=ids,
                       time=time, static=self.static[keep])

    def select(self, ids: list[str]) -> Panel:
        """The series named ``ids`` (in this panel's order); an unknown id is a `KeyError`."""
        missing = sorted(set(ids) - set(self.ids))
        if missing:
            raise KeyError(f"series {missing[:5]} are not in {self.source}")
        keep = np.isin(np.asarray(self.ids, dtype=object), list(ids))
        return self._take(keep, self.offsets[:-1], self.lengths)

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


def _with_text(chunks: Iterator[pd.DataFrame],
               sinks: dict[str, list[pd.Series]]) -> Iterator[pd.DataFrame]:
    """Pass the chunks on, keeping each one's stripped column ``name`` in ``sinks[name]``: the
    id (and static) columns are read in the same pass as the numbers."""
    for chunk in chunks:
        for name, sink in sinks.items():
            sink.append(chunk[name].str.strip())
        yield chunk


def _joined(parts: list[pd.Series]) -> np.ndarray:
    """The text cells of a column's chunks as one object array."""
    return pd.concat(parts, ignore_index=True).to_numpy(dtype=object)


def _read_ids(ids: np.ndarray, column: str, path: Path) -> np.ndarray:
    empty = np.flatnonzero(ids == "")
    if len(empty):
        raise InputError(f"{path}, line {_line(int(empty[0]))}, column {column!r}: the series "
                         f"id is empty ({len(empty)} such cell(s)); fill or remove those rows")
    return ids


def _read_parquet(path: Path) -> pd.DataFrame:
    """The whole Parquet file as a frame (Parquet has no row chunks to stream like a CSV)."""
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    try:
        table = pd.read_parquet(path)
    except (OSError, ValueError) as err:  # pyarrow's ArrowInvalid is a ValueError
        raise InputError(f"{path} is not a readable Parquet file: {err}") from err
    table.columns = [str(c).strip() for c in table.columns]
    if len(table) == 0:
        raise InputError(f"{path} has columns but no rows")
    return table


def _text(column: pd.Series) -> np.ndarray:
    """A typed column's cells as stripped text, empty where null: the id and static columns of
    a Parquet file, read as those of a CSV."""
    return column.astype("string").fillna("").str.strip().to_numpy(dtype=object)


def _parquet_values(table: pd.DataFrame, columns: list[str], time_column: str | None,
                    path: Path) -> tuple[np.ndarray, pd.DatetimeIndex | None]:
    """`_read_values` for a Parquet table: numeric columns as they are (nulls NaN), text
    columns parsed as a CSV's cells, with the same errors."""
    values = np.empty((len(table), len(columns)))
    for k, name in enumerate(columns):
        column = table[name]
        if pd.api.types.is_numeric_dtype(column):
            values[:, k] = column.to_numpy(dtype=np.float64, na_value=np.nan)
            continue
        values[:, k], bad = _parse_numbers(pd.Series(_text(column), dtype=object))
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise InputError(
                f"{path}, line {_line(row)}, column {name!r}: {column.iloc[row]!r} is not a "
                f"number ({int(bad.sum())} such cell(s) in that column, of type {column.dtype});"
                " fix or remove those rows"
            )
    if time_column is None:
        return values, None
    stamps = table[time_column]
    if pd.api.types.is_datetime64_any_dtype(stamps) and not stamps.isna().any():
        return values, pd.DatetimeIndex(stamps)
    return values, _parse_time(pd.Series(_text(stamps), dtype=object), time_column, str(path))


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
            features: list[str], fill: str | None, path: Path, wide: bool = False,
            **roles: Any) -> Panel:
    """The panel of grouped, time-sorted rows once their empty cells are filled per series;
    ``wide``: each series was a file column named by its id; ``roles``: the Panel's covariate
    fields (past, future, static...)."""
    columns = None if wide else [*targets, *features]
    keep = _fill_each(values, offsets, rows, ids, columns, fill, path)
    if not keep.all():
        offsets = _offsets(np.add.reduceat(keep.astype(np.int64), offsets[:-1]))
        values = values[keep]
        stamps = None if stamps is None else stamps[keep]
    return Panel(values, offsets, ids, targets, features, stamps, str(path), **roles)


def _resolve_roles(head: pd.DataFrame, path: Path, id_column: str, time_column: str | None,
                   roles: dict[str, list[str]]) -> list[list[str]]:
    """The columns of each role (target, past, future, static, in ``roles``' order; the past
    role named "feature" or "past" as the user gave it), ``["all"]`` resolved for the target
    and past roles, once every column is checked to exist and to have a single role."""
    available = _available(head)
    for name in [id_column, *([time_column] if time_column else [])]:
        if name not in head.columns:
            raise InputError(f"{path} has no column {name!r}; available columns: {available}")
    target, past, future, static = roles
    fixed = [id_column, time_column, *roles[future], *roles[static]]
    if roles[target] == ["all"]:
        roles[target] = [c for c in available if c not in (*fixed, *roles[past])]
    if roles[past] == ["all"]:
        roles[past] = [c for c in available if c not in (*fixed, *roles[target])]
    for name in chain(*roles.values()):
        if name not in head.columns:
            raise InputError(f"{path} has no column {name!r}; available columns: {available}")
    for a, b in combinations(roles, 2):
        overlap = set(roles[a]) & set(roles[b])
        if overlap:
            raise InputError(f"columns {sorted(overlap)} are given both as {a} and as {b}")
    if id_column in (*chain(*roles.values()), time_column):
        raise InputError(f"the id column {id_column!r} cannot also be a target, feature or time")
    return list(roles.values())


def _read_static(text: dict[str, np.ndarray], codes: np.ndarray, ids: list[str], path: Path,
                 decimal: str) -> tuple[np.ndarray, dict[str, list[str]]]:
    """(static (S, len(text)) float64, the levels of the categorical columns) from the static
    columns' text cells (N,) in file order, ``codes`` (N,) the series of each row.

    A column is categorical when any cell is not a number; its values are then codes into its
    sorted levels. Empty cells and a value that changes within a series are `InputError`s.
    """
    first = np.unique(codes, return_index=True)[1]  # (S,) each series' first data row
    static = np.empty((len(ids), len(text)))
    levels: dict[str, list[str]] = {}
    for k, (name, cells) in enumerate(text.items()):
        empty = np.flatnonzero(cells == "")
        if len(empty):
            j = int(empty[0])
            raise InputError(
                f"{path}, line {_line(j)}, column {name!r}: the static value of series "
                f"{ids[codes[j]]!r} is empty ({len(empty)} such cell(s)); a static column "
                "needs its value on every row of the series"
            )
        numbers, bad = _parse_numbers(pd.Series(cells, dtype=object), decimal)
        if bad.any():
            names, keys = np.unique(cells.astype(str), return_inverse=True)
            levels[name] = names.tolist()
        else:
            keys = numbers
        changed = np.flatnonzero(keys != keys[first[codes]])
        if len(changed):
            j = int(changed[0])
            i = int(first[codes[j]])
            raise InputError(
                f"{path}, column {name!r}: series {ids[codes[j]]!r} has the static value "
                f"{cells[i]!r} at line {_line(i)} but {cells[j]!r} at line {_line(j)}; a static "
                "column holds one value per series: correct the file, or give the column as a "
                "past or future covariate if it changes over time"
            )
        static[:, k] = keys[first]
    return static, levels


def _split_future(values: np.ndarray, offsets: np.ndarray, rows: np.ndarray, ids: list[str],
                  targets: list[str], future: list[str], path: Path) -> np.ndarray:
    """The mask (N,) of each series' known-future rows: those after its last row with a
    target value. ``values`` (N, targets + past + future) holds the series grouped and in
    time order; every known-future row must give every future covariate."""
    index = np.arange(len(values))
    observed = ~np.isnan(values[:, : len(targets)]).all(axis=1)
    last = np.maximum.reduceat(np.where(observed, index, -1), offsets[:-1])  # (S,)
    blind = np.flatnonzero(last < offsets[:-1])
    if len(blind):
        raise InputError(f"{path}: series {ids[blind[0]]!r} has no observed target: {targets} "
                         "is empty on every row; give its history or remove the series")
    ahead = index > np.repeat(last, np.diff(offsets))
    known = values[ahead, values.shape[1] - len(future):]  # (rows ahead, future)
    if np.isnan(known).any():
        cells = np.argwhere(np.isnan(known))
        at = np.flatnonzero(ahead)[cells[:, 0]]
        j = int(np.argmin(rows[at]))
        row, name = int(at[j]), future[cells[j, 1]]
        k = int(np.searchsorted(offsets, row, side="right")) - 1
        raise InputError(
            f"{path}, line {_line(int(rows[row]))}, column {name!r}: series {ids[k]!r} has "
            f"no value for the future covariate {name!r} in a row after its last observed "
            f"target ({int(np.isnan(known).sum())} such cell(s)); each such row gives the "
            "future covariates of one step ahead: fill them in or remove the row"
        )
    return ahead


def _read_long(path: str | Path, id_column: str, target: str | list[str], time: str | None,
               features: list[str] | None, fill: str | None, sep: str | None,
               decimal: str | None, static: list[str] | None, past: list[str] | None,
               future: list[str] | None, future_rows: bool) -> tuple[Panel, Panel | None]:
    """`read_long`, and with ``future_rows`` the panel of the known-future rows."""
    path = Path(path)
    sep = _check_options(fill, sep, decimal)
    targets = [target] if isinstance(target, str) else list(target)
    if not targets:
        raise InputError("no target column given; name one with --target")
    if features and past:
        raise InputError(f"past covariates given twice, as features {features} and as past "
                         f"{past}; give them once")
    roles = {"target": targets, "feature" if features else "past": list(features or past or []),
             "future": list(future or []), "static": list(static or [])}
    parquet = path.suffix.lower() == ".parquet"
    if parquet:
        head, decimal = _read_parquet(path), "."
    else:
        named = [id_column, *chain(*roles.values()),
                 *([time] if time not in (None, "none") else [])]
        sep, decimal, _, chunks, head = _open(path, sep, decimal,
                                              [n for n in named if n != "all"])
    time_column = _find_time_column(head) if time is None else (None if time == "none" else time)
    targets, past, future, static = _resolve_roles(head, path, id_column, time_column, roles)

    columns = [*targets, *past, *future]
    if parquet:
        values, stamps = _parquet_values(head, columns, time_column, path)
        text = {name: _text(head[name]) for name in [id_column, *static]}
    else:
        parts: dict[str, list[pd.Series]] = {name: [] for name in [id_column, *static]}
        values, stamps = _read_values(_with_text(chain([head], chunks), parts), columns,
                                      time_column, path, sep, decimal)
        text = {name: _joined(cells) for name, cells in parts.items()}
    codes, uniques = pd.factorize(_read_ids(text.pop(id_column), id_column, path))
    ids = [str(i) for i in uniques]
    static_values, levels = _read_static(text, codes, ids, path, decimal)
    grouped = np.argsort(codes, kind="stable")
    rows = grouped  # the data row of each value row, for messages: `_line(rows[i])`
    if stamps is not None:
        rows = np.lexsort((stamps.asi8, codes))
        if not np.array_equal(rows, grouped):
            warnings.warn(f"{path}: rows of a series are not in time order; sorted by "
                          f"{time_column!r} within each {id_column!r}", stacklevel=3)
        stamps = stamps[rows]
    values, codes = values[rows], codes[rows]
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
    fields = {"past": past, "future": future, "static": static_values, "static_names": static,
              "static_levels": levels, "time_column": time_column}
    ahead_panel = None
    if future_rows:
        ahead = _split_future(values, offsets, rows, ids, targets, future, path)
        known = values[ahead]
        known[:, : len(targets) + len(past)] = np.nan  # unknown beyond the last observation
        ahead_panel = Panel(known, _offsets(np.bincount(codes[ahead], minlength=len(ids))), ids,
                            targets, [*past, *future],
                            None if stamps is None else stamps[ahead], str(path), **fields)
        values, rows, codes = values[~ahead], rows[~ahead], codes[~ahead]
        stamps = None if stamps is None else stamps[~ahead]
        offsets = _offsets(np.bincount(codes, minlength=len(ids)))
    panel = _finish(values, offsets, rows, stamps, ids, targets, [*past, *future], fill, path,
                    **fields)
    return panel, ahead_panel


def read_long(
    path: str | Path,
    id_column: str,
    target: str | list[str],
    time: str | None = None,
    features: list[str] | None = None,
    fill: str | None = None,
    sep: str | None = None,
    decimal: str | None = None,
    *,
    static: list[str] | None = None,
    past: list[str] | None = None,
    future: list[str] | None = None,
) -> Panel:
    """Read a long CSV or Parquet file (one row per series and time) into a `Panel`.

    Args:
        path: the CSV file (header row; extra columns are ignored), or a ``.parquet`` file
            (its numeric columns are taken as they are, text cells parsed as a CSV's).
        id_column: the column naming the series of each row.
        target: the column(s) to forecast; ``"all"``: every column but the id and time columns
            (and the covariates).
        time: the time column; None looks for one named date/time/datetime/timestamp/ds,
            ``"none"`` keeps each series' rows in file order.
        features: past covariates, the older name of ``past`` (give one of the two);
            ``["all"]``: every column that has no other role.
        fill: empty cells: None (an error), ``"ffill"``, ``"interpolate"`` or ``"drop"``,
            applied within each series, never across series.
        sep, decimal: as in `read_series` (None detects them); not used for Parquet.
        static: columns holding one value per series (its rows all repeat it), e.g. a store's
            region or size: `Panel.static`. A column with any non-numeric cell is categorical,
            stored as codes into its sorted levels (`Panel.static_levels`).
        past: numeric covariates known up to each forecast origin (``["all"]`` as features).
        future: numeric covariates known also over the horizon (prices, holidays); to give
            their horizon values, see `read_long_with_future`.

    Rows may be in any order and interleaved; series keep the order of their first row in the
    file and each is sorted by time (a warning says so when a series' own rows were not in
    time order) before its empty cells are filled. Duplicate (id, time) rows are an
    `InputError` naming the id, the time and both lines; non-numeric cells name file, line,
    column and value; lines are the file's (the header is line 1), also after sorting. A
    Parquet file's rows are numbered the same way, as if written as CSV: row 1 is line 2.
    A static value that changes within a series, or an empty one, is an `InputError` naming
    the series and lines.

    Returns:
        a Panel with S series (one per id), values (N, len(targets) + len(past) +
        len(future)): its features are ``past + future``; ``static`` (S, len(static)).

    Example:
        >>> path = Path("sales.csv")  # in the current folder
        >>> _ = path.write_text("store,region,date,sales,price\\n"
        ...                     "a,north,2024-01-01,1,9.5\\na,north,2024-01-02,2,9\\n"
        ...                     "b,south,2024-01-01,4,3\\n")
        >>> panel = read_long(path, "store", "sales", static=["region"], future=["price"])
        >>> panel.features, panel.future, panel.static.tolist(), panel.static_levels
        (['price'], ['price'], [[0.0], [1.0]], {'region': ['north', 'south']})
    """
    return _read_long(path, id_column, target, time, features, fill, sep, decimal, static,
                      past, future, future_rows=False)[0]


def read_long_with_future(path: str | Path, id_column: str, target: str | list[str],
                          **options: Any) -> tuple[Panel, Panel]:
    """`read_long` (the same arguments; ``options`` by name: time, features, fill, sep,
    decimal, static, past, future) for a file that also gives the future covariates over the
    horizon: (panel of the observed rows, panel of the known-future rows).

    After each series' last observed target, the file may hold rows whose target cell is
    empty but whose ``future`` covariates are given (NeuralForecast's ``futr_df``, darts'
    ``future_covariates``): one row per step ahead. Per series, after sorting by time, the
    trailing rows whose every target is empty are split off into the second panel; an empty
    target before the last observed one is a gap, filled by ``fill`` as in `read_long`. The
    second panel has the same ids, columns, static rows and roles; its targets and past
    covariates are NaN (unknown ahead, whatever the file holds there). An empty future
    covariate in those rows is an `InputError` naming the line and column, and a series with
    no observed target at all is one too. `check_future` then checks there are enough rows.

    Example:
        >>> path = Path("sales.csv")  # in the current folder
        >>> _ = path.write_text("store,date,sales,price\\na,2024-01-01,1,9\\n"
        ...                     "a,2024-01-02,2,8\\na,2024-01-03,,7\\na,2024-01-04,,7.5\\n")
        >>> panel, ahead = read_long_with_future(path, "store", "sales", future=["price"])
        >>> panel.lengths.tolist(), ahead.lengths.tolist(), ahead.values.tolist()
        ([2], [2], [[nan, 7.0], [nan, 7.5]])
        >>> check_future(panel, ahead, horizon=2)
    """
    known = ("time", "features", "fill", "sep", "decimal", "static", "past", "future")
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise TypeError(f"read_long_with_future() got unexpected arguments {unknown}")
    panel, ahead = _read_long(path, id_column, target, *(options.get(k) for k in known),
                              future_rows=True)
    assert ahead is not None  # future_rows=True always splits them off
    return panel, ahead


def _shown(stamps: pd.DatetimeIndex) -> list[str]:
    """Timestamps for messages: dates only when every one is at midnight."""
    dates = bool((stamps == stamps.normalize()).all())
    return [str(t.date()) if dates else str(t) for t in stamps]


def check_future(panel: Panel, future_panel: Panel, horizon: int) -> None:
    """Raise an `InputError` unless ``future_panel`` gives every series of ``panel`` the
    future covariates of the next ``horizon`` steps.

    The rule: to forecast ``horizon`` steps, each series needs at least ``horizon`` rows right
    after its last observed row, one per step, each with the target empty and every future
    column given; with timestamps, they must continue the series at its own frequency
    (`infer_frequency`) with no gaps. The message names the first series that breaks the
    rule, how many rows it has and needs, and which rows to add. Series whose frequency cannot
    be told (fewer than 3 timestamps, irregular) are checked for their number of rows only.

    Args:
        panel: the observed rows, as `read_long_with_future` returns them.
        future_panel: the known-future rows of the same series.
        horizon: the number of steps to forecast.
    """
    if horizon < 1:
        raise InputError(f"--horizon {horizon} must be at least 1")
    if future_panel.ids != panel.ids or future_panel.future != panel.future:
        raise InputError(f"{future_panel.source}: the future rows are for series "
                         f"{future_panel.ids[:5]} and future columns {future_panel.future}; "
                         f"expected {panel.ids[:5]} and {panel.future} as in {panel.source}")
    rule = (f"to forecast {horizon} step(s), every series needs at least {horizon} row(s) right "
            "after its last observed row, one per step, each with the target empty and every "
            f"future column {panel.future} given")
    short = np.flatnonzero(future_panel.lengths < horizon)
    if len(short):
        k = int(short[0])
        has = int(future_panel.lengths[k])
        after = ("" if panel.time is None else
                 f" after {_shown(panel.time[panel.offsets[k]:panel.offsets[k + 1]])[-1]}")
        others = f" ({len(short)} series fall short)" if len(short) > 1 else ""
        raise InputError(
            f"{future_panel.source}: series {panel.ids[k]!r} has {has} future row(s) but "
            f"--horizon {horizon} needs {horizon}: {rule}; add {horizon - has} row(s) to "
            f"{panel.ids[k]!r}{after}{others}"
        )
    if panel.time is None or future_panel.time is None:
        return
    for k, name in enumerate(panel.ids):
        history = panel.time[panel.offsets[k]:panel.offsets[k + 1]]
        start = future_panel.offsets[k]
        ahead = future_panel.time[start:start + horizon]
        freq = infer_frequency(history) or infer_frequency(history.append(ahead))
        if freq is None:
            continue
        expected = pd.date_range(history[-1], periods=horizon + 1, freq=freq)[1:]
        wrong = np.flatnonzero(ahead != expected)
        if len(wrong):
            j = int(wrong[0])
            last, *shown = _shown(history[-1:].append([ahead, expected]))
            got, want = shown[j], shown[horizon + j]
            raise InputError(
                f"{future_panel.source}: series {name!r}: future row {j + 1} is at {got}, but "
                f"step {j + 1} after its last observed row ({last}) at its frequency ({freq}) "
                f"is {want}: {rule}, continuing the series at its own frequency without gaps; "
                f"add (or correct) the row for {want}"
            )


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
                   wide=True, time_column=time_column)


def _read_m4_file(path: Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(ids, the id's data row per series, values) of one M4 file as a panel's parts."""
    _, _, _, chunks, frame = _open(path, ",", ".", [])
    columns = list(frame.columns)
    if len(columns) < 2:
        raise InputError(f"{path} has {len(columns)} column(s); an M4 file has the series id "
                         "and then its values")
    parts: dict[str, list[pd.Series]] = {columns[0]: []}
    table, _ = _read_values(_with_text(chain([frame], chunks), parts), columns[1:], None, path,
                            ",", ".")
    ids = _read_ids(_joined(parts[columns[0]]), columns[0], path)
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
