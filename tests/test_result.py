"""The resolved configuration a run records, AlignmentResult.save, the label language of outputs,
the translation cache, the user's encoder in every view, and explicit randomness."""

from __future__ import annotations

import csv
import hashlib
import json

import numpy as np
import pytest

import kgalign
from kgalign.aligner.pipeline import align
from kgalign.aligner.translate import Translator
from kgalign.config import load_config
from kgalign.errors import OutputExistsError
from kgalign.kg import KnowledgeGraph

EN = ["house", "tree", "river", "mountain", "bridge", "garden"]
FR = ["maison", "arbre", "riviere", "montagne", "pont", "jardin"]
DE_HOUSE = "Haus"


def house_pair(tmp_path):
    """kg1 from a Turtle file: English labels, and entity 0 also labelled "Haus"@de (de sorts before en)."""
    lines = ["@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .", "@prefix a: <http://a.ex/> ."]
    for i, name in enumerate(EN):
        extra = f', "{DE_HOUSE}"@de' if i == 0 else ""
        lines.append(f'a:e{i} rdfs:label "{name}"@en{extra} ; a:near a:e{(i + 1) % len(EN)} .')
    ttl = tmp_path / "kg1.ttl"
    ttl.write_text("\n".join(lines) + "\n", encoding="utf-8")
    kg1 = kgalign.load_kg(ttl)
    kg2 = KnowledgeGraph(
        entities=[f"http://b.ex/e{i}" for i in range(len(FR))],
        labels=[[("fr", EN[i] if i == 0 else FR[i], 0)] for i in range(len(FR))],
    )
    return kg1, kg2, ttl


def read_tsv(path):
    with open(path, encoding="utf-8", newline="") as fh:
        rows = [r for r in fh if not r.startswith("#")]
    return list(csv.DictReader(rows, delimiter="\t"))


def test_outputs_label_entities_in_the_detected_language(tmp_path, hashing_encoder):
    kg1, kg2, _ = house_pair(tmp_path)
    house = kg1.index["http://a.ex/e0"]
    assert kg1.label(house, None) == DE_HOUSE  # without a language, tags sort de < en: the old bug
    res = align(kg1, kg2, encoder=hashing_encoder, translator="identity", show_progress=False)
    assert res.config.lang1 == "en" and res.choices["lang1_detected"]
    assert res.config.lang2 == "fr"
    out = res.save(tmp_path / "run")
    for name, col in (("alignment.tsv", "source_label"), ("alignment.sssom.tsv", "subject_label")):
        rows = read_tsv(out / name)
        assert len(rows) == len(res)
        by_iri = {r["source"] if "source" in r else r["subject_id"]: r[col] for r in rows}
        labels = set(by_iri.values())
        assert "house" in labels and DE_HOUSE not in labels
    from kgalign.io.writers import write_alignment

    write_alignment(res, tmp_path / "direct.tsv")
    assert {r["source_label"] for r in read_tsv(tmp_path / "direct.tsv")} == set(EN)


def test_save_writes_config_metadata_and_alignment(tmp_path, hashing_encoder):
    kg1, kg2, ttl = house_pair(tmp_path)
    res = align(kg1, kg2, encoder=hashing_encoder, translator="identity", show_progress=False, threshold=-1.0)
    out = res.save(tmp_path / "run")
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["config.json", "metadata.json", "alignment.tsv", "alignment.sssom.tsv"]
    )
    assert load_config(out / "config.json") == res.config  # the resolved configuration reloads as is
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["kgalign_version"] == kgalign.__version__
    assert meta["fingerprints"]["kg1"]["sha256"] == hashlib.sha256(ttl.read_bytes()).hexdigest()
    assert meta["fingerprints"]["kg1"]["kind"] == "file"
    ents = hashlib.sha256("".join(e + "\n" for e in kg2.entities).encode()).hexdigest()
    assert meta["fingerprints"]["kg2"] == {"source": None, "kind": "entities", "sha256": ents, "entities": 6}
    assert meta["resolved"]["translator1"] == "identity" and meta["resolved"]["encoder"] == hashing_encoder.name
    assert meta["resolved"]["device"] == "cpu" and set(meta["stages"]) >= {"translate", "encode", "matching"}
    assert meta["pairs"] == len(res) == len(read_tsv(out / "alignment.tsv"))
    # never overwritten without force; with force replaced as a whole, no temporary left behind
    (out / "alignment.tsv").write_text("edited\n")
    with pytest.raises(OutputExistsError):
        res.save(out)
    assert (out / "alignment.tsv").read_text() == "edited\n"
    res.save(out, force=True)
    assert len(read_tsv(out / "alignment.tsv")) == len(res)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kg1.ttl", "run"]


class CountingTranslator(Translator):
    """A fake MT translator: upper-cases texts and counts what it was asked to translate."""

    kind = "mt"
    name = "mt:fake-upper"

    def __init__(self):
        self.translated = 0

    def translate(self, texts):
        self.translated += len(texts)
        return [t.upper() for t in texts]

    @property
    def cache_key(self):
        return "mt:fake-upper|v1"


def test_machine_translations_are_cached_across_runs(tmp_path, hashing_encoder):
    kg1, kg2, _ = house_pair(tmp_path)
    first_tr = CountingTranslator()
    first = align(kg1, kg2, encoder=hashing_encoder, translator=first_tr, show_progress=False)
    # one translator (one cache key) for both sides: "house" on the second side is a cache hit
    assert first_tr.translated == len(set(kg1.names("en")) | set(kg2.names("fr")))
    second_tr = CountingTranslator()
    second = align(kg1, kg2, encoder=hashing_encoder, translator=second_tr, show_progress=False)
    assert second_tr.translated == 0  # everything from the cache
    assert second.names1 == first.names1 == [n.upper() for n in kg1.names("en")]
    assert second.pairs() == first.pairs()
    assert second.config.translator == "mt:fake-upper"


def test_the_original_names_view_uses_the_given_encoder(tmp_path, hashing_encoder, monkeypatch):
    import kgalign.aligner.encode as enc_mod

    monkeypatch.setattr(enc_mod, "Encoder", lambda *a, **k: (_ for _ in ()).throw(AssertionError("built an encoder")))
    kg1, kg2, _ = house_pair(tmp_path)
    sim = {"original_names": 1.0}
    res = align(kg1, kg2, encoder=hashing_encoder, translator="identity", show_progress=False, similarity=sim)
    assert "original_names" in res.info["views"]
    assert hashing_encoder.calls == 4  # names of both sides, then original names of both sides


def test_seed_and_global_random_state(tmp_path, hashing_encoder):
    kg1, kg2, _ = house_pair(tmp_path)
    np.random.seed(123)
    expected = np.random.random_sample(3)
    np.random.seed(123)
    a = align(kg1, kg2, encoder=hashing_encoder, translator="identity", show_progress=False, seed=0)
    assert np.array_equal(np.random.random_sample(3), expected)  # the run left numpy's global state alone
    b = align(kg1, kg2, encoder=hashing_encoder, translator="identity", show_progress=False, seed=7)
    assert a.pairs() == b.pairs()  # no stage is random (see AlignConfig.seed)
    assert b.config.seed == 7


def test_similarity_does_not_import_the_pipeline():
    import ast
    import inspect

    import kgalign.aligner.similarity as sim

    tree = ast.parse(inspect.getsource(sim))
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert "kgalign.aligner.pipeline" not in imported and "kgalign.aligner.stages" not in imported
