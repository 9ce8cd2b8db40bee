"""Models of primary visual cortex and convolutional networks behind one interface."""

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
