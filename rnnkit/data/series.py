"""Read a CSV into a validated time series, with errors that name file, line, column and value."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path

import numpy as np
import pandas as pd

from rnnkit.errors import InputError

FILL_POLICIES = ("ffill", "interpolate", "drop")
_TIME_NAMES = ("date", "time", "datetime", "timestamp", "ds")
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$")
# Rows parsed at a time: only one chunk's cells are ever held as Python strings, so reading
# costs the float array plus a few MB (every cell as a string took ~20x the float32 data).
_CHUNK_ROWS = 20_000


@dataclass
class Series:
    """A validated time series.

    ``values`` is (T, C) float64: the target columns first, then the feature columns.
    ``time`` holds the parsed timestamps (or None when the data has no time column);
    ``source`` names where it came from, for messages.
    """

    values: np.ndarray
    targets: list[str]
    features: list[str] = field(default_factory=list)
    time: pd.DatetimeIndex | None = None
    source: str = "<memory>"

    def __post_init__(self) -> None:
        self.values = np.asarray(self.values, dtype=np.float64)
        if not self.values.flags.writeable:  # e.g. pandas' copy-on-write views: torch warns
            self.values = self.values.copy()  # on read-only arrays, so take our own copy
        if self.values.ndim == 1:
            self.values = self.values[:, None]
        if self.values.shape[1] != len(self.targets) + len(self.features):
            raise ValueError(
                f"values have {self.values.shape[1]} columns but {len(self.targets)} targets and "
                f"{len(self.features)} features were named"
            )
        if self.time is not None and len(self.time) != len(self.values):
            raise ValueError(f"time has {len(self.time)} entries for {len(self.values)} rows")

    def __len__(self) -> int:
        return len(self.values)

    @property
    def columns(self) -> list[str]:
        """All column names in the order of ``values``."""
        return [*self.targets, *self.features]

    @property
    def target_values(self) -> np.ndarray:
        """The target columns, (T, n_targets)."""
        return self.values[:, : len(self.targets)]

    def slice(self, start: int | None = None, stop: int | None = None) -> Series:
        """Rows ``start:stop`` as a new Series."""
        time = None if self.time is None else self.time[start:stop]
        return Series(self.values[start:stop], self.targets, self.features, time, self.source)

    def concat(self, later: Series) -> Series:
        """This series followed by ``later`` (same columns), e.g. a train file then a test file."""
        if later.columns != self.columns:
            raise InputError(
                f"{later.source} has columns {later.columns}; expected {self.columns} "
                f"as in {self.source}"
            )
        time = None
        if self.time is not None and later.time is not None:
            time = self.time.append(later.time)
            if len(self.time) and len(later.time) and later.time[0] <= self.time[-1]:
                raise InputError(
                    f"{later.source} starts at {later.time[0]:%Y-%m-%d}, not after the end of "
                    f"{self.source} ({self.time[-1]:%Y-%m-%d}); the test data must follow it"
                )
        values = np.concatenate([self.values, later.values])
        return Series(values, self.targets, self.features, time, f"{self.source}+{later.source}")


def _line(row: int) -> int:
    """File line of a data row (the header is line 1)."""
    return row + 2


def _parse_numbers(raw: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Parse text cells to floats, thousands separators accepted: (numbers, not-a-number mask).

    Empty cells are NaN and not in the mask. Cells that plain `pd.to_numeric` reads (nearly all,
    in a clean file) skip the slower strip and separator handling.
    """
    numbers = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64, copy=True)
    retry = np.isnan(numbers)
    bad = np.zeros(len(raw), dtype=bool)
    if retry.any():
        text = raw[retry].str.strip()
        cleaned = text.where(~text.fillna("").str.match(_THOUSANDS), text.str.replace(",", ""))
        again = pd.to_numeric(cleaned, errors="coerce")
        numbers[retry] = again.to_numpy(dtype=np.float64)
        bad[retry] = (again.isna() & text.notna() & (text != "")).to_numpy()
    return numbers, bad


def _count_lines(path: Path) -> int:
    """Line breaks in the file plus one: at least the number of data rows in most files."""
    with path.open("rb") as f:
        return sum(block.count(b"\n") for block in iter(lambda: f.read(1 << 20), b"")) + 1


def _chunks(path: Path) -> Iterator[pd.DataFrame]:
    """The CSV as frames of text cells, `_CHUNK_ROWS` rows each; at least one, maybe empty."""
    try:
        with pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True,
                         chunksize=_CHUNK_ROWS) as reader:
            for chunk in reader:
                chunk.columns = [str(c).strip() for c in chunk.columns]
                yield chunk
    except UnicodeDecodeError as err:
        raise InputError(f"{path} is not UTF-8 text ({err.reason} at byte {err.start})") from err
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise InputError(f"{path} is not a readable CSV file: {err}") from err


def _find_time_column(frame: pd.DataFrame) -> str | None:
    for name in frame.columns:
        if str(name).strip().lower() in _TIME_NAMES:
            return name
    return None


def _parse_time(raw: pd.Series, column: str, path: str) -> pd.DatetimeIndex:
    text = raw.str.strip()
    try:
        parsed = pd.to_datetime(text, format="mixed", errors="coerce")
    except (ValueError, TypeError) as err:  # mixed time zones and the like
        raise InputError(f"{path}, column {column!r}: cannot parse timestamps ({err})") from err
    bad = parsed.isna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(
            f"{path}, line {_line(row)}, column {column!r}: {raw.iloc[row]!r} is not a date/time;"
            " use a common format such as 2017-01-31 or 1/31/2017, or pass --time none"
        )
    return pd.DatetimeIndex(parsed)


def _warn_on_jumps(values: np.ndarray, columns: list[str], stamps: object, rows: np.ndarray,
                   path: Path) -> None:
    """Warn about split-like level jumps (x2, x0.5, ...) far beyond a column's usual change.

    Unadjusted prices around a stock split (the Google file's Close before 2014-03-27 is about
    twice Open) would otherwise be mixed into training silently.
    """
    for k, name in enumerate(columns):
        column = values[:, k]
        if len(column) < 10 or np.any(column <= 0):
            continue
        steps = np.abs(np.diff(np.log(column)))
        usual = np.median(steps)
        jumps = np.flatnonzero((steps > np.log(1.8)) & (steps > 20 * max(usual, 1e-12)))
        if len(jumps):
            j = int(jumps[0])
            when = "" if stamps is None else f" ({stamps[j]:%Y-%m-%d} -> {stamps[j + 1]:%Y-%m-%d})"
            warnings.warn(
                f"{path}: column {name!r} jumps x{column[j + 1] / column[j]:.2f} between lines "
                f"{_line(int(rows[j]))} and {_line(int(rows[j + 1]))}{when}, far beyond its usual "
                "change: an unadjusted stock split or a change of units? Adjust the column or "
                "leave it out", stacklevel=3,
            )


def _read_values(chunks: Iterator[pd.DataFrame], columns: list[str], time_column: str | None,
                 path: Path) -> tuple[np.ndarray, pd.DatetimeIndex | None]:
    """Parse ``columns`` chunk by chunk into one preallocated (T, C) float64 array, and the time
    column; the errors are those of parsing each column whole.

    Non-numeric cells are counted over the whole file before the first is reported. Timestamps
    are parsed per chunk; if a chunk fails or the chunks disagree (time zone, resolution), the
    time column's text is read again and parsed whole, so the error or result is the same.
    """
    values = np.empty((_count_lines(path), len(columns)))
    first_bad: dict[int, tuple[int, str]] = {}
    bad_count = np.zeros(len(columns), dtype=int)
    stamps: list[pd.DatetimeIndex] | None = None if time_column is None else []
    start = 0
    for chunk in chunks:
        stop = start + len(chunk)
        if stop > len(values):  # line breaks other than \n
            values.resize((max(stop, 2 * len(values)), len(columns)), refcheck=False)
        for k, name in enumerate(columns):
            values[start:stop, k], bad = _parse_numbers(chunk[name])
            if bad.any():
                bad_count[k] += int(bad.sum())
                row = int(np.flatnonzero(bad)[0])
                first_bad.setdefault(k, (start + row, chunk[name].iloc[row]))
        if stamps is not None and not bad_count.any():
            try:
                stamps.append(_parse_time(chunk[time_column], time_column, str(path)))
            except InputError:
                stamps = None
        start = stop
    values.resize((start, len(columns)), refcheck=False)
    if first_bad:
        k = min(first_bad)  # the first column with a bad cell, as if parsed column by column
        row, cell = first_bad[k]
        raise InputError(
            f"{path}, line {_line(row)}, column {columns[k]!r}: {cell!r} is not a number"
            f" ({bad_count[k]} such cell(s) in that column); fix or remove those rows"
        )
    if time_column is None:
        return values, None
    if stamps is None or len({part.dtype for part in stamps}) > 1:
        text = pd.concat([chunk[time_column] for chunk in _chunks(path)], ignore_index=True)
        return values, _parse_time(text, time_column, str(path))
    return values, stamps[0].append(stamps[1:])


def read_series(
    path: str | Path,
    target: str | list[str],
    time: str | None = None,
    features: list[str] | None = None,
    fill: str | None = None,
) -> Series:
    """Read a CSV file into a validated `Series`.

    Args:
        path: the CSV file (header row; extra columns are ignored).
        target: the column(s) to forecast; ``"all"``: every column but the time column.
        time: the time column; None looks for one named date/time/datetime/timestamp/ds,
            ``"none"`` reads the rows as they are, in order.
        features: extra input columns (known up to each forecast origin); ``["all"]``: every
            column that is neither a target nor the time column.
        fill: what to do with empty cells: None (an error), ``"ffill"``, ``"interpolate"``
            (linear) or ``"drop"`` (drop those rows).

    Numbers may carry thousands separators (``"1,207.94"``). Unsorted timestamps are sorted with
    a warning before empty cells are filled, and split-like jumps (x2, x0.5) far beyond a
    column's usual change are warned about; duplicate timestamps and non-numeric cells are
    errors naming file, line, column and value. Lines are those of the file (the header is
    line 1), also after sorting.

    Example:
        >>> import tempfile
        >>> folder = tempfile.TemporaryDirectory()
        >>> path = Path(folder.name) / "prices.csv"
        >>> _ = path.write_text('Date,Open\\n1/3/2012,325.25\\n1/4/2012,331.27\\n'
        ...                     '1/5/2012,"1,329.83"\\n')
        >>> s = read_series(path, target="Open")
        >>> len(s), s.targets, s.target_values[:, 0].tolist()
        (3, ['Open'], [325.25, 331.27, 1329.83])
    """
    path = Path(path)
    targets = [target] if isinstance(target, str) else list(target)
    features = list(features or [])
    if fill is not None and fill not in FILL_POLICIES:
        raise InputError(f"--fill {fill!r} is not known; use one of {', '.join(FILL_POLICIES)}")
    if not targets:
        raise InputError("no target column given; name one with --target")
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    chunks = _chunks(path)
    frame = next(chunks)  # the first rows, for the header
    available = [c for c in frame.columns if c and not c.startswith("Unnamed:")]
    time_column = _find_time_column(frame) if time is None else (None if time == "none" else time)
    if targets == ["all"]:
        targets = [c for c in available if c != time_column]
    if features == ["all"]:
        features = [c for c in available if c != time_column and c not in targets]
    for name in [*targets, *features]:
        if name not in frame.columns:
            raise InputError(f"{path} has no column {name!r}; available columns: {available}")
    overlap = set(targets) & set(features)
    if overlap:
        raise InputError(f"columns {sorted(overlap)} are given both as target and as feature")
    if len(frame) == 0:
        raise InputError(f"{path} has a header but no data rows")

    if time_column is not None and time_column not in frame.columns:
        raise InputError(f"{path} has no time column {time_column!r}; available: {available}")

    columns = [*targets, *features]
    values, stamps = _read_values(chain([frame], chunks), columns, time_column, path)
    rows = np.arange(len(values))  # the data row of each value row, for messages: `_line(rows[i])`
    # Sorted before filling, so that a gap is filled from the rows next to it in time
    if stamps is not None and not stamps.is_monotonic_increasing:
        warnings.warn(f"{path}: rows are not in time order; sorted by {time_column!r}",
                      stacklevel=2)
        rows = np.argsort(stamps.to_numpy(), kind="stable")
        values, stamps = values[rows], stamps[rows]

    missing = np.isnan(values)
    if missing.any():
        if fill is None:
            row, col = np.argwhere(missing)[0]
            raise InputError(
                f"{path}, line {_line(int(rows[row]))}, column {columns[col]!r}: missing value "
                f"({int(missing.sum())} missing in all); choose --fill ffill, interpolate or drop"
            )
        if fill == "drop":
            keep = ~missing.any(axis=1)
            if not keep.any():
                raise InputError(f"{path}: every row has a missing value in {columns}; "
                                 "--fill drop would leave nothing")
            values, rows = values[keep], rows[keep]
            stamps = None if stamps is None else stamps[keep]
        else:
            table = pd.DataFrame(values)
            table = table.ffill() if fill == "ffill" else table.interpolate(limit_direction="both")
            values = table.to_numpy()
            left = np.isnan(values)
            if left.any():
                row, col = np.argwhere(left)[0]
                if left[:, col].all():  # the only gap interpolate (both directions) leaves
                    raise InputError(f"{path}, column {columns[col]!r} has no values; leave it out")
                raise InputError(
                    f"{path}, column {columns[col]!r}: cannot ffill the missing value at line "
                    f"{_line(int(rows[row]))} (nothing before it in time); use --fill "
                    "interpolate or drop"
                )

    if stamps is not None:
        duplicated = stamps.duplicated()
        if duplicated.any():
            row = int(np.flatnonzero(duplicated)[0])
            raise InputError(
                f"{path}, line {_line(int(rows[row]))}, column {time_column!r}: timestamp "
                f"{stamps[row]} appears more than once; remove or aggregate the duplicates"
            )
    _warn_on_jumps(values, columns, stamps, rows, path)
    return Series(values, targets, features, stamps, str(path))


def infer_frequency(time: pd.DatetimeIndex) -> str | None:
    """The regular frequency of timestamps as a string ('D', 'W-SAT', 'h', ...), else None."""
    if len(time) < 3:
        return None
    with warnings.catch_warnings():  # pandas 3.x warns that a future version returns an offset
        warnings.simplefilter("ignore")
        freq = time.inferred_freq
    return getattr(freq, "freqstr", freq)
