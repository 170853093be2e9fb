"""Figures of the edit demo (matplotlib, Agg): metrics per method, and sequential edits."""

from __future__ import annotations

import os
from pathlib import Path

LABELS = {
    "reliability": "reliability",
    "generality_paraphrase": "paraphrase",
    "generality_crosslingual": "cross-lingual",
    "locality": "locality",
    "portability": "portability",
}


def _save(fig, path: Path) -> Path:
    from kgalign.io.figures import save_figure

    return save_figure(fig, path)


def plot_edit_summary(summary: dict, out_dir: str | os.PathLike) -> list[Path]:
    """``edit_metrics.png`` (token F1 per metric, method and training languages) and
    ``edit_sequential.png`` (metrics as sequential edits accumulate).

    Raises
    ------
    ImportError
        When matplotlib is not installed.
    """
    import numpy as np

    from kgalign.io.figures import pyplot

    plt = pyplot()

    out = Path(out_dir)
    metrics = list(LABELS)
    keys = list(summary["batch"])
    fig, ax = plt.subplots(figsize=(max(7, 1.1 * len(keys) + 3), 4))
    width = 0.8 / len(metrics)
    x = np.arange(len(keys))
    for j, m in enumerate(metrics):
        ax.bar(x + (j - len(metrics) / 2 + 0.5) * width, [summary["batch"][k][m] for k in keys], width, label=LABELS[m])
    ax.set_xticks(x, [k.replace("/", "\n") for k in keys])
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("token F1 (locality: unchanged predictions)")
    ax.set_title(
        f"{summary['n_edits']} edits in {summary['source_lang']} (batch); source-only vs both-language training"
    )
    ax.legend(fontsize=8, ncol=len(metrics), loc="upper center", bbox_to_anchor=(0.5, -0.18))
    paths = [_save(fig, out / "edit_metrics.png")]
    plt.close(fig)

    seq = summary["sequential"]
    show = ["reliability", "generality_crosslingual", "locality"]
    fig, axes = plt.subplots(1, len(show), figsize=(4.2 * len(show), 3.4), sharey=True)
    for ax, m in zip(axes, show):
        for k, curve in seq.items():
            ax.plot(
                [c["n"] for c in curve],
                [c[m] for c in curve],
                marker="o",
                ms=3,
                label=k,
                linestyle="-" if k.endswith("both") else "--",
            )
        ax.set_title(LABELS[m])
        ax.set_xlabel("edits applied one after another")
        ax.set_ylim(0, 1.05)
    axes[0].set_ylabel("token F1 / unchanged share")
    axes[-1].legend(fontsize=7, loc="lower left")
    paths.append(_save(fig, out / "edit_sequential.png"))
    plt.close(fig)
    return paths
