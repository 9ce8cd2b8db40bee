"""The stimulus gallery: one PNG per stimulus type, for a first look at the library."""

from __future__ import annotations

import os

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from skimage.transform import resize

from stimuli._shared.io import atomic_path
from stimuli.display import Display
from stimuli.gratings import (
    bar,
    counterphase_grating,
    drifting_grating,
    edge,
    gabor_patch,
    grating,
    plaid,
)
from stimuli.natural import natural_image
from stimuli.noise import pink_noise, sparse_noise, white_noise
from v1model.app.outdir import staged_output


def _stimuli(display: Display) -> dict[str, np.ndarray]:


    radius = 0.4 * min(display.size_degrees)
    natural = resize(natural_image("camera"), display.shape, anti_aliasing=True)
    return {
        "grating_0deg": grating(display, orientation=0, sf=1.0),
        "grating_45deg_aperture": grating(display, orientation=45, sf=1.0, radius=radius,
                                          edge_width=0.2),
        "square_grating_90deg": grating(display, orientation=90, sf=0.75, waveform="square"),
        "annulus": grating(display, orientation=0, sf=1.0, radius=radius,
                           inner_radius=radius / 2),
        "plaid": plaid(display, orientations=(0, 90), sf=1.0),
        "light_bar": bar(display, orientation=30, length=2.0, width=0.3),
        "edge": edge(display, orientation=120),
        "gabor_patch": gabor_patch(display, orientation=45, sf=1.5, sigma_x=0.5),
        "drifting_grating_frame0": drifting_grating(display, direction=45, sf=1.0, tf=2.0,
                                                    duration=0.5)[0],
        "counterphase_frame3": counterphase_grating(display, orientation=0, sf=1.0, tf=2.0,
                                                    duration=0.5)[3],
        "white_noise": white_noise(display, 1, kind="binary", rng=0)[0],
        "pink_noise": pink_noise(display, 1, rng=0)[0],
        "sparse_noise": sparse_noise(display, 1, rng=0)[0][0],
        "natural_camera": natural,
    }


def write_stimulus_gallery(out_dir: str, *, size: int = 128,
                           pixels_per_degree: float = 32.0) -> list[str]:
    """Render every stimulus type to ``out_dir/gallery/*.png``; return the paths.

    Images are drawn with mean grey at the middle of the grey scale (contrast −1 → black,
    +1 → white).  ``out_dir/gallery`` is written as a unit: it is replaced only when
    every image is written.
    """

    matplotlib.use("Agg")

    display = Display((size, size), pixels_per_degree=pixels_per_degree)
    paths = []
    with staged_output(os.path.join(os.fspath(out_dir), "gallery")) as stage:
        for name, image in _stimuli(display).items():
            path = os.path.join(stage.path, f"{name}.png")
            with atomic_path(path, suffix=".png") as tmp:
                plt.imsave(tmp, image, cmap="gray", vmin=-1, vmax=1, format="png")
            paths.append(path)
    return stage.final(paths)
