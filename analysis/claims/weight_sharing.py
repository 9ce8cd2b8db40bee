"""Claim 5: locality and weight sharing cut parameters."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from analysis.claims._common import (
    _accuracy_gate,
    _architecture,
    _display_for,
    _downsampled,
    _seed,
    _train_network,
    _training_arguments,
)
from analysis.claims.verdict import Check, ClaimResult, _result
from analysis.decoding import wilson_interval
from stimuli._shared.io import load_npz, save_npz
from stimuli._shared.validation import (
    RngLike,
    as_rng,
    check_bool,
    check_int,
    check_range,
)

#: The grid whose trained networks ship with the package (``v1model claims`` scores them
#: instead of training): the ``--quick`` grid — 150 images per class averaged to 16 × 16
#: px, two CNNs, two MLPs, the middle CNN and the larger MLP also on a quarter of the
#: training set — with a 256-unit (not 512) larger MLP, which is as accurate (within
#: 0.01 on seeds 0 and 1) at half the file size.
SHIPPED_GRID: dict[str, Any] = {
    "n_per_class": 150, "epochs": 8, "downsample": 2,
    "cnn_widths": ((4, 8, 16), (8, 16, 32)), "mlp_widths": ((64,), (256,)),
    "fractions": (0.25, 1.0)}

#: Seeds (``rng``) of the shipped grids: one grid = one "network" of the claim's
#: per-network results.
GRID_SEEDS = (0, 1, 2, 3, 4)

#: Folder of the shipped grids, ``grid_seed{S}.npz``.
GRID_DIR = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data", "weight_sharing")

#: File kind of a saved grid.
GRID_KIND = "analysis.weight_sharing_grid"


def claim_weight_sharing(*, n_per_class: int = 200, epochs: int = 8, downsample: int = 1,
                         cnn_widths: Sequence[Sequence[int]] = ((8, 16, 16), (16, 32, 32),
                                                                (16, 32, 64)),
                         mlp_widths: Sequence[Sequence[int]] = ((64,), (256,), (1024,)),
                         fractions: Sequence[float] = (0.25, 0.5, 1.0), rng: RngLike = 0,
                         progress: bool = False,
                         weights: str | os.PathLike | None = None) -> ClaimResult:
    """Claim 5: a CNN matches an MLP with fewer parameters and fewer training images.

    CNNs of the default architecture (widths ``(conv1_channels, conv2_channels,
    fc_units)`` in ``cnn_widths``) and one-hidden-layer MLPs
    (:func:`v1model.mlp.mlp_spec`, hidden widths ``mlp_widths``) are trained alike
    (the shipped network's optimiser, ``epochs`` epochs, one seed) on the default
    training data (natural-image patches and shapes, 11 classes, ``n_per_class`` per
    class) and scored on its held-out test set — the grid of
    ``benchmarks/cnn_vs_mlp.py``.  Then the middle CNN and the largest MLP are
    trained on each fraction of the training set in ``fractions``, for
    ``round(epochs / fraction)`` epochs so that every run takes the same number of
    gradient steps (a smaller set is not also a shorter training).

    With ``weights`` the grid is not trained but loaded from a file written by
    :func:`train_weight_sharing_grid` (``"shipped"``: the package's grid for seed
    ``rng``, :data:`SHIPPED_GRID` settings) and scored on the regenerated test set.

    Checks:

    - ``parameter_efficiency``: parameters of the most accurate MLP / those of the
      smallest CNN at least as accurate (within 0.01) ``>= 2`` (0 if no CNN is);
    - ``data_efficiency``: CNN − MLP accuracy at the smallest fraction ``>= 0.05``.

    Gate: the most accurate network beats chance by 0.1.  Verdict by
    :func:`verdict_from_checks`: both → supported, one → partly, none → not supported.

    Parameters
    ----------
    n_per_class, epochs : int
        Images per class (a quarter held out) and training epochs.
    downsample : int
        Average the images over ``downsample²`` pixel blocks (quick runs).
    cnn_widths : sequence of (int, int, int)
        CNN widths, at least one.
    mlp_widths : sequence of sequence of int
        Hidden-layer widths of each MLP, at least one.
    fractions : sequence of float
        Fractions of the training set in (0, 1].
    rng : None, int or numpy.random.Generator
        Data, initial weights, training order.  An int with ``weights``.
    progress : bool
        Progress bars while training.
    weights : str, optional
        ``"shipped"`` or the path of a saved grid: score its trained networks instead
        of training (no network is trained).  The grid's settings and seed must be
        the arguments'.

    Returns
    -------
    ClaimResult
        ``numbers``: ``runs`` (one record per network: ``model``, ``kind``,
        ``parameters``, ``n_train``, ``test_accuracy``, ``ci``, ``seconds`` of
        training), ``trained_here`` (False when loaded from ``weights``) and
        ``weights`` (the file).

    Raises
    ------
    ValueError
        If a width list is empty or a fraction is outside (0, 1], or ``weights`` were
        trained with other settings or another seed (the message names them).
    FileNotFoundError
        If the ``weights`` file is missing (the message says how to retrain it).

    Examples
    --------
    >>> result = claim_weight_sharing(**SHIPPED_GRID, rng=0, weights="shipped")
    >>> result.numbers["trained_here"], len(result.numbers["runs"])
    (False, 6)
    """
    start = time.perf_counter()
    settings = _grid_settings(n_per_class, epochs, downsample, cnn_widths, mlp_widths,
                              fractions)
    progress = check_bool("progress", progress)
    if weights is None:
        runs, data, pair = _train_grid(settings, rng, progress=progress)
        where = None
    else:
        if not isinstance(rng, (int, np.integer)) or isinstance(rng, bool):
            raise TypeError(f"rng must be the grid's integer seed when weights are given, got "
                            f"{rng!r}")
        where = grid_path(int(rng)) if weights == "shipped" else os.fspath(weights)
        runs, data, pair = _load_grid(where, settings, int(rng))
    return _score(runs, data, pair, settings, start, where)


def _grid_settings(n_per_class, epochs, downsample, cnn_widths, mlp_widths,
                   fractions) -> dict[str, Any]:
    """The checked settings of a grid (JSON-able: widths as lists)."""
    n_per_class, epochs, downsample = _training_arguments(n_per_class, epochs, downsample)
    cnn_widths = [tuple(check_int("cnn_widths", w, minimum=1) for w in ws) for ws in cnn_widths]
    mlp_widths = [tuple(check_int("mlp_widths", w, minimum=1) for w in ws) for ws in mlp_widths]
    if not cnn_widths or not mlp_widths or any(len(w) != 3 for w in cnn_widths):
        raise ValueError("cnn_widths must list (conv1, conv2, fc) triples and mlp_widths at "
                         "least one hidden-layer tuple")
    fractions = sorted({check_range("fractions", f, 0.0, 1.0, closed="right")
                        for f in fractions} | {1.0})
    return {"n_per_class": n_per_class, "epochs": epochs, "downsample": downsample,
            "cnn_widths": [list(w) for w in cnn_widths],
            "mlp_widths": [list(w) for w in mlp_widths], "fractions": fractions}


def _grid_plan(settings: dict[str, Any], data: Any
               ) -> tuple[list[dict[str, Any]], tuple[str, str]]:
    """The networks of a grid in training order (name, kind, widths, fraction, spec,
    training images and epochs) and the names of the data-curve pair (the middle CNN
    by parameters and the largest MLP)."""
    from v1model.cnn import default_cnn_spec
    from v1model.mlp import mlp_spec

    size = data.x_train.shape[1]

    def spec_of(kind: str, widths: list[int]) -> dict:
        if kind == "cnn":
            c1, c2, fc = widths
            return default_cnn_spec(data.n_classes, input_size=size,
                                    **_architecture({"conv1_channels": c1, "conv2_channels": c2,
                                                     "fc_units": fc}, size))
        return mlp_spec(data.n_classes, input_size=size, hidden=tuple(widths))

    def entry(kind: str, widths: list[int], fraction: float) -> dict[str, Any]:
        return {"model": f"{kind}-{'-'.join(map(str, widths))}", "kind": kind,
                "widths": list(widths), "fraction": fraction,
                "spec": spec_of(kind, widths),
                "n_train": max(data.n_classes, int(round(fraction * len(data.x_train)))),
                "epochs": max(1, int(round(settings["epochs"] / fraction)))}

    from v1model.cnn import Network

    plan = [entry("cnn", w, 1.0) for w in settings["cnn_widths"]]
    plan += [entry("mlp", w, 1.0) for w in settings["mlp_widths"]]
    sizes = [Network.from_spec(p["spec"], rng=0).n_parameters for p in plan]
    cnn_sizes = sizes[:len(settings["cnn_widths"])]
    mlp_sizes = sizes[len(settings["cnn_widths"]):]
    cnn_mid = settings["cnn_widths"][int(np.argsort(cnn_sizes)[len(cnn_sizes) // 2])]
    mlp_big = settings["mlp_widths"][int(np.argmax(mlp_sizes))]
    for fraction in settings["fractions"][:-1]:
        plan += [entry("cnn", cnn_mid, fraction), entry("mlp", mlp_big, fraction)]
    pair = (f"cnn-{'-'.join(map(str, cnn_mid))}", f"mlp-{'-'.join(map(str, mlp_big))}")
    return plan, pair


def _grid_data(settings: dict[str, Any], gen: np.random.Generator) -> tuple[Any, int]:
    """The grid's data (drawn from ``gen``) and its training seed (the next draw)."""
    from v1model.cnn import default_training_data

    data = _downsampled(default_training_data(_seed(gen), n_per_class=settings["n_per_class"]),
                        settings["downsample"])
    return data, _seed(gen)


def _train_grid(settings: dict[str, Any], rng: RngLike, *, progress: bool = False
                ) -> tuple[list[tuple[dict, Any, dict]], Any, tuple[str, str]]:
    """Train every network of the grid: ``[(plan entry, model, record)]`` and the data."""
    gen = as_rng(rng)
    data, seed = _grid_data(settings, gen)
    display = _display_for(data, 16.0 / settings["downsample"])
    plan, pair = _grid_plan(settings, data)
    out = []
    for entry in plan:
        model, record = _train_network(entry["spec"], data, display=display,
                                       epochs=entry["epochs"], seed=seed,
                                       n_train=entry["n_train"], progress=progress)
        out.append((entry, model, record))
    return out, data, pair


def grid_path(seed: int, folder: str | os.PathLike | None = None) -> str:
    """Path of the weight-sharing grid of seed ``seed``: ``{folder}/grid_seed{seed}.npz``.

    Parameters
    ----------
    seed : int
        The grid's ``rng`` seed, >= 0.
    folder : str, optional
        Default :data:`GRID_DIR` (the shipped grids).

    Returns
    -------
    str

    Raises
    ------
    ValueError
        If ``seed`` is negative.

    Examples
    --------
    >>> os.path.basename(grid_path(3))
    'grid_seed3.npz'
    """
    seed = check_int("seed", seed, minimum=0)
    return os.path.join(GRID_DIR if folder is None else os.fspath(folder),
                        f"grid_seed{seed}.npz")


def train_weight_sharing_grid(seed: int, *, path: str | os.PathLike | None = None,
                              progress: bool = False, **settings: Any) -> str:
    """Train claim 5's grid of CNNs and MLPs for seed ``seed`` and save all their weights.

    The networks are those :func:`claim_weight_sharing` trains with ``rng=seed`` and
    these settings (default :data:`SHIPPED_GRID`), bit for bit: the shipped grids
    were made by ``train_weight_sharing_grid(seed)`` for seeds :data:`GRID_SEEDS`.

    Parameters
    ----------
    seed : int
        The grid's seed (data, initial weights, training order), >= 0.
    path : str, optional
        Destination ``.npz`` (written atomically); default :func:`grid_path` ``(seed)``
        (the package's folder).
    progress : bool
        Progress bars while training.
    **settings
        Any of ``n_per_class``, ``epochs``, ``downsample``, ``cnn_widths``,
        ``mlp_widths``, ``fractions`` (as :func:`claim_weight_sharing`).

    Returns
    -------
    str
        The path written.  Its metadata holds the settings, the seed and each
        network's name, kind, widths, fraction, architecture, training images and
        epochs, test accuracy and training time.

    Raises
    ------
    ValueError
        If a setting is unknown or out of range.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = train_weight_sharing_grid(0, path=os.path.join(folder, "g.npz"),
    ...         n_per_class=8, epochs=1, downsample=4, cnn_widths=((2, 2, 4),),
    ...         mlp_widths=((8,),), fractions=(1.0,))
    ...     claim_weight_sharing(n_per_class=8, epochs=1, downsample=4,
    ...         cnn_widths=((2, 2, 4),), mlp_widths=((8,),), fractions=(1.0,),
    ...         weights=path).numbers["trained_here"]
    False
    """
    seed = check_int("seed", seed, minimum=0)
    unknown = sorted(set(settings) - set(SHIPPED_GRID))
    if unknown:
        raise ValueError(f"unknown grid setting(s) {unknown}; allowed: {sorted(SHIPPED_GRID)}")
    checked = _grid_settings(**{**SHIPPED_GRID, **settings})
    runs, _, _ = _train_grid(checked, seed, progress=check_bool("progress", progress))
    path = grid_path(seed) if path is None else os.fspath(path)
    arrays = {f"run{i}.{key}": value for i, (_, model, _) in enumerate(runs)
              for key, value in model.network.parameters().items()}
    meta = {"kind": GRID_KIND, "seed": seed, "settings": checked,
            "runs": [{**entry, "record": record} for entry, _, record in runs]}
    save_npz(path, arrays, meta)
    return path


def _load_grid(path: str, settings: dict[str, Any], seed: int
               ) -> tuple[list[tuple[dict, Any, dict]], Any, tuple[str, str]]:
    """The networks of a saved grid, checked against the settings and seed asked for."""
    from v1model.cnn import CNN, Network

    if not os.path.exists(path):
        raise FileNotFoundError(
            f"the weight-sharing grid {path!r} is missing; train it with "
            f"analysis.claims.weight_sharing.train_weight_sharing_grid({seed}, path=...) "
            f"(a few seconds per grid), or call claim_weight_sharing without weights= to "
            f"train inside the claim")
    arrays, meta = load_npz(path, GRID_KIND)
    if meta.get("seed") != seed:
        raise ValueError(f"weights {path!r} hold the grid of seed {meta.get('seed')}, not of "
                         f"rng={seed}")
    stored = meta.get("settings", {})
    differ = sorted(k for k in settings if stored.get(k) != settings[k])
    if differ:
        raise ValueError(f"weights {path!r} were trained with other settings: "
                         + ", ".join(f"{k}={stored.get(k)!r} (asked {settings[k]!r})"
                                     for k in differ))
    data, _ = _grid_data(settings, as_rng(seed))
    plan, pair = _grid_plan(settings, data)
    if [p["model"] for p in plan] != [r["model"] for r in meta["runs"]]:
        raise ValueError(f"weights {path!r} hold other networks than the grid's")
    display = _display_for(data, 16.0 / settings["downsample"])
    out = []
    for i, (entry, stored_run) in enumerate(zip(plan, meta["runs"], strict=True)):
        network = Network.from_spec(entry["spec"], rng=0)
        prefix = f"run{i}."
        network.set_parameters({k[len(prefix):]: v for k, v in arrays.items()
                                if k.startswith(prefix)})
        model = CNN(network, display, class_names=data.class_names)
        correct = int(np.sum(model.predict(data.x_test) == data.y_test))
        low, high = wilson_interval(correct, len(data.y_test))
        trained = stored_run["record"]
        record = {"parameters": network.n_parameters, "n_train": entry["n_train"],
                  "test_accuracy": correct / len(data.y_test), "ci": [low, high],
                  "final_loss": trained["final_loss"], "seconds": trained["seconds"]}
        out.append((entry, model, record))
    return out, data, pair


def _score(runs: list[tuple[dict, Any, dict]], data: Any, pair: tuple[str, str],
           settings: dict[str, Any], start: float, weights: str | None) -> ClaimResult:
    records = []
    for entry, _, record in runs:
        records.append({"model": entry["model"], "kind": entry["kind"],
                        "fraction": entry["fraction"], **record, "epochs": entry["epochs"]})
    fractions = settings["fractions"]
    full_cnn = [r for r in records if r["kind"] == "cnn" and r["fraction"] == 1.0]
    full_mlp = [r for r in records if r["kind"] == "mlp" and r["fraction"] == 1.0]
    best_mlp = max(full_mlp, key=lambda r: r["test_accuracy"])
    matching = [r for r in full_cnn if r["test_accuracy"] >= best_mlp["test_accuracy"] - 0.01]
    efficiency = (best_mlp["parameters"] / min(r["parameters"] for r in matching)
                  if matching else 0.0)
    low = fractions[0]
    cnn_name, mlp_name = pair
    acc_at = {r["model"]: r["test_accuracy"] for r in records if r["fraction"] == low}
    gap = acc_at[cnn_name] - acc_at[mlp_name]
    best = max(r["test_accuracy"] for r in records)
    gates = [_accuracy_gate("best_accuracy", best, data.n_classes)]
    checks = [Check("parameter_efficiency",
                    f"parameters of the best MLP ({best_mlp['model']}) / smallest CNN as "
                    f"accurate", efficiency, 2.0),
              Check("data_efficiency", f"accuracy {cnn_name} − {mlp_name} with "
                    f"{low:.0%} of the training set", gap, 0.05)]
    numbers = {"runs": records, "best_mlp": best_mlp["model"],
               "matching_cnns": [r["model"] for r in matching], "n_classes": data.n_classes,
               "n_train": len(data.x_train), "n_test": len(data.x_test),
               "data_curve_models": [cnn_name, mlp_name], "trained_here": weights is None,
               "weights": weights}
    fig = _weight_sharing_figure(records, fractions, cnn_name, mlp_name, data.n_classes)
    out_settings = {**settings, "weights": weights}
    return _result(5, "weight_sharing", checks, numbers, fig, out_settings, start, gates=gates)


def shipped_grids() -> list[dict[str, Any]]:
    """The shipped weight-sharing grids: ``{"name", "seed", "path"}`` per seed.

    Each is one "network" of claim 5's per-network results:
    ``claim_weight_sharing(**SHIPPED_GRID, rng=seed, weights="shipped")``.

    Returns
    -------
    list of dict
        Ordered by seed.

    Raises
    ------
    FileNotFoundError
        If a grid is missing (the message says how to retrain it).

    Examples
    --------
    >>> [g["name"] for g in shipped_grids()][:2]
    ['grid-s0', 'grid-s1']
    """
    out = []
    for seed in GRID_SEEDS:
        path = grid_path(seed)
        if not os.path.exists(path):
            raise FileNotFoundError(
                f"the shipped weight-sharing grid {path!r} is missing; retrain it with "
                f"analysis.claims.weight_sharing.train_weight_sharing_grid({seed})")
        out.append({"name": f"grid-s{seed}", "seed": seed, "path": path})
    return out


def _weight_sharing_figure(runs, fractions, cnn_name, mlp_name, n_classes) -> Figure:
    fig = plt.figure(figsize=(10, 4), layout="constrained")
    ax_p, ax_n = fig.subplots(1, 2)
    for i, kind in enumerate(("cnn", "mlp")):
        rows = sorted((r for r in runs if r["kind"] == kind and r["fraction"] == 1.0),
                      key=lambda r: r["parameters"])
        x = [r["parameters"] for r in rows]
        y = [r["test_accuracy"] for r in rows]
        err = np.array([[r["test_accuracy"] - r["ci"][0], r["ci"][1] - r["test_accuracy"]]
                        for r in rows]).T
        ax_p.errorbar(x, y, yerr=err, marker="o", color=f"C{i}", label=kind.upper(), capsize=3)
        for r in rows:
            ax_p.annotate(r["model"], (r["parameters"], r["test_accuracy"]), fontsize=6)
    ax_p.set_xscale("log")
    ax_p.set_xlabel("trainable parameters")
    ax_p.set_ylabel("test accuracy (95% Wilson CI)")
    ax_p.axhline(1 / n_classes, color="0.6", linestyle=":", label="chance")
    ax_p.legend(fontsize=7)
    for i, name in enumerate((cnn_name, mlp_name)):
        rows = sorted((r for r in runs if r["model"] == name), key=lambda r: r["n_train"])
        ax_n.plot([r["n_train"] for r in rows], [r["test_accuracy"] for r in rows], marker="o",
                  color=f"C{i}", label=f"{name} ({rows[0]['parameters']} params)")
    ax_n.set_xlabel("training images")
    ax_n.set_ylabel("test accuracy")
    ax_n.axhline(1 / n_classes, color="0.6", linestyle=":")
    ax_n.legend(fontsize=7)
    return fig
