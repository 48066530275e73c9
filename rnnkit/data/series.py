"""Read a CSV into a validated time series, with errors that name file, line, column and value."""

from __future__ import annotations

import csv
import io
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import chain, islice
from pathlib import Path

import numpy as np
import pandas as pd

from rnnkit.errors import InputError

FILL_POLICIES = ("ffill", "interpolate", "drop")
_TIME_NAMES = ("date", "time", "datetime", "timestamp", "ds")
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$")
_POINT_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(\.\d{3})+(,\d*)?$")  # 1.014,24 (decimal comma)
#: The separators a table may use, named for messages.
SEPARATORS = {",": "comma", ";": "semicolon", "\t": "tab"}
DECIMALS = (".", ",")
# Numbers with a decimal comma or point: the evidence for the decimal mark; 1,014 and 1.014
# could be either (a thousands separator), so they count for neither
_COMMA_DECIMAL = re.compile(r"[+-]?(\d{1,3}(\.\d{3})+|\d+),\d+")
_POINT_DECIMAL = re.compile(r"[+-]?(\d{1,3}(,\d{3})+|\d+)\.\d+")
_EITHER_MARK = re.compile(r"[+-]?\d{1,3}[.,]\d{3}")
# 02.01.2023 is day first wherever dates are written with points (German, Russian, ...)
_DOTTED_DATE = re.compile(r"\d{1,2}\.\d{1,2}\.\d{2,4}\b")
_SAMPLE_BYTES = 1 << 16
_SAMPLE_RECORDS = 100
# Rows parsed at a time: only one chunk's cells are ever held as Python strings, so reading
# costs the float array plus a few MB (every cell as a string took ~20x the float32 data).
_CHUNK_ROWS = 20_000


class Table:
    """The layout `Series` and `rnnkit.data.panel.Panel` share: ``values`` (rows, C) float64
    holds the target columns first, then the feature columns; ``time`` (when not None) one
    timestamp per row."""

    values: np.ndarray
    targets: list[str]
    features: list[str]
    time: pd.DatetimeIndex | None

    def check_table(self) -> None:
        """Raise `ValueError` unless ``values`` is (rows, targets + features) and ``time``
        (when given) has one entry per row."""
        if self.values.ndim != 2 or self.values.shape[1] != len(self.columns):
            raise ValueError(f"values of shape {self.values.shape} do not match "
                             f"{len(self.targets)} targets and {len(self.features)} features")
        if self.time is not None and len(self.time) != len(self.values):
            raise ValueError(f"time has {len(self.time)} entries for {len(self.values)} rows")

    @property
    def columns(self) -> list[str]:
        """All column names in the order of ``values``."""
        return [*self.targets, *self.features]

    @property
    def target_values(self) -> np.ndarray:
        """The target columns, (rows, n_targets)."""
        return self.values[:, : len(self.targets)]


@dataclass
class Series(Table):
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
        self.check_table()

    def __len__(self) -> int:
        """The number of rows T."""
        return len(self.values)

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


def check_sep(sep: str | None) -> str | None:
    """``sep`` as one of `SEPARATORS` (None stays None: detect it); ``"\\t"``, as a shell
    passes ``'\\t'``, is a tab. Anything else is an `InputError` naming ``--sep``."""
    if sep == "\\t":
        return "\t"
    if sep is not None and sep not in SEPARATORS:
        raise InputError(f"--sep {sep!r} is not known; use ',', ';' or '\\t' (tab)")
    return sep


def _field_counts(sample: str, sep: str) -> list[int]:
    """Fields in each of the sample's first records under ``sep``, blank lines skipped; tabs
    are counted without quoting, as TSV files are written."""
    quoting = csv.QUOTE_NONE if sep == "\t" else csv.QUOTE_MINIMAL
    reader = csv.reader(io.StringIO(sample, newline=""), delimiter=sep, quoting=quoting)
    try:
        return [len(row) for row in islice(reader, _SAMPLE_RECORDS) if row]
    except csv.Error:  # a field beyond csv's size limit: the reader reports it
        return []


def detect_sep(sample: str, prefer: str = ",") -> str:
    """The separator of a table from its first lines (``sample``, the header first).

    A separator that splits the header into several fields and every sampled record into as
    many wins, the one giving most fields first; failing that, the one splitting the header
    most, so that the reader reports the odd row. Ties go to ``prefer``, then to the order of
    `SEPARATORS`; a file without any is comma-separated.

    Example:
        >>> detect_sep("Datum;Umsatz\\n2023-01-02;1014,24\\n")
        ';'
    """
    def rank(sep: str) -> tuple[bool, int, bool]:
        counts = _field_counts(sample, sep)
        header, consistent = (counts or [0])[0], len(set(counts)) == 1
        return consistent and header > 1, header, consistent

    return max(sorted(SEPARATORS, key=lambda s: s != prefer), key=rank)


def _detect_decimal(sample: str, sep: str) -> str:
    """``","`` when more sampled cells are numbers with a decimal comma than with a decimal
    point, else ``"."``; always ``"."`` in a comma-separated table."""
    if sep == ",":
        return "."
    rows = csv.reader(io.StringIO(sample, newline=""), delimiter=sep)
    cells = [c.strip() for row in islice(rows, 1, _SAMPLE_RECORDS) for c in row]
    cells = [c for c in cells if not _EITHER_MARK.fullmatch(c)]
    commas = sum(bool(_COMMA_DECIMAL.fullmatch(c)) for c in cells)
    points = sum(bool(_POINT_DECIMAL.fullmatch(c)) for c in cells)
    return "," if commas > points else "."


def refuse_split_header(path: str | Path, header: list[str], sep: str) -> None:
    """Raise an `InputError` saying which ``--sep`` to pass when the header is one column whose
    name holds another separator: the separator given (or detected) is not the file's."""
    if len(header) != 1:
        return
    others = [s for s in SEPARATORS if s != sep and s in header[0]]
    if others:
        best = max(others, key=header[0].count)
        raise InputError(f"{path} has one column {header[0]!r}: the file looks "
                         f"{SEPARATORS[best]}-separated; pass --sep {best!r}")


def _sample(path: Path) -> str:
    """The file's first whole lines (up to 64 KiB) as text, for detecting its format; bytes
    that are not UTF-8 are left for the reader to report."""
    with path.open("rb") as f:
        data = f.read(_SAMPLE_BYTES)
        if f.read(1):
            data = data[: data.rfind(b"\n") + 1] or data
    return data.decode("utf-8-sig", errors="replace")


def _parse_decimal_commas(raw: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """`_parse_numbers` for a decimal comma: ``"1014,24"`` and ``"1.014,24"`` are 1014.24.

    A cell with any other point (``"1.5"``) is not a number: it mixes the two conventions.
    """
    text = raw.str.strip()
    grouped = text.str.match(_POINT_THOUSANDS, na=False)
    text = text.where(~grouped, text.str.replace(".", "", regex=False))
    mixed = text.str.contains(".", regex=False, na=False)
    numbers = pd.to_numeric(text.str.replace(",", ".", regex=False).where(~mixed),
                            errors="coerce")
    bad = numbers.isna() & text.notna() & (text != "")
    return numbers.to_numpy(dtype=np.float64, copy=True), bad.to_numpy(dtype=bool)


def _parse_numbers(raw: pd.Series, decimal: str = ".") -> tuple[np.ndarray, np.ndarray]:
    """Parse text cells to floats, thousands separators accepted: (numbers, not-a-number mask).

    Empty cells are NaN and not in the mask. Cells that plain `pd.to_numeric` reads (nearly all,
    in a clean file) skip the slower strip and separator handling.
    """
    if decimal == ",":
        return _parse_decimal_commas(raw)
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


def _chunks(path: Path, sep: str) -> Iterator[pd.DataFrame]:
    """The CSV as frames of text cells, `_CHUNK_ROWS` rows each; at least one, maybe empty."""
    try:
        with pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, skipinitialspace=True,
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
    dotted = text.str.match(_DOTTED_DATE, na=False)
    try:
        parsed = pd.to_datetime(text.where(~dotted), format="mixed", errors="coerce")
        if dotted.any():  # not the others: day first would also swap 2023-01-03
            parsed[dotted] = pd.to_datetime(text[dotted], format="mixed", dayfirst=True,
                                            errors="coerce")
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
                 path: Path, sep: str,
                 decimal: str) -> tuple[np.ndarray, pd.DatetimeIndex | None]:
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
            values[start:stop, k], bad = _parse_numbers(chunk[name], decimal)
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
        hint = "" if decimal == "." else (" (read with --decimal ','; pass --decimal '.' if the "
                                          "file uses decimal points)")
        raise InputError(
            f"{path}, line {_line(row)}, column {columns[k]!r}: {cell!r} is not a number"
            f" ({bad_count[k]} such cell(s) in that column); fix or remove those rows{hint}"
        )
    if time_column is None:
        return values, None
    if stamps is None or len({part.dtype for part in stamps}) > 1:
        text = pd.concat([chunk[time_column] for chunk in _chunks(path, sep)],
                         ignore_index=True)
        return values, _parse_time(text, time_column, str(path))
    return values, stamps[0].append(stamps[1:])


def fill_rows(values: np.ndarray, rows: np.ndarray, columns: list[str], fill: str,
              where: str) -> np.ndarray:
    """Fill one series' empty cells in place by ``fill`` (ffill, interpolate or drop) and
    return the mask (T,) of rows to keep.

    ``values`` (T, C) is the series in time order, ``rows`` (T,) the data row of each, for the
    file lines in messages; ``where`` names the file. A gap nothing can fill is an
    `InputError`: an ffill before the first value, a column with no values, or a drop that
    leaves nothing.
    """
    missing = np.isnan(values)
    if fill == "drop":
        keep = ~missing.any(axis=1)
        if not keep.any():
            raise InputError(f"{where}: every row has a missing value in {columns}; "
                             "--fill drop would leave nothing")
        return keep
    table = pd.DataFrame(values)
    table = table.ffill() if fill == "ffill" else table.interpolate(limit_direction="both")
    values[:] = table.to_numpy()
    left = np.isnan(values)
    if left.any():
        row, col = np.argwhere(left)[0]
        if left[:, col].all():  # the only gap interpolate (both directions) leaves
            raise InputError(f"{where}, column {columns[col]!r} has no values; leave it out")
        raise InputError(
            f"{where}, column {columns[col]!r}: cannot ffill the missing value at line "
            f"{_line(int(rows[row]))} (nothing before it in time); use --fill interpolate or drop"
        )
    return np.ones(len(values), dtype=bool)


def read_series(
    path: str | Path,
    target: str | list[str],
    time: str | None = None,
    features: list[str] | None = None,
    fill: str | None = None,
    sep: str | None = None,
    decimal: str | None = None,
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
        sep: the separator, ``","``, ``";"`` or ``"\\t"``; None detects it from the header
            and the first rows (see `detect_sep`).
        decimal: the decimal mark, ``"."`` or ``","``; None: a comma when the separator is
            not a comma and the first rows' numbers are written with one (``"1014,24"``).

    Numbers may carry thousands separators (``"1,207.94"``; with a decimal comma
    ``"1.207,94"``); dates written with points are day first (``"02.01.2023"``). Unsorted
    timestamps are sorted with a warning before empty cells are filled, and split-like jumps
    (x2, x0.5) far beyond a column's usual change are warned about; duplicate timestamps and
    non-numeric cells are errors naming file, line, column and value. Lines are those of the
    file (the header is line 1), also after sorting.

    Example:
        >>> path = Path("prices.csv")  # in the current folder
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
    sep = check_sep(sep)
    if decimal is not None and decimal not in DECIMALS:
        raise InputError(f"--decimal {decimal!r} is not known; use '.' or ','")
    if not targets:
        raise InputError("no target column given; name one with --target")
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    sample = _sample(path)
    sep = sep or detect_sep(sample)
    decimal = decimal or _detect_decimal(sample, sep)
    first = next(csv.reader(io.StringIO(sample, newline=""), delimiter=sep), [])
    header = [c.strip() for c in first]
    if targets == ["all"] or not {*targets, *features} <= {*header, "all"}:
        refuse_split_header(path, header, sep)  # before pandas fails on the rows
    chunks = _chunks(path, sep)
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
    values, stamps = _read_values(chain([frame], chunks), columns, time_column, path, sep,
                                  decimal)
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
        keep = fill_rows(values, rows, columns, fill, str(path))
        values, rows = values[keep], rows[keep]
        stamps = None if stamps is None else stamps[keep]

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


# Share of a calendar's slots between the first and last timestamp that must be present:
# business days lose about 9 exchange holidays of 261 a year (3.5%), while daily data without
# weekends fills only 5 of 7 daily slots and must not pass as daily
_REGULAR_SHARE = 0.9
_DAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


def _calendar_steps(time: pd.DatetimeIndex) -> Iterator[tuple[str, np.ndarray]]:
    """The frequencies whose grid holds every timestamp, each with the gaps between
    consecutive timestamps counted in its steps (T - 1,); ``time`` sorted and distinct."""
    local = time if time.tz is None else time.tz_localize(None)  # wall-clock dates
    clock = local - local.normalize()
    if not (clock == clock[0]).all():  # a step shorter than a day
        gaps = np.diff(time.asi8)
        step = gaps.min()
        if not (gaps % step).any():
            tick = pd.Timedelta(int(step), unit=time.unit)
            yield pd.tseries.frequencies.to_offset(tick).freqstr, gaps // step
        return
    days = local.normalize().to_numpy().astype("datetime64[D]")
    day_gaps = np.diff(days.astype(np.int64))
    yield "D", day_gaps
    if not (day_gaps % 7).any():
        yield f"W-{_DAYS[local[0].day_of_week]}", day_gaps // 7
    if (local.day_of_week < 5).all():
        yield "B", np.busday_count(days[:-1], days[1:])
    month_gaps = np.diff(np.asarray(local.year * 12 + local.month))
    first = local[0].month - 1
    for suffix, on_grid, quarter_anchor in (("S", local.is_month_start, first % 3),
                                            ("E", local.is_month_end, first % 3 + 9)):
        if on_grid.all():
            yield f"M{suffix}", month_gaps
            for months, name, anchor in ((3, "Q", quarter_anchor), (12, "Y", first)):
                if not (month_gaps % months).any():
                    yield f"{name}{suffix}-{_MONTHS[anchor]}", month_gaps // months


def infer_frequency(time: pd.DatetimeIndex) -> str | None:
    """The frequency of timestamps as a pandas frequency string, or None when there is none.

    Timestamps exactly on a calendar get pandas' own answer (``time.inferred_freq``). With some
    rows missing (holidays, gaps) the answer is the calendar whose grid holds every timestamp
    and most of whose slots between the first and the last are present (at least 90%):
    sub-daily steps (``"h"``, ``"15min"``), days ``"D"``, business days ``"B"`` (Monday to
    Friday; holidays count as missing rows), weeks ``"W-SAT"`` (anchored on the weekday), month
    starts and ends ``"MS"``, ``"ME"``, quarters ``"QS-JAN"``, ``"QE-DEC"`` and years
    ``"YS-JAN"``, ``"YE-DEC"``. ``pd.date_range(time[-1], periods=n + 1, freq=freq)[1:]`` are
    then the next n timestamps.

    Args:
        time: the timestamps (T,), sorted and distinct as in a `Series`; fewer than 3 have no
            frequency.

    Example:
        >>> days = pd.bdate_range("2016-12-01", "2016-12-30").drop(pd.Timestamp("2016-12-26"))
        >>> freq = infer_frequency(days)  # trading days: Christmas (observed) is missing
        >>> freq, pd.date_range(days[-1], periods=2, freq=freq)[-1].date()
        ('B', datetime.date(2017, 1, 2))
    """
    if len(time) < 3:
        return None
    with warnings.catch_warnings():  # pandas 3.x warns that a future version returns an offset
        warnings.simplefilter("ignore")
        freq = time.inferred_freq
    if freq is not None:
        return getattr(freq, "freqstr", freq)
    if not time.is_monotonic_increasing or time.has_duplicates:
        return None
    shares = {name: len(steps) / steps.sum() for name, steps in _calendar_steps(time)}
    best = max(shares, key=shares.__getitem__, default=None)
    return best if best is not None and shares[best] >= _REGULAR_SHARE else None
