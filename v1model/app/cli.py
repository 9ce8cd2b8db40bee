"""The ``v1model`` command line.

Every subcommand states its units in ``--help``.  Exit status and messages:

* **2** — a user error: a bad flag or value (a negative seed, a size out of
  range) or an ``--out`` that is a file or cannot be written, found before any work
  starts; or arguments the library rejects (a ValueError/TypeError naming the
  parameter — the jobs check their arguments first — including
  :class:`stimuli.resources.MemoryBudgetError`, which says how to ask for less).
  One line on stderr, no traceback.
* **1** — a failure during the run: an OSError (disk full, a file vanished) or,
  for ``claims``, a claim that could not be run.  One line on stderr.
* **130** — interrupted (Ctrl-C), anywhere, including inside a brian2 simulation:
  one line ``interrupted``, no traceback.

A job's output folder (``--out/compare``, ``--out/claims``, ...) is written as a
unit (:mod:`v1model.app.outdir`): a failed or interrupted run leaves the previous
complete output untouched and removes its temporary files.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor

from stimuli.display import Display
from stimuli.protocols import list_protocols
from stimuli.resources import MAX_DISPLAY_SIDE, MAX_IMAGES
from v1model import _forkserver
from v1model.app.claims import run_claims_job
from v1model.app.compare import SCORE_METHODS, run_compare_job
from v1model.app.gallery import write_stimulus_gallery
from v1model.app.outdir import remove_stale_files
from v1model.app.registry import list_models
from v1model.app.report import ignore_interrupts
from v1model.app.rf import run_rf_job
from v1model.app.tuning import run_tuning_job
from v1model.ensemble import ARCHITECTURES, member_path, train_cnn

DEFAULT_OUT = "v1model-output"

#: Exit status of a user error (as argparse), a failed run, and an interrupted one.
EXIT_USAGE, EXIT_FAILURE, EXIT_INTERRUPTED = 2, 1, 130

#: Seeds are numpy/brian2 seeds: integers in [0, 2**32).
_MAX_SEED = 2**32 - 1


class _UsageError(Exception):
    """A problem with the user's arguments, reported as a usage error."""


class _RunFailed(Exception):
    """The job ran but did not do everything it was asked (exit status 1)."""


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage error as one line on stderr (exit status 2)."""

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (value > 0 and value != float("inf")):
        raise argparse.ArgumentTypeError(f"expected a positive finite number, got {text!r}")
    return value


def _int_in(low: int, high: int):
    """An argparse type: an integer in [low, high]."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"expected an integer >= {low}, got {text!r}")
        if value > high:
            raise argparse.ArgumentTypeError(f"expected an integer <= {high}, got {text!r}")
        return value
    parse.__name__ = "integer"
    return parse


_positive_int = _int_in(1, MAX_IMAGES)
_seed = _int_in(0, _MAX_SEED)
_size = _int_in(8, MAX_DISPLAY_SIDE)


def _add_display_args(parser: argparse.ArgumentParser, size: int, ppd: float) -> None:
    parser.add_argument("--size", type=_size, default=size,
                        help=f"display size in pixels (square; default {size})")
    parser.add_argument("--ppd", type=_positive_float, default=ppd,
                        help=f"pixels per degree of visual angle (default {ppd:g})")


def _add_common_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default=DEFAULT_OUT,
                        help=f"output directory (created if missing; default {DEFAULT_OUT!r})")
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")


def _prepare_out(path: str) -> str:
    """``--out`` as an absolute path, created and checked writable before any work starts.

    Also removes the temporary files (``.tmp-<pid>-*.part``) that killed runs left in it.
    """
    path = os.path.abspath(path)
    if os.path.exists(path) and not os.path.isdir(path):
        raise _UsageError(f"--out must be a directory, but {path!r} is a file")
    try:
        os.makedirs(path, exist_ok=True)
        # a real write, not os.access: permission bits do not tell about read-only mounts,
        # and root ignores them
        with tempfile.TemporaryFile(dir=path):
            pass
        remove_stale_files(path)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise _UsageError(f"--out {path!r} cannot be written: {reason}") from None
    return path


def _cmd_gallery(args: argparse.Namespace) -> int:

    out = _prepare_out(args.out)
    paths = write_stimulus_gallery(out, size=args.size, pixels_per_degree=args.ppd)
    print(f"wrote {len(paths)} stimulus images to {out}")
    for p in paths:
        print(f"  {p}")
    return 0


def _cmd_protocols(args: argparse.Namespace) -> int:

    display = Display((args.size, args.size), pixels_per_degree=args.ppd)
    print(f"Protocols on a {args.size}x{args.size}-pixel display at {args.ppd:g} pixels/degree "
          f"(defaults; degrees, cycles/degree, Hz, seconds):")
    for name, factory in list_protocols().items():
        print(f"\n{name}: {len(factory(display))} stimuli")
        print(f"  {factory(display)!r}")
    return 0


def _cmd_tuning(args: argparse.Namespace) -> int:

    out = _prepare_out(args.out)
    written = run_tuning_job(out, size=args.size, pixels_per_degree=args.ppd,
                             population=args.population, n_units=args.n_units,
                             complex_kind=args.complex_kind, progress=not args.no_progress,
                             rng=args.seed)
    print(f"orientation tuning of the V1 model written to {os.path.join(out, 'tuning')}")
    for layer, paths in written.items():
        print(f"  {layer}:")
        for p in paths:
            print(f"    {p}")
    return 0


def _csv_list(text: str) -> list[str]:
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise argparse.ArgumentTypeError(f"expected a comma-separated list, got {text!r}")
    return items


def _model_spec(text: str) -> str:
    """A registered model name or a ``module:callable`` spec (checked when it is loaded)."""
    if text in list_models() or ":" in text:
        return text
    raise argparse.ArgumentTypeError(
        f"invalid choice: {text!r} (choose a registered model: {', '.join(list_models())}; "
        "or give 'module:callable')")


def _print_written(title: str, written: dict) -> None:
    print(title)
    for key, value in written.items():
        if isinstance(value, (list, tuple)):
            print(f"  {key}:")
            for p in value:
                print(f"    {p}")
        else:
            print(f"  {key}: {value}")



@contextlib.contextmanager
def _figure_pool(blas_threads: int | None = None, *, stop_on_error: bool = False,
                 preload: Sequence[str] = ()) -> Iterator[Executor | None]:
    """Two worker processes for models, figures and fits (none on a single core).

    Started with ``spawn``: fresh interpreters, since forking a process that holds
    threads (BLAS, brian2) is unsafe.  With ``preload`` (module names) they are
    forked instead from a ``forkserver`` process — a fresh, single-threaded
    interpreter that imports those modules once — so the two workers do not each
    pay the imports (a second or more of CPU each).  ``blas_threads`` limits each
    worker's BLAS threads (two workers with two BLAS threads each would fight over
    two cores).
    Shut down, waiting for its tasks, on exit; with ``stop_on_error`` an exception
    (Ctrl-C) stops the workers at once instead (their tasks take minutes, and their
    results would be thrown away).
    """
    if (os.cpu_count() or 1) < 2:
        yield None
        return
    # The workers ignore Ctrl-C (a terminal sends it to the whole process group): this
    # process handles it, cancels what is queued and waits for the figures being drawn.
    # They are started here with SIGINT ignored, which they inherit, so that a Ctrl-C
    # while they import (seconds) does not print their tracebacks either.
    if preload:
        # the server the workers fork from (started already by ``python -m v1model
        # compare``): its environment and signal handling are the workers'
        _forkserver.start(preload, blas_threads=blas_threads)
        pool = ProcessPoolExecutor(max_workers=2, initializer=ignore_interrupts,
                                   mp_context=multiprocessing.get_context("forkserver"))
        for _ in range(2):
            pool.submit(int)  # each submit to a pool without idle workers starts one
    else:
        with _forkserver.child_environment(blas_threads):
            pool = ProcessPoolExecutor(max_workers=2, initializer=ignore_interrupts,
                                       mp_context=multiprocessing.get_context("spawn"))
            for _ in range(2):
                pool.submit(int)  # each submit to a pool without idle workers starts one
    try:
        yield pool
    except BaseException:
        if stop_on_error:
            for process in list((getattr(pool, "_processes", None) or {}).values()):
                process.terminate()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _cmd_compare(args: argparse.Namespace) -> int:

    out = _prepare_out(args.out)
    # the two workers run the registered models (longest first) and draw the figures:
    # one BLAS thread each, forked from a server that has imported the job once
    with _figure_pool(blas_threads=1, stop_on_error=True,
                      preload=_forkserver.COMPARE_PRELOAD) as executor:
        models = None
        if args.models is not None or args.model:
            models = list(args.models or []) + [m for m in args.model
                                                if m not in (args.models or [])]
        written = run_compare_job(out, quick=args.quick, models=models,
                                  layers=args.layers, progress=not args.no_progress,
                                  seed=args.seed, executor=executor, score=args.score)
    _print_written(f"comparison report written to {out} (open report.html in a browser)",
                   written)
    return 0


def _cmd_rf(args: argparse.Namespace) -> int:

    out = _prepare_out(args.out)
    written = run_rf_job(out, model=args.model, layer=args.layer,
                         method=args.method.replace("-", "_"), n_images=args.n_images,
                         grid=args.grid, size=args.size, pixels_per_degree=args.ppd,
                         units=args.units, min_r2=args.min_r2, progress=not args.no_progress,
                         seed=args.seed)
    _print_written(f"receptive fields written to {written['folder']} "
                   f"({written['seconds']:.1f} s)",
                   {"files": written["files"], "summary": written["summary"]})
    return 0


def _cmd_claims(args: argparse.Namespace) -> int:

    out = _prepare_out(args.out)
    pool = (_figure_pool(blas_threads=1, stop_on_error=True) if args.model is None
            else contextlib.nullcontext())
    with pool as executor:
        written = run_claims_job(out, quick=args.quick, progress=not args.no_progress,
                                 seed=args.seed, model=args.model, arch=args.arch,
                                 executor=executor)
    print(f"claims written to {written['folder']} in {written['total_seconds']:.0f} s "
          f"({len(written['networks'])} network(s)); open {written['index']}")
    for key, page in written["pages"].items():
        verdict = written["verdicts"][key] + (" (borderline)" if written["borderline"][key]
                                              else "")
        print(f"  {verdict:>29}  {key}: {page}")
    print(f"  summary: {written['summary']}")
    failed = written["failed"]
    if failed:
        where = "; ".join(f"{key} on {', '.join(nets)}" for key, nets in failed.items())
        raise _RunFailed(f"{len(failed)} of {len(written['verdicts'])} claims could not be "
                         f"run on every network ({where}); their pages give the error")
    return 0


def _cmd_train_cnn(args: argparse.Namespace) -> int:

    out = _prepare_out(args.out)
    path = member_path(args.arch, args.seed, out)
    start = time.perf_counter()
    options = {} if args.epochs is None else {"epochs": args.epochs}
    model = train_cnn(args.arch, args.seed, path=path, progress=not args.no_progress, **options)
    seconds = time.perf_counter() - start
    low, high = model.meta["accuracy_ci"]
    print(f"trained {model.meta['name']} {model!r} in {seconds:.0f} s; test accuracy "
          f"{model.meta['test_accuracy']:.3f} (95% CI {low:.3f}-{high:.3f})")
    print(f"weights written to {path} (+ .json record); load with v1model.cnn.CNN.load(path)")
    return 0


def _add_gallery(sub) -> None:
    """The ``gallery`` subcommand."""
    p = sub.add_parser("gallery", help="write PNGs of the stimulus library",
                       description="Write one PNG per stimulus type (gratings, plaid, bars, "
                                   "Gabor, noise, natural image) to --out.")
    _add_common_args(p)
    _add_display_args(p, size=128, ppd=32.0)
    p.set_defaults(func=_cmd_gallery)


def _add_tuning(sub) -> None:
    """The ``tuning`` subcommand."""
    p = sub.add_parser("tuning", help="orientation tuning of the V1 model's simple and "
                                      "complex cells",
                       description="Run the default orientation protocol (orientations 0-165 "
                                   "deg in 15 deg steps x phases 0-315 deg x sf in c/deg) "
                                   "through the V1 model's simple and complex cells; write "
                                   "tuning-curve figures (PNG), per-unit tables (CSV, JSON) "
                                   "and the recordings to --out/tuning.")
    _add_common_args(p)
    _add_display_args(p, size=64, ppd=16.0)
    p.add_argument("--population", choices=("grid", "macaque", "uniform"), default="grid",
                   help="the filter grid (12 orientations x 1, 2, 4 c/deg x 4 phases), or units "
                        "sampled from macaque V1 distributions or a uniform control "
                        "(default grid)")
    p.add_argument("--n-units", type=_positive_int, default=64,
                   help="units to sample for --population macaque/uniform (default 64)")
    p.add_argument("--complex-kind", choices=("energy", "max"), default="energy",
                   help="complex cells: quadrature energy or max pooling (default energy)")
    p.add_argument("--seed", type=_seed, default=0,
                   help=f"seed for population sampling (0 to {_MAX_SEED}; default 0)")
    p.set_defaults(func=_cmd_tuning)


def _add_compare(sub) -> None:
    """The ``compare`` subcommand."""
    p = sub.add_parser("compare", help="every model through one protocol battery; one report",
                       description="Run the default protocol battery (orientation x phase x "
                                   "sf in c/deg, sf tuning, size tuning in deg, RF mapping, "
                                   "drifting gratings in Hz for the spiking layer) through the "
                                   "V1 model, HMAX, the spiking layer and the pretrained CNN; "
                                   "write report.html, summary.json and the recordings.")
    _add_common_args(p)
    p.add_argument("--quick", action="store_true",
                   help="a smaller battery (fewer units and conditions) for a first look")
    p.add_argument("--models", type=_csv_list, default=None,
                   help="comma-separated registered model names (default: all, unless "
                        f"--model is given; registered: {', '.join(list_models())})")
    p.add_argument("--model", action="append", default=[], metavar="SPEC", type=_model_spec,
                   help="a model to compare: a registered name or 'module:callable', called "
                        "with the battery's display (a stimuli.Display; 40 x 40 px at 16 "
                        "px/deg with --quick, 64 x 64 otherwise) and returning a model; "
                        "repeat for several. A model that cannot be built or run is skipped "
                        "and listed in the report")
    p.add_argument("--layers", type=_csv_list, default=None,
                   help="comma-separated layer names to keep, bare or as model:layer "
                        "(default: each registered model's defaults, every layer of a --model "
                        "spec)")
    p.add_argument("--seed", type=_seed, default=0,
                   help=f"seed for every random draw (0 to {_MAX_SEED}; default 0)")
    p.add_argument("--score", choices=SCORE_METHODS, default=SCORE_METHODS[0],
                   help="brainscore (default): the 22 Marques et al. 2021 properties with "
                        "Brain-Score's definitions, raw and ceiled scores against the published "
                        "histograms; ks: the older 1 - KS of ten properties")
    p.set_defaults(func=_cmd_compare)


def _add_rf(sub) -> None:
    """The ``rf`` subcommand."""
    p = sub.add_parser("rf", help="map the receptive fields of one model layer and fit "
                                  "Gabors",
                       description="Map the receptive fields of one layer's units by white-noise "
                                   "reverse correlation, sparse noise (single light and dark "
                                   "squares; ON - OFF) or small gratings on a grid of positions; "
                                   "fit a 2-D Gabor to every noise map (position and sigma in "
                                   "deg, sf in c/deg, orientation and phase in deg, Ringach's "
                                   "nx, ny in cycles); write the maps (.npz), per-unit fits "
                                   "(CSV, JSON), figures (PNG) and summary.json to --out/rf. "
                                   "Complex cells and rectified units have no signed map: use "
                                   "--method gratings for their RF centre and diameter.")
    _add_common_args(p)
    p.add_argument("--model", default="v1", type=_model_spec,
                   help="a registered model (default v1; "
                        f"{', '.join(list_models())}) or 'module:callable', called with the "
                        "display (--size, --ppd) and returning a model")
    p.add_argument("--layer", default=None,
                   help="its layer (default: the first mapped one: v1 simple, hmax S1, "
                        "spiking simple, cnn conv1)")
    p.add_argument("--method", default="white-noise",
                   choices=("white-noise", "sparse-noise", "gratings"),
                   help="mapping stimulus (default white-noise)")
    p.add_argument("--n-images", type=_positive_int, default=None,
                   help="noise images (default 10000); not for --method gratings")
    p.add_argument("--grid", type=_int_in(3, 256), default=9,
                   help="grating positions per side, >= 3 (--method gratings; default 9)")
    p.add_argument("--size", type=_size, default=None,
                   help="display size in pixels, square (default 48; not for the CNN, whose "
                        "display is fixed at 32)")
    p.add_argument("--ppd", type=_positive_float, default=None,
                   help="pixels per degree of visual angle (default 16; not for the CNN)")
    p.add_argument("--units", choices=("centre", "all"), default="centre",
                   help="every channel at the display centre (default) or every unit of "
                        "the map (V1: 36 positions x 144 channels; minutes to fit)")
    p.add_argument("--min-r2", type=float, default=0.5,
                   help="Gabor fits below this R^2 count as failed (default 0.5)")
    p.add_argument("--seed", type=_seed, default=0,
                   help=f"seed of the noise (0 to {_MAX_SEED}; default 0)")
    p.set_defaults(func=_cmd_rf)


def _add_claims(sub) -> None:
    """The ``claims`` subcommand."""
    p = sub.add_parser("claims", help="why CNNs work: each common claim as an experiment",
                       description="Run the seven claims (hierarchy, edge detectors, pooling, "
                                   "rotation, weight sharing, FC layers, Hubel-Wiesel) on every "
                                   "network of the shipped ensemble and write one page per "
                                   "claim: the per-network results, the fraction of networks "
                                   "supporting it with its 95%% Wilson interval and the "
                                   "aggregate verdict (supported, mixed, not supported).")
    _add_common_args(p)
    p.add_argument("--quick", action="store_true",
                   help="smaller data and samples per network (a few minutes on 2 cores)")
    p.add_argument("--seed", type=_seed, default=0,
                   help=f"analysis seed of every claim (0 to {_MAX_SEED}; default 0)")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--arch", default=None, metavar="NAME",
                       help="only the ensemble networks of this architecture (small, wide)")
    which.add_argument("--model", default=None, metavar="SPEC", type=_model_spec,
                       help="run the claims that need no training (1 hierarchy, 2 first "
                            "layer, 3 pooling, 4 rotation, 7 Hubel-Wiesel) on this model "
                            "instead: a registered name or 'module:callable' (called as "
                            "factory(display[, seed=]) with a 64 x 64-pixel display at 16 "
                            "px/deg, 32 x 32 with --quick)")
    p.set_defaults(func=_cmd_claims)


def _add_train_cnn(sub) -> None:
    """The ``train-cnn`` subcommand."""
    p = sub.add_parser("train-cnn", help="retrain a shipped CNN of the ensemble from its seed",
                       description="Train one member of the shipped CNN ensemble "
                                   "(v1model.ensemble) deterministically from --arch and "
                                   "--seed and write its weights to --out/ARCH_seedS.npz "
                                   "with a JSON record (curves, test accuracy with its 95% "
                                   "interval). small: 32 x 32 px at 16 pixels/degree (2 deg "
                                   "wide); wide: 64 x 64 px at 16 pixels/degree (4 deg "
                                   "wide). Each takes 1-2 minutes on 2 cores.")
    _add_common_args(p)
    p.add_argument("--arch", choices=sorted(ARCHITECTURES), default="small",
                   help="architecture (default small, the network load_pretrained_cnn loads)")
    p.add_argument("--seed", type=_seed, default=0,
                   help=f"training seed (0 to {_MAX_SEED}; default 0; 0-4 ship)")
    p.add_argument("--epochs", type=_int_in(1, 10_000), default=None,
                   help="training epochs (default: the shipped recipe's)")
    p.set_defaults(func=_cmd_train_cnn)


def _add_protocols(sub) -> None:
    """The ``protocols`` subcommand."""
    p = sub.add_parser("protocols", help="list the stimulus protocols and their defaults",
                       description="List every protocol with its default parameters "
                                   "(orientations and phases in degrees, sf in cycles/degree, "
                                   "tf in Hz, durations in seconds, radii in degrees).")
    _add_display_args(p, size=64, ppd=16.0)
    p.set_defaults(func=_cmd_protocols)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``v1model`` command (every subcommand)."""
    parser = _Parser(
        prog="v1model",
        description="Run visual-neuroscience protocols through V1 models, HMAX, a spiking "
                    "V1 layer and CNNs. Units: degrees of visual angle, cycles/degree, Hz, s.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    _add_gallery(sub)
    _add_tuning(sub)
    _add_compare(sub)
    _add_rf(sub)
    _add_claims(sub)
    _add_train_cnn(sub)
    _add_protocols(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``v1model`` console script; returns the exit status.

    0 on success, 2 for a user error, 1 for a failed run, 130 when interrupted
    (see the module docstring); bad flags raise ``SystemExit(2)`` from argparse.
    """
    prog = "v1model"
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 0
        prog = f"v1model {args.command}"
        return args.func(args)
    except KeyboardInterrupt:
        # whatever was running has cleaned up on its way out (output folders are
        # written as a unit); nothing half-done is left looking done
        print(f"{prog}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except _UsageError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except _RunFailed as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except (ValueError, TypeError) as exc:
        # the library's validation, naming the bad parameter (the jobs validate their
        # arguments before any work; a MemoryBudgetError says how to ask for less)
        print(f"{prog}: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print(f"{prog}: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_FAILURE


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if isinstance(exc, (ValueError, TypeError)) else f"{type(exc).__name__}: {text}"
