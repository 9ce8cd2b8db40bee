"""What a claim returns and how its verdict follows from its checks.

:class:`Check` is one measured value against an explicit threshold;
:func:`verdict_from_checks` is the one rule that turns checks into a verdict;
:class:`ClaimResult` carries the numbers, figure, checks and verdict of one claim.

Borderline verdicts
-------------------
A check may carry the 95% interval of its own value (a bootstrap over units or
images, an interval over seeds).  When the threshold lies inside that interval the
check is *borderline* (:attr:`Check.borderline`): the measurement cannot tell on
which side of the threshold the value really is.  Such a check still passes or
fails by its value, but the verdict does not pretend otherwise:
:func:`verdict_alternatives` recomputes the verdict for every combination of the
borderline checks (and gates) passing or failing, and a verdict is *borderline*
when these give more than one verdict.  The verdict itself stays one of
:data:`VERDICTS` (the one the measured values give); :class:`ClaimResult` adds
``borderline`` and ``alternatives``, and the reason names the deciding checks — a
borderline verdict is never silently rounded to one side.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from stimuli._shared.io import jsonable
from stimuli._shared.validation import check_choice, check_real, check_strings

__all__ = ["LEARNED_MARGIN", "VERDICTS", "Check", "ClaimResult", "verdict_alternatives",
           "verdict_from_checks"]

#: The possible verdicts, strongest first.  A verdict whose deciding checks are
#: borderline keeps its name here and is flagged (``ClaimResult.borderline``).
VERDICTS = ("supported", "partly supported", "not supported", "inconclusive")

#: Networks must beat chance by this much accuracy to count as trained (every claim
#: that trains or reads out a network gates on it).
LEARNED_MARGIN = 0.1


@dataclass(frozen=True)
class Check:
    """One criterion of a verdict: a measured value against an explicit threshold.

    Attributes
    ----------
    name : str
        Short identifier, e.g. ``"rf_growth_cnn"``.
    description : str
        What the value measures, with its unit.
    value : float
        The measurement; NaN when it could not be made (the check then fails and
        says "not measured").
    threshold : float
        The value the measurement must reach.
    direction : {">=", "<="}
        The check passes when ``value >= threshold`` (or ``<=``).
    interval : (float, float) or None
        The value's own uncertainty (e.g. a bootstrap or across-seed 95% interval),
        ``low <= value <= high``.  When the threshold lies inside it the check is
        *borderline*: it still passes or fails by its value, but the verdict built
        from it says so instead of rounding it silently to one side.

    Raises
    ------
    ValueError
        If ``direction`` is not ">=" or "<=", ``threshold`` is not finite, or
        ``interval`` is not two finite numbers ``low <= value <= high``.

    Examples
    --------
    >>> c = Check("gain", "accuracy gain", 0.08, 0.05)
    >>> c.passed, str(c)
    (True, 'accuracy gain: 0.08 (needs >= 0.05): pass')
    >>> Check("gain", "accuracy gain", float("nan"), 0.05).status
    'not measured'
    >>> Check("gain", "accuracy gain", 0.06, 0.05, interval=(0.03, 0.09)).borderline
    True
    """

    name: str
    description: str
    value: float
    threshold: float
    direction: str = ">="
    interval: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        check_choice("direction", self.direction, (">=", "<="))
        object.__setattr__(self, "threshold", check_real("threshold", self.threshold))
        object.__setattr__(self, "value", float(self.value))
        if self.interval is not None:
            object.__setattr__(self, "interval", _check_interval(self.interval, self.value))

    @property
    def borderline(self) -> bool:
        """True when the threshold lies within the value's interval (inclusive)."""
        if self.interval is None or not self.measured:
            return False
        low, high = self.interval
        return low <= self.threshold <= high

    @property
    def measured(self) -> bool:
        """False when the value is NaN (the measurement could not be made)."""
        return not np.isnan(self.value)

    @property
    def passed(self) -> bool:
        """Whether the measured value is on the right side of the threshold."""
        if not self.measured:
            return False
        if self.direction == ">=":
            return self.value >= self.threshold
        return self.value <= self.threshold

    @property
    def status(self) -> str:
        """``"pass"``, ``"fail"`` or ``"not measured"``."""
        return "not measured" if not self.measured else ("pass" if self.passed else "fail")

    def __str__(self) -> str:
        text = f"{self.description}: {self.value:.3g}"
        if self.interval is not None:
            text += f" [{self.interval[0]:.3g}, {self.interval[1]:.3g}]"
        text += f" (needs {self.direction} {self.threshold:g}): {self.status}"
        return text + (" (borderline)" if self.borderline else "")

    def as_dict(self) -> dict[str, Any]:
        """JSON-able fields plus ``passed``, ``status`` and ``borderline`` (NaN → None)."""
        return {"name": self.name, "description": self.description,
                "value": self.value if self.measured else None, "threshold": self.threshold,
                "direction": self.direction, "passed": self.passed, "status": self.status,
                "interval": list(self.interval) if self.interval is not None else None,
                "borderline": self.borderline}


def _check_interval(interval: Any, value: float) -> tuple[float, float]:
    """``interval`` as two finite floats around ``value`` (NaN value: any order-checked pair)."""
    if isinstance(interval, (str, bytes)) or not isinstance(interval, Iterable):
        raise TypeError(f"interval must be a (low, high) pair of numbers, got {interval!r:.60}")
    pair = tuple(interval)
    if len(pair) != 2:
        raise ValueError(f"interval must be a (low, high) pair, got {len(pair)} values")
    low = check_real("interval low", pair[0])
    high = check_real("interval high", pair[1])
    if low > high:
        raise ValueError(f"interval must have low <= high, got ({low:g}, {high:g})")
    if not np.isnan(value) and not low <= value <= high:
        raise ValueError(f"interval ({low:g}, {high:g}) must contain the value {value:g}")
    return (low, high)


@dataclass(frozen=True, eq=False)
class ClaimResult:
    """What one claim's experiment found.

    Attributes
    ----------
    number : int
        1–7, the claim's place in the list of the module docstring.
    key : str
        Short name (``"hierarchy"``, ``"first_layer"``, ...).
    title : str
        The claim in a few words.
    claim : str
        The claim as practitioners state it.
    verdict : str
        One of :data:`VERDICTS`.
    reason : str
        The verdict's justification, built from the checks' values and thresholds.
    checks : tuple of Check
        The criteria, in the order the docstring lists them.
    gates : tuple of Check
        Controls that must pass for the checks to be judged at all.
    numbers : dict
        Every measured number (JSON-able).
    figure : matplotlib.figure.Figure
        The experiment's figure, made through :mod:`matplotlib.pyplot` (so notebooks and
        the documentation gallery show it); ``plt.close(result.figure)`` frees it.
    settings : dict
        The parameters the experiment ran with (JSON-able).
    seconds : float
        Wall-clock time of the experiment.
    alternatives : tuple of str
        Every verdict the checks allow within their intervals
        (:func:`verdict_alternatives`), the measured ``verdict`` first; just
        ``(verdict,)`` when no deciding check is borderline.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> r = ClaimResult(1, "x", "t", "c", "supported", "Supported.", (), (), {}, Figure(),
    ...                 alternatives=("supported", "partly supported"))
    >>> r.borderline, r.to_dict()["alternatives"]
    (True, ['supported', 'partly supported'])
    """

    number: int
    key: str
    title: str
    claim: str
    verdict: str
    reason: str
    checks: tuple[Check, ...]
    gates: tuple[Check, ...]
    numbers: dict
    figure: Figure
    settings: dict = field(default_factory=dict)
    seconds: float = 0.0
    alternatives: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        check_choice("verdict", self.verdict, VERDICTS)
        alternatives = tuple(self.alternatives) or (self.verdict,)
        for a in alternatives:
            check_choice("alternatives", a, VERDICTS)
        if alternatives[0] != self.verdict:
            raise ValueError(f"alternatives must start with the verdict {self.verdict!r}, got "
                             f"{alternatives!r}")
        object.__setattr__(self, "alternatives", alternatives)

    @property
    def borderline(self) -> bool:
        """True when borderline checks allow another verdict than :attr:`verdict`."""
        return len(self.alternatives) > 1

    @property
    def borderline_checks(self) -> tuple[Check, ...]:
        """The gates and checks whose threshold lies inside their value's interval."""
        return tuple(c for c in (*self.gates, *self.checks) if c.borderline)

    def to_dict(self) -> dict[str, Any]:
        """Everything but the figure, JSON-able (NaN → None)."""
        return {"number": self.number, "key": self.key, "title": self.title,
                "claim": self.claim, "verdict": self.verdict, "borderline": self.borderline,
                "alternatives": list(self.alternatives), "reason": self.reason,
                "checks": [c.as_dict() for c in self.checks],
                "gates": [c.as_dict() for c in self.gates],
                "borderline_checks": [c.name for c in self.borderline_checks],
                "numbers": jsonable(self.numbers), "settings": jsonable(self.settings),
                "seconds": round(float(self.seconds), 2)}

    def __repr__(self) -> str:
        tag = " (borderline)" if self.borderline else ""
        return f"ClaimResult({self.number}: {self.title!r}, verdict={self.verdict!r}{tag})"


def _check_list(name: str, value: Any) -> list[Check]:
    if isinstance(value, (str, bytes, Check)) or not isinstance(value, Iterable):
        raise TypeError(f"{name} must be a sequence of Check, got {value!r:.60}")
    out = list(value)
    bad = [v for v in out if not isinstance(v, Check)]
    if bad:
        raise TypeError(f"{name} must contain Check objects only, got {bad[0]!r:.60}")
    return out


def _decide(passed: Sequence[bool], names: Sequence[str], required: Sequence[str],
            gates_passed: Sequence[bool]) -> str:
    """The rule of :func:`verdict_from_checks` on pass/fail outcomes alone."""
    if not all(gates_passed):
        return "inconclusive"
    n_pass = sum(passed)
    if n_pass == len(passed):
        return "supported"
    if any(not p and n in required for p, n in zip(passed, names, strict=True)):
        return "not supported"
    if n_pass < len(passed) / 2:
        return "not supported"
    return "partly supported"


def _validated(checks: Any, required: Any, gates: Any
               ) -> tuple[list[Check], tuple[str, ...], list[Check]]:
    checks = _check_list("checks", checks)
    gates = _check_list("gates", gates)
    required = check_strings("required", required)
    if not checks:
        raise ValueError("checks must not be empty")
    names = [c.name for c in checks]
    unknown = [r for r in required if r not in names]
    if unknown:
        raise ValueError(f"required names unknown checks {unknown}; checks are {names}")
    return checks, tuple(required), gates


def verdict_alternatives(checks: Sequence[Check], *, required: Sequence[str] = (),
                         gates: Sequence[Check] = ()) -> tuple[str, ...]:
    """Every verdict the checks allow when their borderline ones may go either way.

    Each borderline check or gate (threshold inside the value's interval,
    :attr:`Check.borderline`) is let pass and fail in every combination, the others
    keep their outcome, and :func:`verdict_from_checks`' rule gives a verdict for
    each combination.  A verdict is *borderline* when this yields more than one.

    Parameters
    ----------
    checks, required, gates
        As for :func:`verdict_from_checks`.

    Returns
    -------
    tuple of str
        Distinct verdicts, the measured one first, then in the order of
        :data:`VERDICTS`.

    Raises
    ------
    ValueError
        If ``checks`` is empty or ``required`` names an unknown check.
    TypeError
        If ``checks`` or ``gates`` hold something else than :class:`Check`.

    Examples
    --------
    >>> a = Check("a", "tolerance gain", 0.2, 0.05)
    >>> b = Check("b", "accuracy gain", 0.06, 0.05, interval=(0.03, 0.09))
    >>> verdict_alternatives([a, b])
    ('supported', 'partly supported')
    >>> verdict_alternatives([a, Check("b", "accuracy gain", 0.2, 0.05, interval=(0.1, 0.3))])
    ('supported',)
    """
    checks, required, gates = _validated(checks, required, gates)
    names = [c.name for c in checks]
    outcomes = [[c.passed] for c in checks]
    gate_outcomes = [[g.passed] for g in gates]
    for c, o in zip((*checks, *gates), (*outcomes, *gate_outcomes), strict=True):
        if c.borderline:
            o.append(not o[0])
    measured = _decide([o[0] for o in outcomes], names, required, [o[0] for o in gate_outcomes])
    found = {measured}
    for combo in itertools.product(*outcomes, *gate_outcomes):
        found.add(_decide(combo[:len(checks)], names, required, combo[len(checks):]))
    return (measured, *[v for v in VERDICTS if v in found and v != measured])


def verdict_from_checks(checks: Sequence[Check], *, required: Sequence[str] = (),
                        gates: Sequence[Check] = ()) -> tuple[str, str]:
    """Combine checks into a verdict and a sentence that justifies it.

    The rule, the same for every claim:

    - ``"inconclusive"`` if any gate (a control, e.g. "the network learned") fails;
    - ``"supported"`` if every check passes;
    - ``"not supported"`` if a check named in ``required`` fails, or fewer than half
      of the checks pass;
    - ``"partly supported"`` otherwise.

    A check that is not measured (NaN) fails.  When borderline checks (threshold
    inside the value's interval) could give another verdict
    (:func:`verdict_alternatives`), the reason ends with a sentence saying which
    checks are borderline and which verdicts they allow.

    Parameters
    ----------
    checks : sequence of Check
        At least one.
    required : sequence of str
        Names of checks without which the claim fails.
    gates : sequence of Check
        Controls.

    Returns
    -------
    verdict : str
        One of :data:`VERDICTS` (the one the measured values give).
    reason : str
        Which checks passed and failed, with values and thresholds, and whether the
        verdict is borderline.

    Raises
    ------
    ValueError
        If ``checks`` is empty or ``required`` names an unknown check.
    TypeError
        If ``checks`` or ``gates`` hold something else than :class:`Check`.

    Examples
    --------
    >>> a = Check("a", "tolerance gain", 0.2, 0.05)
    >>> b = Check("b", "accuracy gain", 0.01, 0.05)
    >>> verdict_from_checks([a, b])[0]
    'partly supported'
    >>> verdict_from_checks([a, b], required=["b"])[0]
    'not supported'
    >>> verdict_from_checks([a], gates=[Check("g", "accuracy above chance", 0.0, 0.1)])[0]
    'inconclusive'
    >>> near = Check("b", "accuracy gain", 0.06, 0.05, interval=(0.03, 0.09))
    >>> print(verdict_from_checks([a, near])[1])  # doctest: +NORMALIZE_WHITESPACE
    Supported: all 2 checks pass. Borderline: the threshold lies within the interval of
    accuracy gain: 0.06 [0.03, 0.09] (needs >= 0.05): pass (borderline), so the verdict
    could also be partly supported.
    """
    checks, required, gates = _validated(checks, required, gates)
    verdict = _verdict_text(checks, required, gates)
    alternatives = verdict_alternatives(checks, required=required, gates=gates)
    if len(alternatives) == 1:
        return verdict
    deciding = [c for c in (*gates, *checks) if c.borderline]
    return verdict[0], (verdict[1] + " Borderline: the threshold lies within the interval of "
                        + "; ".join(map(str, deciding)) + ", so the verdict could also be "
                        + " or ".join(alternatives[1:]) + ".")


def _verdict_text(checks: list[Check], required: tuple[str, ...],
                  gates: list[Check]) -> tuple[str, str]:
    """The measured verdict and its reason (validated arguments)."""
    failed_gates = [g for g in gates if not g.passed]
    if failed_gates:
        return "inconclusive", ("Inconclusive: the control " + "; ".join(map(str, failed_gates))
                                + ", so the checks cannot be judged.")
    failed = [c for c in checks if not c.passed]
    n_pass = len(checks) - len(failed)
    if not failed:
        return "supported", f"Supported: all {len(checks)} checks pass."
    listing = "; ".join(map(str, failed))
    required_failed = [c for c in failed if c.name in required]
    if required_failed:
        return "not supported", ("Not supported: the required check "
                                 + "; ".join(map(str, required_failed))
                                 + f" ({n_pass} of {len(checks)} checks pass).")
    if n_pass < len(checks) / 2:
        return "not supported", (f"Not supported: only {n_pass} of {len(checks)} checks pass; "
                                 f"failed: {listing}.")
    return "partly supported", (f"Partly supported: {n_pass} of {len(checks)} checks pass; "
                                f"failed: {listing}.")


def _result(number: int, key: str, checks: Sequence[Check], numbers: dict, figure: Figure,
            settings: dict, start: float, *, required: Sequence[str] = (),
            gates: Sequence[Check] = ()) -> ClaimResult:
    verdict, reason = verdict_from_checks(checks, required=required, gates=gates)
    alternatives = verdict_alternatives(checks, required=required, gates=gates)
    title, claim = _CLAIM_TEXT[key]
    tag = f" (borderline: or {' or '.join(alternatives[1:])})" if len(alternatives) > 1 else ""
    figure.suptitle(f"Claim {number}: {title} — {verdict}{tag}")
    return ClaimResult(number=number, key=key, title=title, claim=claim, verdict=verdict,
                       reason=reason, checks=tuple(checks), gates=tuple(gates),
                       numbers=numbers, figure=figure, settings=dict(settings),
                       seconds=time.perf_counter() - start, alternatives=alternatives)


_CLAIM_TEXT = {
    "hierarchy": ("features grow more complex and receptive fields larger with depth",
                  "CNNs (and HMAX) build a hierarchy: early units are small edge detectors, "
                  "deeper units have larger receptive fields and respond to more complex "
                  "features (Zeiler & Fergus 2014)."),
    "first_layer": ("the first layer learns V1-like edge detectors",
                    "The first convolutional layer learns oriented, band-pass (Gabor-like) "
                    "filters like V1 simple cells (Krizhevsky et al. 2012)."),
    "pooling": ("pooling buys translation tolerance",
                "Max-pooling makes responses tolerant to small shifts of the input "
                "(Riesenhuber & Poggio 1999)."),
    "rotation": ("no built-in rotation invariance, but rotated copies of filters",
                 "Convolution is not rotation invariant: a trained network's deep units "
                 "tolerate shifts better than rotations, and its first layer holds rotated "
                 "copies of the same filter."),
    "weight_sharing": ("locality and weight sharing cut parameters",
                       "A convolutional network reaches a multilayer perceptron's accuracy with "
                       "far fewer parameters and fewer training examples."),
    "fc_layers": ("the fully connected layers matter",
                  "The fully connected layers add accuracy beyond a linear read-out of the "
                  "convolutional features."),
    "hubel_wiesel": ("simple/complex cells: F1/F0 bimodality that CNN units lack",
                     "CNNs were inspired by Hubel & Wiesel's simple and complex cells, yet the "
                     "simple/complex split (bimodal F1/F0, Skottun et al. 1991) that a "
                     "Hubel–Wiesel circuit reproduces is absent within CNN layers."),
}
