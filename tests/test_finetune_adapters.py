"""Tests of kgalign.lm.finetune.madx: bottleneck adapters and MAD-X via AdapterHub ``adapters``."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

torch = pytest.importorskip("torch")
pytest.importorskip("adapters")

from kgalign.errors import InputError, OutputExistsError  # noqa: E402
from kgalign.lm.finetune import madx, tiny_model, word_tokenizer  # noqa: E402

EN = ["paris is the capital of france .", "a cat sat on the mat .", "the river flows into the sea ."]
FR = ["paris est la capitale de la france .", "le chat est sur le tapis .", "la riviere coule vers la mer ."]
OPTS = dict(lr=1e-2, max_steps=6, batch_size=3, progress=False, device="cpu")


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py


@pytest.fixture(scope="module")
def tok():
    return word_tokenizer(EN + FR)


def snapshot(model, select=lambda n: True):
    return {n: p.detach().clone() for n, p in model.named_parameters() if select(n)}


def is_adapter(name):
    return "adapters." in name


def unchanged(model, snap):
    params = dict(model.named_parameters())
    return all(torch.equal(params[n], v) for n, v in snap.items())


def logits(model, tok, text):
    enc = tok(text, return_tensors="pt")
    model.eval()
    with torch.no_grad():
        return model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).logits


def fact_examples(tok):
    ex = []
    for text in EN[:1]:
        words = text.split()
        ids = tok(" ".join(words[:-2] + [tok.mask_token, "."]))["input_ids"]
        labels = [-100] * len(ids)
        labels[ids.index(tok.mask_token_id)] = tok.convert_tokens_to_ids(words[-2])
        ex.append({"input_ids": ids, "labels": labels})
    return ex


@pytest.mark.parametrize("arch", ["bert", "xlm-roberta", "gpt2"])
def test_madx_language_swap_changes_outputs_but_not_base_weights(tok, arch):
    objective = "clm" if arch == "gpt2" else "mlm"
    model = madx.lm_adapter_model(tiny_model(arch, len(tok), seed=0))
    base = snapshot(model)
    r_en = madx.train_language_adapter(model, tok, EN, "en", objective=objective, reduction_factor=4, **OPTS)
    assert r_en.steps == OPTS["max_steps"]
    assert unchanged(model, base)  # language adapters train on a frozen base (head included)
    en_weights = snapshot(model, lambda n: ".en." in n)
    assert en_weights and any("invertible_adapters.en" in n for n in en_weights)
    madx.train_language_adapter(model, tok, FR, "fr", objective=objective, reduction_factor=4, **OPTS)
    assert unchanged(model, base) and unchanged(model, en_weights)

    if arch == "gpt2":
        task_data, task_objective = EN, "clm"
    else:
        task_data, task_objective = fact_examples(tok), "labels"
    madx.train_task_adapter(model, tok, task_data, "facts", "en", objective=task_objective, reduction_factor=4, **OPTS)
    assert unchanged(model, base) and unchanged(model, en_weights)  # only the task adapter learned
    assert str(model.active_adapters) == str(madx_stack("en", "facts"))

    text = EN[0]
    out_en = logits(madx.activate(model, language="en", task="facts"), tok, text)
    out_fr = logits(madx.activate(model, language="fr", task="facts"), tok, text)
    out_en_again = logits(madx.activate(model, language="en", task="facts"), tok, text)
    assert not torch.allclose(out_en, out_fr, atol=1e-4)  # the swap changes the outputs
    assert torch.equal(out_en, out_en_again)  # and is reversible
    assert unchanged(model, base)
    bare = logits(madx.activate(model), tok, text)
    reference = tiny_model(arch, len(tok), seed=0)
    torch.testing.assert_close(bare, logits(reference, tok, text))  # no adapter = base model


def madx_stack(*names):
    from adapters.composition import Stack

    return Stack(*names)


def test_adapter_kinds_place_the_right_modules(tok):
    model = tiny_model("bert", len(tok))
    for kind in madx.ADAPTER_KINDS:
        madx.add_adapter(model, kind, kind, reduction_factor=4)
    names = [n for n, _ in model.named_parameters()]

    def has(kind, part):
        return any(part in n and f".{kind}." in n for n in names)

    # Houlsby: after attention and after the feed-forward block; Pfeiffer: feed-forward only
    assert has("houlsby", "attention.output.adapters") and has("houlsby", "layer.0.output.adapters")
    assert not has("pfeiffer", "attention.output.adapters") and has("pfeiffer", "layer.0.output.adapters")
    assert has("pfeiffer+inv", "invertible_adapters") and has("houlsby+inv", "invertible_adapters")
    assert not has("pfeiffer", "invertible_adapters") and not has("houlsby", "invertible_adapters")
    with pytest.raises(InputError):
        madx.add_adapter(model, "pfeiffer")  # exists
    with pytest.raises(InputError):
        madx.add_adapter(model, "x", "lora")
    with pytest.raises(InputError):
        madx.activate(model, language="de")


def test_adapter_save_load_round_trip_is_safetensors_only(tmp_path, tok):
    model = madx.lm_adapter_model(tiny_model("bert", len(tok), seed=0))
    madx.train_language_adapter(model, tok, EN, "en", reduction_factor=4, **OPTS)
    out = logits(madx.activate(model, language="en"), tok, EN[1])
    path = madx.save_adapter(model, "en", tmp_path / "en")
    files = sorted(os.listdir(path))
    assert "adapter.safetensors" in files and not any(f.endswith(".bin") for f in files)
    with pytest.raises(OutputExistsError):
        madx.save_adapter(model, "en", tmp_path / "en")

    fresh = madx.lm_adapter_model(tiny_model("bert", len(tok), seed=0))
    name = madx.load_adapter(fresh, path, load_as="en2")
    assert name == "en2"
    torch.testing.assert_close(logits(madx.activate(fresh, language="en2"), tok, EN[1]), out)

    pickled = tmp_path / "pickled"
    pickled.mkdir()
    torch.save({}, pickled / "pytorch_adapter.bin")
    (pickled / "adapter_config.json").write_text("{}")
    with pytest.raises(InputError, match="safetensors"):
        madx.load_adapter(fresh, pickled)


def fixed_mask_loss(model, tok, texts):
    """Mean MLM cross-entropy with every word masked once (deterministic, no sampling)."""
    model.eval()
    losses = []
    with torch.no_grad():
        for text in texts:
            ids = tok(text)["input_ids"]
            for i in range(1, len(ids) - 1):
                masked = list(ids)
                masked[i] = tok.mask_token_id
                labels = [-100] * len(ids)
                labels[i] = ids[i]
                out = model(input_ids=torch.tensor([masked]), labels=torch.tensor([labels]))
                losses.append(float(out.loss))
    return sum(losses) / len(losses)


@pytest.mark.parametrize("arch", ["bert", "gpt2"])
def test_invertible_adapter_inverse_runs_before_the_output_embeddings(tok, arch):
    objective = "clm" if arch == "gpt2" else "mlm"
    plain = tiny_model(arch, len(tok), seed=0)
    with pytest.raises(InputError, match="lm_adapter_model"):
        madx.train_language_adapter(plain, tok, EN, "en", objective=objective, **OPTS)
    model = madx.lm_adapter_model(plain)
    torch.testing.assert_close(logits(model, tok, EN[0]), logits(plain, tok, EN[0]))  # same LM
    madx.add_adapter(model, "en", "pfeiffer+inv", reduction_factor=2)
    madx.activate(model, language="en")
    calls = []
    inv = model.base_model.invertible_adapters["en"]
    handle = inv.register_forward_hook(
        lambda mod, args, kwargs, out: calls.append(kwargs.get("rev", False)), with_kwargs=True
    )
    try:
        logits(model, tok, EN[0])
    finally:
        handle.remove()
    assert calls == [False, True]  # forward on the input embeddings, inverse at the output


def test_language_adapter_lowers_mlm_loss_and_changes_nothing_else(tok):
    model = madx.lm_adapter_model(tiny_model("bert", len(tok), seed=0, layers=2))
    base = snapshot(model)
    madx.add_adapter(
        model, "en", "pfeiffer+inv", reduction_factor=madx.LANGUAGE_REDUCTION_FACTOR, leave_out=[1]
    )  # MAD-X 2.0: no language adapter in the last layer
    names = [n for n, _ in model.named_parameters() if ".en." in n]
    assert any("layer.0." in n for n in names) and not any("layer.1." in n for n in names)
    down = dict(model.named_parameters())["bert.encoder.layer.0.output.adapters.en.adapter_down.0.weight"]
    assert down.shape[0] == model.config.hidden_size // madx.LANGUAGE_REDUCTION_FACTOR
    madx.activate(model, language="en")
    before = fixed_mask_loss(model, tok, EN)
    madx.train_language_adapter(model, tok, EN * 4, "en", **{**OPTS, "max_steps": 40})
    after = fixed_mask_loss(model, tok, EN)
    assert after < before - 0.1, (before, after)
    assert unchanged(model, base)  # base model and LM head untouched
    with pytest.raises(InputError):
        madx.add_adapter(model, "de", "pfeiffer", leave_out=[2])
