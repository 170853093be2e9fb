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


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


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
    model = tiny_model(arch, len(tok), seed=0)
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
    madx.train_task_adapter(model, tok, task_data, "facts", "en", objective=task_objective,
                            reduction_factor=4, **OPTS)
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
    model = tiny_model("bert", len(tok), seed=0)
    madx.train_language_adapter(model, tok, EN, "en", reduction_factor=4, **OPTS)
    out = logits(madx.activate(model, language="en"), tok, EN[1])
    path = madx.save_adapter(model, "en", tmp_path / "en")
    files = sorted(os.listdir(path))
    assert "adapter.safetensors" in files and not any(f.endswith(".bin") for f in files)
    with pytest.raises(OutputExistsError):
        madx.save_adapter(model, "en", tmp_path / "en")

    fresh = tiny_model("bert", len(tok), seed=0)
    name = madx.load_adapter(fresh, path, load_as="en2")
    assert name == "en2"
    torch.testing.assert_close(logits(madx.activate(fresh, language="en2"), tok, EN[1]), out)

    pickled = tmp_path / "pickled"
    pickled.mkdir()
    torch.save({}, pickled / "pytorch_adapter.bin")
    (pickled / "adapter_config.json").write_text("{}")
    with pytest.raises(InputError, match="safetensors"):
        madx.load_adapter(fresh, pickled)
