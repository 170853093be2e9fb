"""kgalign.lm.editing: cross-lingual knowledge editing carried by the entity alignment.

A fact corrected in KG1 (``EditRequest``: add, remove or replace a triple) is

* propagated to KG2 through the entity alignment and the relation alignment it induces
  (:func:`propagate_edits` -> :class:`KGPatch`: SPARQL 1.1 Update, Turtle graphs);
* written into a masked LM in the source language or in both languages
  (:func:`apply_edits`: Child-Tuning-constrained fine-tuning, fine-tuning with a KL
  locality term, LT-SFT, LoRA, ROME), as a
  reversible :class:`AppliedEdit` (exact revert, task-vector negation, safetensors);
* judged with the metrics of Wang et al. 2023 (:func:`edit_metrics`: reliability,
  paraphrase and cross-lingual generality, locality, portability; token F1 and EM).

Heavy libraries load on first use of a name.
"""

from __future__ import annotations

from kgalign._lazy import lazy_exports

_LAZY = {
    "EditRequest": "kgalign.lm.editing.requests",
    "ResolvedEdit": "kgalign.lm.editing.requests",
    "read_edits": "kgalign.lm.editing.requests",
    "request_from_dict": "kgalign.lm.editing.requests",
    "resolve_edit": "kgalign.lm.editing.requests",
    "resolve_edits": "kgalign.lm.editing.requests",
    "GraphPatch": "kgalign.lm.editing.propagate",
    "KGPatch": "kgalign.lm.editing.propagate",
    "propagate_edits": "kgalign.lm.editing.propagate",
    "write_patch": "kgalign.lm.editing.propagate",
    "write_kg": "kgalign.lm.editing.propagate",
    "kg_graph": "kgalign.lm.editing.propagate",
    "FactEdit": "kgalign.lm.editing.facts",
    "fact_edits_from_kg": "kgalign.lm.editing.facts",
    "AppliedEdit": "kgalign.lm.editing.applied",
    "apply_edits": "kgalign.lm.editing.methods",
    "METHODS": "kgalign.lm.editing.methods",
    "rome_edit": "kgalign.lm.editing.rome",
    "edit_metrics": "kgalign.lm.editing.metrics",
    "token_f1": "kgalign.lm.editing.metrics",
}

__all__ = sorted(_LAZY)

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
