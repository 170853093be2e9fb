"""Tests of kgalign.lm.finetune.madx_transfer: MAD-X zero-shot transfer on a toy bilingual world."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

torch = pytest.importorskip("torch")
pytest.importorskip("adapters")

from kgalign.errors import InputError  # noqa: E402
from kgalign.lm.finetune import madx, tiny_model, word_tokenizer  # noqa: E402
from kgalign.lm.finetune.madx_transfer import (  # noqa: E402
    madx_zero_shot,
    tagging_accuracy,
    tagging_examples,
    toy_bilingual_world,
)

OPTS = dict(lr=1e-2, max_steps=4, batch_size=8, progress=False, device="cpu")


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py


@pytest.fixture(scope="module")
def world():
    return toy_bilingual_world(n_entities=12, n_relations=3, values_per_relation=3, seed=1)


@pytest.fixture(scope="module")
def tok(world):
    return word_tokenizer(world.texts())


def snapshot(model, select=lambda n: True):
    return {n: p.detach().clone() for n, p in model.named_parameters() if select(n)}


def unchanged(model, snap):
    params = dict(model.named_parameters())
    return all(torch.equal(params[n], v) for n, v in snap.items())


def test_toy_world_shares_only_the_anchors_and_tests_the_same_combinations(world):
    a, b = world.languages
    vocab = {lang: {w for s in world.corpus[lang] for w in s.split()} - {"."} for lang in (a, b)}
    assert vocab[a] & vocab[b] == set(world.anchors) and world.anchors
    assert len(world.task_test[a]) == len(world.task_test[b])
    # the same combination in both languages: the same label and the same word shape
    for (sa, ya), (sb, yb) in zip(world.task_test[a], world.task_test[b]):
        assert ya == yb and sa.replace(a, b) == sb
    train = {s for s, _ in world.task_train}
    assert not train & {s for s, _ in world.task_test[a]}  # held-out combinations
    no_anchor = toy_bilingual_world(n_entities=12, n_relations=3, values_per_relation=3, seed=1, shared_anchors=False)
    va, vb = ({w for s in no_anchor.corpus[lang] for w in s.split()} - {"."} for lang in (a, b))
    assert not va & vb and not no_anchor.anchors
    with pytest.raises(InputError):
        toy_bilingual_world(languages=("xa", "xa"))
    with pytest.raises(InputError):
        toy_bilingual_world(relations_per_entity=9)


def test_tagging_examples_put_the_label_on_the_tagged_word(world, tok):
    ex = tagging_examples(tok, world.task_train[:5], world.tag_word)
    for (text, label), e in zip(world.task_train, ex):
        tagged = [i for i, y in enumerate(e["labels"]) if y != -100]
        assert len(tagged) == 1 and e["labels"][tagged[0]] == label
        assert tok.convert_ids_to_tokens(e["input_ids"][tagged[0]]) == text.split()[world.tag_word]
    with pytest.raises(InputError):
        tagging_examples(tok, [("xadet0 .", 0)], word=5)


def test_swapping_the_language_adapter_changes_outputs_and_task_training_freezes_the_rest(world, tok):
    a, b = world.languages
    model = madx.lm_adapter_model(tiny_model("bert", len(tok), hidden=16, seed=0))
    base = snapshot(model)
    for lang in (a, b):
        madx.train_language_adapter(model, tok, world.corpus[lang], lang, reduction_factor=4, **OPTS)
    langs = snapshot(model, lambda n: f".{a}." in n or f".{b}." in n)
    assert langs and unchanged(model, base)
    model.add_tagging_head("task", num_labels=world.n_labels)
    head = snapshot(model, lambda n: n.startswith("heads.task."))
    train = tagging_examples(tok, world.task_train, world.tag_word)
    madx.train_task_adapter(
        model, tok, train, "task", a, objective="labels", train_head=True, reduction_factor=4, **OPTS
    )
    # only the task adapter and its head learned: base, LM head, language adapters bit for bit
    assert unchanged(model, base) and unchanged(model, langs)
    assert not unchanged(model, head)
    task = snapshot(model, lambda n: ".task." in n)
    assert any("adapters.task." in n for n in task)

    enc = tok([s for s, _ in world.task_test[b]], return_tensors="pt", padding=True)

    def out():
        model.eval()
        with torch.no_grad():
            return model(**enc).logits

    on_a = out()  # Stack(a, task) is active after training
    madx.activate(model, language=b, task="task")
    on_b = out()
    assert model.active_head == "task"
    assert not torch.allclose(on_a, on_b, atol=1e-5)  # the swap changes the outputs...
    assert unchanged(model, task) and unchanged(model, base) and unchanged(model, langs)  # ...not the weights
    madx.activate(model, language=a, task="task")
    assert torch.equal(out(), on_a)


def test_madx_zero_shot_reports_every_setting_and_leaves_the_base_alone(world, tok):
    model = tiny_model("bert", len(tok), hidden=16, seed=0)
    base = snapshot(model)
    res = madx_zero_shot(model, tok, world, language_steps=3, task_steps=3, language_reduction_factor=4, seed=0)
    acc = res["accuracy"]
    assert set(acc) == {"in_language", "madx", "source_adapter_on_target", "task_only", "task_only_in_language"}
    assert all(0.0 <= v <= 1.0 for v in acc.values())
    assert res["n_test"] == len(world.task_test[world.languages[1]]) and res["chance"] == 1 / world.n_labels
    assert unchanged(model, base)  # the experiment works on an adapter copy


def test_tagging_accuracy_matches_the_argmax_at_the_tagged_word(world, tok):
    model = madx.lm_adapter_model(tiny_model("bert", len(tok), hidden=16, seed=0))
    model.add_tagging_head("t", num_labels=world.n_labels)
    data = world.task_test[world.languages[0]]
    model.eval()
    hits = 0
    with torch.no_grad():
        for text, label in data:
            enc = tok(text, return_tensors="pt")
            pos = enc.word_ids(0).index(world.tag_word)
            hits += int(model(**enc).logits[0, pos].argmax()) == label
    assert tagging_accuracy(model, tok, data, world.tag_word, batch_size=4) == pytest.approx(hits / len(data))
    with pytest.raises(InputError):
        tagging_accuracy(model, tok, [], world.tag_word)
