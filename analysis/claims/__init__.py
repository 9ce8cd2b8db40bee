"""Why convolutional networks work: each common claim as an experiment with a verdict.

Seven claims practitioners make about CNNs, each turned into a measurement on
this package's models (the trained CNN of :mod:`v1model.cnn`, small CNN and MLP
variants trained for the comparison, HMAX, the V1 model and the spiking V1
layer) with the analysis functions every other model goes through:

1. :func:`claim_hierarchy` — features grow more complex and receptive fields
   larger with depth.
2. :func:`claim_first_layer` — the first layer learns edge detectors like V1
   simple cells.
3. :func:`claim_pooling` — pooling buys translation tolerance.
4. :func:`claim_rotation` — no built-in rotation invariance, but rotated copies of
   filters.
5. :func:`claim_weight_sharing` — locality and weight sharing cut parameters.
6. :func:`claim_fc_layers` — the fully connected layers matter.
7. :func:`claim_hubel_wiesel` — simple and complex cells (F1/F0 bimodality) that
   CNN units lack.

Every function returns a :class:`ClaimResult`: the numbers, a figure, the
:class:`Check` s (a measured value against an explicit threshold, both stated in
the function's docstring) and a verdict computed from the checks by
:func:`verdict_from_checks` — ``"supported"``, ``"partly supported"``, ``"not
supported"`` or ``"inconclusive"`` (a control failed, e.g. a network that did not
learn, so the comparison cannot be judged).  Thresholds are the package's
choices, not the literature's: they are there so that a reader can see what
would change the verdict.

A verdict whose deciding checks are *borderline* (the threshold inside the
value's own interval) is flagged and names the other verdicts it allows
(:func:`verdict_alternatives`), never rounded silently.  Over an ensemble of
networks, :func:`aggregate_verdicts` turns the per-network verdicts into the
fraction of networks supporting the claim, its Wilson interval and an aggregate
verdict (``"supported"``, ``"mixed"``, ``"not supported"``, ``"inconclusive"``;
the rule is in :mod:`analysis.claims.aggregate`).

Sizes default to the full experiment; ``v1model claims --quick``
(:func:`v1model.app.claims.run_claims_job`) passes smaller ones.
"""

from __future__ import annotations

from collections.abc import Callable

from analysis.claims.aggregate import AGGREGATE_VERDICTS, Aggregate, aggregate_verdicts
from analysis.claims.fc_layers import claim_fc_layers
from analysis.claims.first_layer import claim_first_layer
from analysis.claims.hierarchy import claim_hierarchy
from analysis.claims.hubel_wiesel import claim_hubel_wiesel
from analysis.claims.pooling import claim_pooling
from analysis.claims.rotation import claim_rotation
from analysis.claims.verdict import (
    VERDICTS,
    Check,
    ClaimResult,
    verdict_alternatives,
    verdict_from_checks,
)
from analysis.claims.weight_sharing import claim_weight_sharing

__all__ = [
    "AGGREGATE_VERDICTS",
    "CLAIMS",
    "Aggregate",
    "Check",
    "ClaimResult",
    "VERDICTS",
    "claim_fc_layers",
    "claim_first_layer",
    "claim_hierarchy",
    "claim_hubel_wiesel",
    "claim_pooling",
    "claim_rotation",
    "aggregate_verdicts",
    "claim_weight_sharing",
    "verdict_alternatives",
    "verdict_from_checks",
]

#: The claims in order: key → function.
CLAIMS: dict[str, Callable[..., ClaimResult]] = {
    "hierarchy": claim_hierarchy,
    "first_layer": claim_first_layer,
    "pooling": claim_pooling,
    "rotation": claim_rotation,
    "weight_sharing": claim_weight_sharing,
    "fc_layers": claim_fc_layers,
    "hubel_wiesel": claim_hubel_wiesel,
}
