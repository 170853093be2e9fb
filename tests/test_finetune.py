"""Tests of kgalign.lm.finetune: trainer, task vectors, sparse diffs / LT-SFT, Child-Tuning.

Tiny models are built from configs with a word-level tokenizer; nothing is downloaded.
"""

from __future__ import annotations

import copy
import math
import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from kgalign.errors import InputError, OutputExistsError  # noqa: E402
from kgalign.lm.finetune import (  # noqa: E402
    ChildTuningHook,
    ChildTuningOptimizer,
    GradientMaskHook,
    SparseDiff,
    TaskVector,
    Trainer,
    TrainerHook,
    fisher_information,
    fisher_mask,
    lt_sft,
    select_top_k,
    tiny_model,
    word_tokenizer,
)

FACTS = [
    ("paris is the capital of", "france"),
    ("berlin is the capital of", "germany"),
    ("rome is the capital of", "italy"),
    ("madrid is the capital of", "spain"),
]
TEXTS = [f"{s} {o} ." for s, o in FACTS] + [
    "the river flows into the sea",
    "a cat sat on the mat",
    "the city has an old bridge",
    "people speak many languages there",
]


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py


@pytest.fixture(scope="module")
def tok():
    return word_tokenizer(TEXTS)


def fact_examples(tok, facts=FACTS):
    """Cloze examples: '<subject> [MASK] .' with the object as the only label."""
    out = []
    for subj, obj in facts:
        ids = tok(f"{subj} {tok.mask_token} .")["input_ids"]
        pos = ids.index(tok.mask_token_id)
        labels = [-100] * len(ids)
        labels[pos] = tok.convert_tokens_to_ids(obj)
        out.append({"input_ids": ids, "labels": labels})
    return out


def predict_objects(model, tok, facts=FACTS):
    model.eval()
    preds = []
    with torch.no_grad():
        for subj, _ in facts:
            enc = tok(f"{subj} {tok.mask_token} .", return_tensors="pt")
            pos = enc["input_ids"][0].tolist().index(tok.mask_token_id)
            logits = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).logits
            preds.append(tok.convert_ids_to_tokens(int(logits[0, pos].argmax())))
    return preds


def params_of(model):
    return {n: p.detach().clone() for n, p in model.named_parameters()}


def same_weights(a, b):
    pa, pb = dict(a.named_parameters()), dict(b.named_parameters())
    return pa.keys() == pb.keys() and all(torch.equal(pa[n], pb[n]) for n in pa)


def fit(model, tok, data, **kw):
    args = dict(objective="mlm", lr=1e-2, batch_size=4, max_steps=20, progress=False, device="cpu")
    args.update(kw)
    return Trainer(model, tok, **args).train(data)


# --------------------------------------------------------------------- trainer
@pytest.mark.parametrize("arch,objective", [("bert", "mlm"), ("xlm-roberta", "mlm"), ("gpt2", "clm")])
def test_trainer_lowers_held_out_loss_of_training_text(tok, arch, objective):
    model = tiny_model(arch, len(tok))
    trainer = Trainer(
        model, tok, objective=objective, lr=1e-2, batch_size=4, max_steps=40, progress=False, device="cpu"
    )
    before = trainer.evaluate(TEXTS)
    result = trainer.train(TEXTS)
    after = trainer.evaluate(TEXTS)
    assert result.steps == 40 and len(result.train_losses) == 40
    assert after < 0.7 * before  # fixed evaluation masking: same tokens before and after
    assert not model.training


def test_trainer_is_seeded(tok):
    runs = []
    for seed in (3, 3, 4):
        model = tiny_model("bert", len(tok), dropout=0.1, seed=0)
        fit(model, tok, TEXTS, max_steps=5, seed=seed)
        runs.append(model)
    assert same_weights(runs[0], runs[1])
    assert not same_weights(runs[0], runs[2])


def test_trainer_only_updates_trainable_parameters(tok):
    model = tiny_model("bert", len(tok))
    for n, p in model.named_parameters():
        p.requires_grad_("encoder.layer.1" in n)
    before = params_of(model)
    fit(model, tok, TEXTS, max_steps=3)
    for n, p in model.named_parameters():
        assert torch.equal(p, before[n]) != ("encoder.layer.1" in n), n


def test_hooks_are_called_in_order(tok):
    calls = []

    class Rec(TrainerHook):
        def on_train_begin(self, t):
            calls.append("begin")

        def before_optimizer_step(self, t):
            assert all(p.grad is not None for p in t.trainable_parameters() if p.requires_grad)
            calls.append("before")

        def after_optimizer_step(self, t):
            calls.append("after")

        def on_train_end(self, t):
            calls.append("end")

    fit(tiny_model("bert", len(tok)), tok, TEXTS, max_steps=2, hooks=[Rec()])
    assert calls == ["begin", "before", "after", "before", "after", "end"]


def test_early_stopping_stops_after_patience_evaluations_without_improvement(tok):
    evals = []

    def loss_fn(model, batch):
        if model.training:
            return model(**batch).loss
        evals.append(1)  # evaluation loss rises with every evaluation
        return torch.tensor(float(len(evals)))

    model = tiny_model("bert", len(tok))
    r = fit(model, tok, TEXTS, max_steps=50, loss_fn=loss_fn, eval_data=TEXTS[:4], eval_every=2, patience=3)
    assert r.stopped_early
    assert r.steps == 2 * (1 + 3)  # best at the first evaluation, then 3 without improvement
    assert r.best_step == 2 and len(r.eval_losses) == 4


def test_restore_best_loads_the_weights_of_the_best_evaluation(tok):
    calls = []

    def loss_fn(model, batch):
        if model.training:
            return model(**batch).loss
        calls.append(1)
        return torch.tensor(float(len(calls)))

    model = tiny_model("bert", len(tok))
    ref = copy.deepcopy(model)
    r = fit(
        model,
        tok,
        TEXTS,
        max_steps=50,
        loss_fn=loss_fn,
        eval_data=TEXTS[:4],
        eval_every=2,
        patience=2,
        restore_best=True,
    )
    assert r.stopped_early and r.best_step == 2 and r.steps == 6
    fit(ref, tok, TEXTS, max_steps=2)  # same seed: the same first two steps
    assert same_weights(model, ref)


def test_early_stopping_on_training_loss_per_epoch_without_eval_data(tok):
    steps = []

    def loss_fn(model, batch):  # the training loss rises step after step
        steps.append(1)
        return model(**batch).loss * 0 + float(len(steps))

    model = tiny_model("bert", len(tok))
    r = fit(model, tok, TEXTS, max_steps=None, epochs=20, batch_size=4, loss_fn=loss_fn, patience=2)
    per_epoch = math.ceil(len(TEXTS) / 4)
    assert r.stopped_early and r.steps == per_epoch * 3 and len(r.eval_losses) == 3


def test_custom_task_head_loss(tok):
    """loss_fn replaces the LM loss: here a loss on the [CLS] hidden state only."""
    model = tiny_model("bert", len(tok))
    target = torch.ones(32)

    def loss_fn(m, batch):
        h = m.bert(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
        return ((h[:, 0] - target) ** 2).mean()

    t = Trainer(model, tok, loss_fn=loss_fn, lr=1e-2, max_steps=30, progress=False, device="cpu")
    before = t.evaluate(TEXTS)
    t.train(TEXTS)
    assert t.evaluate(TEXTS) < 0.5 * before


def test_trainer_rejects_bad_input(tok):
    model = tiny_model("bert", len(tok))
    with pytest.raises(InputError):
        Trainer(model, tok, objective="mlx")
    with pytest.raises(InputError):
        Trainer(model, tok, mlm_probability=0.0)
    t = Trainer(model, tok, progress=False, device="cpu")
    with pytest.raises(InputError, match="empty"):
        t.train([])
    with pytest.raises(InputError, match="example 1"):
        t.train(["a cat", {"input_ids": [2, 5], "labels": [1]}])
    with pytest.raises(InputError, match="labels"):
        Trainer(model, tok, objective="labels", progress=False, device="cpu").train(["a cat"])


# ---------------------------------------------------- planted fact, task vectors
@pytest.fixture(scope="module")
def planted(tok):
    pre = tiny_model("bert", len(tok), seed=1)
    ft = copy.deepcopy(pre)
    fit(ft, tok, fact_examples(tok), objective="labels", max_steps=40, lr=5e-3)
    return pre, ft


def test_training_plants_the_fact_and_negated_task_vector_forgets_it(tok, planted):
    pre, ft = planted
    answers = [o for _, o in FACTS]
    assert predict_objects(pre, tok) != answers  # the random model did not know them
    assert predict_objects(ft, tok) == answers  # P@1 = 1 after training
    tau = TaskVector.from_models(pre, ft)
    edited = tau.apply_to(copy.deepcopy(pre), 1.0)
    assert predict_objects(edited, tok) == answers
    forgotten = (-tau).apply_to(copy.deepcopy(ft), 1.0)
    preds = predict_objects(forgotten, tok)
    assert all(p != a for p, a in zip(preds, answers))
    assert preds == predict_objects(pre, tok)


def test_task_vector_algebra(tok, planted):
    pre, ft = planted
    tau = TaskVector.from_models(pre, ft)
    zero = tau + (-tau)
    assert all(torch.count_nonzero(v) == 0 for v in zero.vector.values())
    assert tau.norm() > 0
    # scaling 0 gives the pre-trained weights exactly
    assert same_weights(tau.apply_to(copy.deepcopy(pre), 0.0), pre)
    assert same_weights((0 * tau).apply_to(copy.deepcopy(pre)), pre)
    # applying with 1 recovers the fine-tuned weights (one float rounding)
    rebuilt = tau.apply_to(copy.deepcopy(pre), 1.0)
    for n, p in rebuilt.named_parameters():
        torch.testing.assert_close(p, dict(ft.named_parameters())[n], rtol=0, atol=1e-6)
    # analogy tau_C + tau_B - tau_A, entry by entry
    other = tiny_model("bert", len(tok), seed=7)
    tau_b = TaskVector.from_models(pre, other)
    tau_c = 0.5 * tau
    ana = TaskVector.analogy(tau, tau_b, tau_c)
    for n, v in ana.vector.items():
        torch.testing.assert_close(v, tau_c.vector[n] + tau_b.vector[n] - tau.vector[n])
    # scalar multiplication distributes over the entries
    two = 2 * tau
    for n, v in two.vector.items():
        assert torch.equal(v, tau.vector[n] * 2)


def test_task_vector_applies_tied_weights_once(tok, planted):
    pre, ft = planted
    tau = TaskVector.from_models(pre, ft)
    emb = "bert.embeddings.word_embeddings.weight"
    assert emb in tau.vector and "cls.predictions.decoder.weight" not in tau.vector
    model = tau.apply_to(copy.deepcopy(pre))
    torch.testing.assert_close(
        model.cls.predictions.decoder.weight, ft.bert.embeddings.word_embeddings.weight, rtol=0, atol=1e-6
    )


def test_task_vector_save_load_round_trip(tmp_path, planted):
    pre, ft = planted
    tau = TaskVector.from_models(pre, ft)
    tau.save(tmp_path / "tv")
    assert sorted(os.listdir(tmp_path / "tv")) == ["task_vector.json", "task_vector.safetensors"]
    back = TaskVector.load(tmp_path / "tv")
    assert back.vector.keys() == tau.vector.keys()
    assert all(torch.equal(back.vector[n], v) for n, v in tau.vector.items())
    with pytest.raises(OutputExistsError):
        tau.save(tmp_path / "tv")
    tau.save(tmp_path / "tv", force=True)


def test_loading_never_unpickles(tmp_path, planted):
    pre, ft = planted
    d = tmp_path / "bad"
    d.mkdir()
    # a torch pickle under the safetensors name must be refused, not executed
    torch.save({"x": torch.zeros(2)}, d / "task_vector.safetensors")
    (d / "task_vector.json").write_text('{"kind": "task_vector", "format_version": 1, "names": ["x"]}')
    with pytest.raises(InputError, match="task_vector.safetensors"):
        TaskVector.load(d)
    (d / "task_vector.json").write_text('{"kind": "task_vector",\n "format_version": 1,,}')
    with pytest.raises(InputError, match=r"task_vector.json:2"):
        TaskVector.load(d)
    with pytest.raises(InputError, match="sparse_diff"):
        SparseDiff.load(d)


# ------------------------------------------------------------- sparse diffs
def random_diff(model, n_per_tensor, seed, dyadic=False):
    g = torch.Generator().manual_seed(seed)
    entries, shapes = {}, {}
    for name, p in list(model.named_parameters())[:6]:
        idx = torch.randperm(p.numel(), generator=g)[:n_per_tensor]
        val = torch.randn(idx.numel(), generator=g)
        if dyadic:  # multiples of 2**-4: exactly representable after adding to weights of |w| < 2
            val = torch.round(val * 16) / 16
        entries[name] = (idx, val)
        shapes[name] = tuple(p.shape)
    return SparseDiff(entries, shapes)


def test_sparse_diff_apply_then_revert_is_identity(tok):
    model = tiny_model("bert", len(tok))
    before = params_of(model)
    diff = random_diff(model, 10, seed=0)
    diff.apply(model)
    changed = {n for n, p in model.named_parameters() if not torch.equal(p, before[n])}
    assert changed == set(diff.entries)
    diff.revert(model)
    for n, p in model.named_parameters():
        # (w + v) - v == w up to one rounding of w + v
        bound = torch.finfo(torch.float32).eps * (before[n].abs() + diff.dense().get(n, torch.zeros(())).abs())
        assert bool(((p - before[n]).abs() <= bound).all()), n
    exact = random_diff(model, 10, seed=1, dyadic=True)
    model2 = tiny_model("bert", len(tok))
    with torch.no_grad():  # weights on a 2**-10 grid so that every sum is exact
        for p in model2.parameters():
            p.copy_(torch.round(p * 1024) / 1024)
    ref = params_of(model2)
    exact.revert(exact.apply(model2))
    assert all(torch.equal(p, ref[n]) for n, p in model2.named_parameters())


def test_sparse_diff_composition(tok):
    model = tiny_model("bert", len(tok))
    a, b = random_diff(model, 12, seed=2), random_diff(model, 12, seed=3)
    both = a + b
    dense_a, dense_b, dense_ab = a.dense(), b.dense(), both.dense()
    for n in dense_ab:
        torch.testing.assert_close(dense_ab[n], dense_a.get(n, 0) + dense_b.get(n, 0))
        union = (dense_a[n] != 0) | (dense_b[n] != 0)
        assert int(both.mask()[n].sum()) == int(union.sum())
    m1, m2 = tiny_model("bert", len(tok)), tiny_model("bert", len(tok))
    both.apply(m1)
    b.apply(a.apply(m2))
    for (_n, p1), p2 in zip(m1.named_parameters(), m2.parameters()):
        torch.testing.assert_close(p1, p2, rtol=0, atol=1e-6)
    assert all(torch.count_nonzero(v) == 0 for v in (a - a).dense().values())


def test_sparse_diff_save_load_and_task_vector(tmp_path, tok):
    model = tiny_model("bert", len(tok))
    diff = random_diff(model, 7, seed=4)
    diff.save(tmp_path / "d")
    back = SparseDiff.load(tmp_path / "d")
    assert back.shapes == diff.shapes and back.nnz == diff.nnz
    for n, (i, v) in diff.entries.items():
        assert torch.equal(back.entries[n][0], i) and torch.equal(back.entries[n][1], v)
    tv = TaskVector.from_sparse_diff(diff)
    m1, m2 = tiny_model("bert", len(tok)), tiny_model("bert", len(tok))
    diff.apply(m1)
    tv.apply_to(m2)
    assert same_weights(m1, m2)  # w + v and w + 0 are the same floats either way
    with pytest.raises(InputError):
        SparseDiff({"x": (torch.tensor([5]), torch.tensor([1.0]))}, {"x": (2, 2)})


def test_select_top_k_is_global_and_exact():
    g = torch.Generator().manual_seed(0)
    t = {"a": torch.randn(5, 7, generator=g), "b": torch.randn(11, generator=g) * 3}
    m = select_top_k(t, k=9)
    assert sum(int(x.sum()) for x in m.values()) == 9
    kept = torch.cat([t[n].abs()[m[n]] for n in t])
    dropped = torch.cat([t[n].abs()[~m[n]] for n in t])
    assert kept.min() >= dropped.max()
    m = select_top_k(t, density=0.5)
    assert sum(int(x.sum()) for x in m.values()) == round(0.5 * 46)
    with pytest.raises(InputError):
        select_top_k(t)


def test_lt_sft_changes_exactly_the_selected_parameters(tok):
    model = tiny_model("bert", len(tok), seed=2)
    theta0 = params_of(model)
    k = 500
    diff = lt_sft(
        model,
        TEXTS,
        k=k,
        tokenizer=tok,
        full_steps=10,
        sparse_steps=10,
        trainer_kwargs=dict(lr=1e-2, batch_size=4, progress=False, device="cpu", weight_decay=0.01),
    )
    assert diff.nnz == k
    mask = diff.mask()
    changed_total = 0
    for n, p in model.named_parameters():
        changed = p.detach() != theta0[n]
        if n in mask:
            assert not bool((changed & ~mask[n]).any()), n  # nothing outside the ticket moved
            changed_total += int(changed.sum())
        else:
            assert not bool(changed.any()), n
    assert changed_total >= 0.9 * k  # and the ticket itself was trained
    # the diff is theta_2 - theta_0: reverting it gives theta_0 back
    diff.revert(model)
    for n, p in model.named_parameters():
        torch.testing.assert_close(p, theta0[n], rtol=0, atol=1e-6)
    # default freezing (composable-sft's scripts): embeddings, LM head and LayerNorm are fixed
    from kgalign.lm.finetune.sparse import frozen_by

    frozen = frozen_by(model, ("embeddings", "head", "layer_norm"))
    assert not any(frozen(n) for n in mask)
    assert any(frozen(n) for n, _ in model.named_parameters())


class _PhaseEnd(TrainerHook):
    """Records the weights at the end of each training phase."""

    def __init__(self):
        self.ends = []

    def on_train_end(self, trainer):
        self.ends.append({n: p.detach().clone() for n, p in trainer.model.named_parameters()})


def test_lt_sft_ticket_is_the_top_k_of_the_phase_one_change(tok):
    """Fails for a random ticket: every kept entry moved at least as much as every dropped one."""
    model = tiny_model("bert", len(tok), seed=3)
    theta0 = params_of(model)
    rec = _PhaseEnd()
    k = 400
    diff = lt_sft(
        model,
        TEXTS,
        k=k,
        tokenizer=tok,
        full_steps=8,
        sparse_steps=2,
        trainer_kwargs=dict(lr=1e-2, batch_size=4, progress=False, device="cpu", hooks=[rec]),
    )
    phase1 = rec.ends[0]
    mask = diff.mask()
    moved = {n: (phase1[n] - theta0[n]).abs() for n in mask}
    kept = torch.cat([moved[n][mask[n]] for n in mask])
    dropped = torch.cat([moved[n][~mask[n]] for n in mask])
    assert kept.numel() == k and kept.min() >= dropped.max()
    # a random ticket of the same size would violate it (the check has power on this model)
    g = torch.Generator().manual_seed(0)
    flat = torch.cat([moved[n].reshape(-1) for n in mask])
    rand = torch.zeros(flat.numel(), dtype=torch.bool)
    rand[torch.randperm(flat.numel(), generator=g)[:k]] = True
    assert flat[rand].min() < flat[~rand].max()
    # the reference script's frozen groups never enter the ticket, and never move
    from kgalign.lm.finetune.sparse import frozen_by

    frozen = frozen_by(model, ("embeddings", "head", "layer_norm"))
    for n, p in model.named_parameters():
        if frozen(n):
            assert torch.equal(p.detach(), theta0[n]) and torch.equal(phase1[n], theta0[n]), n
    # freeze=() lets them in again
    model2 = tiny_model("bert", len(tok), seed=3)
    rec2 = _PhaseEnd()
    lt_sft(
        model2,
        TEXTS,
        k=k,
        tokenizer=tok,
        full_steps=8,
        sparse_steps=1,
        freeze=(),
        trainer_kwargs=dict(lr=1e-2, batch_size=4, progress=False, device="cpu", hooks=[rec2]),
    )
    assert any(frozen(n) and not torch.equal(rec2.ends[0][n], theta0[n]) for n in theta0)
    with pytest.raises(InputError):
        lt_sft(model2, TEXTS, k=k, tokenizer=tok, freeze=("bias",), trainer_kwargs=dict(progress=False))


def test_lt_sft_diff_carries_the_planted_facts(tok, planted):
    pre, _ = planted
    answers = [o for _, o in FACTS]
    model = copy.deepcopy(pre)
    diff = lt_sft(
        model,
        fact_examples(tok),
        density=0.2,
        tokenizer=tok,
        full_steps=40,
        sparse_steps=80,
        trainer_kwargs=dict(objective="labels", lr=5e-3, batch_size=4, progress=False, device="cpu"),
    )
    assert predict_objects(model, tok) == answers  # P@1 = 1 with 20 % of the weights
    fresh = diff.apply(copy.deepcopy(pre))  # the diff alone carries the facts to a fresh copy
    assert predict_objects(fresh, tok) == answers
    assert predict_objects(diff.revert(model), tok) == predict_objects(pre, tok)


def test_l1_hook_adds_the_sign_subgradient_and_shrinks_the_difference(tok):
    from kgalign.lm.finetune import L1TowardsInitHook

    w = torch.nn.Parameter(torch.tensor([1.0, 2.0, 3.0]))

    class Stub:
        model = torch.nn.ParameterDict({"w": w})

    hook = L1TowardsInitHook(0.5, normalize=False)
    hook.on_train_begin(Stub)
    with torch.no_grad():
        w.add_(torch.tensor([0.1, -0.2, 0.0]))
    w.grad = torch.zeros(3)
    hook.before_optimizer_step(Stub)
    assert torch.equal(w.grad, torch.tensor([0.5, -0.5, 0.0]))
    # normalised as in composable-sft: the coefficient is divided by the model's parameter count
    hook = L1TowardsInitHook(0.6)
    hook.on_train_begin(Stub)
    with torch.no_grad():
        w.add_(torch.tensor([0.1, -0.2, 0.0]))
    w.grad = torch.zeros(3)
    hook.before_optimizer_step(Stub)
    torch.testing.assert_close(w.grad, torch.tensor([0.2, -0.2, 0.0]))

    deltas = []
    for reg in (0.0, 0.001):  # pull lr * reg = 5e-5 per step, below the typical step (~1e-4)
        model = tiny_model("bert", len(tok), seed=5)
        start = params_of(model)
        fit(
            model,
            tok,
            TEXTS,
            max_steps=8,
            optimizer_factory=lambda ps: torch.optim.SGD(ps, lr=0.05),
            hooks=[L1TowardsInitHook(reg, normalize=False)],
        )
        deltas.append(sum(float((p.detach() - start[n]).abs().sum()) for n, p in model.named_parameters()))
    assert deltas[1] < deltas[0]


def test_gradient_mask_hook_keeps_unmasked_entries_fixed(tok):
    model = tiny_model("bert", len(tok))
    name = "bert.encoder.layer.0.attention.self.query.weight"
    g = torch.Generator().manual_seed(0)
    mask = torch.rand(model.get_parameter(name).shape, generator=g) < 0.3
    for n, p in model.named_parameters():
        p.requires_grad_(n == name)
    before = params_of(model)
    fit(model, tok, TEXTS, max_steps=5, hooks=[GradientMaskHook({name: mask})], weight_decay=0.1)
    changed = model.get_parameter(name).detach() != before[name]
    assert not bool((changed & ~mask).any()) and bool(changed.any())


# ------------------------------------------------------------- Child-Tuning
def test_child_tuning_f_mask_density_and_rescaling():
    p_keep = 0.3
    w = torch.nn.Parameter(torch.zeros(200, 100))
    opt = ChildTuningOptimizer(torch.optim.SGD([w], lr=1.0), mode="F", reserve_p=p_keep, seed=1)
    w.grad = torch.ones_like(w)
    opt.step()
    step = -w.detach()
    kept = step != 0
    n = w.numel()
    density = float(kept.float().mean())
    assert abs(density - p_keep) < 5 * math.sqrt(p_keep * (1 - p_keep) / n)
    torch.testing.assert_close(step[kept], torch.full_like(step[kept], 1 / p_keep))
    # a fresh mask every step
    w.grad = torch.ones_like(w)
    before = w.detach().clone()
    opt.step()
    assert not torch.equal((w.detach() - before) != 0, kept)


def test_child_tuning_f_with_p_one_equals_adamw(tok):
    a = tiny_model("bert", len(tok))
    b = copy.deepcopy(a)
    fit(
        a,
        tok,
        TEXTS,
        max_steps=4,
        weight_decay=0.01,
        optimizer_factory=lambda ps: torch.optim.AdamW(ps, lr=1e-2, weight_decay=0.01),
    )
    fit(
        b,
        tok,
        TEXTS,
        max_steps=4,
        weight_decay=0.01,
        optimizer_factory=lambda ps: ChildTuningOptimizer(
            torch.optim.AdamW(ps, lr=1e-2, weight_decay=0.01), mode="F", reserve_p=1.0
        ),
    )
    assert same_weights(a, b)
    c = copy.deepcopy(b)
    fit(c, tok, TEXTS, max_steps=1, hooks=[ChildTuningHook("F", reserve_p=1.0)])
    d = copy.deepcopy(b)
    fit(d, tok, TEXTS, max_steps=1)
    assert same_weights(c, d)


def test_child_tuning_f_hook_masks_about_p_of_each_update(tok):
    model = tiny_model("bert", len(tok))
    name = "bert.encoder.layer.0.intermediate.dense.weight"
    before = params_of(model)
    fit(
        model,
        tok,
        TEXTS,
        max_steps=1,
        hooks=[ChildTuningHook("F", reserve_p=0.25, seed=3)],
        optimizer_factory=lambda ps: torch.optim.SGD(ps, lr=1.0),
    )
    moved = float((model.get_parameter(name).detach() != before[name]).float().mean())
    n = before[name].numel()
    assert abs(moved - 0.25) < 5 * math.sqrt(0.25 * 0.75 / n)


def test_child_tuning_d_mask_keeps_the_stated_proportion(tok):
    model = tiny_model("bert", len(tok))
    before = params_of(model)
    fisher = fisher_information(
        model, TEXTS, tokenizer=tok, batch_size=4, device="cpu", include=lambda n: "encoder" in n
    )
    assert all(torch.equal(p, before[n]) for n, p in model.named_parameters())
    assert all(n.startswith("bert.encoder") for n in fisher)
    total = sum(f.numel() for f in fisher.values())
    for p_keep in (0.1, 0.3):
        masks = fisher_mask(fisher, p_keep)
        assert sum(int(m.sum()) for m in masks.values()) == round(p_keep * total)
        kept = torch.cat([fisher[n][m] for n, m in masks.items()])
        dropped = torch.cat([fisher[n][~m] for n, m in masks.items()])
        assert kept.min() >= dropped.max()  # one global threshold
    masks = fisher_mask(fisher, 0.1)
    fit(model, tok, TEXTS, max_steps=3, hooks=[ChildTuningHook("D", masks=masks)])
    moved = 0
    for n, p in model.named_parameters():
        changed = p.detach() != before[n]
        if n in masks:
            assert not bool((changed & ~masks[n]).any()), n
            moved += int(changed.sum())
    assert moved >= 0.5 * round(0.1 * total)  # the child network itself was trained
    # the wrapper form gives the same weights as the hook form
    other = tiny_model("bert", len(tok))
    fit(
        other,
        tok,
        TEXTS,
        max_steps=3,
        optimizer_factory=lambda ps: ChildTuningOptimizer(
            torch.optim.AdamW(ps, lr=1e-2, weight_decay=0.0),
            mode="D",
            masks=ChildTuningOptimizer.masks_by_param(other, masks),
        ),
    )
    assert same_weights(model, other)


def test_child_tuning_rejects_bad_arguments():
    w = torch.nn.Parameter(torch.zeros(3))
    with pytest.raises(InputError):
        ChildTuningOptimizer(torch.optim.SGD([w], lr=1), mode="F", reserve_p=0.0)
    with pytest.raises(InputError):
        ChildTuningOptimizer(torch.optim.SGD([w], lr=1), mode="D")
    with pytest.raises(InputError):
        ChildTuningHook("X")
    with pytest.raises(InputError):
        fisher_mask({"a": torch.ones(3)}, 1.5)


# ------------------------------------------------------------- documentation
def test_docs_examples_run(tmp_path, monkeypatch):
    """Every python block of the README's fine-tuning section runs, in order, in one namespace."""
    import re
    from pathlib import Path

    doc = Path(__file__).resolve().parents[1] / "README.md"
    text = doc.read_text(encoding="utf-8")
    start = text.index("## Fine-tuning engine")
    end = text.find("\n## ", start + 1)
    section = text[start:] if end < 0 else text[start:end]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert len(blocks) >= 5
    monkeypatch.chdir(tmp_path)
    ns: dict = {}
    for block in blocks:
        exec(compile(block, str(doc), "exec"), ns)
    facts = ns["facts"]
    assert [ns["top1"](ns["ft"], s) for s, _ in facts] == [o for _, o in facts]
    assert all(ns["top1"](ns["forgot"], s) != o for s, o in facts)
    assert (tmp_path / "out" / "facts_adapter" / "adapter.safetensors").is_file()


def test_lt_sft_sparse_lr_drives_phase_two_only(tok):
    kw = dict(lr=1e-2, batch_size=4, progress=False, device="cpu")
    model = tiny_model("bert", len(tok), seed=2)
    theta0 = params_of(model)
    # a vanishing phase-2 rate: the ticket is selected from phase 1 but barely moves in phase 2
    diff = lt_sft(model, TEXTS, k=300, tokenizer=tok, full_steps=5, sparse_steps=5, trainer_kwargs=kw, sparse_lr=1e-30)
    assert diff.nnz == 300
    assert max(float((p.detach() - theta0[n]).abs().max()) for n, p in model.named_parameters()) < 1e-20
    model = tiny_model("bert", len(tok), seed=2)
    moved = lt_sft(model, TEXTS, k=300, tokenizer=tok, full_steps=5, sparse_steps=5, trainer_kwargs=kw)
    assert max(float((p.detach() - theta0[n]).abs().max()) for n, p in model.named_parameters()) > 1e-4
    assert moved.nnz == 300
    with pytest.raises(InputError, match="sparse_lr"):
        lt_sft(model, TEXTS, k=10, tokenizer=tok, trainer_kwargs=kw, sparse_lr=0.0)


# ------------------------------------------------------------- task-vector scaling
def test_task_vector_scaling_coef_is_chosen_on_validation_data():
    from kgalign.lm.finetune import TaskVector

    torch.manual_seed(0)
    pre = torch.nn.Linear(4, 1, bias=False)
    ft = copy.deepcopy(pre)
    with torch.no_grad():
        ft.weight.add_(torch.randn(1, 4))
    tau = TaskVector.from_models(pre, ft)
    x = torch.randn(32, 4)
    # validation targets made by theta_pre + 0.3 * tau: the best lambda on the grid is 0.3
    with torch.no_grad():
        y = x @ (pre.weight + 0.3 * (ft.weight - pre.weight)).T

    def score(m):
        with torch.no_grad():
            return -float(((m(x) - y) ** 2).mean())

    coef, recs = tau.select_scaling_coef(pre, score)
    assert coef == pytest.approx(0.3) and len(recs) == 21
    assert torch.equal(pre.weight, TaskVector.from_models(pre, pre).apply_to(copy.deepcopy(pre)).weight)
    with pytest.raises(InputError):
        tau.select_scaling_coef(pre, score, sign=-1)  # forgetting needs a control task


def gold_logprob(model, tok, facts):
    model.eval()
    total = 0.0
    with torch.no_grad():
        for subj, obj in facts:
            enc = tok(f"{subj} {tok.mask_token} .", return_tensors="pt")
            pos = enc["input_ids"][0].tolist().index(tok.mask_token_id)
            lp = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).logits[0, pos].log_softmax(-1)
            total += float(lp[tok.convert_tokens_to_ids(obj)])
    return total / len(facts)


def test_negated_task_vector_forgets_a_known_task_and_keeps_the_control(tok):
    """Ilharco et al.'s forgetting experiment on a model that knows the task."""
    from kgalign.lm.finetune import TaskVector

    task, control = FACTS[:2], FACTS[2:]
    knows = tiny_model("bert", len(tok), seed=4)
    fit(knows, tok, fact_examples(tok), objective="labels", max_steps=60, lr=5e-3)
    assert predict_objects(knows, tok) == [o for _, o in FACTS]  # theta_pre knows task and control
    ft = copy.deepcopy(knows)
    fit(ft, tok, fact_examples(tok, task), objective="labels", max_steps=30, lr=5e-3)
    tau = TaskVector.from_models(knows, ft)
    coef, recs = tau.select_scaling_coef(
        knows,
        lambda m: gold_logprob(m, tok, task),
        coefs=[0, 0.25, 0.5, 1, 2, 4, 8],
        control=lambda m: sum(p == o for p, (_, o) in zip(predict_objects(m, tok, control), control)) / len(control),
        keep=1.0,
        sign=-1,
    )
    chosen = tau.apply_to(copy.deepcopy(knows), scaling_coef=-coef)
    assert coef > 0, recs
    assert gold_logprob(chosen, tok, task) < gold_logprob(knows, tok, task) - 0.5  # the task is forgotten ...
    assert predict_objects(chosen, tok, control) == [o for _, o in control]  # ... the control is kept
