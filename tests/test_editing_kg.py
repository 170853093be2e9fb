"""KG-level edit propagation: requests, validation, the SPARQL/Turtle patch on a hand-made pair."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kgalign.errors import InputError
from kgalign.kg import KGPair, KnowledgeGraph

rdflib = pytest.importorskip("rdflib")

FR = "http://fr.example.org/"
EN = "http://en.example.org/"
BORN_FR, BORN_EN = FR + "lieuDeNaissance", EN + "birthPlace"
CLUB_FR, CLUB_EN = FR + "club", EN + "team"


def _pair():
    """Two small graphs: people born in cities and playing for clubs, aligned by position."""
    names = ["Ana", "Bob", "Cy", "Dee", "Paris", "Lyon", "Nice", "Metz", "PSG", "OL", "Solo"]
    ents1 = [FR + n for n in names]
    ents2 = [EN + n for n in names[:-1]] + [EN + "Other"]
    p = {n: i for i, n in enumerate(names)}
    facts = [
        ("Ana", 0, "Paris"),
        ("Bob", 0, "Lyon"),
        ("Cy", 0, "Nice"),
        ("Dee", 0, "Paris"),
        ("Ana", 1, "PSG"),
        ("Bob", 1, "OL"),
        ("Cy", 1, "PSG"),
        ("Dee", 1, "OL"),
    ]
    tri = [(p[s], r, p[o]) for s, r, o in facts]
    kg1 = KnowledgeGraph(
        ents1, triples=tri, relations=[BORN_FR, CLUB_FR], source="fr.ttl", labels=[[("fr", n, 1)] for n in names]
    )
    kg2 = KnowledgeGraph(
        ents2, triples=tri, relations=[BORN_EN, CLUB_EN], source="en.ttl", labels=[[("en", n, 1)] for n in names]
    )
    # every entity aligned to its namesake except "Metz" (no counterpart) and "Solo"
    links = np.array([(i, i) for i, n in enumerate(names) if n not in ("Metz", "Solo")])
    return KGPair(kg1, kg2, links=links, lang1="fr", lang2="en")


def _graph(triples):
    g = rdflib.Graph()
    for s, p, o in triples:
        g.add((rdflib.URIRef(s), rdflib.URIRef(p), rdflib.URIRef(o)))
    return g


def _kg2_triples():
    return [
        (EN + "Ana", BORN_EN, EN + "Paris"),
        (EN + "Bob", BORN_EN, EN + "Lyon"),
        (EN + "Cy", BORN_EN, EN + "Nice"),
        (EN + "Dee", BORN_EN, EN + "Paris"),
        (EN + "Ana", CLUB_EN, EN + "PSG"),
        (EN + "Bob", CLUB_EN, EN + "OL"),
        (EN + "Cy", CLUB_EN, EN + "PSG"),
        (EN + "Dee", CLUB_EN, EN + "OL"),
    ]


def test_patch_applied_with_rdflib_equals_expected_graph():
    from rdflib.compare import isomorphic

    from kgalign.lm.editing import EditRequest, propagate_edits, resolve_edits
    from kgalign.lm.editing.propagate import kg_graph

    pair = _pair()
    reqs = [
        EditRequest("replace", "Ana", "lieuDeNaissance", "Lyon"),  # by label / local name
        EditRequest("remove", FR + "Bob", CLUB_FR, FR + "OL"),  # by IRI
        EditRequest("add", "Cy", CLUB_FR, "OL"),
    ]
    resolved = resolve_edits(pair.kg1, reqs)
    patch = propagate_edits(resolved, pair.kg1, pair.kg2, pair.links)
    assert patch.unresolved == []
    # expected KG2, written by hand from the edits' meaning
    expected = [
        t for t in _kg2_triples() if t not in {(EN + "Ana", BORN_EN, EN + "Paris"), (EN + "Bob", CLUB_EN, EN + "OL")}
    ]
    expected += [(EN + "Ana", BORN_EN, EN + "Lyon"), (EN + "Cy", CLUB_EN, EN + "OL")]
    g = kg_graph(pair.kg2)
    assert isomorphic(g, _graph(_kg2_triples()))
    g.update(patch.target.sparql())
    assert isomorphic(g, _graph(expected))
    # the Turtle graphs hold exactly the removed and added triples
    added = rdflib.Graph().parse(data=patch.target.turtle("added"), format="turtle")
    removed = rdflib.Graph().parse(data=patch.target.turtle("removed"), format="turtle")
    assert isomorphic(added, _graph([(EN + "Ana", BORN_EN, EN + "Lyon"), (EN + "Cy", CLUB_EN, EN + "OL")]))
    assert isomorphic(removed, _graph([(EN + "Ana", BORN_EN, EN + "Paris"), (EN + "Bob", CLUB_EN, EN + "OL")]))
    # the in-memory patched graph agrees
    assert isomorphic(kg_graph(patch.target.apply(pair.kg2)), _graph(expected))


def test_missing_counterpart_is_reported_not_guessed():
    from kgalign.lm.editing import EditRequest, propagate_edits, resolve_edits

    pair = _pair()
    resolved = resolve_edits(
        pair.kg1, [EditRequest("replace", "Bob", BORN_FR, "Metz"), EditRequest("add", "Dee", CLUB_FR, "PSG")]
    )
    patch = propagate_edits(resolved, pair.kg1, pair.kg2, pair.links)
    # Metz has no counterpart: neither the new triple nor the removal of Lyon goes to KG2
    assert [u["reason"].split(":")[0] for u in patch.unresolved] == ["no counterpart"]
    assert FR + "Metz" in patch.unresolved[0]["reason"]
    assert patch.target.added == [(EN + "Dee", CLUB_EN, EN + "PSG")]
    # the removal of (Bob, born, Lyon) is propagated: it is a KG1 fact with aligned ends
    assert patch.target.removed == [(EN + "Bob", BORN_EN, EN + "Lyon")]
    assert all(EN + "Metz" not in t for t in patch.target.added)


def test_low_confidence_link_is_not_used():
    from kgalign.lm.editing import EditRequest, propagate_edits, resolve_edits

    pair = _pair()
    scores = np.ones(len(pair.links))
    scores[list(pair.links[:, 0]).index(6)] = 0.2  # Nice
    resolved = resolve_edits(pair.kg1, [EditRequest("replace", "Ana", BORN_FR, "Nice")])
    patch = propagate_edits(resolved, pair.kg1, pair.kg2, pair.links, scores, min_confidence=0.5)
    assert patch.target.added == []
    assert any(u["reason"].startswith("low confidence") for u in patch.unresolved)
    patch = propagate_edits(resolved, pair.kg1, pair.kg2, pair.links, scores, min_confidence=0.1)
    assert patch.target.added == [(EN + "Ana", BORN_EN, EN + "Nice")]


@pytest.mark.parametrize(
    "line,expect",
    [
        ('{"op": "replace", "subject": "Ana", "relation": "lieuDeNaissance", "object": "Atlantis"}', "Atlantis"),
        ('{"op": "add", "subject": "Ana", "relation": "bornIn", "object": "Lyon"}', "bornIn"),
        ('{"op": "remove", "subject": "Ana", "relation": "club", "object": "OL"}', "not in the graph"),
        ('{"op": "rename", "subject": "Ana", "relation": "club", "object": "OL"}', "rename"),
        ('{"op": "add", "subject": "Ana"', "invalid JSON"),
    ],
)
def test_bad_edit_names_file_and_line(tmp_path, line, expect):
    from kgalign.lm.editing import read_edits, resolve_edits

    pair = _pair()
    f = tmp_path / "edits.jsonl"
    good = '{"op": "add", "subject": "Cy", "relation": "club", "object": "OL"}'
    f.write_text(good + "\n\n" + line + "\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        resolve_edits(pair.kg1, read_edits(f))
    assert err.value.line == 3 and err.value.path == str(f)
    assert expect in str(err.value) and "edits.jsonl:3" in str(err.value)


def test_cli_malformed_edit_file_changes_nothing(tmp_path, monkeypatch):
    import kgalign.io as kio
    from kgalign.cli import main

    pair = _pair()
    monkeypatch.setattr(kio, "load_pair", lambda *a, **k: pair)
    f = tmp_path / "edits.jsonl"
    f.write_text(
        json.dumps({"op": "add", "subject": "Cy", "relation": "club", "object": "OL"})
        + "\n"
        + json.dumps({"op": "add", "subject": "Zed", "relation": "club", "object": "OL"})
        + "\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    kg_out = tmp_path / "en_updated.nt"
    rc = main(["edit", str(tmp_path), "--gold", "--edits", str(f), "-o", str(out), "--updated-kg", str(kg_out)])
    assert rc == 2
    assert not out.exists() and not kg_out.exists()
    assert len(pair.kg1.triples) == 8 and len(pair.kg2.triples) == 8


def test_cli_writes_patch_and_refuses_overwrite(tmp_path, monkeypatch, capsys):
    import kgalign.io as kio
    from kgalign.cli import main

    pair = _pair()
    monkeypatch.setattr(kio, "load_pair", lambda *a, **k: pair)
    out = tmp_path / "out"
    kg_out = tmp_path / "en_updated.nt"
    args = [
        "edit",
        str(tmp_path),
        "--gold",
        "--edit",
        "replace",
        "Ana",
        "lieuDeNaissance",
        "Metz",
        "--edit",
        "replace",
        "Bob",
        "lieuDeNaissance",
        "Paris",
        "-o",
        str(out),
        "--updated-kg",
        str(kg_out),
    ]
    assert main(args) == 0
    stats = json.loads((out / "patch.json").read_text())["stats"]
    assert stats["target_added"] == 1 and stats["unresolved"] == 1
    g = rdflib.Graph().parse(kg_out, format="nt")
    assert (rdflib.URIRef(EN + "Bob"), rdflib.URIRef(BORN_EN), rdflib.URIRef(EN + "Paris")) in g
    assert (rdflib.URIRef(EN + "Bob"), rdflib.URIRef(BORN_EN), rdflib.URIRef(EN + "Lyon")) not in g
    before = (out / "target.sparql").read_text()
    assert main(args) == 2  # exists, no --force
    assert (out / "target.sparql").read_text() == before
    assert main(args + ["--force"]) == 0


def test_cli_unknown_model_fails_before_anything_is_written(tmp_path, monkeypatch, capsys):
    import kgalign.io as kio
    from kgalign.cli import main

    pair = _pair()
    monkeypatch.setattr(kio, "load_pair", lambda *a, **k: pair)
    out = tmp_path / "out"
    edit = ["--edit", "replace", "Ana", "lieuDeNaissance", "Metz"]
    rc = main(["edit", str(tmp_path), "--gold", *edit, "-o", str(out), "--model", str(tmp_path / "nowhere")])
    assert rc == 2 and not out.exists()
    assert "no such folder, and not a model in the local Hugging Face cache" in capsys.readouterr().err
    # --method without --model: the patch is written and the user is told the method did nothing
    rc = main(["edit", str(tmp_path), "--gold", *edit, "-o", str(out), "--method", "ft-kl"])
    assert rc == 0 and (out / "patch.json").exists()
    assert "--method only apply with --model" in capsys.readouterr().err
