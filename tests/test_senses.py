"""Sense-overlap view of vocabulary labels: dictionary slots, keys, WordNet synonyms, the soft
Dice, and its place in the pipeline. Dictionaries and WordNet files are built in tmp_path."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from test_freedict import DEU_ENG, write_dict

from kgalign.aligner import freedict, wordnet
from kgalign.aligner.freedict import gloss_slots, gloss_text, glossary
from kgalign.aligner.views.senses import sense_overlap, slot_keys
from kgalign.errors import InputError
from kgalign.kg import CLASS, INDIVIDUAL, KnowledgeGraph


def write_wordnet(folder, synsets: dict[str, list[list[str]]]) -> None:
    """``index.noun`` + ``data.noun`` in WordNet's wndb format: per lemma its synsets (word
    lists, most frequent first), each a data line at the byte offset the index gives."""
    header = "  1 This software and database is being provided to you, the LICENSEE\n"
    data = header
    offsets: dict[tuple[str, ...], int] = {}
    for groups in synsets.values():
        for words in groups:
            key = tuple(words)
            if key in offsets:
                continue
            off = len(data.encode("latin-1"))
            offsets[key] = off
            body = " ".join(f"{w} 0" for w in words)
            data += f"{off:08d} 18 n {len(words):02x} {body} 000 | a gloss\n"
    index = header
    for lemma in sorted(synsets):
        offs = " ".join(f"{offsets[tuple(g)]:08d}" for g in synsets[lemma])
        index += f"{lemma} n {len(synsets[lemma])} 1 @ {len(synsets[lemma])} 0 {offs}\n"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "index.noun").write_text(index, encoding="latin-1")
    (folder / "data.noun").write_text(data, encoding="latin-1")


@pytest.fixture
def wn(tmp_path, monkeypatch):
    folder = tmp_path / "wordnet"
    write_wordnet(
        folder,
        {
            "chairman": [["chairman", "chair", "president"], ["chairman", "chairwoman(a)"]],
            "chair": [["chair", "seat"], ["chairman", "chair", "president"]],
            "paper": [["paper"], ["composition", "paper", "theme"]],
        },
    )
    monkeypatch.setenv(wordnet.ENV, str(folder))
    wordnet.find_wordnet.cache_clear()
    wordnet.synonyms.cache_clear()
    yield folder
    wordnet.find_wordnet.cache_clear()
    wordnet.synonyms.cache_clear()


# ----------------------------------------------------------------------------- slots and keys
def test_gloss_slots_keep_every_sense_and_gloss_text_joins_the_best_two(dicts):
    write_dict(dicts, "deu-eng", DEU_ENG)
    g = glossary("de")
    slots, found = gloss_slots("Beitrag der Konferenz", g)
    assert found == 2 and [glossed for _, glossed in slots] == [True, True]  # "der" is an article
    beitrag = slots[0][0]
    assert {"portion", "contribution", "financial contribution"} <= set(beitrag)
    assert len(beitrag) > freedict.GLOSS_SENSES
    assert slots[1][0] == ("conference",)
    text, _ = gloss_text("Beitrag der Konferenz", g)
    assert text == " ".join(beitrag[: freedict.GLOSS_SENSES]) + " conference"
    # a word not found is one slot with its fallback form, marked not glossed
    slots, found = gloss_slots("Xylophon", g, fallback=str.upper)
    assert (slots, found) == ([(("XYLOPHON",), False)], 0)


def test_slot_keys_drop_function_words_and_keep_heads():
    keys = slot_keys([("of", "from"), ("membership fee", "dues"), ("papers",), ("a very long description here",)])
    assert keys[0] == ("fee", "due")  # the head of a phrase; lemmatised
    assert len(keys) == 2  # "von" (of, from) and the description are not slots
    assert keys[1] == ("paper",)  # lemmatised
    # a slot whose best sense is a function word is one, whatever its later senses
    assert slot_keys([("by", "alongside")]) == []


def test_romanize_sense_slots_leave_out_untranslated_words_of_another_script(dicts):
    pytest.importorskip("pymorphy3")
    from kgalign.aligner.romanize import RomanizeTranslator

    write_dict(dicts, "eng-rus", [("article", "article\nстатья\n")])
    glossary.cache_clear()
    slots = RomanizeTranslator("ru", dictionary=True).sense_slots(["статья хххх", "хххх", "ISBN статья"])
    assert slots[0] == [("article",)]  # the unknown Cyrillic word would never match English
    assert len(slots[1]) == 1  # nothing glossed: the transliteration, as the label's only slot
    assert slots[2] == [("ISBN",), ("article",)]  # a Latin word of a Cyrillic label stays


def test_cached_sense_slots_are_served_from_disk(dicts, tmp_path, monkeypatch):
    from kgalign.aligner.choose import CachedTranslator
    from kgalign.aligner.romanize import RomanizeTranslator

    monkeypatch.setenv("KGALIGN_HOME", str(tmp_path / "home"))
    write_dict(dicts, "deu-eng", DEU_ENG)
    first = CachedTranslator(RomanizeTranslator("de", dictionary=True)).sense_slots(["Beitrag der Konferenz", ""])
    inner = RomanizeTranslator("de", dictionary=True)

    def fail(texts):
        raise AssertionError(f"not served from the cache: {texts}")

    monkeypatch.setattr(inner, "sense_slots", fail)
    assert CachedTranslator(inner).sense_slots(["Beitrag der Konferenz", ""]) == first
    assert first[1] == []
    from kgalign.aligner.translate import IdentityTranslator

    assert CachedTranslator(IdentityTranslator()).sense_slots(["x"]) is None


# ----------------------------------------------------------------------------- the view
def test_sense_overlap_is_the_idf_weighted_soft_dice():
    a = [[("paper",)], [("conference",), ("paper", "article")], []]
    b = [[("article",)], [("conference",)], [("chair",)]]
    S = sense_overlap(a, b)
    assert S.shape == (3, 3) and S.dtype == np.float32
    n = 6  # labels of both sides
    df = {"paper": 2, "article": 2, "conference": 2, "chair": 1}

    def w(k):
        return np.log((n + 1) / (df[k] + 1)) + 1.0

    # "conference paper|article" vs "article": the paper slot matches through its second sense
    expected = (w("paper") + w("article")) / (w("conference") + w("paper") + w("article"))
    assert S[1, 0] == pytest.approx(expected, rel=1e-6)
    assert S[0, 0] == 0.0 and S[0, 2] == 0.0  # "paper" has no sense "article"
    assert S[1, 1] == pytest.approx(2 * w("conference") / (w("conference") + w("paper") + w("conference")), rel=1e-6)
    assert np.all(S[2] == 0.0)  # a label without slots
    assert np.all((S >= 0) & (S <= 1))
    # many slots of several weights: float32 sums never pass 1
    rng = np.random.default_rng(1)
    words = [f"w{i}" for i in range(30)]
    big = [[(str(w),) for w in rng.choice(words, size=rng.integers(1, 6))] for _ in range(300)]
    S = sense_overlap(big, big)
    assert S.max() <= 1.0 and np.allclose(np.diag(S), 1.0)


def test_sense_overlap_follows_any_permutation():
    rng = np.random.default_rng(0)
    words = ["paper", "review", "chair", "event", "person", "topic", "author", "session"]

    def label():
        return [tuple(rng.choice(words, size=rng.integers(1, 3), replace=False)) for _ in range(rng.integers(0, 4))]

    a = [label() for _ in range(12)]
    b = [label() for _ in range(9)]
    S = sense_overlap(a, b)
    p, q = rng.permutation(12), rng.permutation(9)
    np.testing.assert_array_equal(sense_overlap([a[i] for i in p], [b[j] for j in q]), S[np.ix_(p, q)])


# ----------------------------------------------------------------------------- WordNet
def test_wordnet_synonyms_of_the_first_synsets(wn):
    assert wordnet.synonyms("chairman") == {"chair", "president", "chairwoman"}
    assert wordnet.synonyms("chairman", 1) == {"chair", "president"}
    assert wordnet.synonyms("paper", 1) == frozenset()
    assert wordnet.synonyms("unknownword") == frozenset()
    keys = slot_keys([("chairman",)], synonyms=1)
    assert keys == [("chairman", "~chair", "~president")]  # the word first, synonyms marked
    S = sense_overlap([keys], [[("chair",)]])
    assert S[0, 0] == pytest.approx(1.0)
    # two words that only share a synonym ("president") do not match
    pres = slot_keys([("chairman",)], synonyms=1)
    other = [("headofstate", "~president")]
    assert sense_overlap([pres], [other])[0, 0] == 0.0
    assert sense_overlap([pres], [[("president",)]])[0, 0] == pytest.approx(1.0)


def test_without_wordnet_one_warning_and_no_synonyms(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv(wordnet.ENV, str(tmp_path / "nothing"))
    monkeypatch.setenv("KGALIGN_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(wordnet.sys, "prefix", str(tmp_path / "prefix"))
    monkeypatch.setattr(wordnet, "_search_dirs", lambda: [tmp_path / "nothing"])
    wordnet.find_wordnet.cache_clear()
    wordnet.synonyms.cache_clear()
    with caplog.at_level(logging.WARNING, logger="kgalign.aligner.wordnet"):
        assert wordnet.synonyms("chairman") == frozenset()
        assert wordnet.synonyms("paper") == frozenset()
    assert sum("wordnet-base" in r.getMessage() for r in caplog.records) == 1
    wordnet.find_wordnet.cache_clear()
    wordnet.synonyms.cache_clear()


# ----------------------------------------------------------------------------- pipeline
def _onto(labels, lang, kinds=None):
    return KnowledgeGraph(
        entities=[f"http://{lang}.example/{i}" for i in range(len(labels))],
        labels=[[(lang, t, 0)] for t in labels],
        kinds=np.asarray(kinds if kinds is not None else [CLASS] * len(labels), np.int8),
    )


BEITRAG = [
    ("Beitrag", "Beitrag <masc, n, sg>\npost <n>\n"),
    ("Beitrag", "Beitrag <masc, n, sg>\ndue <n>\n"),
    ("Beitrag", "Beitrag <masc, n, sg>\narticle <n>\n"),
    ("Konferenz", "Konferenz <fem, n, sg>\nconference <n>\n"),
]


def test_a_sense_past_the_glossed_two_decides_the_match(dicts, wn, hash_encoder, tmp_path, monkeypatch):
    pytest.importorskip("wordfreq")  # ranks post, due before article
    from kgalign.aligner.pipeline import align

    monkeypatch.setenv("KGALIGN_HOME", str(tmp_path / "home"))
    write_dict(dicts, "deu-eng", BEITRAG)
    assert gloss_text("Beitrag", glossary("de"))[0] == "post due"
    de = _onto(["Beitrag", "Konferenz"], "de")
    en = _onto(["postdue", "article", "conference"], "en")
    kw = dict(encoder=hash_encoder, show_progress=False, translator="romanize", lang1="de", lang2="en")
    kw["schema"] = {"min_score": None}

    def pairs(res, kg2):
        return {(de.label(i), kg2.label(j)) for i, j in zip(res.rows.tolist(), res.cols.tolist())}

    off = align(de, en, similarity={"senses": 0}, **kw)
    assert "senses" not in off.info["views"] and ("Beitrag", "postdue") in pairs(off, en)
    on = align(de, en, similarity={"senses": 3.0}, **kw)
    assert "senses" in on.info["views"]
    assert on.info["senses"] == {"synonyms": 2, "wordnet": str(wn)}  # what ran, for the record
    assert pairs(on, en) == {("Beitrag", "article"), ("Konferenz", "conference")}
    # the same pairs whatever the order of the targets
    perm = [2, 0, 1]
    en2 = KnowledgeGraph(
        entities=[en.entities[j] for j in perm], labels=[en.labels[j] for j in perm], kinds=en.kinds[perm]
    )
    assert pairs(align(de, en2, similarity={"senses": 3.0}, **kw), en2) == pairs(on, en)


def test_individuals_never_get_the_view(hash_encoder):
    from kgalign.aligner.pipeline import align

    a = _onto(["Berlin", "Paris"], "en", [INDIVIDUAL, INDIVIDUAL])
    b = _onto(["Paris", "Berlin"], "en", [INDIVIDUAL, INDIVIDUAL])
    res = align(a, b, encoder=hash_encoder, show_progress=False, translator="identity")
    assert "senses" not in res.info["views"]


@pytest.mark.parametrize("cfg", [{"senses": -1}, {"synonyms": -2}, {"synonyms": "many"}])
def test_bad_settings_are_refused(cfg):
    from kgalign.config import AlignConfig

    with pytest.raises(InputError, match="similarity"):
        AlignConfig.build({"similarity": cfg})


def test_none_turns_wordnet_and_freedict_off_without_a_warning(tmp_path, monkeypatch, caplog):
    from kgalign.aligner.romanize import RomanizeTranslator

    monkeypatch.setenv(wordnet.ENV, "none")
    monkeypatch.setenv(freedict.ENV, "none")
    monkeypatch.setenv("KGALIGN_HOME", str(tmp_path / "home"))
    wordnet.find_wordnet.cache_clear()
    wordnet.synonyms.cache_clear()
    glossary.cache_clear()
    try:
        with caplog.at_level(logging.WARNING):
            assert wordnet.find_wordnet() is None and wordnet.synonyms("chairman") == frozenset()
            assert freedict.search_dirs() == [] and glossary("de") is None
            out = RomanizeTranslator("de").for_vocabulary().translate(["Konferenzteilnehmer"])
        assert out == ["Konferenzteilnehmer"]  # transliterated (already Latin), not glossed
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    finally:
        wordnet.find_wordnet.cache_clear()
        wordnet.synonyms.cache_clear()
        glossary.cache_clear()


def test_compute_similarity_adds_the_view_and_checks_its_slots():
    from kgalign.aligner.similarity import compute_similarity
    from kgalign.config import AlignConfig

    a, b = _onto(["paper", "topic"], "en"), _onto(["topic", "paper"], "en")
    e = np.eye(2, dtype=np.float32)
    src = tgt = np.arange(2)
    cfg = AlignConfig.build({"selftrain": {"enabled": False}, "similarity": {"strings": 0.0}})
    slots1, slots2 = [[("paper",)], [("topic",)]], [[("topic",)], [("paper",)]]
    plain, info0 = compute_similarity(
        a, b, e, e, ["paper", "topic"], ["topic", "paper"], src, tgt, cfg, return_info=True
    )
    S, info = compute_similarity(
        a,
        b,
        e,
        e,
        ["paper", "topic"],
        ["topic", "paper"],
        src,
        tgt,
        cfg,
        return_info=True,
        slots1=slots1,
        slots2=slots2,
    )
    assert "senses" in info["views"] and info["total_weight"] == info0["total_weight"] + 1.0
    expected = (plain * info0["total_weight"] + sense_overlap(slots1, slots2)) / info["total_weight"]
    np.testing.assert_allclose(S, expected, rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match="slots1"):
        compute_similarity(a, b, e, e, ["p", "t"], ["t", "p"], src, tgt, cfg, slots1=slots1[:1], slots2=slots2)
