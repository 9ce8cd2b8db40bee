"""The page machinery the report jobs share: figures drawn to PNG, in parallel, on HTML pages.

``v1model compare`` and ``v1model claims`` both turn matplotlib figures into PNG
bytes (:func:`figure_png`), embed them in self-contained HTML pages
(:func:`data_uri`, :func:`html_page`) and format numbers the same way
(:func:`fmt`).  Figures are drawn on a :class:`concurrent.futures.Executor` passed
in (:func:`draw_all`, :func:`collect`); without one they are drawn here, in turn.
"""

from __future__ import annotations

import base64
import html
import io
import signal
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from typing import Any

import matplotlib
import matplotlib.pyplot as plt
import numpy as np

from stimuli._shared.io import atomic_path

__all__ = ["FigureJob", "collect", "data_uri", "draw_all", "figure_png", "fmt", "html_page",
           "ignore_interrupts", "render", "save_figure", "spread", "submit"]


@dataclass(frozen=True)
class FigureJob:
    """One figure of a report: where it goes and how to draw it.

    ``draw(**kwargs)`` returns a matplotlib Figure; both must pickle (module-level
    function, plain data) so the figure can be drawn in another process.
    """

    name: str
    section: str
    caption: str
    model: str | None
    draw: Callable[..., Any]
    kwargs: dict[str, Any]


def render(draw: Callable[..., Any], kwargs: dict[str, Any]) -> tuple[bytes, float]:
    """Draw one figure with Agg; return its PNG bytes and the CPU seconds it took."""

    matplotlib.use("Agg")
    start = time.process_time()
    png = figure_png(draw(**kwargs))
    return png, time.process_time() - start


def ignore_interrupts() -> None:
    """Initializer of worker processes: ignore Ctrl-C (SIGINT), which the parent handles.

    Ctrl-C reaches every process of the terminal's process group; without this each
    worker would print its own KeyboardInterrupt traceback.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def submit(executor: Executor | None, function: Callable[..., Any], /, **kwargs: Any) -> Future:
    """``function(**kwargs)`` on ``executor``, or here and now (a finished future) if None."""
    if executor is not None:
        return executor.submit(function, **kwargs)
    future: Future = Future()
    try:
        future.set_result(function(**kwargs))
    except Exception as exc:  # noqa: BLE001 - raised again by future.result()
        future.set_exception(exc)
    return future


def draw_all(executor: Executor | None,
             jobs: Sequence[FigureJob]) -> list[tuple[FigureJob, Future]]:
    """Start drawing every job on ``executor`` (here, in turn, if None)."""
    return [(job, submit(executor, render, draw=job.draw, kwargs=job.kwargs)) for job in jobs]


def collect(figures: list[tuple[FigureJob, Future]]) -> list[dict[str, Any]]:
    """Wait for the figures: ``name``, ``section``, ``caption``, ``model``, ``png``, ``cpu_s``."""
    out = []
    for job, future in figures:
        png, cpu = future.result()
        out.append({"name": job.name, "section": job.section, "caption": job.caption,
                    "model": job.model, "png": png, "cpu_s": cpu})
    return out


def figure_png(fig, *, dpi: float = 80, close: bool = True) -> bytes:
    """The figure as PNG bytes at ``dpi``; closed afterwards unless ``close=False``."""
    buf = io.BytesIO()
    # no bbox_inches="tight" and no tight_layout: each costs a full extra draw, and text
    # layout dominates the figure time; margins are set in inches by the figure functions
    fig.savefig(buf, format="png", dpi=dpi)
    if close:
        plt.close(fig)
    return buf.getvalue()


def spread(indices: np.ndarray, k: int) -> list[int]:
    """Up to ``k`` of ``indices`` spread evenly (the units a figure shows).

    Examples
    --------
    >>> spread(np.arange(10), 3)
    [0, 4, 9]
    """
    indices = np.asarray(indices)
    if indices.size == 0:
        return []
    pick = np.linspace(0, indices.size - 1, min(indices.size, k)).round().astype(int)
    return sorted(set(indices[pick].tolist()))


def save_figure(fig, path: str, *, dpi: float = 100) -> None:
    """Write the figure as a PNG atomically (trimmed to its contents) and close it."""
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=dpi, format="png", bbox_inches="tight")
    plt.close(fig)


def data_uri(png: bytes) -> str:
    """PNG bytes as a ``data:`` URI, so a page needs no files beside it."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def html_page(title: str, body: str, *, css: str = "") -> str:
    """A complete, self-contained HTML page (UTF-8) with ``css`` inlined."""
    return (f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{html.escape(title)}"
            f"</title><style>{css}</style></head><body>\n{body}\n</body></html>\n")


def fmt(value: float | None, digits: int = 2) -> str:
    """A number for a table: ``digits`` decimals (significant digits from 100 up), – for None.

    Examples
    --------
    >>> fmt(0.12345), fmt(1234.5), fmt(None)
    ('0.12', '1.2e+03', '–')
    """
    return "–" if value is None else f"{value:.{digits}g}" if abs(value) >= 100 else \
        f"{value:.{digits}f}"
