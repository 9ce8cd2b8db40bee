"""HMAX (Serre, Wolf, Bileschi, Riesenhuber & Poggio 2007) as a stack of stage objects.

The model alternates *S* (template matching) and *C* (max pooling) stages
(Riesenhuber & Poggio 1999, Nat Neurosci 2:1019; Serre et al. 2007, PAMI
29:411, Table 1):

- :class:`S1Stage` — a bank of Gabor filters, 16 sizes (7-37 px in steps of 2)
  × 4 orientations, ``λ = 2·size/d`` with ``d = 4 − 0.025·(size − 7)``,
  ``σ = 0.8 λ``, aspect ratio ``γ = 0.3``, mean removed over the whole filter
  square; the output is the absolute filter response divided by the local
  energy of the *luminance* image under the filter window (the images' contrast
  plus ``mean_luminance``, 1 in the package's contrast units), so S1 grows with
  contrast as in Serre et al.'s code.
- :class:`C1Stage` — max over the two S1 scales of a band, then max over N×N
  grids moved in steps of ΔS (N = 8, 10, …, 22; ΔS = N / 2), laid out centred
  (default) or as in Serre et al.'s code (``grid="serre"``).
- :class:`S2Stage` — Gaussian radial basis units ``exp(−β‖X − P‖²)`` on n×n×4
  patches of C1 (n ∈ {4, 8, 12, 16}), prototypes imprinted from C1 maps of
  training images (:func:`imprint_prototypes`).
- :class:`C2Stage` — max over all positions and bands (global), or, with a
  ``pool_size``, a local max per band so that S3/C3 can follow.

:class:`HMAX` strings stages together behind the model interface
(:mod:`v1model.base`): ``layers``, ``responses``, ``unit_info``,
``map_coordinates``.  S1 and C1 run through the Fourier domain with cached
spectra (:class:`v1model._fft.FourierFilters`); S2's dot products with the
prototypes are FFT correlations and its patch energies box sums.

**Layout of retinotopic responses (one array, consistent indexing).**  Each
band of C1 (and of S2, which keeps its input grid) is sampled on its own grid —
Serre's pooling step ΔS differs between bands, so band maps have different
sizes.  Rather than returning a ragged list, every band is placed in one array
``(n, bands · features, rows', cols')`` *centred*: the middle element of every
band's map sits at the array centre (at the display centre, to within half a
pixel), and element ``(i, j)`` of a band with step ``s`` lies
``(i − rows'//2)·s`` pixels below and ``(j − cols'//2)·s`` right of its centre
element.  Elements outside a band's map are 0 and flagged False by
:meth:`HMAX.valid_mask`; exact positions per channel come from
:meth:`HMAX.band_coordinates`, and ``unit_info(layer)["step"]`` gives each
channel's step in degrees.  ``map_coordinates`` returns the positions of the
finest band (the one whose map fills the array).  Channels are band-major:
channel ``band · features + feature``.  With ``C1Stage(grid="serre")`` the
bands are instead stored from element (0, 0) (Serre's layout: window 0 starts at
pixel 0); the exact positions still come from :meth:`HMAX.band_coordinates`.

Internally a stage passes ``data`` of shape ``(n, bands, features, rows,
cols)`` together with a :class:`Grid` that describes it without data.

The package holds one idea per module: :mod:`~v1model.hmax.gabors` (the S1
filters), :mod:`~v1model.hmax.s1`, :mod:`~v1model.hmax.c1`,
:mod:`~v1model.hmax.s2`, :mod:`~v1model.hmax.c2` (the stages),
:mod:`~v1model.hmax.grid` (:class:`Grid`), :mod:`~v1model.hmax.model`
(:class:`HMAX`) and :mod:`~v1model.hmax.prototypes`; every public name is
importable from ``v1model.hmax`` itself.
"""

from v1model.hmax.c1 import C1_GRIDS, SERRE_POOL_SIZES, SERRE_POOL_STEPS, C1Stage
from v1model.hmax.c2 import C2Stage
from v1model.hmax.gabors import SERRE_ORIENTATIONS, SERRE_SIZES, hmax_gabor, serre_gabor_parameters
from v1model.hmax.grid import Grid
from v1model.hmax.model import HMAX
from v1model.hmax.prototypes import (
    SERRE_PROTOTYPE_SIZES,
    imprint_prototypes,
    load_prototypes,
    save_prototypes,
)
from v1model.hmax.s1 import S1Stage
from v1model.hmax.s2 import S2Stage

__all__ = [
    "C1_GRIDS",
    "C1Stage",
    "C2Stage",
    "Grid",
    "HMAX",
    "S1Stage",
    "S2Stage",
    "SERRE_ORIENTATIONS",
    "SERRE_POOL_SIZES",
    "SERRE_POOL_STEPS",
    "SERRE_PROTOTYPE_SIZES",
    "SERRE_SIZES",
    "hmax_gabor",
    "imprint_prototypes",
    "load_prototypes",
    "save_prototypes",
    "serre_gabor_parameters",
]
