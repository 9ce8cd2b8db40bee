"""Visual stimuli in contrast units on a display measured in degrees.

Gratings, bars, Gabor patches, noise, natural images, transforms, labelled
datasets and protocols (stimulus sets with their condition tables).
"""

from stimuli.conventions import (
    from_psychopy_grating,
    from_skimage_gabor,
    to_psychopy_drifting_grating,
    to_psychopy_grating,
    to_skimage_gabor,
)
from stimuli.datasets import Dataset, faces_dataset, natural_patches_dataset, shapes_dataset
from stimuli.display import Display
from stimuli.gratings import (
    aperture,
    bar,
    counterphase_grating,
    drifting_grating,
    edge,
    gabor_patch,
    grating,
    plaid,
    uniform,
)
from stimuli.natural import natural_image, natural_image_names, random_patches, whiten
from stimuli.noise import pink_noise, sparse_noise, white_noise
from stimuli.protocols import (
    Protocol,
    annulus_tuning,
    blank_screen,
    contrast_response,
    drifting_gratings,
    list_protocols,
    orientation_tuning,
    rf_mapping,
    sf_tuning,
    size_tuning,
    static_gratings,
    texture_families,
    white_noise_sequence,
)
from stimuli.resources import MemoryBudgetError, memory_budget, set_memory_budget
from stimuli.table import Table
from stimuli.textures import TEXTURE_FAMILIES, spectrally_matched_noise, texture_pair
from stimuli.transforms import rotate, scale, translate

__all__ = [
    "TEXTURE_FAMILIES",
    "Dataset",
    "Display",
    "MemoryBudgetError",
    "Protocol",
    "Table",
    "annulus_tuning",
    "aperture",
    "bar",
    "blank_screen",
    "contrast_response",
    "counterphase_grating",
    "drifting_grating",
    "drifting_gratings",
    "edge",
    "faces_dataset",
    "from_psychopy_grating",
    "from_skimage_gabor",
    "gabor_patch",
    "grating",
    "list_protocols",
    "memory_budget",
    "natural_image",
    "natural_image_names",
    "natural_patches_dataset",
    "orientation_tuning",
    "pink_noise",
    "plaid",
    "random_patches",
    "rf_mapping",
    "rotate",
    "scale",
    "set_memory_budget",
    "sf_tuning",
    "shapes_dataset",
    "size_tuning",
    "sparse_noise",
    "spectrally_matched_noise",
    "static_gratings",
    "texture_families",
    "texture_pair",
    "to_psychopy_drifting_grating",
    "to_psychopy_grating",
    "to_skimage_gabor",
    "translate",
    "uniform",
    "white_noise",
    "white_noise_sequence",
    "whiten",
]
