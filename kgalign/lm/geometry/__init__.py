"""Language-subspace geometry of multilingual representations (``kgalign geometry``).

Chang, Tu and Bergen: "The Geometry of Multilingual Language Model Representations", EMNLP
2022 (arXiv:2205.10964): each language occupies an affine subspace (a mean plus a principal
subspace); after mean-centering the subspaces are similar, and shifting the mean alone moves a
representation towards another language.

- :mod:`.subspace`: fitting subspaces, projections, principal angles, subspace distances (numpy);
- :mod:`.model`: token hidden states per layer and perplexity with a projected layer (torch);
- :mod:`.axes`: language-sensitive (LDA) and language-neutral axes (scikit-learn);
- :mod:`.analysis`: the whole analysis on texts or a KG pair, and its Markdown table;
- :mod:`.plots`: its figures (matplotlib); :func:`write_outputs` writes everything.
"""

from __future__ import annotations

import os
from pathlib import Path

from kgalign.lm.geometry.subspace import (
    LanguageSubspace,
    affine_map,
    fit_subspace,
    principal_angles,
    subspace_dim,
    subspace_distances,
)

__all__ = [
    "LanguageSubspace",
    "fit_subspace",
    "subspace_dim",
    "affine_map",
    "principal_angles",
    "subspace_distances",
    "write_outputs",
    "OUTPUT_FILES",
]

OUTPUT_FILES = ("geometry.json", "geometry.md", "perplexity_ratio.png", "principal_angles.png", "language_axes.png")


def write_outputs(report: dict, out_dir: str | os.PathLike, *, force: bool = False, plots: bool = True) -> list[Path]:
    """Write ``geometry.json``, ``geometry.md`` and the plots into ``out_dir`` (atomically).

    Raises
    ------
    OutputExistsError
        When any output file exists and ``force`` is False (checked before anything is written).
    """
    from kgalign.errors import OutputExistsError
    from kgalign.io.atomic import atomic_write, dump_json
    from kgalign.lm.geometry.analysis import markdown_table

    out_dir = Path(out_dir)
    if not force:
        for name in OUTPUT_FILES:
            if (out_dir / name).exists():
                raise OutputExistsError(out_dir / name)
    dump_json(out_dir / "geometry.json", report, force=force)
    with atomic_write(out_dir / "geometry.md", force=force) as fh:
        fh.write(markdown_table(report) + "\n")
    written = [out_dir / "geometry.json", out_dir / "geometry.md"]
    if plots:
        try:
            from kgalign.lm.geometry.plots import plot_all
        except ImportError:  # pragma: no cover
            return written
        try:
            written += plot_all(report, out_dir, force=force)
        except ImportError:
            pass
    return written
