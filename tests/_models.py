"""Tiny models built from configs for the tests (nothing is downloaded)."""

from __future__ import annotations

import io
import json
import warnings
from pathlib import Path

import pytest

#: Sizes of the tiny encoder-decoder translation models (Marian, M2M-100) of the tests.
TINY_SEQ2SEQ = dict(
    d_model=16,
    encoder_layers=1,
    decoder_layers=1,
    encoder_attention_heads=2,
    decoder_attention_heads=2,
    encoder_ffn_dim=32,
    decoder_ffn_dim=32,
    max_position_embeddings=64,
    init_std=0.5,
)


def build_tiny_marian(directory: Path, kind: str) -> Path:
    """Save a random 1-layer MarianMTModel and a tokenizer (sentencepiece Marian or fast
    WordLevel) to ``directory``; nothing is downloaded."""
    import torch
    from transformers import MarianConfig, MarianMTModel

    directory.mkdir(parents=True, exist_ok=True)
    corpus = ["北京 是 中国 的 首都", "巴黎 是 法国 的 首都", "东京 大学", "the capital of france", "kitten and cat"]
    if kind == "marian-spm":
        spm = pytest.importorskip("sentencepiece")
        from transformers import MarianTokenizer

        buf = io.BytesIO()
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(corpus * 3),
            model_writer=buf,
            vocab_size=40,
            model_type="char",
            character_coverage=1.0,
            unk_id=1,
            bos_id=-1,
            eos_id=0,
            pad_id=2,
            minloglevel=2,
            unk_piece="<unk>",
            eos_piece="</s>",
            pad_piece="<pad>",
        )
        for name in ("source.spm", "target.spm"):
            (directory / name).write_bytes(buf.getvalue())
        proc = spm.SentencePieceProcessor(model_proto=buf.getvalue())
        vocab = {proc.id_to_piece(i): i for i in range(proc.get_piece_size())}
        (directory / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Recommended: pip install sacremoses"
            tok = MarianTokenizer(
                str(directory / "source.spm"), str(directory / "target.spm"), str(directory / "vocab.json")
            )
    else:
        from tokenizers import Tokenizer, models, pre_tokenizers, processors
        from transformers import PreTrainedTokenizerFast

        chars = sorted({c for s in corpus for c in s if not c.isspace()})
        vocab = {"</s>": 0, "<unk>": 1, "<pad>": 2, **{c: i + 3 for i, c in enumerate(chars)}}
        core = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
        core.pre_tokenizer = pre_tokenizers.Split("", "isolated")
        core.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 0)])
        tok = PreTrainedTokenizerFast(tokenizer_object=core, eos_token="</s>", unk_token="<unk>", pad_token="<pad>")
    torch.manual_seed(0)
    cfg = MarianConfig(
        vocab_size=len(vocab),
        **TINY_SEQ2SEQ,
        pad_token_id=2,
        eos_token_id=0,
        decoder_start_token_id=2,
        forced_eos_token_id=0,
    )
    MarianMTModel(cfg).save_pretrained(directory)
    tok.save_pretrained(directory)
    return directory
