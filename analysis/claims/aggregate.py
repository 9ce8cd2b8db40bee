"""A claim's verdict over many networks: the supporting fraction, its interval and a rule.

A statement about CNNs measured on one network is an anecdote.  The claims job runs
every claim on every network of an ensemble (several training seeds of several
architectures) and combines the per-network verdicts with one rule,
:func:`aggregate_verdicts`:

1. **Who is judged.**  Networks whose verdict is ``"inconclusive"`` (a control
   failed, e.g. the network did not learn) or whose run failed (``"not run"``) are
   *excluded*: they say nothing about the claim.  They are counted and reported.
2. **Who supports.**  Among the ``n`` judged networks, the ``k`` with verdict
   ``"supported"`` support the claim.  ``"partly supported"`` does **not** count
   (neither as 1 nor as ½): a network on which some of the claim's checks fail does
   not bear out the claim as stated, and counting halves would make ``k`` no longer
   a binomial count, so its interval would be meaningless.  How many networks at
   least partly support it is reported beside.
3. **The interval.**  The supporting fraction ``k / n`` gets its 95% Wilson score
   interval (:func:`analysis.decoding.wilson_interval`) — the networks are a sample
   of the networks one could have trained.
4. **The verdict.**  ``"supported"`` if the interval's lower bound is ≥ 0.5 (most
   networks of this kind support it, with 95% confidence), ``"not supported"`` if
   its upper bound is < 0.5, ``"mixed"`` otherwise, ``"inconclusive"`` if no
   network could be judged.  With 5 networks only 5/5 is supported and only 0/5
   not supported; with 10, 9/10 is supported and 1/10 not supported.
5. **Borderline.**  A per-network verdict whose deciding checks are borderline
   (threshold within the value's interval, :func:`.verdict.verdict_alternatives`)
   could have been another one.  The rule is recomputed for every combination of
   the networks' alternative verdicts; the aggregate is *borderline* when these
   give more than one aggregate verdict, and the reason says which.

The same rule is applied per architecture and over all networks.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from analysis.claims.verdict import VERDICTS
from analysis.decoding import wilson_interval
from stimuli._shared.validation import check_range

__all__ = ["AGGREGATE_RULE", "AGGREGATE_VERDICTS", "Aggregate", "aggregate_verdicts"]

#: The aggregate verdicts, strongest first.
AGGREGATE_VERDICTS = ("supported", "mixed", "not supported", "inconclusive")

#: Per-network verdicts the rule accepts: :data:`VERDICTS` plus ``"not run"`` (failed).
NETWORK_VERDICTS = (*VERDICTS, "not run")

_EXCLUDED = ("inconclusive", "not run")

#: The rule of :func:`aggregate_verdicts` in a few sentences (the claims pages show it).
AGGREGATE_RULE = (
    "Networks whose verdict is inconclusive (a control failed) or whose run failed are "
    "left out and listed. Among the n judged networks, the k with verdict “supported” "
    "support the claim; “partly supported” does not count (a network on which some of the "
    "claim's checks fail does not bear the claim out, and halves would make k no binomial "
    "count). The fraction k/n gets its 95% Wilson interval; the aggregate is supported if "
    "the lower bound is ≥ 0.5, not supported if the upper bound is < 0.5, and mixed "
    "otherwise (with 5 networks only 5/5 is supported and only 0/5 not supported; with 10, "
    "9/10 or more and 1/10 or fewer). It is borderline when the alternative verdicts of "
    "borderline networks could change it.")


@dataclass(frozen=True)
class Aggregate:
    """The verdict of one claim over a group of networks (:func:`aggregate_verdicts`).

    Attributes
    ----------
    verdict : str
        One of :data:`AGGREGATE_VERDICTS`.
    n_supporting : int
        Networks whose verdict is ``"supported"``.
    n_judged : int
        Networks with a verdict other than ``"inconclusive"`` and ``"not run"``.
    fraction : float or None
        ``n_supporting / n_judged``; None when no network was judged.
    interval : (float, float) or None
        Wilson interval of ``fraction`` at ``confidence``; None when no network was judged.
    confidence : float
        Confidence level of ``interval``.
    counts : dict
        Number of networks per verdict (every one of :data:`NETWORK_VERDICTS`).
    alternatives : tuple of str
        Aggregate verdicts reachable when borderline networks take their alternative
        verdicts, the measured one first.
    reason : str
        The rule applied to these numbers, in one or two sentences.
    """

    verdict: str
    n_supporting: int
    n_judged: int
    fraction: float | None
    interval: tuple[float, float] | None
    confidence: float
    counts: dict
    alternatives: tuple[str, ...]
    reason: str

    @property
    def borderline(self) -> bool:
        """True when borderline per-network verdicts could change the aggregate."""
        return len(self.alternatives) > 1

    @property
    def n_excluded(self) -> int:
        """Networks left out of the fraction (inconclusive or not run)."""
        return sum(self.counts[v] for v in _EXCLUDED)

    def as_dict(self) -> dict[str, Any]:
        """JSON-able fields plus ``borderline`` and ``n_excluded``."""
        return {"verdict": self.verdict, "borderline": self.borderline,
                "alternatives": list(self.alternatives), "n_supporting": self.n_supporting,
                "n_judged": self.n_judged, "n_excluded": self.n_excluded,
                "fraction": self.fraction,
                "interval": list(self.interval) if self.interval is not None else None,
                "confidence": self.confidence, "counts": dict(self.counts),
                "reason": self.reason}


def _rule(k: int, n: int, confidence: float) -> tuple[str, tuple[float, float] | None]:
    if n == 0:
        return "inconclusive", None
    low, high = wilson_interval(k, n, confidence=confidence)
    if low >= 0.5:
        return "supported", (low, high)
    if high < 0.5:
        return "not supported", (low, high)
    return "mixed", (low, high)


def _verdict_list(name: str, value: Any) -> list[str]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise TypeError(f"{name} must be a sequence of verdict strings, got {value!r:.60}")
    out = list(value)
    for v in out:
        if not isinstance(v, str) or v not in NETWORK_VERDICTS:
            raise ValueError(f"{name} must hold verdicts from {NETWORK_VERDICTS}, got {v!r:.60}")
    return out


def aggregate_verdicts(verdicts: Sequence[str], *,
                       alternatives: Sequence[Sequence[str]] | None = None,
                       confidence: float = 0.95) -> Aggregate:
    """Combine per-network verdicts of one claim by the rule of this module.

    Parameters
    ----------
    verdicts : sequence of str
        One verdict per network, from :data:`NETWORK_VERDICTS` (``"not run"``: the
        claim failed on that network).  May be empty (the aggregate is then
        inconclusive).
    alternatives : sequence of sequence of str, optional
        Per network, the verdicts its borderline checks allow
        (``ClaimResult.alternatives``; its measured verdict is added if missing).
        Default: no network is borderline.
    confidence : float
        Confidence level of the Wilson interval, in (0, 1).

    Returns
    -------
    Aggregate

    Raises
    ------
    ValueError
        If a verdict is unknown, ``alternatives`` has another length than
        ``verdicts``, or ``confidence`` is outside (0, 1).
    TypeError
        If ``verdicts`` or an entry of ``alternatives`` is not a sequence of strings.

    Examples
    --------
    >>> a = aggregate_verdicts(["supported"] * 3 + ["not supported"] * 2)
    >>> a.verdict, a.n_supporting, a.n_judged, [round(x, 3) for x in a.interval]
    ('mixed', 3, 5, [0.231, 0.882])
    >>> aggregate_verdicts(["supported"] * 5 + ["inconclusive"]).verdict
    'supported'
    >>> b = aggregate_verdicts(["supported"] * 5,
    ...                        alternatives=[["supported", "partly supported"]] + [[]] * 4)
    >>> b.verdict, b.borderline, b.alternatives
    ('supported', True, ('supported', 'mixed'))
    """
    verdicts = _verdict_list("verdicts", verdicts)
    confidence = check_range("confidence", confidence, 0.0, 1.0, closed="neither")
    if alternatives is None:
        options = [[v] for v in verdicts]
    else:
        if isinstance(alternatives, (str, bytes)) or not isinstance(alternatives, Iterable):
            raise TypeError("alternatives must be a sequence of verdict sequences, got "
                            f"{alternatives!r:.60}")
        alternatives = list(alternatives)
        if len(alternatives) != len(verdicts):
            raise ValueError(f"alternatives must have one entry per verdict ({len(verdicts)}), "
                             f"got {len(alternatives)}")
        options = [[v, *[a for a in _verdict_list("alternatives", alt) if a != v]]
                   for v, alt in zip(verdicts, alternatives, strict=True)]

    counts = {v: verdicts.count(v) for v in NETWORK_VERDICTS}
    n = sum(v not in _EXCLUDED for v in verdicts)
    k = counts["supported"]
    verdict, interval = _rule(k, n, confidence)

    # every (k, n) reachable when each network takes any of its allowed verdicts
    reachable = {(0, 0)}
    for opts in options:
        steps = {(v == "supported", v not in _EXCLUDED) for v in opts}
        reachable = {(kk + dk, nn + dn) for kk, nn in reachable for dk, dn in steps}
    found = {_rule(kk, nn, confidence)[0] for kk, nn in reachable}
    others = tuple(v for v in AGGREGATE_VERDICTS if v in found and v != verdict)

    excluded = [f"{counts[v]} {v}" for v in _EXCLUDED if counts[v]]
    left_out = f"; left out: {', '.join(excluded)}" if excluded else ""
    partly = (f" ({counts['supported'] + counts['partly supported']} at least partly)"
              if counts["partly supported"] else "")
    if interval is None:
        reason = f"No network could be judged{left_out}."
    else:
        bound = {"supported": f"lower bound {interval[0]:.2f} >= 0.5",
                 "not supported": f"upper bound {interval[1]:.2f} < 0.5",
                 "mixed": "interval contains 0.5"}[verdict]
        reason = (f"{k} of {n} judged networks support the claim{partly}{left_out}; "
                  f"{confidence:.0%} Wilson interval of the fraction "
                  f"[{interval[0]:.2f}, {interval[1]:.2f}], {bound}: {verdict}.")
    if others:
        reason += (" Borderline: with the borderline networks' alternative verdicts it could "
                   f"also be {' or '.join(others)}.")
    return Aggregate(verdict=verdict, n_supporting=k, n_judged=n,
                     fraction=k / n if n else None, interval=interval, confidence=confidence,
                     counts=counts, alternatives=(verdict, *others), reason=reason)
