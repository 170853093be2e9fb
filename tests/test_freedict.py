"""FreeDict (dictd) glosses for vocabulary labels: parsing, reversal, pivots, word forms, integration.

Every dictionary here is built in tmp_path; the search path is pointed at it only, so no test
depends on dictionaries installed on the machine.
"""

from __future__ import annotations

import gzip
import logging
import struct
import zlib

import numpy as np
import pytest

from kgalign.aligner import freedict
from kgalign.aligner.freedict import DictdFile, clean_gloss, forward, gloss_text, glossary, reverse
from kgalign.aligner.romanize import RomanizeTranslator
from kgalign.aligner.wordforms import arabic_forms, arabic_key, russian_forms, split_compound
from kgalign.kg import CLASS, INDIVIDUAL, OBJECT_PROPERTY, KnowledgeGraph

_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def b64(n: int) -> str:
    out = ""
    while True:
        n, r = divmod(n, 64)
        out = _B64[r] + out
        if n == 0:
            return out


def dictzip(data: bytes, chunk: int) -> bytes:
    """A dictzip file: gzip whose deflate stream is flushed every ``chunk`` bytes, with the
    chunk table in the ``RA`` extra field (dictzip(1))."""
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    pieces = []
    for i in range(0, len(data), chunk):
        pieces.append(comp.compress(data[i : i + chunk]) + comp.flush(zlib.Z_FULL_FLUSH))
    pieces[-1] += comp.flush(zlib.Z_FINISH)
    sizes = [len(p) for p in pieces]
    ra = struct.pack("<HHH", 1, chunk, len(sizes)) + struct.pack(f"<{len(sizes)}H", *sizes)
    extra = b"RA" + struct.pack("<H", len(ra)) + ra
    head = b"\x1f\x8b\x08\x04" + b"\x00" * 4 + b"\x02\xff" + struct.pack("<H", len(extra)) + extra
    tail = struct.pack("<II", zlib.crc32(data) & 0xFFFFFFFF, len(data) & 0xFFFFFFFF)
    return head + b"".join(pieces) + tail


def write_dict(folder, name: str, entries: list[tuple[str, str]], *, chunk: int | None = None) -> None:
    """``freedict-{name}.index`` + ``.dict.dz`` (plain gzip, or dictzip with ``chunk``)."""
    body = b""
    lines = []
    for head, text in entries:
        raw = text.encode("utf-8")
        lines.append(f"{head.lower()}\t{b64(len(body))}\t{b64(len(raw))}")
        body += raw
    (folder / f"freedict-{name}.index").write_text("\n".join(lines) + "\n", encoding="utf-8")
    dz = dictzip(body, chunk) if chunk else gzip.compress(body)
    (folder / f"freedict-{name}.dict.dz").write_bytes(dz)


DEU_ENG = [
    ("Teilnehmer", "Teilnehmer /tˈaɪlneːmɜ/ <masc, n, sg>\nparticipant <n>\n   Synonym: {Teilnehmerin}\n\n"),
    ("Teilnehmer", "Teilnehmer /tˈaɪlneːmɜ/ <pl>\nparticipants\n"),
    ("Teilnehmer", "Teilnehmer /tˈaɪlneːmɜ/ <masc, n, sg>\n [telco.] subscriber <n>\n"),
    ("Konferenz", "Konferenz /kɔnfeːrˈɛnts/ <fem, n, sg>\nconference <n>\n"),
    ("Ausschuss", "Ausschuss /ˈaʊsʃˌʊs/ <masc, n, sg>\ncommittee <n>\n"),
    ("Organisation", "Organisation <fem, n, sg>\norganization <n>, organisation <n>\n"),
    ("akzeptieren", "akzeptieren <v>\nto accept sth. <v>\n"),
    ("akzeptiert", "akzeptiert\naccepted\n"),
    ("Beitrag", "Beitrag <masc, n, sg>\nportion <n>\n"),
    ("Beitrag", "Beitrag <masc, n, sg>\n [fin.] financial contribution <n>, contribution <n>\n"),
    ("Beitrag", "Beitrag <masc, n, sg>\ncontribution <n>\n         Note: for a publication\n"),
    ("Sein", "Sein <neut, n, sg>\nexistence <n>\n"),
    ("sein", "sein <v>\nbe <v>\n"),
    ("ist", "es ist zu spät\nit is too late\n"),  # an idiom filed under "ist": not its gloss
]


def test_index_offsets_and_entries_are_read_from_plain_gzip_and_dictzip(dicts):
    write_dict(dicts, "deu-eng", DEU_ENG)
    plain = DictdFile(dicts / "freedict-deu-eng.index")
    (dicts / "zip").mkdir()
    write_dict(dicts / "zip", "deu-eng", DEU_ENG, chunk=37)  # entries span several chunks
    chunked = DictdFile(dicts / "zip" / "freedict-deu-eng.index")
    assert chunked._data._chunks, "the RA table was not read"
    for head, text in DEU_ENG:
        assert text in plain.entries(head.lower())
        assert plain.entries(head.lower()) == chunked.entries(head.lower())
    assert len(plain.entries("teilnehmer")) == 3
    assert plain.entries("nicht da") == []


def test_a_bad_index_line_names_file_and_line(dicts):
    from kgalign.errors import InputError

    write_dict(dicts, "deu-eng", DEU_ENG[:2])
    idx = dicts / "freedict-deu-eng.index"
    idx.write_text(idx.read_text(encoding="utf-8") + "kaputt\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        DictdFile(idx)
    assert err.value.line == 3 and "freedict-deu-eng.index" in str(err.value)


def test_clean_gloss_drops_grammar_labels_and_abbreviations():
    assert clean_gloss(" [fin.] financial contribution <n>, contribution <n> [Am.]") == [
        "financial contribution",
        "contribution",
    ]
    assert clean_gloss("to accept sth. <v>") == ["accept"]
    assert clean_gloss("1. the report (written)") == ["report"]


def test_forward_ranks_senses_skips_plurals_idioms_and_other_case(dicts):
    write_dict(dicts, "deu-eng", DEU_ENG)
    d = DictdFile(dicts / "freedict-deu-eng.index")
    got = forward(d, "teilnehmer")
    assert got[0] == "participant" and "participants" not in got
    assert forward(d, "beitrag")[0] == "contribution"  # in two senses, "portion" in one
    assert forward(d, "ist") == []  # only an idiom is filed under it
    assert forward(d, "sein", case="sein") == ["be"]
    assert forward(d, "sein", case="Sein") == ["existence"]


def test_eng_x_is_reversed_when_there_is_no_x_eng(dicts):
    write_dict(
        dicts,
        "eng-rus",
        [
            ("article", "article /ˈɑːtɪkəl/\nстатья, артикль\n"),
            ("paper", "paper\nбумага, статья\n"),
            ("author", "author\nавтор\n"),
        ],
    )
    table = reverse(DictdFile(dicts / "freedict-eng-rus.index"))
    assert table["статья"][0] == "article"  # its first translation comes first
    assert "paper" in table["статья"]
    g = glossary("ru")
    assert g is not None and g.lookup("автор") == ("author",)
    assert any("eng-rus (reversed)" in s for s in g.sources)


def test_russian_through_the_german_pivot(dicts):
    write_dict(dicts, "deu-eng", DEU_ENG)
    write_dict(dicts, "deu-rus", [("Konferenz", "Konferenz /x/ <n, fem>\nконференция\nBesprechung unter Fachleuten\n")])
    g = glossary("ru")
    assert g is not None
    assert g.lookup("конференция") == ("conference",)
    assert g.lookup("Besprechung") == ()  # the German definition line is no translation
    assert "freedict-deu-rus (reversed) + freedict-deu-eng" in g.sources


def test_several_pivots_vote_for_the_sense_they_agree_on(dicts):
    # German (the first pivot) alone says "portion" for статья; Polish and French agree on "article"
    write_dict(dicts, "deu-eng", [("Beitrag", "Beitrag <n>\nportion <n>\n")])
    write_dict(dicts, "deu-rus", [("Beitrag", "Beitrag <n>\nстатья\n")])
    write_dict(dicts, "pol-eng", [("artykul", "artykul <n>\narticle <n>\n")])
    write_dict(dicts, "pol-rus", [("artykul", "artykul <n>\nстатья\n")])
    write_dict(dicts, "fra-eng", [("article", "article <n>\narticle <n>\n")])
    write_dict(dicts, "fra-rus", [("article", "article <n>\nстатья\n")])
    g = glossary("ru")
    assert g is not None
    assert g.lookup("статья") == ("article", "portion")
    assert len(g.sources) == 3 and "freedict-fra-rus (reversed) + freedict-fra-eng" in g.sources
    # one pivot only: its own order stands
    assert freedict._vote([{"x": ["a", "b"]}]) == {"x": ["a", "b"]}
    assert freedict._vote([{"x": ["a", "b"]}, {"x": ["B"], "y": ["c"]}]) == {"x": ["b", "a"], "y": ["c"]}


def test_german_compounds_split_into_the_fewest_known_words():
    known = {"konferenz", "teilnehmer", "organisation", "ausschuss", "konfe", "renz"}
    assert split_compound("Konferenzteilnehmer", known) == ["konferenz", "teilnehmer"]
    assert split_compound("Organisationsausschuss", known) == ["organisation", "ausschuss"]  # linking -s-
    assert split_compound("Konferenzteilnehmern", known) == ["konferenz", "teilnehmer"]  # inflected head
    assert split_compound("Teilnehmer", known) is None  # one word is no compound
    assert split_compound("Xylophonteilnehmer", known) is None


def test_russian_forms_are_pymorphy3_lemmas():
    pytest.importorskip("pymorphy3")
    assert "отозванный" in russian_forms("Отозванная")
    assert "статья" in russian_forms("статьи")
    assert russian_forms("Статья")[0] == "статья"


def test_arabic_forms_strip_clitics_endings_and_vowels():
    assert arabic_key("مُؤْتَمَر") == "مؤتمر"
    assert arabic_key("أإآ") == "ااا"
    f = arabic_forms("والمؤتمر")
    assert "مؤتمر" in f and "المؤتمر" in f
    assert "مقبول" in arabic_forms("مقبولة")
    assert "مراجعة" in arabic_forms("المراجعات")
    assert arabic_forms("ورقة")[0] == "ورقة"  # the word itself first


def test_gloss_text_german_label(dicts):
    write_dict(dicts, "deu-eng", DEU_ENG)
    g = glossary("de")
    used: set = set()
    out, found = gloss_text("Teilnehmer der Konferenz", g, used=used, senses=1)
    assert out == "participant conference" and found == 2
    assert used == {"freedict-deu-eng"}
    out, _ = gloss_text("Organisationsausschuss", g, senses=1)
    assert out == "organization committee"
    out, found = gloss_text("Xylophon", g, fallback=str.upper)
    assert (out, found) == ("XYLOPHON", 0)


def _kg(labels, kinds, lang):
    return KnowledgeGraph(
        entities=[f"http://x/{i}" for i in range(len(labels))],
        labels=[[(lang, t, 0)] for t in labels],
        kinds=np.asarray(kinds, np.int8),
    )


def test_vocabulary_labels_are_glossed_individual_names_are_not(dicts, monkeypatch):
    from kgalign.aligner.choose import CachedTranslator
    from kgalign.aligner.stages import _translate_kg

    monkeypatch.setattr(freedict, "GLOSS_SENSES", 1)

    write_dict(dicts, "deu-eng", DEU_ENG)
    kg = _kg(["Konferenzteilnehmer", "akzeptiert", "Konferenzteilnehmer"], [CLASS, OBJECT_PROPERTY, INDIVIDUAL], "de")
    tr = RomanizeTranslator("de")
    out = _translate_kg(tr, kg, "de")
    assert out == ["conference participant", "accepted", "Konferenzteilnehmer"]
    assert "freedict-deu-eng" in tr.used and tr.for_vocabulary().name == "romanize+freedict"
    cached = CachedTranslator(RomanizeTranslator("de"))
    assert _translate_kg(cached, kg, "de") == out
    assert cached.for_vocabulary() is cached.for_vocabulary()


def test_russian_and_arabic_vocabulary_labels_come_out_english(dicts, monkeypatch):
    pytest.importorskip("pymorphy3")
    monkeypatch.setattr(freedict, "GLOSS_SENSES", 1)
    write_dict(dicts, "eng-rus", [("article", "article\nстатья\n"), ("withdrawn", "withdrawn\nотозванный\n")])
    write_dict(
        dicts,
        "ara-eng",
        [("ورقة", "ورقة /waraqa/\npaper\n"), ("مقبول", "مقبول\n1. accepted\n2. acceptable\n"),
         ("المؤتمر", "المؤتمر\nconference\n")],
    )  # fmt: skip
    ru = RomanizeTranslator("ru").for_vocabulary()
    assert ru.translate(["Отозванная статья"]) == ["withdrawn article"]
    ar = RomanizeTranslator("ar").for_vocabulary()
    assert ar.translate(["ورقة مقبولة", "للمؤتمر"]) == ["paper accepted", "conference"]
    assert {"freedict-eng-rus", "freedict-ara-eng"} <= ru.used | ar.used


def test_a_missing_dictionary_warns_once_naming_the_package_and_transliterates(dicts, caplog):
    tr = RomanizeTranslator("ru").for_vocabulary()
    with caplog.at_level(logging.WARNING, logger="kgalign.aligner.freedict"):
        out = tr.translate(["Статья", "Автор"])
        tr.translate(["Тема"])
    assert out == ["Stat'ya", "Avtor"]  # anyascii, as without the dictionary
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "dict-freedict-rus-eng" in warnings[0].getMessage() and "dict-freedict-eng-rus" in warnings[0].getMessage()


def test_english_chinese_and_japanese_keep_their_own_path():
    for lang in ("en", "zh", "ja", None):
        tr = RomanizeTranslator(lang)
        assert tr.for_vocabulary() is tr


# Ding lists senses in no order of use (the file order of the real deu-eng for these words).
DING_SENSES = [
    ("Gutachter", "Gutachter <masc, n, sg>\nappraiser <n>\n"),
    ("Gutachter", "Gutachter <masc, n, sg>\nexpert <n>\n"),
    ("Gutachter", "Gutachter <masc, n, sg>\ncensor <n>, reviewer <n>\n"),
    ("Gutachter", "Gutachter <masc, n, sg>\nestimator <n>\n"),
    ("Ausschuss", "Ausschuss <masc, n, sg>\nwastage <n>\n"),
    ("Ausschuss", "Ausschuss <masc, n, sg>\noffal <n>\n"),
    ("Ausschuss", "Ausschuss <masc, n, sg>\n [adm.]  [pol.] committee <n>\n"),
    ("Ausschuss", "Ausschuss <masc, n, sg>\nrejects <n>, culls <n>\n"),
    ("Papier", "Papier <neut, n, sg>\nwrapping paper <n>\n"),
    ("Papier", "Papier <neut, n, sg>\npaper <n>\n"),
    ("Person", "Person <fem, n, sg>\ncharacter <n>\n"),
    ("Person", "Person <fem, n, sg>\nperson <n>, individual <n>\n"),
    ("Person", "Person <fem, n, sg>\n [ling.] person <n>\n"),
    ("haben", "haben <v>\nto have to <v>\n"),
    ("haben", "haben <v>\nto have <v>, to have got <v>\n"),
]


def test_senses_are_ranked_by_english_frequency_not_file_order(dicts):
    pytest.importorskip("wordfreq")
    from wordfreq import zipf_frequency

    write_dict(dicts, "deu-eng", DING_SENSES)
    d = DictdFile(dicts / "freedict-deu-eng.index")
    # the ranking follows the English frequencies of wordfreq, whatever they are
    f = {w: zipf_frequency(w, "en") for w in ("appraiser", "expert", "reviewer", "censor", "estimator")}
    got = forward(d, "gutachter", senses=5)
    assert got == sorted(f, key=lambda w: -f[w])
    assert got[0] != "appraiser"  # the first sense of the file
    assert forward(d, "ausschuss")[0] == "committee"  # a domain label costs less than rarity
    assert forward(d, "papier")[0] == "paper"  # a phrase costs a penalty per extra word
    assert forward(d, "person")[0] == "person"  # also in a labelled entry: not only labelled
    assert forward(d, "haben")[0] == "have"  # "have to" is as frequent as "have" for wordfreq


def test_without_wordfreq_the_old_order_holds(dicts, monkeypatch):
    monkeypatch.setattr(freedict, "_zipf_english", lambda: None)
    write_dict(dicts, "deu-eng", DING_SENSES)
    d = DictdFile(dicts / "freedict-deu-eng.index")
    assert forward(d, "gutachter")[0] == "appraiser"  # every sense in one entry: file order
    assert forward(d, "person")[0] == "person"  # in two entries


def test_every_numbered_sense_of_a_wiktionary_entry_is_a_candidate(dicts):
    pytest.importorskip("wordfreq")
    # ara-eng (Wiktionary-derived) numbers the senses of an entry in alphabetical order
    entry = "البحث /ʔalbˈaħθ/\n1. Disquisition\n2. Find\n3. Questing\n4. Research\n5. Search\n"
    write_dict(dicts, "ara-eng", [("البحث", entry)])
    d = DictdFile(dicts / "freedict-ara-eng.index")
    got = forward(d, "البحث", senses=5)
    assert set(got) == {"Disquisition", "Find", "Questing", "Research", "Search"}
    assert got[0] != "Disquisition"


def test_gloss_text_joins_the_best_senses_of_each_word(dicts):
    pytest.importorskip("wordfreq")
    write_dict(dicts, "deu-eng", DING_SENSES)
    g = glossary("de")
    one, n1 = gloss_text("Gutachter", g, senses=1)
    two, n2 = gloss_text("Gutachter", g, senses=2)
    best = forward(DictdFile(dicts / "freedict-deu-eng.index"), "gutachter", senses=2)
    assert (one, n1) == (best[0], 1)
    assert (two, n2) == (" ".join(best), 1)
    assert gloss_text("Gutachter", g)[0] == " ".join(best[: freedict.GLOSS_SENSES])


def test_one_reading_per_sense_for_the_string_view(dicts, monkeypatch):
    pytest.importorskip("wordfreq")
    from kgalign.aligner.choose import CachedTranslator
    from kgalign.aligner.romanize import RomanizeTranslator
    from kgalign.aligner.stages import _readings

    write_dict(dicts, "deu-eng", DING_SENSES)
    g = glossary("de")
    best = forward(DictdFile(dicts / "freedict-deu-eng.index"), "gutachter", senses=2)
    assert len(best) == 2
    assert [gloss_text("Gutachter", g, pick=k)[0] for k in (0, 1, 5)] == [best[0], best[1], best[1]]
    tr = RomanizeTranslator("de")
    readers = tr.sense_readings()
    assert [t.sense for t in readers] == list(range(freedict.GLOSS_SENSES))
    assert len({t.cache_key for t in readers} | {tr.for_vocabulary().cache_key}) == len(readers) + 1
    assert RomanizeTranslator("en").sense_readings() == []
    # through the pipeline's cached translator: vocabulary gets one reading per sense, individuals none
    monkeypatch.setenv("KGALIGN_HOME", str(dicts.parent / "home"))
    kg = KnowledgeGraph(
        entities=["c", "i"], labels=[[("de", "Gutachter", 0)], [("de", "Gutachter", 0)]], kinds=[CLASS, INDIVIDUAL]
    )

    class Run:
        class config:
            lang1 = lang2 = "de"

            class similarity:
                strings = 1.0

        translator1 = translator2 = CachedTranslator(RomanizeTranslator("de"))

    r1, _ = _readings(Run, kg, kg)
    assert [alt[0] for alt in r1] == best[: freedict.GLOSS_SENSES] and all(alt[1] == "" for alt in r1)
