"""Translators: identity, dictionary (TSV / JSON / DBP15K translated_names.json), MT via a tiny
random Marian model built from a config (no download), and the ``--translator`` factory."""

from __future__ import annotations

import io
import json
import unicodedata
from pathlib import Path

import pytest

from kgalign.aligner.translate import (
    DictionaryTranslator,
    IdentityTranslator,
    MTTranslator,
    Translator,
    make_translator,
    read_dictionary,
)
from kgalign.errors import InputError
from kgalign.labels import local_name

SHARED = Path(__file__).resolve().parents[2] / "shared"
ZH_EN = SHARED / "datasets" / "dbp15k" / "zh_en"


# ---------------------------------------------------------------------------- identity / dict
def test_identity_returns_input_unchanged():
    t = IdentityTranslator()
    texts = ["北京", "", "  Paris ", "北京"]
    assert t.translate(texts) == texts
    assert t.is_identity and t.cache_key == "identity"
    with pytest.raises(InputError, match="#1"):
        t.translate(["a", 3])
    with pytest.raises(TypeError):
        t.translate("one string")


def test_dictionary_hits_misses_and_fallback():
    t = DictionaryTranslator({"北京": "Beijing", "巴黎": "Paris", "空": "  "})
    out = t.translate(["北京", "东京", "巴黎", "东京", "空"])
    assert out == ["Beijing", "东京", "Paris", "东京", "空"]  # misses (and empty entries) keep the source
    assert (t.n_lookups, t.n_misses, t.last_misses) == (5, 3, 3)
    assert "东京" in t.missed_examples
    t.translate(["北京"])
    assert (t.n_lookups, t.n_misses, t.last_misses) == (6, 3, 0)


def test_dictionary_lookup_tolerates_unicode_form_and_spacing():
    composed = "Café de Flore"
    decomposed = unicodedata.normalize("NFD", composed)
    assert decomposed != composed
    t = DictionaryTranslator({composed: "cafe"})
    assert t.translate([decomposed, "Café  de\tFlore ", "Cafe de Flore"]) == ["cafe", "cafe", "Cafe de Flore"]


def test_dictionary_cache_key_depends_on_content_only():
    a = DictionaryTranslator({"x": "1", "y": "2"})
    b = DictionaryTranslator({"y": "2", "x": "1"})
    c = DictionaryTranslator({"x": "1", "y": "3"})
    d = DictionaryTranslator({"x": "1"})
    assert a.cache_key == b.cache_key
    assert len({a.cache_key, c.cache_key, d.cache_key, "identity"}) == 4


def test_tsv_dictionary_bom_blank_lines_and_conflicts(tmp_path):
    f = tmp_path / "names.tsv"
    f.write_bytes("\ufeff北京\tBeijing\n\n巴黎\tParis\r\n北京\tPeking\n".encode("utf-8"))
    with pytest.warns(UserWarning, match=r"names.tsv:4: 1 source"):
        t = make_translator(f"dict:{f}")
    assert isinstance(t, DictionaryTranslator)
    assert t.mapping == {"北京": "Beijing", "巴黎": "Paris"}  # BOM gone, first translation kept
    # a bare path with a dictionary suffix works too, and gives the same table
    with pytest.warns(UserWarning):
        assert make_translator(str(f)).cache_key == t.cache_key


@pytest.mark.parametrize(
    "content, line, pattern",
    [
        (b"a\tb\nno tab here\n", 2, "2 tab-separated columns"),
        (b"a\tb\nc\td\te\n", 2, "found 3"),
        (b"a\t\n", 1, "empty translation"),
        (b"ok\tfine\nMeubl\xe9\tfurniture\n", 2, "0xe9"),
    ],
)
def test_tsv_errors_name_file_and_line(tmp_path, content, line, pattern):
    f = tmp_path / "bad.tsv"
    f.write_bytes(content)
    with pytest.raises(InputError, match=pattern) as err:
        read_dictionary(f)
    assert str(err.value).startswith(f"bad.tsv:{line}: ")


def test_tsv_other_encoding(tmp_path):
    f = tmp_path / "latin.tsv"
    f.write_bytes("Meublé\tfurniture\n".encode("latin-1"))
    assert read_dictionary(f, encoding="latin-1") == {"Meublé": "furniture"}


def test_missing_file_and_unknown_spec(tmp_path):
    with pytest.raises(InputError, match="not found"):
        make_translator(f"dict:{tmp_path / 'nope.tsv'}")
    with pytest.raises(InputError, match="not found"):
        make_translator(str(tmp_path / "nope.json"))
    with pytest.raises(InputError, match="unknown translator"):
        make_translator("google")
    with pytest.raises(InputError, match="ships no translations"):
        make_translator("dict")
    with pytest.raises(InputError, match="not found"):
        make_translator(f"mt:{tmp_path / 'no_model'}", src_lang="zh")


def test_make_translator_defaults():
    assert isinstance(make_translator(None), IdentityTranslator)
    assert isinstance(make_translator("auto", translations={}), IdentityTranslator)
    t = make_translator(None, translations={"北京": "beijing"})
    assert isinstance(t, DictionaryTranslator) and t.translate(["北京"]) == ["beijing"]
    assert isinstance(make_translator("dict", translations={"a": "b"}), DictionaryTranslator)
    assert isinstance(make_translator("identity", translations={"a": "b"}), IdentityTranslator)
    same = IdentityTranslator()
    assert make_translator(same) is same
    # MT between the same language (en-GB -> en) needs no model at all
    assert isinstance(make_translator("mt:some/model", src_lang="en-GB", tgt_lang="en"), IdentityTranslator)
    mt = make_translator("mt:some/model", src_lang="zh")
    assert isinstance(mt, MTTranslator) and mt.kind == "mt" and mt.src_lang == "zh" and mt.tgt_lang == "en"
    assert (t.kind, IdentityTranslator().kind) == ("dict", "identity")


def test_json_object_dictionary(tmp_path):
    f = tmp_path / "t.json"
    f.write_text(json.dumps({"北京": "Beijing", "巴黎": ["paris", "city"], " ": "x"}), encoding="utf-8")
    assert read_dictionary(f) == {"北京": "Beijing", "巴黎": "paris city"}
    f.write_text('{"a": "b",\n "c": }', encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_dictionary(f)
    assert str(err.value).startswith("t.json:2: ")


def test_dbp15k_list_needs_and_uses_ent_ids(tmp_path):
    d = tmp_path / "pair"
    d.mkdir()
    names = d / "translated_names.json"
    names.write_text(json.dumps([[0, ["beijing"]], [7, ["john", "lennon", "/", "band"]], [9, ["x"]]]), encoding="utf-8")
    with pytest.raises(InputError, match="ent_ids_1"):
        read_dictionary(names)
    (d / "ent_ids_1").write_text("0\thttp://zh.dbpedia.org/resource/北京\n", encoding="utf-8")
    (d / "ent_ids_2").write_text("7\thttp://dbpedia.org/resource/John_Lennon/Plastic_Ono_Band\n", encoding="utf-8")
    table = read_dictionary(names)
    # id 9 has no entity: skipped; names are the loaders' local names (cut at /resource/)
    assert table == {"北京": "beijing", "John Lennon/Plastic Ono Band": "john lennon / band"}
    # explicit names override the files
    assert read_dictionary(names, names={0: "Peking"}) == {"Peking": "beijing"}


@pytest.mark.skipif(not ZH_EN.exists(), reason="shared DBP15K data not present")
def test_real_dbp15k_translated_names():
    t = make_translator(f"dict:{ZH_EN / 'translated_names.json'}")
    # independent reading of the files: id -> IRI, id -> tokens
    iris = {}
    for fname in ("ent_ids_1", "ent_ids_2"):
        for line in (ZH_EN / fname).read_text(encoding="utf-8").splitlines():
            i, iri = line.split("\t")
            iris[int(i)] = iri
    tokens = dict((i, toks) for i, toks in json.loads((ZH_EN / "translated_names.json").read_text(encoding="utf-8")))
    assert set(tokens) <= set(iris)
    # every Chinese entity name gets a translation (names are unique on the zh side)
    zh_ids = [int(line.split("\t")[0]) for line in (ZH_EN / "ent_ids_1").read_text(encoding="utf-8").splitlines()]
    zh_names = [local_name(iris[i]) for i in zh_ids]
    out = t.translate(zh_names)
    assert len(out) == len(zh_names) and t.last_misses == 0
    for i, name, got in list(zip(zh_ids, zh_names, out))[::997]:
        if zh_names.count(name) == 1:
            assert got == " ".join(tokens[i])


# ---------------------------------------------------------------------------- MT, tiny random Marian
from _models import TINY_SEQ2SEQ  # noqa: E402
from _models import build_tiny_marian as _build_tiny_marian  # noqa: E402


@pytest.fixture(scope="module", params=["marian-spm", "fast-wordlevel"])
def tiny_mt(request, tmp_path_factory):
    return _build_tiny_marian(tmp_path_factory.mktemp(request.param), request.param)


def test_mt_translator_shapes_dedup_and_determinism(tiny_mt):
    texts = ["北京 是 中国 的 首都", "", "东京", "北京 是 中国 的 首都", "kitten", "巴黎 大学 首都 法国"]
    t = make_translator(f"mt:{tiny_mt}", src_lang="zh", device="cpu", show_progress=False, batch_size=4)
    assert isinstance(t, MTTranslator) and not t.is_identity and t.batch_size == 4
    t.max_new_tokens = 8
    out = t.translate(texts)
    assert len(out) == len(texts) and all(isinstance(s, str) for s in out)
    assert out[1] == "" and out[0] == out[3]
    # the random model is not constant, so the checks below see a wrong text-to-output mapping
    assert len({out[0], out[2], out[4], out[5]}) > 1
    # a second, independently loaded translator with another batch size gives the same output
    # (greedy decoding, padding masked)
    t2 = MTTranslator(str(tiny_mt), src_lang="zh", device="cpu", batch_size=1, max_new_tokens=8)
    assert t2.translate(texts) == out
    # memo: translating again does not call generate
    t2._model.generate = None
    assert t2.translate(list(reversed(texts))) == list(reversed(out))


def test_mt_cache_key_identifies_model_and_languages(tiny_mt, tmp_path):
    a = MTTranslator(str(tiny_mt), src_lang="zh")
    assert a.cache_key == MTTranslator(str(tiny_mt), src_lang="zh").cache_key
    assert a.cache_key != MTTranslator(str(tiny_mt), src_lang="ja").cache_key
    assert a.cache_key != MTTranslator(str(tiny_mt), src_lang="zh", num_beams=2).cache_key
    assert a._model is None  # computing the key loads nothing
    # same files in another directory: another key (path is part of the identity) ...
    import shutil

    copy = shutil.copytree(tiny_mt, tmp_path / "copy")
    b = MTTranslator(str(copy), src_lang="zh")
    assert b.cache_key != a.cache_key
    # ... and retraining in place (other weights) changes the key
    key = b.cache_key
    from transformers import MarianMTModel

    model = MarianMTModel.from_pretrained(copy)
    for p in model.parameters():
        p.data.add_(1.0)
    model.save_pretrained(copy)
    assert MTTranslator(str(copy), src_lang="zh").cache_key != key


@pytest.fixture(scope="module")
def tiny_m2m(tmp_path_factory):
    """A random M2M-100 (many-to-many, language tokens ``__zh__``) with a sentencepiece tokenizer."""
    spm = pytest.importorskip("sentencepiece")
    import torch
    from transformers import M2M100Config, M2M100ForConditionalGeneration, M2M100Tokenizer

    d = tmp_path_factory.mktemp("tiny_m2m")
    corpus = ["北京 是 中国 的 首都", "巴黎 是 法国 的 首都", "东京 大学", "the capital of france"]
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(corpus * 3),
        model_writer=buf,
        vocab_size=40,
        model_type="char",
        character_coverage=1.0,
        bos_id=0,
        pad_id=1,
        eos_id=2,
        unk_id=3,
        minloglevel=2,
    )
    (d / "sentencepiece.bpe.model").write_bytes(buf.getvalue())
    proc = spm.SentencePieceProcessor(model_proto=buf.getvalue())
    vocab = {proc.id_to_piece(i): i for i in range(proc.get_piece_size())}
    (d / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    tok = M2M100Tokenizer(str(d / "vocab.json"), str(d / "sentencepiece.bpe.model"))
    torch.manual_seed(0)
    cfg = M2M100Config(
        vocab_size=max(len(tok), max(tok.lang_token_to_id.values()) + 1),
        **TINY_SEQ2SEQ,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
        decoder_start_token_id=2,
    )
    M2M100ForConditionalGeneration(cfg).save_pretrained(d)
    tok.save_pretrained(d)
    return d


def test_many_to_many_model_gets_language_codes(tiny_m2m):
    t = MTTranslator(str(tiny_m2m), src_lang="zh", tgt_lang="en", device="cpu", max_new_tokens=6)
    out = t.translate(["北京 是 中国", "东京 大学", "北京 是 中国"])
    assert len(out) == 3 and out[0] == out[2]
    assert t._tokenizer.src_lang == "zh"
    assert t._gen_kwargs["forced_bos_token_id"] == t._tokenizer.get_lang_id("en")
    assert all(not s.startswith("__en__") for s in out)
    again = MTTranslator(str(tiny_m2m), src_lang="zh-CN", tgt_lang="en", device="cpu", max_new_tokens=6, batch_size=1)
    assert again.translate(["东京 大学", "北京 是 中国"]) == [out[1], out[0]]
    with pytest.raises(InputError, match="give the source language"):
        MTTranslator(str(tiny_m2m), device="cpu").translate(["x"])
    with pytest.raises(InputError, match="no language code for 'tlh'"):
        MTTranslator(str(tiny_m2m), src_lang="tlh", device="cpu").translate(["x"])


def test_translator_is_abstract():
    with pytest.raises(TypeError):
        Translator()
