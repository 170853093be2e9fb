"""Probing tiny models built offline: planted facts, multi-token scoring, causal LMs, neurons."""

from __future__ import annotations

import types

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from kgalign.kg import KnowledgeGraph  # noqa: E402
from kgalign.lm.finetune import Trainer, tiny_model, word_tokenizer  # noqa: E402
from kgalign.lm.probing import (  # noqa: E402
    CausalLMProber,
    MaskedLMProber,
    TemplateSet,
    bilingual_facts,
    build_queries,
    consistency,
    precision_at_1,
    probe_queries,
)
from kgalign.lm.probing.templates import Template  # noqa: E402

BORN = Template("[X] was born in [Y] .", "birthPlace", "en")
WORDS = "alice bob carol dave eve was born in paris london rome berlin new york delhi . est né à"


def planted_examples(prober, template, facts):
    """Object-masked cloze examples (labels only on the object's sub-tokens)."""
    out = []
    for s, o in facts:
        obj = prober.tokens(o)
        ids, pos = prober.query_ids(template, s, len(obj))
        labels = [-100] * len(ids)
        for p, t in zip(pos, obj):
            labels[p] = t
        out.append({"input_ids": ids, "labels": labels})
    return out


@pytest.fixture(scope="module")
def planted():
    tok = word_tokenizer([WORDS])
    model = tiny_model("bert", len(tok), layers=2, hidden=64, heads=2, seed=0)
    prober = MaskedLMProber(model, tok)
    facts = [("alice", "paris"), ("carol", "new york"), ("dave", "london")]
    Trainer(
        model, tok, objective="labels", lr=3e-3, max_steps=60, batch_size=3, device="cpu", seed=0, progress=False
    ).train(planted_examples(prober, BORN, facts))
    return prober


def test_planted_fact_is_known_and_unplanted_is_not(planted):
    cands = ["paris", "london", "rome", "berlin"]
    before = MaskedLMProber(
        tiny_model("bert", len(planted.tokenizer), layers=2, hidden=64, heads=2, seed=0), planted.tokenizer
    )
    s_after = planted.rank_candidates(BORN, ["alice", "dave", "bob"], cands)
    s_before = before.rank_candidates(BORN, ["alice", "dave", "bob"], cands)
    assert cands[int(np.argmax(s_after[0]))] == "paris"
    assert cands[int(np.argmax(s_after[1]))] == "london"
    # bob was never taught; rome never appeared as an object: not predicted
    assert cands[int(np.argmax(s_after[2]))] != "rome"
    # the untrained model did not already know the planted facts
    assert not (cands[int(np.argmax(s_before[0]))] == "paris" and cands[int(np.argmax(s_before[1]))] == "london")


def test_planted_multi_token_object_full_match(planted):
    d = planted.decode(BORN, ["carol"], max_masks=3)[0]
    assert d.text == "new york" and d.n_masks == 2
    assert d.token_ids == planted.tokens("new york")
    dc = planted.decode(BORN, ["carol"], max_masks=3, strategy="confidence")[0]
    assert dc.token_ids == planted.tokens("new york")
    s = planted.rank_candidates(BORN, ["carol"], ["new york", "new delhi"])
    assert s[0, 0] > s[0, 1]


class PositionLogits(torch.nn.Module):
    """A stub masked LM: the logits at absolute position t are a fixed random row W[t]."""

    def __init__(self, vocab, width=32, seed=0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.W = torch.randn(width, vocab, generator=g)
        self.config = types.SimpleNamespace(max_position_embeddings=width)

    def forward(self, input_ids, attention_mask=None):
        return types.SimpleNamespace(logits=self.W[: input_ids.shape[1]].expand(input_ids.shape[0], -1, -1))


def test_multi_token_scores_on_hand_made_vocabulary():
    tok = word_tokenizer([WORDS])
    stub = PositionLogits(len(tok))
    prober = MaskedLMProber(stub, tok, device="cpu")
    cands = ["paris", "new york", "new delhi", "york new", "rome"]
    scores = prober.rank_candidates(BORN, ["alice", "bob"], cands)
    logp = torch.log_softmax(stub.W, dim=-1).numpy()
    # "[CLS] <subject> was born in" -> the object starts at position 5 for one-word subjects
    vocab = tok.get_vocab()
    for i in range(2):
        for j, c in enumerate(cands):
            ids = [vocab[w] for w in c.split()]
            expected = np.mean([logp[5 + k, t] for k, t in enumerate(ids)])
            assert scores[i, j] == pytest.approx(expected, abs=1e-5)
    # word order matters for multi-token objects
    assert scores[0, 1] != pytest.approx(scores[0, 3])
    # untyped independent decoding: the best filling over 1..3 masks, each mask its arg-max
    best = max(((k, np.mean([logp[5 + m].max() for m in range(k)])) for k in (1, 2, 3)), key=lambda x: x[1])
    d = prober.decode(BORN, ["alice"], max_masks=3)[0]
    assert d.n_masks == best[0] and d.score == pytest.approx(best[1], abs=1e-5)
    assert d.token_ids == [int(logp[5 + m].argmax()) for m in range(best[0])]


def test_causal_lm_planted_fact():
    tok = word_tokenizer([WORDS])
    model = tiny_model("gpt2", len(tok), layers=2, hidden=64, heads=2, seed=0)
    text = ["alice was born in paris .", "dave was born in london ."]
    Trainer(
        model, tok, objective="clm", lr=3e-3, max_steps=60, batch_size=2, device="cpu", seed=0, progress=False
    ).train(text)
    prober = CausalLMProber(model, tok)
    cands = ["paris", "london", "rome"]
    s = prober.rank_candidates(BORN, ["alice", "dave"], cands)
    assert [cands[int(i)] for i in s.argmax(axis=1)] == ["paris", "london"]
    # sum reduction equals the sum of the token log-probabilities computed directly
    ids = tok("alice was born in rome .")["input_ids"]  # [CLS] ... [SEP], as in training
    assert ids[0] == tok.cls_token_id and ids[-1] == tok.sep_token_id
    with torch.no_grad():
        lp = torch.log_softmax(model(torch.tensor([ids])).logits[0, :-1], -1)
    direct = float(lp[torch.arange(len(ids) - 1), torch.tensor(ids[1:])].sum())
    assert s[0, 2] == pytest.approx(direct, abs=1e-4)


def test_ffn_activations_shape_and_hook_cleanup(planted):
    cfg = planted.model.config
    acts = planted.ffn_activations(BORN, ["alice", "carol"], [1, 2])
    assert acts.shape == (2, cfg.num_hidden_layers * cfg.intermediate_size)
    assert not np.allclose(acts[0], acts[1])
    # hooks are removed: a plain forward pass leaves nothing behind
    assert all(not m._forward_hooks for m in planted.model.modules())


def test_probe_queries_end_to_end_bilingual():
    """A two-language fact set; facts planted in both languages are probed as known in both."""
    ents = ["alice", "carol", "dave", "paris", "london", "rome"]
    kg1 = KnowledgeGraph(
        [f"http://fr.x/{e}" for e in ents],
        relations=["http://fr.dbpedia.org/property/lieuDeNaissance"],
        triples=np.array([[0, 0, 3], [1, 0, 4], [2, 0, 5]]),
    )
    kg2 = KnowledgeGraph(
        [f"http://en.x/{e}" for e in ents],
        relations=["http://dbpedia.org/property/birthPlace"],
        triples=np.array([[0, 0, 3], [1, 0, 4], [2, 0, 5]]),
    )
    links = np.stack([np.arange(6), np.arange(6)], axis=1)
    fs = bilingual_facts(kg1, kg2, links, min_support=1)
    ts = TemplateSet.load()
    queries, cands = build_queries(fs, ts, "fr", "en")
    assert len(queries) == 6 and {q.template.text for q in queries} == {"[X] est né à [Y] .", "[X] was born in [Y] ."}
    tok = word_tokenizer([WORDS])
    model = tiny_model("bert", len(tok), layers=2, hidden=64, heads=2, seed=1)
    prober = MaskedLMProber(model, tok)
    planted = [q for q in queries if q.subject in ("alice", "carol")]  # dave is not taught
    data = []
    for q in planted:
        data += planted_examples(prober, q.template, [(q.subject, q.object)])
    Trainer(
        model, tok, objective="labels", lr=3e-3, max_steps=80, batch_size=4, device="cpu", seed=0, progress=False
    ).train(data)
    rows = probe_queries(prober, queries, cands, mode="both")
    got = {(r["subject"], r["lang"]): r for r in rows}
    for s in ("alice", "carol"):
        for lang in ("fr", "en"):
            assert got[(s, lang)]["rank"] == 1 and got[(s, lang)]["untyped_correct"]
            assert not got[(s, lang)]["fallback"]
    assert got[("dave", "en")]["rank"] > 1 and got[("dave", "fr")]["rank"] > 1
    p = precision_at_1(rows)
    assert p["fr"]["micro"] == pytest.approx(2 / 3) and p["en"]["micro"] == pytest.approx(2 / 3)
    c = consistency(rows, "fr", "en")
    assert c["both"] == 2 and c["none"] == 1


def test_demo_sparse_loss_equals_model_loss():
    from kgalign.lm.probing.demo import sparse_mlm_loss

    tok = word_tokenizer([WORDS])
    model = tiny_model("bert", len(tok), layers=1, hidden=32, heads=2, seed=3)
    ids = torch.tensor(
        [tok("alice was born in paris .")["input_ids"], tok("bob was born in new york")["input_ids"][:8]]
    )
    labels = torch.full_like(ids, -100)
    labels[0, 5], labels[1, 2], labels[1, 5] = ids[0, 5], ids[1, 2], ids[1, 5]
    batch = {"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": labels}
    with torch.no_grad():
        assert float(sparse_mlm_loss(model, batch)) == pytest.approx(float(model(**batch).loss), rel=1e-5)
