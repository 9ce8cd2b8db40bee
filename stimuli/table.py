"""A small column table: condition tables of protocols and per-unit result tables."""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from stimuli._shared import html as _html
from stimuli._shared.io import atomic_open


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

    # ------------------------------------------------------------------ interchange
    def to_xarray(self, dim: str = "row"):
        """The table as an ``xarray.Dataset``: one data variable per column along ``dim``.

        The xarray counterpart of :meth:`to_pandas` (which pandas' own
        ``DataFrame.to_xarray`` would give with a ``dim`` named ``index``).  For a
        table with one row per unit (tuning properties, Gabor fits) pass
        ``dim="neuroid"`` to line it up with :meth:`analysis.Recording.to_xarray`.

        Parameters
        ----------
        dim : str
            Name of the row dimension; no column may have that name.

        Returns
        -------
        xarray.Dataset
            Column order and dtypes kept; :meth:`from_xarray` inverts it exactly.

        Raises
        ------
        ValueError
            If ``dim`` is empty or a column has the same name.
        ImportError
            If xarray is not installed (``pip install 'v1model[xarray]'``).

        Examples
        --------
        >>> t = Table({"orientation": [0.0, 90.0], "osi": [0.8, 0.3]})
        >>> ds = t.to_xarray(dim="neuroid")
        >>> list(ds.data_vars), ds.sizes["neuroid"]
        (['orientation', 'osi'], 2)
        >>> Table.from_xarray(ds)["osi"].tolist()
        [0.8, 0.3]
        """
        xr = _import_xarray("Table.to_xarray")
        if not isinstance(dim, str) or not dim:
            raise ValueError(f"dim must be a non-empty string, got {dim!r}")
        if dim in self._columns:
            raise ValueError(f"dim must differ from the column names, got {dim!r}, a column")
        return xr.Dataset({name: (dim, col) for name, col in self._columns.items()})

    @classmethod
    def from_xarray(cls, dataset) -> Table:
        """A table from a one-dimensional ``xarray.Dataset`` (one column per data variable).

        Parameters
        ----------
        dataset : xarray.Dataset
            All data variables 1-D along the same dimension.  Coordinates are not
            read; object-dtype strings become fixed-width strings.

        Returns
        -------
        Table

        Raises
        ------
        TypeError
            If ``dataset`` is not a Dataset.
        ValueError
            If a data variable is not 1-D or they lie along different dimensions.
        ImportError
            If xarray is not installed.

        Examples
        --------
        >>> import xarray as xr
        >>> Table.from_xarray(xr.Dataset({"sf": ("row", [1.0, 2.0])})).names
        ('sf',)
        """
        xr = _import_xarray("Table.from_xarray")
        if not isinstance(dataset, xr.Dataset):
            raise TypeError(f"dataset must be an xarray.Dataset, got {type(dataset).__name__}")
        columns: dict[str, np.ndarray] = {}
        dims = set()
        for name, var in dataset.data_vars.items():
            if var.ndim != 1:
                raise ValueError(
                    f"dataset variable {name!r} must be 1-D, got dims {tuple(var.dims)}"
                )
            dims.add(var.dims[0])
            values = np.asarray(var.values)
            columns[str(name)] = values.astype(str) if values.dtype.hasobject else values
        if len(dims) > 1:
            raise ValueError(
                f"dataset variables must share one dimension, got {sorted(map(str, dims))}"
            )
        return cls(columns)


    # ------------------------------------------------------------------ notebook display
    def _repr_html_(self) -> str:
        """Notebook view: row and column counts, then the first rows with units and dtypes."""
        return _html.block(
            _html.title("Table", [f"{len(self)} rows", f"{len(self.names)} columns"]),
            _html.columns_table(self._columns),
        )

def _import_xarray(what: str):
    try:
        import xarray
    except ImportError as exc:  # pragma: no cover - depends on environment
        raise ImportError(f"{what} needs xarray: pip install 'v1model[xarray]'") from exc
    return xarray
