"""Models behind the common interface that record their centre units through the new engine.

The linear stage at the recorded position only (``GaborBank.at`` /
``CNN.responses_at`` / ``S1Stage.at``: one float32 BLAS product), then the
model's own pointwise stage, by hand.  The V1 model, HMAX and the CNN offer this
behind the interface (``responses_at``, used by ``analysis.run_protocol``); these
wrappers are the by-hand reference rows (``*``) of ``bench_speed_limit.py``.
"""

from __future__ import annotations

import numpy as np


class CentreSimple:
    """A ``V1Model``'s simple layer at the centre pixel: ``bank.at``, sign, half-wave."""

    temporal = False

    def __init__(self, v1):
        self.display, self.v1, self.layers = v1.display, v1, ("simple",)
        rows, cols = v1.display.shape
        self.rows, self.cols = [(rows - 1) // 2], [(cols - 1) // 2]

    def responses(self, stimuli, layer):
        lin = self.v1.bank.at(stimuli, self.rows, self.cols)[:, self.v1._simple_index, 0, 0]
        return np.maximum(lin * self.v1._simple_sign, 0.0)          # (n, units)

    def unit_info(self, layer):
        return {}


class CentreConv:
    """A ``CNN`` conv stage at the centre map position: ``CNN.responses_at``."""

    temporal = False

    def __init__(self, cnn, layer: str = "conv1"):
        self.display, self.cnn, self.layer, self.layers = cnn.display, cnn, layer, (layer,)
        _, rows, cols = cnn.network.shapes[layer]
        self.rows, self.cols = [(rows - 1) // 2], [(cols - 1) // 2]

    def responses(self, stimuli, layer):
        return self.cnn.responses_at(stimuli, self.layer, self.rows, self.cols)[:, :, 0]

    def unit_info(self, layer):
        return {}


class CentreS1:
    """HMAX S1 at the centre pixel by hand: ``|g ⋆ I| / max(√(Σ_box L²), min_contrast · size)``.

    ``S1Stage.at``: the filter responses and the window sums of the normalisation
    (``L = mean_luminance + c``) are ``FourierFilters.at`` products at the one
    position (float32 BLAS) — what ``HMAX.responses_at`` does behind the interface.
    """

    temporal = False

    def __init__(self, hmax):
        self.display, self.layers = hmax.display, ("S1",)
        self.s1 = hmax.stages[0][1]
        rows, cols = hmax.display.shape
        self.rows, self.cols = [(rows - 1) // 2], [(cols - 1) // 2]

    def responses(self, stimuli, layer):
        out = self.s1.at(np.asarray(stimuli, dtype=np.float32), self.rows, self.cols)
        return out.reshape(len(out), -1)                                # (n, units)

    def unit_info(self, layer):
        return {}
