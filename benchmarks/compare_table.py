"""Markdown table, property × layer, of the ceiled scores in a ``v1model compare`` summary.

Reads the ``summary.json`` of a run with Brain-Score scores (the default,
``--score brainscore``) and prints one row per Marques et al. (2021) property and
one column per model layer: the ceiled score, or why there is none.  Marks: ``*``
approximate reference, ``†`` no reference numbers (computed, not scored; the cell
gives the median), ``–`` the model's battery has no protocol for the property.
The last rows are each layer's mean ceiled score over the published references
and over every scored property (the extra ``surround_gsf_ratio`` excluded), and
each column's ceilings range.

Usage::

    python -m v1model compare --out /tmp/c
    python benchmarks/compare_table.py /tmp/c/compare/summary.json [--raw]

``--raw`` adds the raw score and the ceiling to each cell (``ceiled (raw/ceiling)``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

_MARK = {"approximate": "*", "none": "†"}


def _cell(row: dict, raw: bool) -> str:
    if not row["measured"]:
        return "–"
    if row["scored"]:
        text = f"{row['ceiled']:.2f}"
        return f"{text} ({row['raw']:.2f}/{row['ceiling']:.2f})" if raw else text
    if row["n_defined"] == 0:
        return f"n.s. (0/{row['n_units']} defined)"
    median = row["median"]
    return "n.s." if median is None else f"n.s. (median {median:.3g})"


def table(summary: dict, *, raw: bool = False) -> str:
    """The markdown table of one summary (see the module docstring)."""
    if summary.get("score_method") != "brainscore":
        raise ValueError("summary.json holds no Brain-Score scores (score_method "
                         f"{summary.get('score_method')!r}); rerun compare without --score ks")
    layers = [(f"{m}:{layer}", data["similarity_to_macaque"])
              for m, entry in summary["models"].items()
              for layer, data in entry["layers"].items()]
    # models whose layers divide one population, scored pooled as Brain-Score would
    layers += [(f"{m}:{'+'.join(p['layers'])} (pooled)", p["properties"])
               for m, p in summary.get("population_scores", {}).items()]
    names = list(layers[0][1])
    lines = ["| property | reference | " + " | ".join(label for label, _ in layers) + " |",
             "|---|---|" + "---|" * len(layers)]
    for name in names:
        first = layers[0][1][name]
        status = first["reference"]["status"]
        label = name + _MARK.get(status, "") + ("" if first["marques2021"] else " (extra)")
        cells = [_cell(rows[name], raw) for _, rows in layers]
        lines.append(f"| {label} | {status} | " + " | ".join(cells) + " |")
    for title, keep in (("mean, published", ("published",)),
                        ("mean, all scored", ("published", "approximate"))):
        cells = []
        for _, rows in layers:
            vals = [r["ceiled"] for r in rows.values() if r["scored"] and r["marques2021"]
                    and r["reference"]["status"] in keep]
            cells.append(f"{sum(vals) / len(vals):.2f} ({len(vals)})" if vals else "–")
        lines.append(f"| **{title}** | | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("summary", type=Path, help="summary.json of a v1model compare run")
    parser.add_argument("--raw", action="store_true", help="also the raw score and ceiling")
    args = parser.parse_args(argv)
    summary = json.loads(args.summary.read_text())
    print(table(summary, raw=args.raw))
    print("\n* approximate reference; † no reference numbers (not scored, n.s.); "
          "– no protocol for this property in the model's battery; a property no unit "
          "defines (0/n defined) is not scored and not in the means.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
