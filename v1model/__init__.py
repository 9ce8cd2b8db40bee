"""Models of primary visual cortex and convolutional networks behind one interface.

The names below are imported on first use (PEP 562), so ``import v1model`` and
the command line start fast: ``from v1model import V1Model`` imports
:mod:`v1model.v1` and what it needs, not the spiking layer (brian2), the CNN
training code or scipy.stats.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from v1model._lazy import lazy_attribute

#: Public name -> the submodule that defines it.
_LAZY = {
    "ensemble_data": "v1model.ensemble",
    "ensemble_members": "v1model.ensemble",
    "load_ensemble": "v1model.ensemble",
    "train_cnn": "v1model.ensemble",
    "C1Stage": "v1model.hmax",
    "CNN": "v1model.cnn",
    "Network": "v1model.cnn",
    "TorchModel": "v1model.torch_adapter",
    "default_cnn_spec": "v1model.cnn",
    "default_training_data": "v1model.cnn",
    "mlp_spec": "v1model.mlp",
    "train": "v1model.cnn",
    "load_pretrained_cnn": "v1model.cnn",
    "train_default_cnn": "v1model.cnn",
    "C2Stage": "v1model.hmax",
    "HMAX": "v1model.hmax",
    "S1Stage": "v1model.hmax",
    "S2Stage": "v1model.hmax",
    "SpikeTrains": "v1model.spiking",
    "SpikingV1": "v1model.spiking",
    "imprint_prototypes": "v1model.hmax",
    "load_prototypes": "v1model.hmax",
    "save_prototypes": "v1model.hmax",
    "GaborBank": "v1model.gabor",
    "Model": "v1model.base",
    "check_model": "v1model.base",
    "V1Model": "v1model.v1",
    "divisive_normalization": "v1model.cells",
    "energy": "v1model.cells",
    "gabor_kernel": "v1model.gabor",
    "half_wave": "v1model.cells",
    "max_pool": "v1model.cells",
    "sample_population": "v1model.population",
    "display_sf_range": "v1model.population",
    "firing_rate": "v1model.cells",
    "fitted_parameters": "v1model.v1",
    "mix_pathways": "v1model.cells",
    "mixture_modulation_ratio": "v1model.cells",
    "normalize": "v1model.cells",
    "pool_weights": "v1model.cells",
    "sample_v1_population": "v1model.population",
}

__all__ = [
    "ensemble_data",
    "ensemble_members",
    "load_ensemble",
    "train_cnn",
    "C1Stage",
    "CNN",
    "Network",
    "TorchModel",
    "default_cnn_spec",
    "default_training_data",
    "mlp_spec",
    "train",
    "load_pretrained_cnn",
    "train_default_cnn",
    "C2Stage",
    "HMAX",
    "S1Stage",
    "S2Stage",
    "SpikeTrains",
    "SpikingV1",
    "imprint_prototypes",
    "load_prototypes",
    "save_prototypes",
    "GaborBank",
    "Model",
    "check_model",
    "V1Model",
    "divisive_normalization",
    "energy",
    "gabor_kernel",
    "half_wave",
    "max_pool",
    "sample_population",
    "display_sf_range",
    "firing_rate",
    "fitted_parameters",
    "mix_pathways",
    "mixture_modulation_ratio",
    "normalize",
    "pool_weights",
    "sample_v1_population",
]


def __getattr__(name: str) -> Any:
    """Import a public name's submodule on first use and cache the name here.

    Submodules not imported yet are found too (``import v1model; v1model.cells``),
    as they were when this package imported them all.
    """
    return lazy_attribute(__name__, _LAZY, globals(), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # what static tools see: the eager imports
    from v1model.base import Model, check_model
    from v1model.cells import (
        divisive_normalization,
        energy,
        firing_rate,
        half_wave,
        max_pool,
        mix_pathways,
        mixture_modulation_ratio,
        normalize,
        pool_weights,
    )
    from v1model.cnn import (
        CNN,
        Network,
        default_cnn_spec,
        default_training_data,
        load_pretrained_cnn,
        train,
        train_default_cnn,
    )
    from v1model.ensemble import (
        ensemble_data,
        ensemble_members,
        load_ensemble,
        train_cnn,
    )
    from v1model.gabor import GaborBank, gabor_kernel
    from v1model.hmax import (
        HMAX,
        C1Stage,
        C2Stage,
        S1Stage,
        S2Stage,
        imprint_prototypes,
        load_prototypes,
        save_prototypes,
    )
    from v1model.mlp import mlp_spec
    from v1model.population import display_sf_range, sample_population, sample_v1_population
    from v1model.spiking import SpikeTrains, SpikingV1
    from v1model.torch_adapter import TorchModel
    from v1model.v1 import V1Model, fitted_parameters
