"""Internal helpers shared by the three packages ``stimuli``, ``v1model`` and ``analysis``.

This is the one internal module the packages share (scikit-image keeps the same
kind of helpers in ``skimage/_shared``).  It lives at the bottom of the layers,
inside ``stimuli``, and imports nothing from any of the three packages, so every
layer may use it without an import cycle:

- :mod:`stimuli._shared.validation` — ``check_*(name, value)`` argument checks
  whose errors name the parameter, and :func:`~stimuli._shared.validation.as_rng`;
- :mod:`stimuli._shared.io` — atomic file writes, pickle-free ``.npz`` save/load
  and :func:`~stimuli._shared.io.jsonable`, the one converter of results to JSON.

It is private: names here may change without notice.  User code should call the
public functions of the packages instead.
"""
