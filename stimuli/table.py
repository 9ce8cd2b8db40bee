"""A small column table: condition tables of protocols and per-unit result tables."""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from stimuli._io import atomic_open


class Table(Mapping):
    """Named 1-D columns of equal length, indexed by field name.

    ``tab["orientation"]`` is a column; ``tab.row(i)`` a dict; ``len(tab)`` the
    number of rows; ``tab.to_pandas()`` a DataFrame when pandas is installed.

    Parameters
    ----------
    columns : mapping of str to array_like
        Each value is converted to a 1-D numpy array; all must have the same length.

    Raises
    ------
    ValueError
        If columns differ in length or are not 1-D.

    Examples
    --------
    >>> t = Table({"orientation": [0.0, 90.0], "sf": [2.0, 2.0]})
    >>> len(t), t["orientation"].tolist()
    (2, [0.0, 90.0])
    >>> t.row(1)
    {'orientation': 90.0, 'sf': 2.0}
    """

    def __init__(self, columns: Mapping[str, Any]):
        if not isinstance(columns, Mapping):
            raise TypeError(f"columns must be a mapping of column name to 1-D array, got "
                            f"{type(columns).__name__}")
        cols: dict[str, np.ndarray] = {}
        length = None
        for key, value in dict(columns).items():
            if not isinstance(key, str):
                raise TypeError(f"column names must be strings, got {key!r}")
            arr = np.asarray(value)
            if arr.ndim != 1:
                raise ValueError(f"column {key!r} must be 1-D, got shape {arr.shape}")
            if length is None:
                length = len(arr)
            elif len(arr) != length:
                raise ValueError(
                    f"column {key!r} has {len(arr)} rows but earlier columns have {length}"
                )
            cols[key] = arr
        self._columns = cols
        self._length = 0 if length is None else length

    # Mapping protocol: iterating a Table gives its column names.
    def __getitem__(self, key: str) -> np.ndarray:
        try:
            return self._columns[key]
        except KeyError:
            raise KeyError(
                f"no column {key!r}; columns are {', '.join(self._columns) or '(none)'}"
            ) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._columns)

    def __len__(self) -> int:
        """Number of rows (not columns; use ``len(tab.names)`` for those)."""
        return self._length

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._columns)

    def row(self, i: int) -> dict[str, Any]:
        """Row ``i`` as a dict of Python scalars."""
        return {k: v[i].item() if hasattr(v[i], "item") else v[i] for k, v in self._columns.items()}

    def take(self, index) -> Table:
        """Rows selected by an integer or boolean index array."""
        return Table({k: v[index] for k, v in self._columns.items()})

    def with_columns(self, **columns: Any) -> Table:
        """A new table with columns added or replaced."""
        merged = dict(self._columns)
        merged.update(columns)
        return Table(merged)

    def to_dict(self) -> dict[str, np.ndarray]:
        return dict(self._columns)

    def to_pandas(self):
        """The table as a ``pandas.DataFrame`` (needs pandas)."""
        try:
            import pandas as pd
        except ImportError as exc:  # pragma: no cover - depends on environment
            raise ImportError("Table.to_pandas needs pandas: pip install pandas") from exc
        return pd.DataFrame(self._columns)

    def to_csv(self, path: str | os.PathLike) -> None:
        """Write the table as CSV, atomically (temporary file then rename)."""
        with atomic_open(path) as fh:
            writer = csv.writer(fh)
            writer.writerow(self.names)
            for i in range(len(self)):
                writer.writerow(self.row(i).values())

    def to_json(self, path: str | os.PathLike) -> None:
        """Write the table as JSON records, atomically.  NaN is written as null."""
        records = [
            {k: (None if isinstance(v, float) and not np.isfinite(v) else v)
             for k, v in self.row(i).items()}
            for i in range(len(self))
        ]
        with atomic_open(path) as fh:
            json.dump(records, fh, indent=1)

    def __repr__(self) -> str:
        return f"Table({len(self)} rows: {', '.join(self.names)})"
