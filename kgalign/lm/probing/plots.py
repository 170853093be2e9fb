"""Plot of the fact-probing demo (matplotlib, ``kgalign[plots]``)."""

from __future__ import annotations

import os
from pathlib import Path

from kgalign.io.figures import pyplot as _pyplot
from kgalign.io.figures import save_figure as _atomic_savefig

__all__ = ["plot_probe_summary"]


def plot_probe_summary(summary: dict, path: str | os.PathLike) -> Path:
    """Bar chart of one fact-probing demo run: P@1 per fact group against the baselines.

    Parameters
    ----------
    summary : dict
        One run of ``kgalign probe --demo`` / ``benchmarks/probe_demo.py`` (keys ``p_at_1``,
        ``chance``, ``majority``, ``n_facts``, ``target_lang``; optional ``classes``, fact classes
        from probing and corpus tracing; ``links``, P@1 with kgalign's own links).
    path : str or PathLike
        PNG file to write (atomically; an existing file is replaced).

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    KeyError
        ``summary`` lacks one of the keys above.
    """
    plt = _pyplot()
    path = Path(path)
    groups = list(summary["p_at_1"])
    x = range(len(groups))
    classes = summary.get("classes") or {}
    fig, axes = plt.subplots(1, 2 if classes else 1, figsize=(10 if classes else 5.5, 3.8), squeeze=False)
    ax = axes[0][0]
    links = summary.get("links") or {}
    target = summary.get("target_lang")
    al = (links.get("p_at_1_aligner") or {}).get(target)
    if al:
        ax.bar(
            [i - 0.2 for i in x],
            [summary["p_at_1"][g] for g in groups],
            width=0.4,
            color="#4477aa",
            label="P@1, gold links",
        )
        ax.bar([i + 0.2 for i in x], [al[g] for g in groups], width=0.4, color="#ee7733", label="P@1, kgalign's links")
    else:
        ax.bar(x, [summary["p_at_1"][g] for g in groups], color="#4477aa", label="P@1")
    for key, style in (("majority", "--"), ("chance", ":")):
        vals = [summary[key][g] for g in groups]
        ax.hlines(vals, [i - 0.4 for i in x], [i + 0.4 for i in x], colors="k", linestyles=style, label=key)
    ax.set_xticks(list(x), [f"{g}\n(n={summary['n_facts'][g]})" for g in groups])
    ax.set_ylim(0, 1)
    ax.set_ylabel(f"P@1 in {summary.get('target_lang', 'target')}")
    ax.set_title("typed-ranking P@1 by fact group")
    ax.legend(fontsize=8)
    if classes:
        ax2 = axes[0][1]
        names = list(classes)
        ax2.bar(range(len(names)), [classes[k] for k in names], color="#66aa55")
        ax2.set_xticks(range(len(names)), names, rotation=20)
        ax2.set_ylabel("facts")
        ax2.set_title(f"fact classes in {summary.get('target_lang', 'target')} (probing + corpus tracing)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    _atomic_savefig(fig, path)
    plt.close(fig)
    return path
