"""Models behind the common interface that record their centre units through the new engine.

What round 2 of issue 16 wires into the models themselves: the linear stage at
the recorded position only (``GaborBank.at`` / ``CNN.responses_at``: one float32
BLAS product), then the model's own pointwise stage.  Used by
``bench_speed_limit.py`` and ``bench_scaling.py`` to measure what that path costs
through ``analysis.run_protocol`` today.
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
    """HMAX S1 at the centre pixel: ``|g ⋆ I| / max(√(Σ_box I²), min_contrast · size)``.

    Both the filter responses and the box energies are ``FourierFilters.at`` products
    at the one position (float32 BLAS).
    """

    temporal = False

    def __init__(self, hmax):
        from v1model._fft import FourierFilters

        self.display, self.layers = hmax.display, ("S1",)
        self.s1 = hmax.stages[0][1]
        s1 = self.s1
        self.filters = s1._bank(tuple(range(s1.n_scales)))
        side = s1.max_size
        boxes = np.zeros((s1.n_scales, side, side))
        for i, size in enumerate(s1.sizes):
            pad = (side - size) // 2
            boxes[i, pad:side - pad, pad:side - pad] = 1.0
        self.boxes = FourierFilters(boxes)
        self.floor = (s1.min_contrast * np.asarray(s1.sizes, dtype=np.float32))
        rows, cols = hmax.display.shape
        self.rows, self.cols = [(rows - 1) // 2], [(cols - 1) // 2]

    def responses(self, stimuli, layer):
        stimuli = np.asarray(stimuli, dtype=np.float32)
        lin = np.abs(self.filters.at(stimuli, self.rows, self.cols)[:, :, 0, 0])
        energy = self.boxes.at(stimuli * stimuli, self.rows, self.cols)[:, :, 0, 0]
        norm = np.maximum(np.sqrt(np.maximum(energy, 0.0)), self.floor)
        n_o = len(self.s1.orientations)
        return (lin.reshape(len(lin), -1, n_o) / norm[:, :, None]).reshape(len(lin), -1)

    def unit_info(self, layer):
        return {}
