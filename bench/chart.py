"""The chart: ops/s per operation and target, one client thread (run with the peers' python: matplotlib).

    bench/.peers/venv/bin/python -m bench.chart bench/results/benchmarks.json docs/benchmarks.png
"""

from __future__ import annotations

import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from .run import DYNAMOKIT, FLOORS, PEERS
from .workload import ALL_OPS

COLOURS = {**{n: c for n, c in zip(DYNAMOKIT, ["#08519c", "#3182bd", "#6baed6"])},
           **{n: c for n, c in zip(PEERS, ["#e6550d", "#fd8d3c", "#31a354", "#74c476"])},
           **{n: c for n, c in zip(FLOORS, ["#969696", "#636363", "#252525"])}}


def main() -> None:
    with open(sys.argv[1]) as f:
        results = json.load(f)
    table = results["table"].get("1", {})
    names = [n for n in DYNAMOKIT + PEERS + FLOORS if n in table]
    fig, axes = plt.subplots(3, 3, figsize=(15, 11))
    for ax, op in zip(axes.flat, ALL_OPS):
        present = [n for n in names if op in table[n] and table[n][op]["errors"] * 2 < table[n][op]["calls"]]
        values = [table[n][op]["ops"] for n in present]
        ax.barh(range(len(present)), values, color=[COLOURS[n] for n in present])
        ax.set_yticks(range(len(present)), present if ax in axes[:, 0] else [""] * len(present), fontsize=8)
        ax.set_xscale("log")
        ax.invert_yaxis()
        ax.set_title(f"{op} (ops/s, log scale)", fontsize=10)
        for y, v in enumerate(values):
            ax.text(v, y, f" {v:,.0f}" if v >= 10 else f" {v:.2f}", va="center", fontsize=7)
        ax.margins(x=0.25)
    fig.suptitle(f"dynamokit vs peers and floors, one client thread, {results['items']:,} items "
                 f"({results['machine']})", fontsize=10)
    fig.tight_layout()
    fig.savefig(sys.argv[2], dpi=90)


if __name__ == "__main__":
    main()
