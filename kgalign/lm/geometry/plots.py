"""Plots of a geometry report (matplotlib, the optional extra ``kgalign[plots]``).

Drawn from the report dict alone (``geometry.json``), so they can be redrawn without the model.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kgalign.io.figures import pyplot as _pyplot

__all__ = ["PLOTS", "plot_perplexity_ratios", "plot_principal_angles", "plot_language_axes", "plot_all"]

#: file name -> what the figure shows
PLOTS = {
    "perplexity_ratio.png": "perplexity with each projection divided by perplexity without, per layer",
    "principal_angles.png": "principal angles between the mean-centred language subspaces, per layer",
    "language_axes.png": "evaluation tokens on the first language-sensitive (LDA) and language-neutral axes",
}


def _save(fig, path: Path, force: bool) -> Path:
    from kgalign.io.atomic import atomic_write

    with atomic_write(path, force=force, mode="wb") as fh:
        fig.savefig(fh, format="png", dpi=110, bbox_inches="tight")
    _pyplot().close(fig)
    return path


def plot_perplexity_ratios(report: dict, path, force: bool = False) -> Path | None:
    """Mean perplexity ratio per layer for each projection (log scale); None without perplexities."""
    from kgalign.lm.geometry.analysis import PROJECTION_TITLES

    ppl = report.get("perplexity")
    if not ppl:
        return None
    plt = _pyplot()
    layers = report["layers"]
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, title in PROJECTION_TITLES.items():
        ys = [ppl["layers"][str(l)].get(name, {}).get("mean_ratio", np.nan) for l in layers]
        if not np.all(np.isnan(ys)):
            ax.plot(layers, ys, marker="o", label=title)
    ax.axhline(1.0, color="grey", lw=0.8, ls="--")
    top = max((v.get("mean_ratio", 1.0) for l in layers for v in ppl["layers"][str(l)].values()), default=1.0)
    if top > 10:  # log scale only when a projection is far worse
        ax.set_yscale("log")
    ax.set_xlabel("layer")
    ax.set_ylabel("perplexity ratio to no projection")
    ax.set_xticks(layers)
    ax.set_title(f"{report['model']}: projections at {report['config']['share']:.0%} variance")
    ax.legend(fontsize=8)
    return _save(fig, Path(path), force)


def plot_principal_angles(report: dict, path, force: bool = False, max_pairs: int = 3) -> Path | None:
    """Heat map (layer x principal-angle index, degrees) per language pair; None with no pair."""
    pairs = list(report["distances"][str(report["layers"][0])].keys())[:max_pairs]
    if not pairs:
        return None
    plt = _pyplot()
    layers = report["layers"]
    fig, axes = plt.subplots(1, len(pairs), figsize=(5 * len(pairs), 0.5 * len(layers) + 2), squeeze=False)
    for ax, pair in zip(axes[0], pairs):
        rows = [report["distances"][str(l)][pair]["principal_angles_deg"] for l in layers]
        width = max(len(r) for r in rows)
        M = np.full((len(layers), width), np.nan)
        for i, r in enumerate(rows):
            M[i, : len(r)] = r
        im = ax.imshow(M, aspect="auto", cmap="viridis", vmin=0, vmax=90, interpolation="nearest")
        ax.set_yticks(range(len(layers)), [str(l) for l in layers])
        ax.set_ylabel("layer")
        ax.set_xlabel("principal angle index (smallest first)")
        ax.set_title(f"{pair.replace('|', ' vs ')} (mean-centred)")
        fig.colorbar(im, ax=ax, label="degrees")
    return _save(fig, Path(path), force)


def plot_language_axes(report: dict, path, force: bool = False) -> Path | None:
    """Tokens on the first language-sensitive (x) and language-neutral (y) axis, by language."""
    ax_rep = report.get("axes")
    if not ax_rep or not ax_rep["points"]["sensitive"] or not ax_rep["points"]["neutral"]:
        return None
    plt = _pyplot()
    pts = ax_rep["points"]
    lang = np.asarray(pts["language"])
    x, y = np.asarray(pts["sensitive"]), np.asarray(pts["neutral"])
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    for name in report["languages"]:
        sel = lang == name
        ax.scatter(x[sel], y[sel], s=4, alpha=0.4, label=name)
    fs, fn = ax_rep["fisher_sensitive"][0], ax_rep["fisher_neutral"][0]
    ax.set_xlabel(f"language-sensitive axis (LDA 1; Fisher ratio {fs:.2f})")
    ax.set_ylabel(f"language-neutral axis 1 (Fisher ratio {fn:.3f})")
    ax.set_title(f"{report['model']}, layer {ax_rep['layer']}: held-out tokens")
    ax.legend(markerscale=3)
    return _save(fig, Path(path), force)


def plot_all(report: dict, out_dir, force: bool = False) -> list[Path]:
    """Draw every figure of :data:`PLOTS` that the report has data for; return the paths written."""
    out_dir = Path(out_dir)
    done = [
        plot_perplexity_ratios(report, out_dir / "perplexity_ratio.png", force),
        plot_principal_angles(report, out_dir / "principal_angles.png", force),
        plot_language_axes(report, out_dir / "language_axes.png", force),
    ]
    return [p for p in done if p is not None]
