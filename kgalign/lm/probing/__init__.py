"""kgalign.lm.probing: cross-lingual fact probing from aligned knowledge graphs.

Pipeline (Zhao, Yoshinaga & Oba, "Tracing the Roots of Facts in Multilingual Language
Models", EACL 2024; mLAMA, Kassner et al., EACL 2021)::

    fs = bilingual_facts(kg1, kg2, links)            # relation alignment + shared/one-sided facts
    queries, cands = build_queries(fs, TemplateSet.load(), "fr", "en")
    prober = MaskedLMProber.from_pretrained("bert-base-multilingual-cased")
    rows = probe_queries(prober, queries, cands, mode="both")
    precision_at_1(rows); consistency(rows, "fr", "en")
    links, info = aligned_links(pair)                # kgalign's own alignment ("gold" when asked)
    probeless_sharing(acts_fr, labels_fr, acts_en, labels_en)   # PROBELESS, null within relation
    with ablate(model, ids): ...; with patch(model, ids, values, positions=pos): ...  # causal checks
    count_cooccurrences(corpus_lines, name_pairs)    # corpus tracing -> transferred

Heavy libraries (torch, transformers) load only when a model is used.
"""

from __future__ import annotations

from kgalign._lazy import lazy_exports

_LAZY = {
    "RelationPair": "kgalign.lm.probing.facts",
    "BilingualFact": "kgalign.lm.probing.facts",
    "BilingualFactSet": "kgalign.lm.probing.facts",
    "align_relations": "kgalign.lm.probing.facts",
    "bilingual_facts": "kgalign.lm.probing.facts",
    "Template": "kgalign.lm.probing.templates",
    "TemplateSet": "kgalign.lm.probing.templates",
    "fallback_template": "kgalign.lm.probing.templates",
    "default_template_path": "kgalign.lm.probing.templates",
    "MaskedLMProber": "kgalign.lm.probing.lm",
    "CausalLMProber": "kgalign.lm.probing.lm",
    "Decoded": "kgalign.lm.probing.lm",
    "ffn_modules": "kgalign.lm.probing.lm",
    "Query": "kgalign.lm.probing.core",
    "build_queries": "kgalign.lm.probing.core",
    "probe_queries": "kgalign.lm.probing.core",
    "precision_at_1": "kgalign.lm.probing.core",
    "consistency": "kgalign.lm.probing.core",
    "classify_facts": "kgalign.lm.probing.core",
    "NeuronOverlap": "kgalign.lm.probing.neurons",
    "neuron_overlap": "kgalign.lm.probing.neurons",
    "probeless_scores": "kgalign.lm.probing.neurons",
    "probeless_sharing": "kgalign.lm.probing.neurons",
    "SharedNeurons": "kgalign.lm.probing.neurons",
    "ablate": "kgalign.lm.probing.neurons",
    "patch": "kgalign.lm.probing.neurons",
    "aligned_links": "kgalign.lm.probing.links",
    "link_quality": "kgalign.lm.probing.links",
    "top_neurons": "kgalign.lm.probing.neurons",
    "Cooccurrence": "kgalign.lm.probing.tracing",
    "count_cooccurrences": "kgalign.lm.probing.tracing",
    "read_corpus": "kgalign.lm.probing.tracing",
    "run_demo": "kgalign.lm.probing.demo",
    "DemoConfig": "kgalign.lm.probing.demo",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
