"""Other readings of Han-script names (kgalign.aligner.readings) and the string view that keeps
the best reading: expected readings come from the readers themselves (romanize, the
cantonese-romanisation table), expected similarities from the n-gram vectors."""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest
import scipy.sparse as sp
from test_similarity import _pair

from kgalign.aligner.readings import CantoneseReader, han_readings, reading_languages
from kgalign.aligner.romanize import RomanizeTranslator
from kgalign.aligner.similarity import compute_similarity
from kgalign.aligner.views import ngram_vectors
from kgalign.aligner.views.strings import max_cosine_into, max_pair_dot, sparse_cosine_into
from kgalign.config import AlignConfig


def test_reading_languages_by_primary_subtag():
    assert reading_languages("zh") == reading_languages("zh-Hant") == ("ja", "yue")
    assert reading_languages("ja") == ("zh",)
    assert reading_languages("en") == reading_languages(None) == reading_languages("fr") == ()


def test_han_readings_come_from_the_readers_and_skip_what_has_no_other_reading():
    zh = ["松嶋菜菜子", "Paris", "米原站", "", "Москва"]
    got = han_readings(zh, "zh")
    assert set(got) == ({"ja", "yue"} if CantoneseReader.available() else {"ja"})
    ja_reader = RomanizeTranslator("ja")
    for i, text in enumerate(zh):
        has_han = any("\u4e00" <= ch <= "\u9fff" for ch in text)
        assert got["ja"][i] == (ja_reader.translate([text])[0] if has_han else "")
    # a Japanese name with kana is Japanese: no Chinese reading; Han-only text gets one
    ja = ["東京タワー", "毛沢東", "Tokyo"]
    got = han_readings(ja, "ja")
    assert got["zh"] == ["", RomanizeTranslator("zh").translate(["毛沢東"])[0], ""]
    assert got["zh"][1] and got["zh"][1] != "毛沢東"
    assert han_readings(["Paris"], "en") == {}


def test_the_translate_hook_is_used():
    seen = []

    def through(tr, texts):
        seen.append((tr.cache_key, list(texts)))
        return [f"r{i}" for i in range(len(texts))]

    got = han_readings(["北京", "Paris", "上海"], "zh", translate=through)
    assert got["ja"] == ["r0", "", "r1"]
    assert all(texts == ["北京", "上海"] for _, texts in seen)
    assert len({key for key, _ in seen}) == len(seen)  # one cache key per reading


@pytest.mark.skipif(not CantoneseReader.available(), reason="cantonese-romanisation not installed")
def test_cantonese_reader_lists_every_reading_of_each_character():
    from cantoroman import Cantonese

    table = Cantonese()
    text = "梁國雄 (香港)"
    want = [r for ch in "梁國雄香港" for r in table.getRoman(ch)[0]]
    got = CantoneseReader().translate([text, "", "Paris"])
    assert got[0].replace("(", " ").replace(")", " ").split() == want
    assert got[1:] == ["", "Paris"]
    assert CantoneseReader().cache_key.startswith("reading:yue:")


def _random_pairs(seed, n1=7, n2=9, k=3):
    rng = np.random.default_rng(seed)
    return [
        (
            sp.random(n1, 20, density=0.3, format="csr", random_state=rng.integers(1 << 30), dtype=np.float32),
            sp.random(n2, 20, density=0.3, format="csr", random_state=rng.integers(1 << 30), dtype=np.float32),
        )
        for _ in range(k)
    ]


@pytest.mark.parametrize("block", [1, 3, 100])
def test_max_cosine_into_is_the_elementwise_max(block):
    pairs = _random_pairs(0)
    want = np.max([(A @ B.T).toarray() for A, B in pairs], axis=0)
    out = np.full((7, 9), 0.5, np.float32)
    max_cosine_into(out, pairs, 2.0, block=block)
    np.testing.assert_allclose(out, 0.5 + 2.0 * want, rtol=1e-5, atol=1e-6)
    one = np.zeros((7, 9), np.float32)
    max_cosine_into(one, pairs[:1])
    np.testing.assert_allclose(one, sparse_cosine_into(np.zeros((7, 9), np.float32), *pairs[0]), rtol=1e-6)
    r, c = np.divmod(np.arange(63), 9)
    np.testing.assert_allclose(max_pair_dot(pairs, r, c), want.ravel(), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError):
        max_cosine_into(out, [])
    with pytest.raises(ValueError):
        max_cosine_into(np.zeros((7, 8), np.float32), pairs)


def _cfg(mode, k=8, selftrain=False, names=0.0):
    off = {"names": names, "structure": [], "attributes": 0.0, "transliteration": 0.0}
    return AlignConfig.from_dict(
        {"similarity": {"mode": mode, "topk": k, **off}, "selftrain": {"enabled": selftrain, "margin": 0.0}}
    )


def test_the_string_view_keeps_the_best_reading():
    kg1, kg2, e1, e2, n1, n2, perm = _pair(seed=2)
    # names1 are unreadable for the other side; the reading spells entity i as its gold partner
    garbled = [f"qq{i}zz" for i in range(len(n1))]
    reading = list(n1)
    reading[5] = ""  # no other reading for entity 5
    src = np.arange(8)
    tgt = np.random.default_rng(1).permutation(8)  # shuffled targets
    plain = compute_similarity(kg1, kg2, e1, e2, garbled, n2, src, tgt, _cfg("dense"))
    best = compute_similarity(kg1, kg2, e1, e2, garbled, n2, src, tgt, _cfg("dense"), readings1=[reading])
    # the expected values, from the n-gram vectors of each reading
    P = (lambda X: (X[0] @ X[1].T).toarray())(ngram_vectors(garbled, [n2[j] for j in tgt]))
    R = (lambda X: (X[0] @ X[1].T).toarray())(ngram_vectors(reading, [n2[j] for j in tgt]))
    np.testing.assert_allclose(plain, P, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(best, np.maximum(P, R), rtol=1e-5, atol=1e-6)
    gold_col = {int(j): c for c, j in enumerate(tgt)}
    for i in range(8):
        g = gold_col[int(perm[i])]
        if i == 5:
            assert best[i, g] == pytest.approx(plain[i, g])
        else:
            assert best[i, g] == pytest.approx(1.0, abs=1e-5) and best[i].argmax() == g
    # a reading that fits nothing changes nothing
    none = compute_similarity(kg1, kg2, e1, e2, garbled, n2, src, tgt, _cfg("dense"), readings1=[[""] * len(n1)])
    np.testing.assert_allclose(none, plain, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("selftrain", [False, True])
def test_readings_sparse_equal_dense_and_the_scorer_reproduces_them(selftrain):
    kg1, kg2, e1, e2, n1, n2, _ = _pair(seed=4)
    reading1 = [n[::-1] for n in n1]
    reading2 = [n[:3] for n in n2]
    src, tgt = np.arange(8), np.arange(8)[::-1].copy()
    kw = dict(readings1=[reading1], readings2=[reading2])
    sim = partial(compute_similarity, kg1, kg2, e1, e2, n1, n2, src, tgt)
    # the sparse path chooses candidates by the names view: on a complete graph it is the dense one
    dense = sim(_cfg("dense", 8, selftrain, 1.0), **kw)
    sparse, info, scorer = sim(
        _cfg("sparse", 8, selftrain, 1.0),
        return_info=True,
        return_scorer=True,
        **kw,
    )
    assert info["readings"] == [1, 1] and scorer.max_terms
    np.testing.assert_allclose(sparse.toarray(), dense, rtol=1e-4, atol=1e-5)
    plain = sim(_cfg("dense", 8, selftrain, 1.0))
    assert np.all(dense >= plain - 1e-6) and np.any(dense > plain + 1e-4)  # the max only adds
    # a partial candidate graph: the scorer gives every stored value
    part, _, sc = sim(
        _cfg("sparse", 2, selftrain, 1.0),
        return_info=True,
        return_scorer=True,
        **kw,
    )
    r = np.repeat(np.arange(8), np.diff(part.indptr))
    np.testing.assert_allclose(sc.pairs(r, part.indices), part.data, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(sc.block(np.arange(8), np.arange(8))[r, part.indices], part.data, rtol=1e-5, atol=1e-6)


def test_readings_switch_in_the_configuration():
    assert AlignConfig().similarity.readings is True
    assert AlignConfig.from_dict({"similarity": {"readings": False}}).similarity.readings is False
