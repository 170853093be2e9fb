"""Encoder (real loading code on a tiny sentence-transformers model built from a BertConfig, plus
the shipped MiniLM), the per-text embedding cache, device choice and the script check."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from kgalign.aligner import encode as encode_mod
from kgalign.aligner.cache import EmbeddingCache, model_fingerprint
from kgalign.aligner.encode import DEFAULT_ENCODER, Encoder, ScriptWarning, check_script, text_script
from kgalign.aligner.translate import DictionaryTranslator, IdentityTranslator
from kgalign.device import DeviceError, resolve_device
from kgalign.errors import InputError, KgalignError
from kgalign.labels import local_name

SHARED = Path(__file__).resolve().parents[2] / "shared"
DBP15K = SHARED / "datasets" / "dbp15k"

TEXTS = ["paris", "lyon", "the capital of france", "paris", "", "北京", "silk damask", "lyon silk"]


# ---------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def tiny_st(tmp_path_factory) -> Path:
    """A random 1-layer BERT + mean pooling saved as a sentence-transformers model (no download)."""
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers import BertConfig, BertModel, BertTokenizerFast

    root = tmp_path_factory.mktemp("tiny_st")
    hf = root / "hf"
    hf.mkdir()
    words = sorted({w for t in TEXTS for w in t.split()} | set("abcdefghijklmnopqrstuvwxyz北京"))
    (hf / "vocab.txt").write_text(
        "\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words]) + "\n", encoding="utf-8"
    )
    tok = BertTokenizerFast(vocab_file=str(hf / "vocab.txt"))
    torch.manual_seed(0)
    cfg = BertConfig(
        vocab_size=tok.vocab_size,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=37,
        max_position_embeddings=64,
    )
    BertModel(cfg).save_pretrained(hf)
    tok.save_pretrained(hf)
    try:  # sentence-transformers >= 5.4 layout
        from sentence_transformers.sentence_transformer.modules import Pooling, Transformer
    except ImportError:  # pragma: no cover - older releases
        from sentence_transformers.models import Pooling, Transformer
    word = Transformer(str(hf), max_seq_length=32)
    width = getattr(word, "get_embedding_dimension", None) or word.get_word_embedding_dimension
    pool = Pooling(width(), pooling_mode="mean")
    st_dir = root / "st"
    SentenceTransformer(modules=[word, pool], device="cpu").save(str(st_dir))
    return st_dir


@pytest.fixture
def enc(tiny_st, tmp_path):
    return Encoder(str(tiny_st), device="cpu", cache_dir=tmp_path / "cache", show_progress=False, batch_size=3)


def _reference(path: Path, texts: list[str]) -> np.ndarray:
    """sentence-transformers' own embeddings, normalised by the library."""
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(path), device="cpu").encode(texts, normalize_embeddings=True, convert_to_numpy=True)


# ---------------------------------------------------------------------------- encoder on a tiny model
def test_construction_loads_nothing(tiny_st, tmp_path):
    e = Encoder(str(tiny_st), cache_dir=tmp_path)
    assert not e.loaded and e.name == str(tiny_st)
    assert not Encoder().loaded and Encoder().name == DEFAULT_ENCODER


def test_encode_matches_sentence_transformers(enc, tiny_st):
    out = enc.encode(TEXTS)
    assert out.dtype == np.float32 and out.shape == (len(TEXTS), 32) and enc.dim == 32
    assert np.isfinite(out).all()
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(out, _reference(tiny_st, TEXTS), atol=2e-5)
    assert np.array_equal(out[0], out[3])  # duplicates embedded once
    assert enc.n_encoded == len(set(TEXTS))


def test_encode_is_order_invariant(enc):
    out = enc.encode(TEXTS)
    perm = np.random.default_rng(1).permutation(len(TEXTS))
    enc2 = Encoder(enc.path, device="cpu", cache_dir=False, show_progress=False, batch_size=2)
    np.testing.assert_allclose(enc2.encode([TEXTS[i] for i in perm]), out[perm], atol=2e-5)


def test_cache_serves_second_encoder_without_loading_model(enc, tiny_st, tmp_path):
    first = enc.encode(TEXTS)
    again = Encoder(str(tiny_st), device="cpu", cache_dir=tmp_path / "cache", show_progress=False)
    second = again.encode(TEXTS)
    assert np.array_equal(first, second)
    assert not again.loaded and again.n_encoded == 0 and again.n_cached == len(set(TEXTS))
    assert again.dim == 32 and not again.loaded  # width known from the cache


def test_cache_reuses_partial_overlap(enc):
    a = enc.encode(TEXTS[:4])
    n = enc.n_encoded
    more = TEXTS[2:] + ["new text"]
    b = enc.encode(more)
    assert enc.n_encoded - n == len(set(more) - set(TEXTS[:4]))
    np.testing.assert_array_equal(b[0], a[2])
    # and the mixed (cached + new) result equals a cold computation
    cold = Encoder(enc.path, device="cpu", cache_dir=False, show_progress=False).encode(more)
    np.testing.assert_allclose(b, cold, atol=2e-5)


@pytest.mark.parametrize("damage", ["garbage", "truncate", "nan", "pickle"])
def test_corrupt_cache_file_is_ignored_and_recomputed(enc, tmp_path, damage):
    good = enc.encode(TEXTS)
    chunks = list((tmp_path / "cache").rglob("chunk-*.npy"))
    assert len(chunks) == 1
    f = chunks[0]
    if damage == "garbage":
        f.write_bytes(b"not a numpy file at all")
    elif damage == "truncate":
        f.write_bytes(f.read_bytes()[:200])
    elif damage == "nan":
        arr = np.load(f)
        arr["vec"][0, 0] = np.nan
        np.save(f, arr)
    else:  # an object array would need allow_pickle=True: never loaded
        np.save(f, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    fresh = Encoder(enc.path, device="cpu", cache_dir=tmp_path / "cache", show_progress=False)
    np.testing.assert_allclose(fresh.encode(TEXTS), good, atol=2e-5)
    assert fresh.n_encoded == len(set(TEXTS)) and np.isfinite(fresh.encode(TEXTS)).all()
    assert not f.exists()


def test_cache_keyed_by_translator(enc):
    table = {"paris": "lyon", "lyon": "paris"}
    swapped = enc.encode(["paris", "lyon"], translator=DictionaryTranslator(table))
    plain = enc.encode(["paris", "lyon"])
    np.testing.assert_allclose(swapped, plain[::-1], atol=2e-5)
    # after both are cached, each key still returns its own vectors
    np.testing.assert_array_equal(enc.encode(["paris"], translator=DictionaryTranslator(table)), swapped[:1])
    np.testing.assert_array_equal(enc.encode(["paris"], translator=IdentityTranslator()), plain[:1])


def test_cache_disabled_writes_nothing(tiny_st, tmp_path, monkeypatch):
    Encoder(str(tiny_st), device="cpu", cache_dir=False, show_progress=False).encode(["a"])
    monkeypatch.setenv("KGALIGN_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("KGALIGN_NO_CACHE", "1")
    Encoder(str(tiny_st), device="cpu", show_progress=False).encode(["a"])
    assert not (tmp_path / "home").exists()
    monkeypatch.delenv("KGALIGN_NO_CACHE")
    Encoder(str(tiny_st), device="cpu", show_progress=False).encode(["a"])
    assert list((tmp_path / "home" / "embeddings").rglob("chunk-*.npy"))


def test_cache_compaction_keeps_every_entry(tmp_path, monkeypatch):
    import kgalign.aligner.cache as cache_mod

    monkeypatch.setattr(cache_mod, "MAX_CHUNKS", 3)
    c = EmbeddingCache(tmp_path)
    rng = np.random.default_rng(0)
    stored = {}
    for k in range(7):
        texts = [f"t{k}", f"t{k + 1}"]  # overlapping writes
        vec = rng.standard_normal((2, 5)).astype(np.float32)
        c.store("m", "identity", texts, vec)
        for t, v in zip(texts, vec):
            stored.setdefault(t, []).append(v)
    assert len(list(tmp_path.rglob("chunk-*.npy"))) <= 3
    keys = sorted(stored)
    found, vecs = c.lookup("m", "identity", keys)
    assert found.all()
    for t, v in zip(keys, vecs):
        # a text stored twice may come back from either write, but always one of its vectors
        assert any(np.array_equal(v, w) for w in stored[t])
    found, _ = c.lookup("other-model", "identity", keys)
    assert not found.any()


def test_model_fingerprint_tracks_files(tiny_st, tmp_path):
    import shutil

    copy = Path(shutil.copytree(tiny_st, tmp_path / "copy"))
    fp = model_fingerprint(str(copy))
    assert fp == model_fingerprint(str(copy))
    weights = next(copy.rglob("model.safetensors"))
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    assert model_fingerprint(str(copy)) != fp
    assert model_fingerprint("org/hub-model") == "org/hub-model"


def test_non_finite_vector_names_the_text(enc, monkeypatch):
    real = enc._run_model

    def broken(texts):
        out = real(texts)
        out[[i for i, t in enumerate(texts) if t == "lyon"]] = np.nan
        return out

    monkeypatch.setattr(enc, "_run_model", broken)
    with pytest.raises(KgalignError, match="'lyon'"):
        enc.encode(["paris", "lyon"])
    assert not list(Path(enc.cache.root).rglob("chunk-*.npy"))  # nothing half-written


def test_bad_inputs(tiny_st, tmp_path):
    e = Encoder(str(tiny_st), device="cpu", cache_dir=False, show_progress=False)
    with pytest.raises(InputError, match="#1"):
        e.encode(["ok", None])
    with pytest.raises(TypeError):
        e.encode("one string")
    with pytest.raises(InputError, match="not found"):
        Encoder(str(tmp_path / "missing_model"))
    f = tmp_path / "file.bin"
    f.write_bytes(b"x")
    with pytest.raises(InputError, match="directory"):
        Encoder(str(f))
    with pytest.raises(InputError):
        Encoder(batch_size=0)
    assert e.encode([]).shape == (0, 32)


def test_unavailable_hub_model_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    e = Encoder("kgalign-test-org/no-such-model", device="cpu", cache_dir=False, show_progress=False)
    with pytest.raises(KgalignError, match="no-such-model"):
        e.encode(["x"])


def test_multilingual_guess(tiny_st, tmp_path):
    assert Encoder().multilingual is False
    assert Encoder(str(tiny_st)).multilingual is False  # 60-token vocabulary
    assert Encoder("sentence-transformers/LaBSE").multilingual is True
    assert Encoder("sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2").multilingual is True
    assert Encoder("sentence-transformers/all-mpnet-base-v2").multilingual is False
    big = tmp_path / "xlmr_like"
    big.mkdir()
    (big / "config.json").write_text('{"vocab_size": 250002}')
    assert Encoder(str(big)).multilingual is True
    assert Encoder(str(big), multilingual=False).multilingual is False


# ---------------------------------------------------------------------------- the shipped MiniLM
def test_default_minilm_semantics(tmp_path):
    e = Encoder(cache_dir=tmp_path, device="cpu", show_progress=False)
    v = e.encode(["cat", "kitten", "car"])
    assert v.shape == (3, 384) and e.dim == 384
    assert float(v[0] @ v[1]) > float(v[0] @ v[2])


# ---------------------------------------------------------------------------- device
def test_resolve_device():
    import torch

    assert resolve_device("cpu") == "cpu" == resolve_device(" CPU ")
    auto = resolve_device("auto")
    assert auto == resolve_device(None)
    if torch.cuda.is_available():
        assert auto == "cuda" and resolve_device("cuda:0") == "cuda:0"
    else:
        assert auto in ("cpu", "mps")
        with pytest.raises(DeviceError, match="no CUDA"):
            resolve_device("cuda")
    with pytest.raises(DeviceError, match="does not exist|no CUDA"):
        resolve_device("cuda:99")
    with pytest.raises(DeviceError, match="unknown device"):
        resolve_device("gpu")
    assert issubclass(DeviceError, KgalignError)


def test_import_is_light():
    code = (
        "import sys, kgalign.aligner.encode, kgalign.aligner.translate, kgalign.aligner.cache, kgalign.device; "
        "e = kgalign.aligner.encode.Encoder(); kgalign.aligner.translate.make_translator('mt:x/y', src_lang='zh'); "
        "bad = [m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ---------------------------------------------------------------------------- script check
@pytest.fixture
def fresh_warnings(monkeypatch):
    monkeypatch.setattr(encode_mod, "_WARNED", set())


def test_text_script():
    assert text_script("Paris") == "Latin"
    assert text_script("北京市") == "Han"
    assert text_script("東京タワー") == "Kana"
    assert text_script("Москва") == "Cyrillic"
    assert text_script("القاهرة") == "Arabic"
    assert text_script("1999 !") is None


def test_check_script_warns_once_with_fixes(fresh_warnings):
    e = Encoder()
    zh = ["北京", "上海", "巴黎", "Paris"]
    with pytest.warns(ScriptWarning) as rec:
        assert check_script(zh, e, IdentityTranslator()) == "Han"
    msg = str(rec[0].message)
    for option in (
        "--translator dict:FILE",
        "--translator mt:Helsinki-NLP/opus-mt-zh-en",
        "--encoder sentence-transformers/LaBSE",
    ):
        assert option in msg
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check_script(zh, e, None) == "Han"  # detected again, not warned again
        assert check_script(zh, e, DictionaryTranslator({"北京": "Beijing"})) is None
        assert check_script(zh, Encoder("sentence-transformers/LaBSE")) is None
        assert check_script(["Paris", "Lyon", "北京"], e, threshold=0.5) is None
        assert check_script([], e) is None
    with pytest.warns(ScriptWarning, match="Cyrillic.*opus-mt-uk-en"):
        check_script(["Київ", "Львів"], e, lang="uk")


@pytest.mark.skipif(not DBP15K.exists(), reason="shared DBP15K data not present")
@pytest.mark.parametrize("pair, scripts", [("zh_en", {"Han"}), ("ja_en", {"Han", "Kana"}), ("fr_en", None)])
def test_check_script_on_real_dbp15k_names(fresh_warnings, pair, scripts):
    def names(fname):
        lines = (DBP15K / pair / fname).read_text(encoding="utf-8").splitlines()[:3000]
        return [local_name(line.split("\t")[1]) for line in lines]

    e = Encoder()
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        got1 = check_script(names("ent_ids_1"), e)
        got2 = check_script(names("ent_ids_2"), e)
    assert got2 is None  # the English side
    if scripts is None:
        assert got1 is None and not rec
    else:
        assert got1 in scripts and len([w for w in rec if w.category is ScriptWarning]) == 1


# ---------------------------------------------------------------------------- original-script view
def test_original_names_view_uses_a_multilingual_encoder(tiny_st, tmp_path, caplog):
    """The original-script view encodes the untranslated labels with the configured encoder and
    enters the fused score as one more weighted cosine; a monolingual encoder skips it."""
    import shutil

    from kgalign.aligner.similarity import compute_similarity
    from kgalign.config import AlignConfig
    from kgalign.kg import KnowledgeGraph

    multi = tmp_path / "tiny-multilingual-st"  # the name marks it multilingual (Encoder.multilingual)
    shutil.copytree(tiny_st, multi)
    raw1, raw2 = ["paris", "lyon", "silk damask"], ["lyon silk", "北京", "paris"]
    kg1 = KnowledgeGraph(entities=[f"http://a/{i}" for i in range(3)], labels=[[("fr", t, 0)] for t in raw1])
    kg2 = KnowledgeGraph(entities=[f"http://b/{i}" for i in range(3)], labels=[[("zh", t, 0)] for t in raw2])
    rng = np.random.default_rng(0)
    e1, e2 = rng.standard_normal((3, 8)).astype(np.float32), rng.standard_normal((3, 8)).astype(np.float32)
    e1 /= np.linalg.norm(e1, axis=1, keepdims=True)
    e2 /= np.linalg.norm(e2, axis=1, keepdims=True)
    src, tgt = np.arange(3), np.array([2, 0, 1])
    base = {
        "similarity": {
            "names": 1.0,
            "original_names": 1.0,
            "strings": 0.0,
            "structure": [],
            "attributes": 0.0,
            "center": False,
            "csls": 0,
        },
        "selftrain": {"enabled": False},
        "device": "cpu",
    }
    S, info = compute_similarity(
        kg1,
        kg2,
        e1,
        e2,
        raw1,
        raw2,
        src,
        tgt,
        AlignConfig.from_dict({**base, "encoder": str(multi)}),
        None,
        return_info=True,
    )
    assert "original_names" in info["views"]
    ref = Encoder(str(multi), device="cpu", cache_dir=tmp_path / "c2", show_progress=False)
    o1, o2 = ref.encode(raw1), ref.encode(raw2)
    expected = (e1[src] @ e2[tgt].T + o1[src] @ o2[tgt].T) / 2
    np.testing.assert_allclose(np.asarray(S), expected, atol=1e-5)
    # the same weights with the monolingual copy: the view is skipped, names alone remain
    S2, info2 = compute_similarity(
        kg1,
        kg2,
        e1,
        e2,
        raw1,
        raw2,
        src,
        tgt,
        AlignConfig.from_dict({**base, "encoder": str(tiny_st)}),
        None,
        return_info=True,
    )
    assert "original_names" not in info2["views"]
    np.testing.assert_allclose(np.asarray(S2), e1[src] @ e2[tgt].T, atol=1e-5)
    assert any("not multilingual" in r.getMessage() for r in caplog.records)
