"""Parameter checks shared by the HMAX stages."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np


def _check_params(stage: str, params: Mapping[str, Any], known: Sequence[str]) -> None:
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise ValueError(
            f"unknown {stage} parameter(s) {', '.join(map(repr, unknown))}; "
            f"known parameters are {', '.join(known)}"
        )


def _as_tuple(name: str, values: Any, convert, **kwargs) -> tuple:
    if isinstance(values, str) or np.ndim(values) != 1 or len(values) == 0:
        raise ValueError(f"{name} must be a non-empty sequence, got {values!r}")
    return tuple(convert(f"{name}[{i}]", v, **kwargs) for i, v in enumerate(values))


def _check_same_length(**named: Sequence) -> None:
    lengths = {k: len(v) for k, v in named.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError("these must have the same length: "
                         + ", ".join(f"{k} ({n})" for k, n in lengths.items()))
