"""The demo-model cache: weights and tokenizer come back exactly; a different key misses."""

from __future__ import annotations

from dataclasses import asdict

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")


def test_cached_model_and_tokenizer_round_trip(tmp_path, monkeypatch):
    from kgalign.lm.finetune import tiny_model
    from kgalign.lm.probing import model_cache
    from kgalign.lm.probing.demo import DemoConfig, train_wordpiece, wrap_wordpiece

    monkeypatch.setenv("KGALIGN_HOME", str(tmp_path))
    text = ["le chat est né à Paris", "the cat was born in Paris", "Lyon Marseille Nice"] * 3
    cfg = DemoConfig(layers=1, hidden=32, heads=2)
    key = model_cache.cache_key(asdict(cfg), text)
    assert model_cache.load(key) is None
    tok = train_wordpiece(text, 120)
    model = tiny_model("bert", len(tok), layers=1, hidden=32, heads=2, seed=3)
    assert model_cache.save(model, tok, key, {"steps": 7, "train_losses": [1.0]}) is not None

    got = model_cache.load(key)
    assert got is not None
    tok2, state, record = got
    assert record["steps"] == 7
    assert wrap_wordpiece(tok2).get_vocab() == tok.get_vocab()
    assert wrap_wordpiece(tok2)("the cat")["input_ids"] == tok("the cat")["input_ids"]
    fresh = tiny_model("bert", len(tok), layers=1, hidden=32, heads=2, seed=4)
    fresh.load_state_dict(state, strict=False)
    ref = model.state_dict()
    assert all(torch.equal(t, ref[n]) for n, t in fresh.state_dict().items())
    # another configuration or text is another key
    assert model_cache.cache_key({**asdict(cfg), "epochs": 1}, text) != key
    assert model_cache.cache_key(asdict(cfg), text[:-1]) != key
    assert model_cache.cache_key({**asdict(cfg), "threads": 2}, text) == key  # does not change training
