"""Tiny, randomly initialised language models and word-level tokenizers built offline.

For tests, documentation examples and demos: nothing is downloaded. A model built here
knows nothing until it is trained, which makes planted facts easy to check.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from kgalign.errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    from transformers import PretrainedConfig, PreTrainedModel

__all__ = ["word_tokenizer", "tiny_model", "ARCHITECTURES"]

ARCHITECTURES = ("bert", "xlm-roberta", "gpt2")
SPECIAL = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def word_tokenizer(texts_or_words: Iterable[str]):
    """A whitespace word-level fast tokenizer over the words seen in ``texts_or_words``.

    Parameters
    ----------
    texts_or_words : iterable of str
        Texts (split on whitespace) whose words make the vocabulary, in first-seen order,
        after the special tokens ``[PAD] [UNK] [CLS] [SEP] [MASK]`` (ids 0-4).

    Returns
    -------
    transformers.PreTrainedTokenizerFast
        Lower-cases, splits on whitespace and punctuation, and wraps sequences as
        ``[CLS] ... [SEP]``. ``pad/unk/cls/sep/mask`` tokens are set; ``bos``/``eos`` are
        ``[CLS]``/``[SEP]`` so that causal LMs can use it too.

    Raises
    ------
    InputError
        When no word is given.
    """
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab: dict[str, int] = {tok: i for i, tok in enumerate(SPECIAL)}
    for text in texts_or_words:
        for word in pre_tokenizers.BertPreTokenizer().pre_tokenize_str(text.lower()):
            vocab.setdefault(word[0], len(vocab))
    if len(vocab) == len(SPECIAL):
        raise InputError("word_tokenizer needs at least one word")
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B [SEP]",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token="[PAD]",
        unk_token="[UNK]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        bos_token="[CLS]",
        eos_token="[SEP]",
    )


def tiny_model(
    arch: str,
    vocab_size: int,
    *,
    layers: int = 2,
    hidden: int = 32,
    heads: int = 2,
    max_positions: int = 64,
    dropout: float = 0.0,
    seed: int = 0,
):
    """A randomly initialised language model of the given architecture.

    Parameters
    ----------
    arch : {"bert", "xlm-roberta", "gpt2"}
        ``BertForMaskedLM``, ``XLMRobertaForMaskedLM`` (both masked LMs) or
        ``GPT2LMHeadModel`` (causal LM).
    vocab_size : int
        Rows of the embedding matrix (``len(tokenizer)``).
    layers, hidden, heads : int
        Transformer depth, width and attention heads (``hidden % heads == 0``).
    max_positions : int
        Longest input in tokens.
    dropout : float
        Dropout probability everywhere (0 makes training steps deterministic given a seed).
    seed : int
        Seeds torch before the weights are drawn.

    Returns
    -------
    transformers.PreTrainedModel
        In ``eval()`` mode, on CPU, float32, with input and output embeddings tied.

    Raises
    ------
    InputError
        Unknown architecture or inconsistent sizes.
    """
    import torch

    if arch not in ARCHITECTURES:
        raise InputError(f"unknown architecture {arch!r}; use one of {', '.join(ARCHITECTURES)}")
    if hidden % heads:
        raise InputError(f"hidden ({hidden}) must be a multiple of heads ({heads})")
    torch.manual_seed(seed)
    cfg: PretrainedConfig
    model: PreTrainedModel
    if arch == "bert":
        from transformers import BertConfig, BertForMaskedLM

        cfg = BertConfig(
            vocab_size=vocab_size,
            hidden_size=hidden,
            num_hidden_layers=layers,
            num_attention_heads=heads,
            intermediate_size=2 * hidden,
            max_position_embeddings=max_positions,
            hidden_dropout_prob=dropout,
            attention_probs_dropout_prob=dropout,
            pad_token_id=0,
        )
        model = BertForMaskedLM(cfg)
    elif arch == "xlm-roberta":
        from transformers import XLMRobertaConfig, XLMRobertaForMaskedLM

        cfg = XLMRobertaConfig(
            vocab_size=vocab_size,
            hidden_size=hidden,
            num_hidden_layers=layers,
            num_attention_heads=heads,
            intermediate_size=2 * hidden,
            max_position_embeddings=max_positions + 2,
            hidden_dropout_prob=dropout,
            attention_probs_dropout_prob=dropout,
            pad_token_id=0,
            bos_token_id=2,
            eos_token_id=3,
        )
        model = XLMRobertaForMaskedLM(cfg)
    else:
        from transformers import GPT2Config, GPT2LMHeadModel

        cfg = GPT2Config(
            vocab_size=vocab_size,
            n_embd=hidden,
            n_layer=layers,
            n_head=heads,
            n_positions=max_positions,
            resid_pdrop=dropout,
            embd_pdrop=dropout,
            attn_pdrop=dropout,
            bos_token_id=2,
            eos_token_id=3,
            pad_token_id=0,
        )
        model = GPT2LMHeadModel(cfg)
    model.eval()
    return model
