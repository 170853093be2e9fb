"""Model-level edits on a tiny planted BERT: reliability, locality, exact revert, negation, storage."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

EN = "[X] was born in [Y] ."
FR = "[X] est né à [Y] ."
PEOPLE = [f"p{i}" for i in range(12)]
CITIES = ["c0", "c1", "c2", "c3"]
# locality is measured on p6..p11 (12 prompts, both languages); p1..p5 are the "preserve" set
# trained alongside the edit; tolerance: at most 1 of the 12 locality prompts may change
LOCALITY_TOL = 1 / 12


@pytest.fixture(scope="module")
def planted():
    """A 2-layer BERT that states 12 birth places in English and French (names differ by language)."""
    from kgalign.lm.finetune import Trainer, tiny_model, word_tokenizer
    from kgalign.lm.probing.lm import MaskedLMProber
    from kgalign.lm.probing.templates import Template

    old = torch.get_num_threads()
    torch.set_num_threads(1)
    en, fr = Template(EN, "birthPlace", "en"), Template(FR, "birthPlace", "fr")
    facts = {p: CITIES[i % 4] for i, p in enumerate(PEOPLE)}
    lines = [en.fill(p, c) for p, c in facts.items()] + [fr.fill("f" + p, "f" + c) for p, c in facts.items()]
    tok = word_tokenizer(lines)
    model = tiny_model("bert", len(tok), layers=2, hidden=64, heads=2, seed=0)
    prober = MaskedLMProber(model, tok)

    def ex(t, s, o):
        ids, pos = prober.query_ids(t, s, 1)
        lab = [-100] * len(ids)
        lab[pos[0]] = prober.tokens(o)[0]
        return {"input_ids": ids, "labels": lab}

    data = [ex(en, p, c) for p, c in facts.items()] + [ex(fr, "f" + p, "f" + c) for p, c in facts.items()]
    Trainer(
        model, tok, objective="labels", lr=1e-3, max_steps=300, batch_size=24, progress=False, seed=0, device="cpu"
    ).train(data)
    model.eval()
    yield model, prober, en, fr, facts, lines
    torch.set_num_threads(old)


def _edit(en, fr):
    from kgalign.lm.editing.facts import FactEdit

    # p0 was born in c0; the correction says c3 (fp0 / fc3 in French)
    return FactEdit(
        {"en": "p0", "fr": "fp0"},
        {"en": en, "fr": fr},
        {"en": "c3", "fr": "fc3"},
        {"en": "c0", "fr": "fc0"},
        source_lang="en",
    )


def _locality(prober, en, fr):
    from kgalign.lm.editing.metrics import predict_tokens

    loc = {"en": [(en, p, 1) for p in PEOPLE[6:]], "fr": [(fr, "f" + p, 1) for p in PEOPLE[6:]]}
    return loc, {lang: predict_tokens(prober, v) for lang, v in loc.items()}


def _state(model):
    return {n: t.detach().clone() for n, t in model.state_dict().items()}


def _same(model, ref):
    return all(torch.equal(t, ref[n]) for n, t in model.state_dict().items())


@pytest.mark.parametrize("method", ["ft-child", "ft-kl"])
def test_edit_is_reliable_local_and_reverts_bit_for_bit(planted, method):
    from kgalign.lm.editing import apply_edits, edit_metrics
    from kgalign.lm.editing.metrics import predict_tokens

    model, prober, en, fr, facts, _lines = planted
    fe = _edit(en, fr)
    loc, before = _locality(prober, en, fr)
    # the model was planted: every fact is predicted in both languages
    assert all(
        predict_tokens(prober, [(en, p, 1), (fr, "f" + p, 1)]) == [prober.tokens(c), prober.tokens("f" + c)]
        for p, c in facts.items()
    )
    ref = _state(model)
    pre = edit_metrics(prober, [fe], "en", "fr", loc, before)
    assert pre["reliability"]["em"] == 0.0  # the new object is not already predicted
    preserve = [(en, p, 1) for p in PEOPLE[1:6]] + [(fr, "f" + p, 1) for p in PEOPLE[1:6]]
    ae = apply_edits(model, prober, [fe], method, ["en", "fr"], preserve=preserve)
    try:
        res = edit_metrics(prober, [fe], "en", "fr", loc, before)
        assert ae.nnz > 0
        assert res["reliability"]["em"] == 1.0
        assert res["generality_crosslingual"]["em"] == 1.0  # trained in both languages
        assert res["locality"]["mean"] >= 1 - LOCALITY_TOL
    finally:
        ae.revert(model)
    assert _same(model, ref)


def test_rome_changes_one_matrix_by_a_rank_one_update(planted):
    from kgalign.lm.editing import apply_edits

    model, prober, en, fr, _facts, lines = planted
    ref = _state(model)
    ae = apply_edits(model, prober, [_edit(en, fr)], "rome", ["en"], texts=lines)
    try:
        (name,) = ae.delta.entries  # locate-then-edit: one weight matrix only
        assert name == "bert.encoder.layer.0.output.dense.weight"
        dense = ae.delta.dense()[name].double()
        assert int(torch.linalg.matrix_rank(dense, rtol=1e-6)) == 1  # one key -> rank one (ROME eq. 2)
    finally:
        ae.revert(model)
    assert _same(model, ref)


def test_ft_kl_stays_in_its_scope_and_ball(planted):
    """ft-kl with scope 'ffn' and max_change moves only feed-forward weights, each by <= max_change."""
    from kgalign.lm.editing import apply_edits

    model, prober, en, fr, _facts, _lines = planted
    ref = _state(model)
    preserve = [(en, p, 1) for p in PEOPLE[1:6]]
    ae = apply_edits(model, prober, [_edit(en, fr)], "ft-kl", ["en"], preserve=preserve, scope="ffn", max_change=0.05)
    try:
        changed = set(ae.delta.entries)
        assert changed and all(".intermediate.dense." in n or ".output.dense." in n for n in changed)
        assert not any(".attention." in n for n in changed)
        assert max(float(v.abs().max()) for _, v in ae.delta.entries.values()) <= 0.05 + 1e-6
        assert ae.meta["info"]["locality_prompts"] == len(preserve)
    finally:
        ae.revert(model)
    assert _same(model, ref)


def test_saved_edit_reverts_a_reloaded_model_and_negation_removes_it(planted, tmp_path):
    from kgalign.lm.editing import AppliedEdit, apply_edits
    from kgalign.lm.editing.metrics import predict_tokens

    model, prober, en, fr, _facts, lines = planted
    fe = _edit(en, fr)
    ref = _state(model)
    ae = apply_edits(model, prober, [fe], "ft-child", ["en"], preserve=[(en, p, 1) for p in PEOPLE[1:6]])
    assert predict_tokens(prober, [(en, "p0", 1)])[0] == prober.tokens("c3")
    ae.save(tmp_path / "edit")
    loaded = AppliedEdit.load(tmp_path / "edit")
    assert loaded.nnz == ae.nnz and loaded.meta["method"] == "ft-child"
    edited = _state(model)
    loaded.negate(model)  # task-vector negation: the edit is gone (up to rounding)
    assert predict_tokens(prober, [(en, "p0", 1)])[0] == prober.tokens("c0")
    model.load_state_dict(edited)
    loaded.revert(model)  # exact: the stored pre-edit values
    assert _same(model, ref)


def test_sequential_edits_revert_in_reverse_order(planted):
    from kgalign.lm.editing import apply_edits
    from kgalign.lm.editing.facts import FactEdit

    model, prober, en, fr, _facts, lines = planted
    ref = _state(model)
    applied = []
    for p, c in (("p0", "c3"), ("p1", "c0"), ("p2", "c1")):
        fe = FactEdit({"en": p}, {"en": en}, {"en": c}, source_lang="en")
        applied.append(apply_edits(model, prober, [fe], "rome", ["en"], texts=lines))
    assert not _same(model, ref)
    for ae in reversed(applied):
        ae.revert(model)
    assert _same(model, ref)


def test_unknown_method_and_option_are_input_errors(planted):
    from kgalign.errors import InputError
    from kgalign.lm.editing import apply_edits

    model, prober, en, fr, _facts, _lines = planted
    with pytest.raises(InputError, match="unknown edit method"):
        apply_edits(model, prober, [_edit(en, fr)], "memit-xl", ["en"])
    with pytest.raises(InputError, match="unknown option"):
        apply_edits(model, prober, [_edit(en, fr)], "rome", ["en"], alpha=3)


def test_token_f1_and_em_definitions():
    from kgalign.lm.editing.metrics import token_f1

    assert token_f1([1, 2], [1, 2]) == 1.0
    assert token_f1([1, 3], [1, 2]) == pytest.approx(0.5)
    assert token_f1([3], [1, 2]) == 0.0
    assert token_f1([], [1]) == 0.0
