"""An offline cross-lingual transfer experiment on DBP15K (``kgalign probe --demo``).

No multilingual LM can be downloaded here, so the demo builds one whose training data are
known exactly, which turns probing into a controlled experiment:

1. the aligned DBP15K facts of one pair (stated in both KGs, single-object relations with a
   hand-written template in both languages) are verbalised in both languages;
2. the facts are split, per relation, into **seen** (in both languages' corpora),
   **transfer** (held out of the target language's corpus, present in the source language's)
   and **unseen** (in neither); every held-out object also occurs in some seen fact, so no
   group is favoured by knowing its object names;
3. a WordPiece tokenizer is trained on the corpus (``tokenizers``) and a small BERT is
   trained from a config through the shared fine-tuning engine
   (:class:`kgalign.lm.finetune.Trainer`, MLM objective plus entity-span masking, i.e. salient
   span masking, Guu et al., ICML 2020);
4. the model is probed in the target language with typed ranking (mLAMA). Expected:
   P@1(seen) > P@1(transfer) >= P@1(unseen) ~ the prior (majority) baseline.

The run also traces every fact in the two corpora (:mod:`.tracing`) and classifies facts
known in both languages by neuron overlap (:mod:`.neurons`).
"""

from __future__ import annotations

import math
import os
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from kgalign.errors import InputError
from kgalign.io.atomic import dump_json

if TYPE_CHECKING:  # pragma: no cover
    from kgalign.lm.finetune.trainer import TrainResult

GROUPS = ("seen", "transfer", "unseen")


@dataclass
class DemoConfig:
    """Settings of :func:`run_demo` (defaults: about 5 minutes on 2 CPU cores).

    Attributes
    ----------
    pair : str
        DBP15K pair directory name (``fr_en``, ``ja_en``, ``zh_en``).
    data_dir : str, optional
        Directory holding the DBP15K pairs (or ``$KGALIGN_DBP15K``); default: the dataset
        registry (:func:`pair_dir`; ``kgalign datasets fetch dbp15k-fr_en``).
    target_side : int
        1 or 2: the KG whose language is held out (target) and probed; default 1
        (``fr`` for ``fr_en``).
    n_relations, n_facts : int
        Relations used (the most frequent eligible ones) and facts sampled over them.
    min_object_facts : int
        An object must be the object of at least this many eligible facts.
    transfer_share, unseen_share : float
        Shares of each relation's facts held out of the target corpus (transfer) and out
        of both corpora (unseen).
    vocab_size, layers, hidden, heads : int
        Tokenizer vocabulary and model size.
    epochs, batch_size, lr : training (AdamW, linear decay after warm-up).
    mlm_lines : bool
        Also train on the plain corpus lines with random BERT masking (besides the
        entity-span-masked copies).
    subject_spans : bool
        Also add a subject-masked copy of every line.
    paraphrases : bool
        Also state every corpus fact with the relation's second phrasing (the readable
        fallback template), so that paraphrase generality can be measured (edit demo).
    seed : int
    compare_aligner : bool
        Also probe the facts as kgalign's own alignment of the pair reproduces them
        (:func:`.demo_analysis.aligner_comparison`), next to the gold-link results.
    neuron_seeds : int
        Null draws of the neuron-sharing analysis (its spread is reported).
    threads : int, optional
        ``torch.set_num_threads`` during the run; default 1, which is both polite and
        faster than 2 threads on a shared 2-core machine (None leaves torch's choice).
    """

    pair: str = "fr_en"
    data_dir: str | None = None
    target_side: int = 1
    n_relations: int = 6
    n_facts: int = 600
    min_object_facts: int = 3
    transfer_share: float = 0.3
    unseen_share: float = 0.2
    vocab_size: int = 4000
    layers: int = 2
    hidden: int = 128
    heads: int = 4
    epochs: int = 35
    batch_size: int = 64
    lr: float = 2e-3
    mlm_lines: bool = True
    subject_spans: bool = True
    seed: int = 0
    threads: int | None = 1
    progress: bool = True
    paraphrases: bool = False
    compare_aligner: bool = True
    neuron_seeds: int = 10


def pair_dir(pair: str, data_dir: str | os.PathLike | None = None) -> Path:
    """The DBP15K pair directory, found through the dataset registry.

    ``data_dir`` (or the legacy ``$KGALIGN_DBP15K``) holds the pairs; otherwise
    :func:`kgalign.datasets.locate` searches ``$KGALIGN_DATA_DIR``, ``$KGALIGN_HOME/datasets``
    and a development checkout's data. Raises DatasetNotFoundError naming
    ``kgalign datasets fetch dbp15k-PAIR`` when the pair is nowhere.
    """
    from kgalign.datasets import locate

    explicit = data_dir if data_dir is not None else os.environ.get("KGALIGN_DBP15K") or None
    return locate(f"dbp15k-{pair}", explicit)


# ---------------------------------------------------------------------- data
def select_facts(fs, templates, lang1: str, lang2: str, cfg: DemoConfig, name=None):
    """Eligible facts of the demo, sampled and split into seen / transfer / unseen.

    Eligible: stated in both KGs; relation with a non-fallback template in both languages;
    the subject has exactly one object for the relation in each KG (so a cloze query has
    one answer); object named by at least ``min_object_facts`` eligible facts.

    Returns
    -------
    dict of int to str
        Fact index (into ``fs.facts``) -> group.
    """
    from kgalign.lm.probing.core import default_name

    name = name or default_name
    kg1, kg2 = fs.kg1, fs.kg2
    nobj1 = Counter((s, r) for s, r, _ in kg1.triples.tolist())
    nobj2 = Counter((s, r) for s, r, _ in kg2.triples.tolist())
    by_rel: dict[tuple[int, int], list[int]] = defaultdict(list)
    for k, f in enumerate(fs.facts):
        if f.where != "both" or nobj1[(f.s1, f.rel1)] != 1 or nobj2[(f.s2, f.rel2)] != 1:
            continue
        if f.s1 == f.o1:
            continue
        r1, r2 = kg1.relations[f.rel1], kg2.relations[f.rel2]
        if templates.get(r1, lang1, (r2,)).fallback or templates.get(r2, lang2, (r1,)).fallback:
            continue
        by_rel[(f.rel1, f.rel2)].append(k)
    # objects frequent enough
    for key in list(by_rel):
        cnt = Counter(fs.facts[k].o1 for k in by_rel[key])
        by_rel[key] = [k for k in by_rel[key] if cnt[fs.facts[k].o1] >= cfg.min_object_facts]
    # one relation id per template: several raw relations may share a template
    chosen = sorted(by_rel, key=lambda r: (-len(by_rel[r]), r))
    seen_ids, rels = set(), []
    for r in chosen:
        tid = templates.get(kg1.relations[r[0]], lang1, (kg2.relations[r[1]],)).relation_id
        if tid in seen_ids or len(by_rel[r]) < 20:
            continue
        seen_ids.add(tid)
        rels.append(r)
        if len(rels) == cfg.n_relations:
            break
    if not rels:
        raise InputError("no relation of this pair has enough eligible facts for the demo")
    rng = np.random.default_rng(cfg.seed)
    per_rel = max(1, cfg.n_facts // len(rels))
    groups: dict[int, str] = {}
    for r in rels:
        ks = list(by_rel[r])
        rng.shuffle(ks)
        ks = ks[:per_rel]
        n_tr = int(round(cfg.transfer_share * len(ks)))
        n_un = int(round(cfg.unseen_share * len(ks)))
        split = {k: ("transfer" if i < n_tr else "unseen" if i < n_tr + n_un else "seen") for i, k in enumerate(ks)}
        # every held-out object must also be the object of a seen fact (same relation)
        obj = (lambda k: fs.facts[k].o1) if cfg.target_side == 1 else (lambda k: fs.facts[k].o2)
        seen_objs = {obj(k) for k, g in split.items() if g == "seen"}
        for k, g in split.items():
            if g != "seen" and obj(k) not in seen_objs:
                split[k] = "seen"
        groups.update(split)
    return groups


def verbalise(queries, groups: dict[int, str], target_lang: str) -> dict[str, list[str]]:
    """Corpus lines per language: a query's sentence is in its language's corpus unless held out."""
    corpus: dict[str, list[str]] = defaultdict(list)
    for q in queries:
        g = groups[q.fact]
        if g == "unseen" or (g == "transfer" and q.lang == target_lang):
            continue
        corpus[q.lang].append(q.template.fill(q.subject, q.object))
    return corpus


def train_wordpiece(lines: list[str], vocab_size: int):
    """A cased WordPiece tokenizer trained on ``lines`` (HF ``tokenizers``), as a fast tokenizer.

    Normalisation: NFC, CJK characters split (BERT normaliser, no lower-casing, accents kept);
    pre-tokenisation on whitespace and punctuation; ``[CLS] ... [SEP]`` post-processing.
    """
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=False, lowercase=False
    )
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=special, min_frequency=1)
    tok.train_from_iterator(lines, trainer=trainer)
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B [SEP]",
        special_tokens=[("[CLS]", tok.token_to_id("[CLS]")), ("[SEP]", tok.token_to_id("[SEP]"))],
    )
    return wrap_wordpiece(tok)


def wrap_wordpiece(tok):
    """The ``tokenizers.Tokenizer`` of :func:`train_wordpiece` as a ``PreTrainedTokenizerFast``."""
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token="[PAD]",
        unk_token="[UNK]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
    )


def span_masked_examples(prober, queries, corpus_keys: set[tuple[int, str]], subjects: bool = True) -> list[dict]:
    """Entity-span masking: for every corpus sentence one example with the object masked
    and one with the subject masked (labels only on the masked span)."""
    out = []
    for q in queries:
        if (q.fact, q.lang) not in corpus_keys:
            continue
        left, right = q.template.split(q.subject)
        obj = prober.tokens(q.object)
        ids, pos = prober.query_ids(q.template, q.subject, len(obj))
        labels = [-100] * len(ids)
        for p, t in zip(pos, obj):
            labels[p] = t
        ids = list(ids)
        out.append({"input_ids": ids, "labels": labels})
        if not subjects:
            continue
        # subject span: tokenise piecewise around [X]
        tpl = q.template.text
        a, b = tpl.split("[X]")
        pre = prober.tokens(a.replace("[Y]", q.object))
        subj = prober.tokens(q.subject)
        post = prober.tokens(b.replace("[Y]", q.object))
        body = pre + [prober.mask_id] * len(subj) + post
        full, off = prober.wrap(body)
        labels = [-100] * len(full)
        for i, t in enumerate(subj):
            labels[off + len(pre) + i] = t
        out.append({"input_ids": full, "labels": labels})
    return out


def sparse_mlm_loss(model, batch):
    """Masked-LM cross-entropy computed only at labelled positions.

    Same value as ``BertForMaskedLM(...).loss`` (mean cross-entropy over positions whose
    label is not -100), but the vocabulary projection runs on the few labelled positions
    instead of all of them, which makes a step 2-3x cheaper for a small model on CPU.
    """
    import torch.nn.functional as F

    labels = batch["labels"]
    if not hasattr(model, "bert") or not hasattr(model, "cls"):
        return model(**{k: v for k, v in batch.items() if k != "has_labels"}).loss
    hidden = model.bert(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
    sel = labels != -100
    return F.cross_entropy(model.cls(hidden[sel]), labels[sel])


# ---------------------------------------------------------------------- shared set-up
@dataclass
class DemoModel:
    """A small bilingual masked LM trained on verbalised DBP15K facts (:func:`build_demo_model`).

    Attributes
    ----------
    pair : KGPair
    fs : BilingualFactSet
        Bilingual facts of the pair (gold links).
    templates : TemplateSet
    groups : dict of int to str
        Selected fact index -> ``seen`` / ``transfer`` / ``unseen``.
    queries : list of Query
        Two per selected fact (one per language), ``extra["group"]`` set.
    paraphrases : list of Query
        The same facts asked with the relation's second phrasing (the fallback template);
        in the corpus only when ``DemoConfig.paraphrases`` is true.
    candidates : dict of str to list of str
        Typed candidate objects per relation and language.
    corpus : dict of str to list of str
        Training lines per language.
    model, tokenizer, prober : the trained ``BertForMaskedLM``, its tokenizer and a
        :class:`~kgalign.lm.probing.lm.MaskedLMProber`.
    """

    pair: object
    fs: object
    templates: object
    groups: dict
    queries: list
    paraphrases: list
    candidates: dict
    corpus: dict
    lang1: str
    lang2: str
    target_lang: str
    source_lang: str
    model: object
    tokenizer: object
    prober: object
    result: object
    data: list
    timings: dict


def build_demo_model(cfg: DemoConfig, echo=print, cache: bool = False) -> DemoModel:
    """Select, verbalise and split DBP15K facts, train a tokenizer and a small BERT on them.

    Shared by ``kgalign probe --demo`` and ``kgalign edit --demo``. Runs with the current
    torch thread setting (callers set ``cfg.threads``). With ``cache``, the trained weights
    are stored under ``$KGALIGN_HOME/demo_models/`` keyed by the configuration, vocabulary
    and training examples (:mod:`.model_cache`) and loaded instead of training again.

    Raises
    ------
    InputError
        When the DBP15K pair is missing or yields too few facts.
    """
    import dataclasses

    from kgalign.io import load_pair
    from kgalign.lm.finetune import Trainer, tiny_model
    from kgalign.lm.probing.core import build_queries
    from kgalign.lm.probing.facts import bilingual_facts
    from kgalign.lm.probing.lm import MaskedLMProber
    from kgalign.lm.probing.templates import TemplateSet, fallback_template

    timings: dict[str, float] = {}
    pdir = pair_dir(cfg.pair, cfg.data_dir)
    t = time.perf_counter()
    pair = load_pair(pdir)
    lang1, lang2 = pair.lang1 or "l1", pair.lang2 or "l2"
    target_lang, source_lang = (lang1, lang2) if cfg.target_side == 1 else (lang2, lang1)
    fs = bilingual_facts(pair.kg1, pair.kg2, pair.links)
    templates = TemplateSet.load()
    groups = select_facts(fs, templates, lang1, lang2, cfg)
    sub_facts = sorted(groups)
    queries, _ = build_queries(fs, templates, lang1, lang2, where=("both",))
    queries = [q for q in queries if q.fact in groups]
    for q in queries:
        q.extra["group"] = groups[q.fact]
    paraphrases = [
        dataclasses.replace(q, template=fallback_template(q.relation, q.lang), extra=dict(q.extra)) for q in queries
    ]
    # candidates: objects of the selected facts, per relation and language
    cands: dict[str, set] = defaultdict(set)
    for q in queries:
        cands[q.candidates].add(q.object)
    candidates = {k: sorted(v) for k, v in cands.items()}
    corpus = verbalise(queries, groups, target_lang)
    corpus_keys = {
        (q.fact, q.lang)
        for q in queries
        if not (groups[q.fact] == "unseen" or (groups[q.fact] == "transfer" and q.lang == target_lang))
    }
    if cfg.paraphrases:
        for lang, lines in verbalise(paraphrases, groups, target_lang).items():
            corpus[lang].extend(lines)
    timings["data"] = time.perf_counter() - t
    n_groups = Counter(groups.values())
    echo(
        f"[demo] {cfg.pair}: {len(fs.facts)} bilingual facts, {len(sub_facts)} selected "
        f"({', '.join(f'{g} {n_groups[g]}' for g in GROUPS)}); corpus lines "
        f"{target_lang} {len(corpus[target_lang])}, {source_lang} {len(corpus[source_lang])}"
    )

    t = time.perf_counter()
    all_lines = corpus[target_lang] + corpus[source_lang]
    # the tokenizer sees every name (as a real LM's vocabulary would), not the held-out facts
    names = sorted({q.subject for q in queries} | {q.object for q in queries})
    # the WordPiece ids of equally frequent pieces differ between processes, so the cache
    # keeps the tokenizer with the weights (keyed by the configuration and the text)
    cached = None
    if cache:
        from kgalign.lm.probing import model_cache

        key = model_cache.cache_key(asdict(cfg), all_lines + names)
        cached = model_cache.load(key)
    tok = wrap_wordpiece(cached[0]) if cached else train_wordpiece(all_lines + names, cfg.vocab_size)
    model = tiny_model(
        "bert", len(tok), layers=cfg.layers, hidden=cfg.hidden, heads=cfg.heads, max_positions=128, seed=cfg.seed
    )
    prober = MaskedLMProber(model, tok, batch_size=128)
    examples = span_masked_examples(prober, queries, corpus_keys, cfg.subject_spans)
    if cfg.paraphrases:
        examples += span_masked_examples(prober, paraphrases, corpus_keys, cfg.subject_spans)
    data = (list(all_lines) if cfg.mlm_lines else []) + examples
    steps = cfg.epochs * math.ceil(len(data) / cfg.batch_size)
    timings["tokenizer"] = time.perf_counter() - t
    echo(
        f"[demo] WordPiece vocabulary {len(tok)}; BERT {cfg.layers}x{cfg.hidden}, "
        f"{sum(p.numel() for p in model.parameters()) / 1e6:.2f}M parameters; "
        f"{len(data)} examples, {steps} steps"
    )
    t = time.perf_counter()
    if cached:
        from kgalign.lm.finetune.trainer import TrainResult

        _, state, record = cached
        model.load_state_dict(state, strict=False)  # tied weights are stored once
        timings["train"] = time.perf_counter() - t
        echo(f"[demo] trained model and tokenizer loaded from the cache ({record['steps']} steps, key {key[:12]})")
        model.eval()
        result = TrainResult(steps=record["steps"], train_losses=record["train_losses"])
        return DemoModel(pair, fs, templates, groups, queries, paraphrases, candidates, corpus, lang1, lang2,
                         target_lang, source_lang, model, tok, prober, result, data, timings)  # fmt: skip
    trainer = Trainer(
        model,
        tok,
        objective="mlm",
        loss_fn=sparse_mlm_loss,
        lr=cfg.lr,
        batch_size=cfg.batch_size,
        epochs=cfg.epochs,
        warmup_steps=min(200, steps // 10),
        schedule="linear",
        max_length=128,
        device="cpu",
        seed=cfg.seed,
        progress=cfg.progress,
    )
    result = trainer.train(data)
    timings["train"] = time.perf_counter() - t
    echo(
        f"[demo] trained {result.steps} steps in {timings['train']:.0f} s; "
        f"final loss {np.mean(result.train_losses[-20:]):.3f}"
    )
    model.eval()
    if cache:
        model_cache.save(model, tok, key, {"steps": result.steps, "train_losses": list(result.train_losses)})
    return DemoModel(
        pair,
        fs,
        templates,
        groups,
        queries,
        paraphrases,
        candidates,
        corpus,
        lang1,
        lang2,
        target_lang,
        source_lang,
        model,
        tok,
        prober,
        result,
        data,
        timings,
    )


# ---------------------------------------------------------------------- experiment
def run_demo(
    cfg: DemoConfig | None = None, out_dir: str | os.PathLike | None = None, force: bool = False, echo=print
) -> dict:
    """Run the offline transfer experiment; return (and optionally write) its summary.

    Parameters
    ----------
    cfg : DemoConfig
    out_dir : path, optional
        When given, ``summary.json`` and ``facts.json`` (one row per fact and language:
        query, prediction, rank, group, class) are written there (atomically), and the
        trained model and tokenizer under ``model/`` (``save_pretrained``).
    force : bool
        Overwrite existing output files.
    echo : callable
        Receives progress lines and the final table.

    Returns
    -------
    dict
        ``p_at_1`` (group -> P@1 in the target language), ``p_at_1_source`` (same in the
        source language), baselines (``chance`` = mean 1/|candidates|, ``majority``),
        counts, timings and the configuration.

    Raises
    ------
    InputError
        When the DBP15K pair is missing or yields too few facts.
    """
    import torch

    from kgalign.lm.probing.core import classify_facts, precision_at_1, probe_queries
    from kgalign.lm.probing.tracing import count_cooccurrences

    cfg = cfg or DemoConfig()
    t_start = time.perf_counter()
    if out_dir is not None:
        out_dir = Path(out_dir)
        for fname in ("summary.json", "facts.json", "p_at_1.png", "model"):
            if (out_dir / fname).exists() and not force:
                from kgalign.errors import OutputExistsError

                raise OutputExistsError(out_dir / fname)
    old_threads = torch.get_num_threads()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    try:
        built = build_demo_model(cfg, echo)
        groups, queries, corpus = built.groups, built.queries, built.corpus
        lang1, lang2, target_lang, source_lang = built.lang1, built.lang2, built.target_lang, built.source_lang
        # DemoModel declares these fields as ``object``: a Hugging Face model and tokenizer, a TrainResult
        model: Any = built.model
        tok: Any = built.tokenizer
        prober, data = built.prober, built.data
        result = cast("TrainResult", built.result)
        candidates, timings, n_groups = built.candidates, built.timings, Counter(groups.values())
        pair, fs, templates = built.pair, built.fs, built.templates

        t = time.perf_counter()
        model.eval()
        rows = probe_queries(prober, queries, candidates, mode="typed")
        timings["probe"] = time.perf_counter() - t

        # baselines: uniform chance and the majority object of the relation's seen facts
        seen_counts: dict[str, Counter] = defaultdict(Counter)
        for q in queries:
            if groups[q.fact] == "seen":
                seen_counts[q.candidates][q.object] += 1
        for r, q in zip(rows, queries):
            r["chance"] = 1.0 / r["n_candidates"]
            top = seen_counts[q.candidates].most_common(1)
            r["majority_correct"] = bool(top and top[0][0] == q.object)

        # tracing in the demo corpora, and neuron overlap for facts known in both languages
        t = time.perf_counter()
        present: dict[tuple[int, str], bool] = {}
        for lang in (lang1, lang2):
            qs = [q for q in queries if q.lang == lang]
            co = count_cooccurrences(corpus[lang], [(q.subject, q.object) for q in qs])
            for q, c in zip(qs, co):
                present[(q.fact, lang)] = c.lines > 0
        shared = None
        neuron_summary = None
        if cfg.neuron_seeds > 0:
            from kgalign.lm.probing.demo_analysis import neuron_analysis

            neuron_summary, shared = neuron_analysis(
                prober, queries, rows, fs, lang1, lang2, top_n=50, seeds=tuple(range(cfg.neuron_seeds))
            )
        classify_facts(rows, lang1, lang2, shared=shared, present=present)
        timings["analysis"] = time.perf_counter() - t
        links_cmp = None
        if cfg.compare_aligner:
            from kgalign.lm.probing.demo_analysis import aligner_comparison

            t = time.perf_counter()
            links_cmp = aligner_comparison(
                pair, fs, groups, queries, rows, prober, templates, candidates, lang1, lang2, GROUPS
            )
            timings["aligner_links"] = time.perf_counter() - t

        def p1(lang, group, key="correct"):
            v = [r[key] for r in rows if r["lang"] == lang and r["group"] == group]
            return float(np.mean(v)) if v else float("nan")

        summary: dict[str, Any] = {
            "pair": cfg.pair,
            "target_lang": target_lang,
            "source_lang": source_lang,
            "p_at_1": {g: p1(target_lang, g) for g in GROUPS},
            "p_at_1_source": {g: p1(source_lang, g) for g in GROUPS},
            "chance": {g: p1(target_lang, g, "chance") for g in GROUPS},
            "majority": {g: p1(target_lang, g, "majority_correct") for g in GROUPS},
            "n_facts": {g: n_groups[g] for g in GROUPS},
            "transfer_same_name": _same_name_breakdown(rows, queries, target_lang, source_lang),
            "per_relation": precision_at_1([r for r in rows if r["lang"] == target_lang]),
            "classes": dict(Counter(r["class"] for r in rows if r["lang"] == target_lang)),
            "neurons": neuron_summary,
            "links": links_cmp,
            "train": {
                "steps": result.steps,
                "final_loss": float(np.mean(result.train_losses[-20:])),
                "examples": len(data),
                "vocab": len(tok),
            },
            "seconds": {k: round(v, 1) for k, v in timings.items()},
            "total_seconds": round(time.perf_counter() - t_start, 1),
            "config": asdict(cfg),
        }
        summary["expected_order_holds"] = bool(
            summary["p_at_1"]["seen"] > summary["p_at_1"]["transfer"] >= summary["p_at_1"]["unseen"] - 0.05
        )
        echo(format_summary(summary))
        if out_dir is not None:
            # existing files were refused (without force) before any work
            dump_json(out_dir / "facts.json", rows, force=True)
            dump_json(out_dir / "summary.json", summary, force=True)
            echo(f"[demo] wrote {out_dir / 'summary.json'} and {out_dir / 'facts.json'}")
            # the trained model and tokenizer, for later analyses (e.g. ``kgalign geometry --model``)
            model.save_pretrained(out_dir / "model")
            tok.save_pretrained(out_dir / "model")
            echo(f"[demo] wrote {out_dir / 'model'}")
            try:
                from kgalign.lm.probing.plots import plot_probe_summary

                echo(f"[demo] wrote {plot_probe_summary(summary, out_dir / 'p_at_1.png')}")
            except ImportError:
                echo("[demo] matplotlib is not installed (pip install 'kgalign[plots]'): no plot")
        return summary
    finally:
        torch.set_num_threads(old_threads)


def _same_name_breakdown(rows, queries, target_lang, source_lang) -> dict:
    """Transfer P@1 split by whether subject and object are spelled the same in both languages."""
    by = {(q.fact, q.lang): q for q in queries}
    acc: dict[str, list[bool]] = defaultdict(list)
    for r in rows:
        if r["lang"] != target_lang or r["group"] != "transfer":
            continue
        q, o = by[(r["fact"], target_lang)], by.get((r["fact"], source_lang))
        same = o is not None and q.subject == o.subject and q.object == o.object
        acc["same_names" if same else "different_names"].append(bool(r["correct"]))
    return {k: {"p_at_1": float(np.mean(v)), "n": len(v)} for k, v in sorted(acc.items())}


def format_summary(s: dict) -> str:
    """The demo's result table as text."""
    lines = [
        f"cross-lingual fact probing demo ({s['pair']}: target {s['target_lang']}, "
        f"source {s['source_lang']}), typed ranking P@1",
        f"{'group':<10}{'facts':>7}{'P@1 ' + s['target_lang']:>10}{'P@1 ' + s['source_lang']:>10}"
        f"{'chance':>9}{'majority':>10}",
    ]
    for g in GROUPS:
        lines.append(
            f"{g:<10}{s['n_facts'][g]:>7}{s['p_at_1'][g]:>10.3f}{s['p_at_1_source'][g]:>10.3f}"
            f"{s['chance'][g]:>9.3f}{s['majority'][g]:>10.3f}"
        )
    for k, v in s.get("transfer_same_name", {}).items():
        lines.append(f"  transfer, {k.replace('_', ' ')}: P@1 {v['p_at_1']:.3f} (n={v['n']})")
    cmp = s.get("links")
    if cmp:
        q = cmp["links"].get("quality", {})
        lines.append(
            f"kgalign's own links: {cmp['links']['n_links']}, precision {q.get('precision', float('nan')):.3f}; "
            f"{cmp['recovered']['facts']}/{cmp['recovered']['of']} selected facts reproduced"
        )
        for lang in (s["target_lang"], s["source_lang"]):
            lines.append(
                f"  P@1 {lang} gold -> aligner: "
                + ", ".join(
                    f"{g} {cmp['p_at_1_gold'][lang][g]:.3f} -> {cmp['p_at_1_aligner'][lang][g]:.3f}" for g in GROUPS
                )
            )
    lines.append(
        f"expected order seen > transfer >= unseen: {'yes' if s['expected_order_holds'] else 'NO'}"
        f"; total {s['total_seconds']:.0f} s"
    )
    return "\n".join(lines)
