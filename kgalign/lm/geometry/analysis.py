"""The language-subspace analysis of a model on texts of several languages (``kgalign geometry``).

Chang, Tu and Bergen: "The Geometry of Multilingual Language Model Representations", EMNLP 2022.
Per language the texts are split (seeded) into a **fit** half, whose token representations give
each layer's mean and principal subspace, and an **evaluation** half, on which perplexities and
the language information of the axes are measured, as in the paper (separate subsets for
subspaces and evaluation).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from itertools import combinations

import numpy as np

from kgalign.errors import InputError

log = logging.getLogger(__name__)

__all__ = ["GeometryConfig", "analyse", "texts_from_pair", "markdown_table", "PROJECTIONS"]

#: projection name -> (subspace, mean removed, mean added) for evaluation language A and other B;
#: ``None`` for the subspace is no projection (the identity).
PROJECTIONS = {
    "own": ("A", "A", "A"),
    "other": ("B", "B", "B"),
    "other_own_mean": ("B", "A", "A"),
    "mean_shift": (None, "A", "B"),
}
PROJECTION_TITLES = {
    "own": "own subspace (A onto A)",
    "other": "other subspace with its mean (A onto B)",
    "other_own_mean": "other subspace, own mean kept",
    "mean_shift": "mean shift only (A's mean to B's)",
}


@dataclass
class GeometryConfig:
    """Settings of :func:`analyse`.

    Attributes
    ----------
    share : float
        Variance share each language subspace keeps (the paper: 0.9); 1 keeps all (identity).
    layers : list of int, optional
        Layers 1..L to analyse (default all).
    axes_layer : int, optional
        Layer of the language axes and the 2-D plot (default ``round(2 L / 3)``; the paper
        shows layer 8 of 12).
    max_texts : int
        Texts per language (a seeded sample); half fit the subspaces, half evaluate.
    max_tokens : int
        Token representations per language and layer used to fit a subspace.
    max_length : int
        Tokens per text.
    mask_share : float
        Share of tokens masked for the masked-LM perplexity.
    perplexity : bool
        Measure the perplexity of the projections (masked and causal LMs only).
    n_neutral : int
        Language-neutral axes.
    plot_points : int
        Tokens per language kept in the report for the 2-D plot.
    batch_size : int
    seed : int
    """

    share: float = 0.9
    layers: list | None = None
    axes_layer: int | None = None
    max_texts: int = 400
    max_tokens: int = 4000
    max_length: int = 64
    mask_share: float = 0.15
    perplexity: bool = True
    n_neutral: int = 2
    plot_points: int = 600
    batch_size: int = 16
    seed: int = 0


def texts_from_pair(
    pair_dir, source: str = "both", max_texts: int | None = None, seed: int = 0, templates=None
) -> dict[str, list[str]]:
    """Texts of the two languages of a KG pair: entity labels and/or verbalised facts.

    Parameters
    ----------
    pair_dir : path
        A pair directory :func:`kgalign.io.load_pair` reads (e.g. a DBP15K pair).
    source : {"labels", "facts", "both"}
        Entity labels of each graph in its language; sentences verbalising the facts stated
        in both graphs (:mod:`kgalign.lm.probing.facts`, the shipped templates); or both.
    max_texts : int, optional
        A seeded sample of at most this many texts per language (half labels, half facts
        with ``both``).
    seed : int
    templates : path, optional
        Template file (default the shipped DBP15K templates).

    Returns
    -------
    dict of str to list of str
        Language code -> texts.

    Raises
    ------
    InputError
        When the languages cannot be told from the pair or no text is found.
    """
    from kgalign.io import load_pair

    if source not in ("labels", "facts", "both"):
        raise InputError(f"unknown text source {source!r}; use labels, facts or both")
    pair = load_pair(pair_dir)
    lang1, lang2 = pair.lang1, pair.lang2
    if not lang1 or not lang2:
        raise InputError("cannot tell the languages of the pair from its directory name", pair_dir)
    rng = np.random.default_rng(seed)

    def sample(texts: list[str], n: int | None) -> list[str]:
        texts = [t for t in dict.fromkeys(texts) if t and t.strip()]
        if n is not None and len(texts) > n:
            texts = [texts[i] for i in sorted(rng.choice(len(texts), n, replace=False))]
        return texts

    quota = None if max_texts is None else (max_texts if source != "both" else max_texts // 2)
    out: dict[str, list[str]] = {lang1: [], lang2: []}
    if source in ("labels", "both"):
        for kg, lang in ((pair.kg1, lang1), (pair.kg2, lang2)):
            out[lang] += sample([kg.label(i, lang) for i in range(kg.n_entities)], quota)
    if source in ("facts", "both"):
        from kgalign.lm.probing.core import build_queries
        from kgalign.lm.probing.facts import bilingual_facts
        from kgalign.lm.probing.templates import TemplateSet

        fs = bilingual_facts(pair.kg1, pair.kg2, pair.links)
        tset = TemplateSet.load(templates)
        queries, _ = build_queries(fs, tset, lang1, lang2, where=("both",))
        for lang in (lang1, lang2):
            out[lang] += sample([q.template.fill(q.subject, q.object) for q in queries if q.lang == lang], quota)
    for lang, texts in out.items():
        if len(texts) < 4:
            raise InputError(f"too few texts ({len(texts)}) in language {lang!r} from {pair_dir}")
    return out


def _split(texts: Sequence[str], n: int, rng) -> tuple[list[str], list[str]]:
    texts = list(texts)
    order = rng.permutation(len(texts))[: min(n, len(texts))]
    chosen = [texts[i] for i in order]
    half = len(chosen) // 2
    return chosen[:half], chosen[half:]


def analyse(
    gm, texts: dict[str, Sequence[str]], cfg: GeometryConfig | None = None, echo: Callable[[str], None] = log.info
) -> dict:
    """Language subspaces, projections, distances and axes of a model on texts of several languages.

    Parameters
    ----------
    gm : GeometryModel
        From :func:`kgalign.lm.geometry.model.load_model` or ``wrap_model``.
    texts : dict of str to sequence of str
        Language -> texts (at least two languages, at least four texts each).
    cfg : GeometryConfig
    echo : callable
        Receives progress lines.

    Returns
    -------
    dict
        ``languages``; ``layers``; ``subspaces[layer][lang]`` (k, variance, mean norm);
        ``distances[layer]["A|B"]`` with ``centred`` and ``uncentred`` subspace distances
        (:func:`~kgalign.lm.geometry.subspace.subspace_distances`) and ``principal_angles``
        (degrees, centred); ``perplexity`` (``baseline[lang]`` and per layer the ratio of each
        projection of :data:`PROJECTIONS` to no projection, per language pair and averaged, and
        the share of masked positions of A whose top prediction is a token exclusive to the
        other language B, ``top1_in_other``, against ``baseline_mean_top1_in_other``);
        ``axes`` (Fisher ratios of the sensitive and neutral axes on evaluation tokens and
        the 2-D plot points); ``config``; ``seconds``.

    Raises
    ------
    InputError
        Fewer than two languages, too few texts, or a layer out of range.
    """
    from kgalign.lm.geometry.axes import fisher_ratio, language_axes
    from kgalign.lm.geometry.model import lm_scores, masked_batches, token_states
    from kgalign.lm.geometry.subspace import affine_map, fit_subspace, principal_angles, subspace_distances

    cfg = cfg or GeometryConfig()
    t0 = time.perf_counter()
    if not (0.0 < cfg.share <= 1.0):
        raise InputError(f"variance share must be in (0, 1], got {cfg.share}")
    langs = list(texts)
    if len(langs) < 2:
        raise InputError("the geometry analysis needs texts of at least two languages")
    L = gm.n_layers
    layers = sorted(set(cfg.layers or range(1, L + 1)))
    for layer in layers:
        if not 1 <= layer <= L:
            raise InputError(f"layer {layer} out of range 1..{L}")
    axes_layer = cfg.axes_layer or max(1, int(round(2 * L / 3)))
    if not 1 <= axes_layer <= L:
        raise InputError(f"axes layer {axes_layer} out of range 1..{L}")
    rng = np.random.default_rng(cfg.seed)
    fit_texts, eval_texts = {}, {}
    for lang in langs:
        if len(texts[lang]) < 4:
            raise InputError(f"language {lang!r} has {len(texts[lang])} texts; at least 4 are needed")
        fit_texts[lang], eval_texts[lang] = _split(texts[lang], cfg.max_texts, rng)

    # 1. subspaces per language and layer (fit half)
    need = sorted(set(layers) | {axes_layer})
    fit_states, subs, subs_raw, token_sets = {}, {}, {}, {}
    for lang in langs:
        got = token_states(
            gm,
            fit_texts[lang],
            need,
            batch_size=cfg.batch_size,
            max_length=cfg.max_length,
            max_tokens=cfg.max_tokens,
            seed=cfg.seed,
        )
        fit_states[lang] = got["states"]
        token_sets[lang] = set(got["token_ids"].tolist())
        for layer in need:
            subs[(lang, layer)] = fit_subspace(got["states"][layer], cfg.share, center=True)
            subs_raw[(lang, layer)] = fit_subspace(got["states"][layer], cfg.share, center=False)
        echo(
            f"[geometry] {lang}: {len(fit_texts[lang])} fit texts, {len(got['positions'])} tokens; "
            f"k at {cfg.share:.0%} variance: " + ", ".join(f"L{l}={subs[(lang, l)].k}" for l in layers)
        )
    report: dict = {
        "model": gm.name,
        "kind": gm.kind,
        "n_layers": L,
        "hidden_size": int(subs[(langs[0], layers[0])].dim),
        "languages": langs,
        "layers": layers,
        "axes_layer": axes_layer,
        "n_texts": {lang: {"fit": len(fit_texts[lang]), "eval": len(eval_texts[lang])} for lang in langs},
        "subspaces": {str(l): {lang: subs[(lang, l)].summary() for lang in langs} for l in layers},
        "distances": {},
    }
    # 2. distances between languages
    for layer in layers:
        per = {}
        for a, b in combinations(langs, 2):
            sa, sb = subs[(a, layer)], subs[(b, layer)]
            per[f"{a}|{b}"] = {
                "centred": subspace_distances(sa, sb),
                "uncentred": subspace_distances(subs_raw[(a, layer)], subs_raw[(b, layer)]),
                "principal_angles_deg": np.degrees(principal_angles(sa, sb)).round(3).tolist(),
            }
        report["distances"][str(layer)] = per

    # 3. perplexity under projections (evaluation half)
    if cfg.perplexity and gm.kind in ("masked", "causal"):
        t = time.perf_counter()
        examples = {
            lang: masked_batches(
                gm, eval_texts[lang], mask_share=cfg.mask_share, max_length=cfg.max_length, seed=cfg.seed
            )
            for lang in langs
        }
        # tokens exclusive to each language's fit texts: does a projection make A predict B's tokens?
        vocab = {lang: token_sets[lang] - set().union(*(token_sets[o] for o in langs if o != lang)) for lang in langs}
        base_scores = {lang: lm_scores(gm, examples[lang], batch_size=cfg.batch_size, vocab=vocab) for lang in langs}
        base = {lang: v["perplexity"] for lang, v in base_scores.items()}
        ppl: dict = {
            "baseline": base,
            "baseline_top1_in": {lang: v["top1_in"] for lang, v in base_scores.items()},
            "exclusive_tokens": {lang: len(v) for lang, v in vocab.items()},
            "layers": {},
        }
        for layer in layers:
            rows: dict = {name: {} for name in PROJECTIONS}
            for a in langs:
                for b in langs:
                    for name, (sub, ma, mb) in PROJECTIONS.items():
                        if (name == "own") != (a == b):
                            continue
                        pick = {"A": a, "B": b}
                        S = None if sub is None else subs[(pick[sub], layer)]
                        M, c = affine_map(S, subs[(pick[ma], layer)].mean, subs[(pick[mb], layer)].mean)
                        sc = lm_scores(gm, examples[a], layer, (M, c), batch_size=cfg.batch_size, vocab=vocab)
                        rows[name][a if name == "own" else f"{a}->{b}"] = {
                            "perplexity": sc["perplexity"],
                            "ratio": sc["perplexity"] / base[a],
                            "top1_in_own": sc["top1_in"][a],
                            "top1_in_other": sc["top1_in"][b] if b != a else None,
                        }
            ppl["layers"][str(layer)] = {
                name: {
                    "mean_ratio": float(np.mean([v["ratio"] for v in r.values()])),
                    "mean_top1_in_other": (
                        float(np.mean([v["top1_in_other"] for v in r.values()])) if name != "own" else None
                    ),
                    "per": r,
                }
                for name, r in rows.items()
                if r
            }
        ppl["baseline_mean_top1_in_other"] = float(
            np.mean([base_scores[a]["top1_in"][b] for a in langs for b in langs if a != b])
        )
        ppl["seconds"] = round(time.perf_counter() - t, 1)
        ppl["note"] = (
            "masked LM: 15% of the non-special tokens of each evaluation text masked (seeded, the same "
            "positions for every projection)"
            if gm.kind == "masked"
            else "causal LM: next-token perplexity"
        )
        report["perplexity"] = ppl
        echo(f"[geometry] perplexity of {len(PROJECTIONS)} projections at {len(layers)} layers in {ppl['seconds']} s")

    # 4. language-sensitive and language-neutral axes at one layer
    X = np.concatenate([fit_states[lang][axes_layer] for lang in langs])
    y = np.concatenate([[lang] * len(fit_states[lang][axes_layer]) for lang in langs])
    ax = language_axes(X, y, cfg.n_neutral)
    ev = {
        lang: token_states(
            gm,
            eval_texts[lang],
            [axes_layer],
            batch_size=cfg.batch_size,
            max_length=cfg.max_length,
            max_tokens=cfg.max_tokens,
            seed=cfg.seed + 1,
        )
        for lang in langs
    }
    Xe = np.concatenate([ev[lang]["states"][axes_layer] for lang in langs])
    ye = np.concatenate([[lang] * len(ev[lang]["positions"]) for lang in langs])
    pe = np.concatenate([ev[lang]["positions"] for lang in langs])
    cs, cn = ax.project(Xe)
    pr = np.random.default_rng(cfg.seed)
    keep = np.concatenate([pr.permutation(np.flatnonzero(ye == lang))[: cfg.plot_points] for lang in langs])
    report["axes"] = {
        "layer": axes_layer,
        "n_sensitive": int(ax.sensitive.shape[1]),
        "n_neutral": int(ax.neutral.shape[1]),
        "fisher_sensitive": fisher_ratio(cs, ye).tolist() if cs.shape[1] else [],
        "fisher_neutral": fisher_ratio(cn, ye).tolist() if cn.shape[1] else [],
        "mean_difference_norm": {
            f"{a}|{b}": float(np.linalg.norm(subs[(a, axes_layer)].mean - subs[(b, axes_layer)].mean))
            for a, b in combinations(langs, 2)
        },
        "points": {
            "language": ye[keep].tolist(),
            "position": pe[keep].astype(int).tolist(),
            "sensitive": cs[keep, :1].ravel().round(5).tolist() if cs.shape[1] else [],
            "neutral": cn[keep, :1].ravel().round(5).tolist() if cn.shape[1] else [],
        },
        "note": "Fisher ratio (between- over within-language variance) of evaluation tokens projected on each axis",
    }
    report["config"] = asdict(cfg)
    report["seconds"] = round(time.perf_counter() - t0, 1)
    return report


def markdown_table(report: dict) -> str:
    """The per-layer results of :func:`analyse` as Markdown."""
    langs = report["languages"]
    pairs = list(next(iter(report["distances"].values())).keys()) if report["distances"] else []
    pair = pairs[0] if pairs else None
    head = ["layer"] + [f"k {lang}" for lang in langs]
    if pair:
        head += [
            f"mean angle {pair.replace('|', '-')} centred (deg)",
            "uncentred (deg)",
            "Riemann centred",
            "Riemann uncentred",
            "mean distance",
        ]
    ppl = report.get("perplexity") or {}  # only read when truthy
    names = list(PROJECTIONS) if ppl else []
    head += [f"PPL ratio {n}" for n in names]
    if ppl:
        head += ["top-1 in other language: no projection / mean shift"]
    lines = [
        f"Language subspaces of {report['model']} ({report['kind']}), {report['config']['share']:.0%} of "
        f"the variance; languages {', '.join(langs)}",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for layer in report["layers"]:
        key = str(layer)
        row = [key] + [str(report["subspaces"][key][lang]["k"]) for lang in langs]
        if pair:
            d = report["distances"][key][pair]
            row += [
                f"{np.degrees(d['centred']['mean_principal_angle']):.1f}",
                f"{np.degrees(d['uncentred']['mean_principal_angle']):.1f}",
                f"{d['centred']['riemann']:.2f}",
                f"{d['uncentred']['riemann']:.2f}",
                f"{d['centred']['mean_distance']:.2f}",
            ]
        for n in names:
            v = ppl["layers"][key].get(n)
            row.append(f"{v['mean_ratio']:.3f}" if v else "")
        if ppl:
            ms = ppl["layers"][key].get("mean_shift")
            row.append(f"{ppl['baseline_mean_top1_in_other']:.3f} / {ms['mean_top1_in_other']:.3f}" if ms else "")
        lines.append("| " + " | ".join(row) + " |")
    if ppl:
        lines += [
            "",
            "Perplexity without projection: "
            + ", ".join(f"{k} {v:.2f}" for k, v in ppl["baseline"].items())
            + ". Ratios are averaged over languages (and ordered language pairs).",
        ]
    ax = report.get("axes")
    if ax:
        fs = ", ".join(f"{v:.3f}" for v in ax["fisher_sensitive"])
        fn = ", ".join(f"{v:.3f}" for v in ax["fisher_neutral"])
        lines += [
            "",
            f"Layer {ax['layer']}: Fisher ratio of language on held-out tokens: language-sensitive "
            f"(LDA) axes {fs}; language-neutral axes {fn}.",
        ]
    return "\n".join(lines)
