"""Tests of kgalign.lm.finetune.composable: the composable-SFT recipe (Ansell et al., ACL 2022).

Tiny XLM-R models built from configs over two toy languages; nothing is downloaded.
"""

from __future__ import annotations

import copy
import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from kgalign.errors import InputError  # noqa: E402
from kgalign.lm.finetune import tiny_model, word_tokenizer  # noqa: E402
from kgalign.lm.finetune.composable import (  # noqa: E402
    applied,
    compose,
    cross_lingual_transfer,
    token_accuracy,
    train_language_sft,
    train_task_sft,
    with_task_head,
)
from kgalign.lm.finetune.toy_languages import TAGS, ToyLanguages  # noqa: E402

TK = dict(progress=False, device="cpu", batch_size=16, lr=5e-3)


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py


@pytest.fixture(scope="module")
def world():
    w = ToyLanguages(seed=0, nouns_per_class=2, adjectives_per_polarity=2, verbs=3)
    tok = word_tokenizer(w.vocabulary())
    lm = tiny_model("xlm-roberta", len(tok), layers=1, hidden=16, heads=2, max_positions=16, seed=0)
    return w, tok, lm


@pytest.fixture(scope="module")
def sfts(world):
    """phi_A, phi_B (language SFTs), the task model theta and phi_T trained on top of phi_A."""
    w, tok, lm = world
    phi = {
        lang: train_language_sft(
            lm, w.texts(lang, 64, seed=1), tokenizer=tok, k=300, full_steps=4, sparse_steps=4, trainer_kwargs=TK
        )
        for lang in "AB"
    }
    task = with_task_head(lm, transformers.XLMRobertaForTokenClassification, num_labels=len(TAGS), seed=0)
    trained = copy.deepcopy(task)
    phi_t = train_task_sft(
        trained,
        w.tagging("A", 48, tok, seed=2),
        language_sft=phi["A"],
        tokenizer=tok,
        k=200,
        full_steps=4,
        sparse_steps=4,
        trainer_kwargs=TK,
    )
    return phi, task, trained, phi_t


def weights(model):
    return {n: p.detach().clone() for n, p in model.named_parameters()}


def test_applied_composes_two_diffs_and_restores_every_bit(world, sfts):
    _w, _tok, lm = world
    phi, task, _trained, phi_t = sfts
    before = weights(task)
    with applied(task, phi["A"], phi_t) as m:
        assert m is task
        now = weights(task)
        changed = {n for n in now if not torch.equal(now[n], before[n])}
        assert changed and changed <= set(phi["A"].entries) | set(phi_t.entries)
    assert all(torch.equal(p, before[n]) for n, p in task.named_parameters())
    # also when the block raises, and for diffs that overlap (applied twice)
    with pytest.raises(RuntimeError), applied(task, phi["A"], phi["A"], phi["B"]):
        raise RuntimeError("boom")
    assert all(torch.equal(p, before[n]) for n, p in task.named_parameters())
    # a diff naming a tensor the model lacks is refused before any write
    lm_only = copy.deepcopy(phi["A"])
    lm_only.entries["lm_head.bias"] = (torch.tensor([0]), torch.tensor([1.0]))
    lm_only.shapes["lm_head.bias"] = tuple(lm.lm_head.bias.shape)
    with pytest.raises(InputError):
        with applied(task, phi["B"], lm_only):
            pass
    assert all(torch.equal(p, before[n]) for n, p in task.named_parameters())


def test_language_sft_keeps_decoder_and_layer_norm_and_leaves_the_lm_alone(world, sfts):
    _w, _tok, lm = world
    phi, *_ = sfts
    base = dict(lm.named_parameters())
    for lang in "AB":
        assert phi[lang].nnz == 300
        assert all(n.startswith("roberta.") and "LayerNorm" not in n for n in phi[lang].entries)
        assert all(n in base for n in phi[lang].entries)
    # the input embeddings are trainable (decoder untied and frozen, as run_mlm.py --freeze_decoder)
    assert any("word_embeddings" in n for n in phi["A"].entries)
    assert lm.get_output_embeddings().weight is lm.get_input_embeddings().weight  # lm not changed
    a, b = phi["A"].mask(), phi["B"].mask()
    assert any(not torch.equal(a.get(n, torch.zeros(0)), b.get(n, torch.zeros(0))) for n in set(a) | set(b))


def test_task_sft_on_top_of_language_sft_stores_only_its_own_change(world, sfts):
    phi, task, trained, phi_t = sfts
    rebuilt = compose(copy.deepcopy(task), phi["A"], phi_t)
    for n, p in trained.named_parameters():
        assert torch.equal(p, dict(rebuilt.named_parameters())[n]), n
    # phi_T is not the whole change from theta: without phi_A the trained model is not reached
    alone = compose(copy.deepcopy(task), phi_t)
    assert any(not torch.equal(p, dict(alone.named_parameters())[n]) for n, p in trained.named_parameters())
    # the head is dense (every entry), the body sparse (k), LayerNorm untouched
    head = task.classifier.weight.numel() + task.classifier.bias.numel()
    assert phi_t.nnz == 200 + head
    assert not any("LayerNorm" in n for n in phi_t.entries)


def test_swapping_language_sfts_changes_exactly_their_entries(sfts):
    phi, task, _trained, phi_t = sfts
    with applied(task, phi["A"], phi_t):
        on_a = weights(task)
    with applied(task, phi["B"], phi_t):
        on_b = weights(task)
    ma, mb = phi["A"].mask(), phi["B"].mask()
    da, db = phi["A"].dense(), phi["B"].dense()
    n_changed = 0
    for n in on_a:
        changed = on_a[n] != on_b[n]
        union = ma.get(n, torch.zeros_like(changed)) | mb.get(n, torch.zeros_like(changed))
        assert not bool((changed & ~union).any()), n  # nothing outside the two language diffs
        differs = da.get(n, torch.zeros_like(on_a[n])) != db.get(n, torch.zeros_like(on_a[n]))
        assert bool(changed[differs & union].all()), n  # and every entry where they differ
        n_changed += int(changed.sum())
    assert n_changed > 300


def test_token_accuracy_is_pessimistic_on_ties_and_checks_input(world):
    w, tok, _lm = world
    data = w.tagging("A", 6, tok, seed=5)

    class Const(torch.nn.Module):
        def __init__(self, logits):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(1))
            self.logits = logits

        def forward(self, input_ids, attention_mask):
            b, t = input_ids.shape
            return type("O", (), {"logits": self.logits.expand(b, t, -1)})()

    assert token_accuracy(Const(torch.zeros(len(TAGS))), data) == 0.0  # all tags tie
    gold = [lab for ex in data for lab in ex["labels"] if lab != -100]
    logits = torch.zeros(len(TAGS))
    logits[4] = 1.0  # always "positive"
    assert token_accuracy(Const(logits), data) == sum(g == 4 for g in gold) / len(gold)
    with pytest.raises(InputError):
        token_accuracy(Const(logits), [{"input_ids": [1, 2], "labels": [-100, -100]}])


def test_toy_languages_share_anchors_only(world):
    w, tok, _lm = world
    a = set(" ".join(w.texts("A", 50)).split())
    b = set(" ".join(w.texts("B", 50)).split())
    shared = a & b
    assert shared and all(s.isdigit() or s in {"paris", "lima", "oslo", "cairo", "delhi", "quito", "rome", "tokyo",
                                                "dakar", "hanoi", "kyiv", "bern", "doha", "riga", "seoul", "accra",
                                                "anna", "omar", "lena", "yuki", "ravi", "sofia", "ivan", "mia"}
                          for s in shared)  # fmt: skip
    ex_a, ex_b = w.tagging("A", 20, tok, seed=7), w.tagging("B", 20, tok, seed=7)
    content = [{x for e in ex for x, lab in zip(e["input_ids"], e["labels"]) if lab != -100} for ex in (ex_a, ex_b)]
    assert content[0] and content[1] and not content[0] & content[1]  # tagged words: no shared token
    assert {lab for e in ex_a for lab in e["labels"]} == {lab for e in ex_b for lab in e["labels"]}


def test_cross_lingual_transfer_runs_the_recipe_and_leaves_theta_alone(world):
    w, tok, lm = world
    task = with_task_head(lm, transformers.XLMRobertaForTokenClassification, num_labels=len(TAGS), seed=1)
    before = weights(task)
    res = cross_lingual_transfer(
        lm,
        task,
        tokenizer=tok,
        source="A",
        target="B",
        texts={lang: w.texts(lang, 32, seed=1) for lang in "AB"},
        task_train=w.tagging("A", 32, tok, seed=2),
        task_test={lang: w.tagging(lang, 32, tok, seed=3) for lang in "AB"},
        language_kwargs=dict(k=100, full_steps=2, sparse_steps=2, trainer_kwargs=TK),
        task_kwargs=dict(k=100, full_steps=2, sparse_steps=2, trainer_kwargs=TK),
    )
    assert set(res["scores"]) == {
        "source_in_language",
        "target_swapped",
        "target_source_sft_kept",
        "target_bare_task_sft",
        "source_bare_task_sft",
    }
    assert all(0.0 <= v <= 1.0 for v in res["scores"].values())
    assert all(torch.equal(p, before[n]) for n, p in task.named_parameters())
    # the task diff trained on top of phi_A differs from the bare one
    assert not torch.equal(
        res["diffs"]["task"].dense()["classifier.weight"], res["diffs"]["bare_task"].dense()["classifier.weight"]
    )
    with pytest.raises(InputError):
        cross_lingual_transfer(
            lm,
            task,
            tokenizer=tok,
            source="A",
            target="C",
            texts={},
            task_train=[],
            task_test={},
            language_kwargs={},
            task_kwargs={},
        )
