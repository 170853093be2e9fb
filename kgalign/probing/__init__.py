"""kgalign.probing: cross-lingual fact probing from aligned knowledge graphs.

Pipeline (Zhao, Yoshinaga & Oba, "Tracing the Roots of Facts in Multilingual Language
Models", LREC-COLING 2024; mLAMA, Kassner et al., EACL 2021)::

    fs = bilingual_facts(kg1, kg2, links)            # relation alignment + shared/one-sided facts
    queries, cands = build_queries(fs, TemplateSet.load(), "fr", "en")
    prober = MaskedLMProber.from_pretrained("bert-base-multilingual-cased")
    rows = probe_queries(prober, queries, cands, mode="both")
    precision_at_1(rows); consistency(rows, "fr", "en")
    neuron_overlap(acts_fr, acts_en)                 # shared vs language-independent
    count_cooccurrences(corpus_lines, name_pairs)    # corpus tracing -> transferred

Heavy libraries (torch, transformers) load only when a model is used.
"""

from __future__ import annotations


from kgalign._lazy import lazy_exports

_LAZY = {
    "RelationPair": "kgalign.probing.facts",
    "BilingualFact": "kgalign.probing.facts",
    "BilingualFactSet": "kgalign.probing.facts",
    "align_relations": "kgalign.probing.facts",
    "bilingual_facts": "kgalign.probing.facts",
    "Template": "kgalign.probing.templates",
    "TemplateSet": "kgalign.probing.templates",
    "fallback_template": "kgalign.probing.templates",
    "default_template_path": "kgalign.probing.templates",
    "MaskedLMProber": "kgalign.probing.lm",
    "CausalLMProber": "kgalign.probing.lm",
    "Decoded": "kgalign.probing.lm",
    "ffn_modules": "kgalign.probing.lm",
    "Query": "kgalign.probing.core",
    "build_queries": "kgalign.probing.core",
    "probe_queries": "kgalign.probing.core",
    "precision_at_1": "kgalign.probing.core",
    "consistency": "kgalign.probing.core",
    "classify_facts": "kgalign.probing.core",
    "NeuronOverlap": "kgalign.probing.neurons",
    "neuron_overlap": "kgalign.probing.neurons",
    "top_neurons": "kgalign.probing.neurons",
    "Cooccurrence": "kgalign.probing.tracing",
    "count_cooccurrences": "kgalign.probing.tracing",
    "read_corpus": "kgalign.probing.tracing",
    "run_demo": "kgalign.probing.demo",
    "DemoConfig": "kgalign.probing.demo",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
