"""kgalign: cross-lingual knowledge-graph entity alignment.

The top-level import is light: heavy dependencies (torch, transformers, rdflib) load only
when the function that needs them is called.
"""

from __future__ import annotations

# public name -> module that defines it (imported on first access)
from kgalign._lazy import lazy_exports
from kgalign._version import __version__

_LAZY = {
    "KnowledgeGraph": "kgalign.kg",
    "KGPair": "kgalign.kg",
    "load_kg": "kgalign.io",
    "load_pair": "kgalign.io",
    "align": "kgalign.aligner.pipeline",
    "AlignmentResult": "kgalign.aligner.result",
    "AlignConfig": "kgalign.config",
    "load_config": "kgalign.config",
    "linear_sum_assignment": "kgalign.matching",
    "KgalignError": "kgalign.errors",
    "InputError": "kgalign.errors",
}

__all__ = sorted(_LAZY) + ["__version__"]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)

from ._compat import install as _install_aliases  # noqa: E402

_install_aliases()
