"""PNG plots of benchmark results (matplotlib, an optional extra: ``pip install 'kgalign[plots]'``).

Plots are drawn from a results record alone (``results.json`` of :mod:`kgalign.evaluation`), so
they can be redrawn without re-running anything: ``plot_results(json.load(f), out_dir)``.
"""

from __future__ import annotations

import os
from pathlib import Path

from kgalign.io.figures import pyplot as _pyplot
from kgalign.io.figures import save_figure as _atomic_savefig

__all__ = ["plot_results", "PLOT_KINDS"]

#: file stem -> what the figure shows
PLOT_KINDS = {
    "hits_at_k": "Hits@k for k = 1..50 (fraction of gold targets ranked within the top k)",
    "score_hist": "scores of the output pairs, correct vs wrong",
    "prf_threshold": "precision, recall and F1 of the output pairs scoring at least a threshold",
    "accuracy_by_degree": "1-to-1 accuracy of gold sources by relation degree (power-of-two buckets)",
}


def plot_results(record: dict, output_dir: str | os.PathLike) -> list[Path]:
    """Draw the four benchmark figures for every protocol present in ``record``.

    Parameters
    ----------
    record : dict
        A results record (``results`` -> pair -> protocol -> result with ``curves``).
    output_dir : str or PathLike
        Receives ``{kind}_{protocol}.png`` for each kind in :data:`PLOT_KINDS`.

    Returns
    -------
    list of Path
        The files written (overwritten if present: they are derived from ``results.json``).

    Raises
    ------
    ImportError
        When matplotlib is not installed.
    """
    plt = _pyplot()
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    results = record.get("results", {})
    protocols: list[str] = []
    for by_protocol in results.values():
        for p in by_protocol:
            if p not in protocols:
                protocols.append(p)
    subset = f" (subset of {record['limit']} links)" if record.get("limit") else ""
    written = []
    for protocol in protocols:
        runs = [(pair, r[protocol]) for pair, r in results.items() if protocol in r and "curves" in r[protocol]]
        if not runs:
            continue
        n = len(runs)

        # Hits@k curve: one line per pair
        fig, ax = plt.subplots(figsize=(6, 4))
        for pair, r in runs:
            h = r["curves"]["hits_at_k"]
            ax.plot(range(1, len(h) + 1), h, marker=".", label=f"{pair} (H@1 {r['hits@1']:.3f})")
        ax.set_xscale("log")
        ax.set_xlabel("k")
        ax.set_ylabel("Hits@k")
        ax.set_ylim(0, 1.02)
        ax.grid(True, alpha=0.3)
        ax.legend()
        ax.set_title(f"DBP15K {protocol}: Hits@k{subset}")
        written.append(out / f"hits_at_k_{protocol}.png")
        _atomic_savefig(fig, written[-1])
        plt.close(fig)

        # score histograms, correct vs wrong
        fig, axes = plt.subplots(1, n, figsize=(4.5 * n, 3.6), squeeze=False)
        for ax, (pair, r) in zip(axes[0], runs):
            h = r["curves"]["score_hist"]
            edges = h["edges"]
            widths = [b - a for a, b in zip(edges[:-1], edges[1:])]
            ax.bar(edges[:-1], h["correct"], width=widths, align="edge", alpha=0.6, label="correct", color="tab:green")
            ax.bar(edges[:-1], h["wrong"], width=widths, align="edge", alpha=0.6, label="wrong", color="tab:red")
            ax.set_yscale("log")
            ax.set_xlabel("score of output pair")
            ax.set_ylabel("pairs")
            ax.set_title(f"{pair} {protocol}")
            ax.legend()
        fig.suptitle(f"Scores of correct vs wrong output pairs{subset}")
        written.append(out / f"score_hist_{protocol}.png")
        _atomic_savefig(fig, written[-1])
        plt.close(fig)

        # P/R/F1 against threshold
        fig, axes = plt.subplots(1, n, figsize=(4.5 * n, 3.6), squeeze=False)
        for ax, (pair, r) in zip(axes[0], runs):
            t = r["curves"]["threshold"]
            for key, style in (("precision", "-"), ("recall", "--"), ("f1", "-.")):
                ax.plot(t["threshold"], t[key], style, label=key)
            ax.axvline(r["best_threshold"], color="grey", lw=0.8)
            ax.set_xlabel("threshold (keep pairs with score >= t)")
            ax.set_ylim(0, 1.02)
            ax.grid(True, alpha=0.3)
            ax.set_title(f"{pair} {protocol}: best F1 {r['best_f1']:.3f} at {r['best_threshold']:.2f}")
            ax.legend()
        written.append(out / f"prf_threshold_{protocol}.png")
        _atomic_savefig(fig, written[-1])
        plt.close(fig)

        # accuracy by degree: grouped bars, bucket size annotated
        fig, ax = plt.subplots(figsize=(7, 4))
        width = 0.8 / n
        labels = None
        for k, (pair, r) in enumerate(runs):
            buckets = r["curves"]["by_degree"]
            lab = [f"{b['lo']}" if b["lo"] == b["hi"] else f"{b['lo']}-{b['hi']}" for b in buckets]
            if labels is None or len(lab) > len(labels):
                labels = lab
            xs = [i + (k - (n - 1) / 2) * width for i in range(len(buckets))]
            acc = [b["accuracy"] if b["n"] else float("nan") for b in buckets]  # no bar for empty buckets
            bars = ax.bar(xs, acc, width=width, label=pair)
            for bar, b in zip(bars, buckets):
                if b["n"]:
                    ax.annotate(
                        str(b["n"]),
                        (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                        ha="center",
                        va="bottom",
                        fontsize=6,
                        rotation=90,
                    )
        ax.set_xticks(range(len(labels or [])))
        ax.set_xticklabels(labels or [], rotation=45)
        ax.set_xlabel("relation degree of the source entity (numbers: gold links in the bucket)")
        ax.set_ylabel("1-to-1 accuracy")
        ax.set_ylim(0, 1.1)
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
        ax.set_title(f"DBP15K {protocol}: accuracy by degree{subset}")
        written.append(out / f"accuracy_by_degree_{protocol}.png")
        _atomic_savefig(fig, written[-1])
        plt.close(fig)
    return written
