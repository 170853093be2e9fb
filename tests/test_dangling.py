"""Gold-free abstention (kgalign.aligner.dangling) on small synthetic graphs with a planted periphery."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kgalign.aligner.dangling import abstain, peripheral_entities
from kgalign.aligner.pipeline import align
from kgalign.config import AbstainConfig, AlignConfig, abstain_config
from kgalign.errors import InputError
from kgalign.kg import KnowledgeGraph

CITIES = [
    "Paris",
    "Lyon",
    "Marseille",
    "Toulouse",
    "Nice",
    "Nantes",
    "Strasbourg",
    "Bordeaux",
    "Lille",
    "Rennes",
    "Reims",
    "Grenoble",
]


def core_periphery_kg(
    prefix: str, core: list[str], leaves: list[tuple[str, int]], lang: str, seed: int = 0, perm=None
) -> KnowledgeGraph:
    """A ring with chords over ``core`` (every core entity has degree >= 4) plus ``leaves``:
    ``(name, core index)`` entities mentioned in one triple only. ``perm`` re-orders entities."""
    names = list(core) + [n for n, _ in leaves]
    n = len(core)
    triples = [(k, 0, (k + 1) % n) for k in range(n)] + [(k, 1, (k + 3) % n) for k in range(n)]
    triples += [(n + t, 2, at) for t, (_, at) in enumerate(leaves)]
    kg = KnowledgeGraph(
        entities=[f"http://{prefix}.ex/{name}" for name in names],
        labels=[[(lang, name, 0)] for name in names],
        triples=np.array(triples),
        relations=["http://x/next", "http://x/far", "http://x/mentions"],
    )
    return kg if perm is None else kg.subgraph(perm)


def degrees_by_networkx(kg) -> np.ndarray:
    """Independent degree count (networkx counts a self-loop twice, as kgalign does)."""
    g = kg.to_networkx()
    return np.array([g.degree(iri) if iri in g else 0 for iri in kg.entities], dtype=np.int64)


def suffix_pairs(res) -> set[tuple[str, str]]:
    return {(a.rsplit("/", 1)[1], b.rsplit("/", 1)[1]) for a, b, _ in res.pairs()}


# ------------------------------------------------------------------ configuration
@pytest.mark.parametrize("value", [None, False, "none", "NONE", "off"])
def test_off_values(value):
    assert abstain_config(value) is None


@pytest.mark.parametrize("value", ["auto", True])
def test_auto_values(value):
    assert abstain_config(value) == AbstainConfig()


@pytest.mark.parametrize(
    "value",
    [
        "sometimes",
        3,
        [0.3],
        {"min_scor": 0.3},
        {"min_score": "high"},
        {"min_score": float("nan")},
        {"degree_ratio": -1},
        {"degree_ratio": True},
    ],
)
def test_bad_values_raise_input_error(value):
    with pytest.raises(InputError):
        abstain_config(value)
    with pytest.raises(InputError, match="abstain"):
        AlignConfig.build(abstain=value)


def test_mapping_overrides_only_its_keys():
    cfg = abstain_config({"min_score": None})
    assert cfg.min_score is None and cfg.degree_ratio == AbstainConfig().degree_ratio
    assert AlignConfig.build().abstain is None  # off unless asked for


# ------------------------------------------------------------------ peripheral entities
def test_planted_leaves_are_peripheral_and_core_is_not():
    kg = core_periphery_kg("a", CITIES, [("Avignon", 0), ("Dijon", 5), ("Metz", 7)], "en")
    per = peripheral_entities(kg)
    assert per.tolist() == [False] * len(CITIES) + [True] * 3
    assert not peripheral_entities(kg, 0.0).any()


def test_peripheral_matches_definition_with_independent_degrees():
    rng = np.random.default_rng(3)
    for _ in range(5):
        n = int(rng.integers(5, 40))
        triples = rng.integers(0, n, size=(int(rng.integers(1, 80)), 3))
        triples[:, 1] = 0
        kg = KnowledgeGraph(entities=[f"http://r/{k}" for k in range(n)], triples=triples, relations=["http://r/p"])
        deg = degrees_by_networkx(kg)
        for ratio in (0.25, 1 / 3, 0.5, 1.0):
            assert peripheral_entities(kg, ratio).tolist() == (deg < ratio * np.median(deg)).tolist()


def test_graph_without_triples_has_no_periphery():
    kg = KnowledgeGraph(entities=["http://a/x", "http://a/y"])
    assert not peripheral_entities(kg).any()


# ------------------------------------------------------------------ abstain()
def test_abstain_keeps_exactly_the_pairs_passing_both_tests():
    kg1 = core_periphery_kg("a", CITIES, [("Avignon", 0), ("Dijon", 5)], "en")
    kg2 = core_periphery_kg("b", CITIES, [("Metz", 2)], "fr")
    rows = np.arange(kg1.n_entities - 1)
    cols = np.arange(kg2.n_entities)[::-1][: len(rows)]
    scores = np.linspace(-0.2, 1.0, len(rows))
    dec = abstain(kg1, kg2, rows, cols, scores, "auto")
    d1, d2 = degrees_by_networkx(kg1), degrees_by_networkx(kg2)
    thin = (d1[rows] < np.median(d1) / 3) | (d2[cols] < np.median(d2) / 3)
    expected = (scores >= 0.3) & ~thin
    assert dec.keep.tolist() == expected.tolist()
    assert dec.low_score.tolist() == (scores < 0.3).tolist()
    assert dec.peripheral.tolist() == thin.tolist()
    s = dec.summary()
    assert s["kept"] == int(expected.sum()) and s["pairs"] == len(rows)


def test_abstain_off_and_nan_scores():
    kg = core_periphery_kg("a", CITIES, [("Avignon", 0)], "en")
    rows = cols = np.arange(kg.n_entities)
    scores = np.full(len(rows), 0.9)
    scores[3] = np.nan
    assert abstain(kg, kg, rows, cols, scores, None).keep.all()
    dec = abstain(kg, kg, rows, cols, scores, {"degree_ratio": 0})
    assert dec.keep.tolist() == [k != 3 for k in range(len(rows))]  # NaN is never a confident score


def test_abstain_rejects_bad_positions_and_lengths():
    kg = core_periphery_kg("a", CITIES, [], "en")
    with pytest.raises(InputError, match="outside"):
        abstain(kg, kg, [0, len(CITIES)], [0, 1], [1.0, 1.0])
    with pytest.raises(InputError, match="length"):
        abstain(kg, kg, [0, 1], [0, 1], [1.0])


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(-1, 1), min_size=1, max_size=15),
    st.floats(-1, 1),
    st.floats(-1, 1),
    st.floats(0, 2),
    st.floats(0, 2),
)
def test_stricter_settings_never_keep_more(scores, t1, t2, r1, r2):
    kg1 = core_periphery_kg("a", CITIES, [("Avignon", 0), ("Dijon", 5), ("Metz", 7)], "en")
    kg2 = core_periphery_kg("b", CITIES[::-1], [("Nancy", 1)], "fr")
    p = len(scores)
    rows = np.arange(p) % kg1.n_entities
    cols = (np.arange(p) * 5) % kg2.n_entities
    lo_t, hi_t = sorted((t1, t2))
    lo_r, hi_r = sorted((r1, r2))
    loose = abstain(kg1, kg2, rows, cols, scores, {"min_score": lo_t, "degree_ratio": lo_r}).keep
    strict = abstain(kg1, kg2, rows, cols, scores, {"min_score": hi_t, "degree_ratio": hi_r}).keep
    assert not (strict & ~loose).any()


# ------------------------------------------------------------------ through the pipeline
def planted_pair(perm1=None, perm2=None):
    """Twelve shared core cities; each side has leaves, two of them sharing a name across sides
    (a same-named but thinly described pair) and the rest without any counterpart."""
    kg1 = core_periphery_kg("a", CITIES, [("Avignon", 0), ("Dijon", 5), ("Zagreb Dangling", 9)], "en", perm=perm1)
    kg2 = core_periphery_kg("b", CITIES, [("Avignon", 3), ("Dijon", 6), ("Kyoto Other", 1)], "fr", perm=perm2)
    return kg1, kg2


def test_pipeline_abstains_on_planted_dangling_and_keeps_the_assignment(hashing_encoder):
    kg1, kg2 = planted_pair()
    kw = dict(encoder=hashing_encoder, translator="identity", show_progress=False)
    plain = align(kg1, kg2, **kw)
    auto = align(kg1, kg2, abstain="auto", **kw)
    assert len(plain) == kg1.n_entities  # without abstention every source gets a partner
    assert ("Zagreb Dangling", "Kyoto Other") in suffix_pairs(plain)
    kept = suffix_pairs(auto)
    assert kept == {(c, c) for c in CITIES}  # all core pairs, none with a leaf
    # the pre-abstention assignment is the same 1-to-1 assignment in both runs
    assert all(np.array_equal(a, b) for a, b in zip(plain.assignment, auto.assignment))
    assert auto.info["abstain"]["kept"] == len(CITIES)
    assert auto.info["abstain"]["withdrawn_peripheral"] == 3
    # every kept pair passes the score test; every withdrawn pair fails a test
    assert np.all(auto.scores >= AbstainConfig().min_score)
    assert suffix_pairs(plain) >= kept


def test_pipeline_abstention_is_permutation_invariant(hashing_encoder):
    kw = dict(encoder=hashing_encoder, translator="identity", show_progress=False, abstain="auto")
    base = suffix_pairs(align(*planted_pair(), **kw))
    rng = np.random.default_rng(7)
    n = len(CITIES) + 3
    for _ in range(3):
        assert suffix_pairs(align(*planted_pair(rng.permutation(n), rng.permutation(n)), **kw)) == base


def test_pipeline_threshold_and_abstain_combine(hashing_encoder):
    kg1, kg2 = planted_pair()
    kw = dict(encoder=hashing_encoder, translator="identity", show_progress=False)
    auto = align(kg1, kg2, abstain="auto", **kw)
    thr = float(np.median(auto.scores))  # a threshold that splits the kept pairs
    both = suffix_pairs(align(kg1, kg2, abstain="auto", threshold=thr, **kw))
    expected = {(a.rsplit("/", 1)[1], b.rsplit("/", 1)[1]) for a, b, s in auto.pairs() if s >= thr}
    assert 0 < len(expected) < len(auto)
    assert both == expected


# ------------------------------------------------------------------ command line
def write_dbp15k_dir(path, kg1, kg2):
    """The planted pair in the DBP15K id format (ids 1000+ on the second side)."""
    path.mkdir()
    for side, kg, base in ((1, kg1, 0), (2, kg2, 1000)):
        # a space is not allowed in an IRI (RFC 3987): written percent-encoded, as DBpedia does
        (path / f"ent_ids_{side}").write_text(
            "".join(f"{base + i}\t{iri.replace(' ', '%20')}\n" for i, iri in enumerate(kg.entities))
        )
        triples = "".join(f"{base + h}\t{r}\t{base + t}\n" for h, r, t in kg.triples.tolist())
        (path / f"triples_{side}").write_text(triples)
    return path


def test_cli_abstain_option(tmp_path, capsys):
    from kgalign.cli import main

    d = write_dbp15k_dir(tmp_path / "pair", *planted_pair())
    outs = {}
    for mode in ("none", "auto"):
        out = tmp_path / f"{mode}.tsv"
        assert main(["align", str(d), "-q", "--abstain", mode, "-o", str(out)]) == 0
        outs[mode] = {
            tuple(x.rsplit("/", 1)[1] for x in line.split("\t")[:2]) for line in out.read_text().splitlines()[1:]
        }
        printed = capsys.readouterr().out
        assert ("abstained: 3 of" in printed) == (mode == "auto")  # the summary says what was withdrawn
    assert len(outs["none"]) == len(CITIES) + 3
    assert outs["auto"] == {(c, c) for c in CITIES}
    assert main(["align", str(d), "-q", "--abstain", "maybe"]) == 2


def test_open_benchmark_abstains_by_default_closed_does_not():
    from kgalign.evaluation.dbp15k import _protocol_config, default_aligner

    def typed(d):  # the pipeline gets a typed configuration, without progress bars
        return AlignConfig.build({"show_progress": False, **d})

    assert _protocol_config(None, "open", default_aligner) == typed({"abstain": "auto"})
    assert _protocol_config({"seed": 3}, "open", default_aligner) == typed({"seed": 3, "abstain": "auto"})
    assert _protocol_config(None, "closed", default_aligner) == typed({})
    assert _protocol_config(None, "closed", default_aligner).abstain is None
    assert _protocol_config({"abstain": "none"}, "open", default_aligner) == typed({"abstain": "none"})
    ready = AlignConfig(seed=2)  # a ready AlignConfig is used as it is
    assert _protocol_config(ready, "open", default_aligner) is ready
    other = lambda *a, **k: None  # noqa: E731 (a custom aligner gets its configuration untouched)
    assert _protocol_config({"x": 1}, "open", other) == {"x": 1}
