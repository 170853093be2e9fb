"""MAD-X zero-shot cross-lingual transfer, measured offline on a tiny synthetic bilingual world.

Pfeiffer, Vulić, Gurevych & Ruder, "MAD-X: An Adapter-Based Framework for Multi-Task
Cross-Lingual Transfer", EMNLP 2020, sec. 3: language adapters are trained with MLM on
unlabelled text of each language over a frozen multilingual model; a task adapter is trained
on labelled source-language data stacked on the (frozen) source-language adapter; at test
time the target-language adapter is swapped in under the task adapter,
``Stack(lang_target, task)``.

No multilingual model can be downloaded here, so :func:`toy_bilingual_world` builds two
artificial languages that describe one world (entities with one value per relation) with
disjoint vocabularies except for shared anchors (the entity names, as named entities and
numbers are shared by real languages), :func:`pretrain_base` trains a tiny masked LM on both
languages' text, and :func:`madx_zero_shot` compares, on the target language's test data:

* ``madx``: ``Stack(lang_B, task)``, the paper's setting;
* ``source_adapter_on_target``: ``Stack(lang_A, task)`` left in place on B;
* ``task_only``: a task adapter trained and evaluated without any language adapter;
* ``in_language``: ``Stack(lang_A, task)`` on A's held-out test data (upper reference).

The task is token tagging with a language-independent label: in a sentence
``"<det> <value> <filler> ."`` the value word is tagged with the relation it belongs to.
(Sentence classification from the ``[CLS]`` state was tried first: the MLM-only base leaves
that state untrained and nearly constant, so not even the source-language training data
could be fitted.)
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from kgalign.errors import InputError

log = logging.getLogger(__name__)

__all__ = [
    "ToyWorld",
    "toy_bilingual_world",
    "pretrain_base",
    "tagging_examples",
    "tagging_accuracy",
    "madx_zero_shot",
]

#: per-language function words of the toy languages (determiners, fillers, conjunction)
_FUNCTION = {
    "det": ("{l}det0", "{l}det1"),
    "fill": ("{l}fill0", "{l}fill1", "{l}fill2"),
    "conj": ("{l}and",),
}


@dataclass
class ToyWorld:
    """Data of :func:`toy_bilingual_world`.

    Attributes
    ----------
    languages : tuple of str
        ``(source, target)`` language codes.
    corpus : dict of str to list of str
        Unlabelled sentences per language (MLM pre-training and language adapters).
    task_train : list of (str, int)
        Source-language sentences and the tag of their word number ``tag_word``.
    task_test : dict of str to list of (str, int)
        Held-out sentences per language (the same combinations in both languages).
    n_labels : int
        Number of task labels (relations).
    tag_word : int
        0-based index of the tagged word in the task sentences.
    anchors : list of str
        Words shared by both languages (entity names; empty without shared anchors).
    """

    languages: tuple[str, str]
    corpus: dict[str, list[str]]
    task_train: list[tuple[str, int]]
    task_test: dict[str, list[tuple[str, int]]]
    n_labels: int
    tag_word: int = 1
    anchors: list[str] = field(default_factory=list)

    def texts(self) -> list[str]:
        """Every sentence of the world (tokenizer vocabulary)."""
        out = [s for lang in self.languages for s in self.corpus[lang]]
        out += [s for s, _ in self.task_train] + [s for v in self.task_test.values() for s, _ in v]
        return out


def toy_bilingual_world(
    *,
    languages: tuple[str, str] = ("xa", "xb"),
    n_entities: int = 60,
    n_relations: int = 4,
    values_per_relation: int = 5,
    relations_per_entity: int = 1,
    sentences_per_fact: int = 2,
    shared_anchors: bool = True,
    test_share: float = 0.34,
    seed: int = 0,
) -> ToyWorld:
    """Two artificial languages that describe the same world, and a labelled task.

    Each entity ``e<i>`` has a value (drawn at random) for ``relations_per_entity`` random
    relations. Language ``l`` says
    the fact (entity, relation r, value v) as ``"<det> e<i> <l>rel<r> <det> <l>v<r>_<v>
    <filler> ."`` and sometimes joins two facts of one entity with its conjunction; every
    word is language-specific except the entity names when ``shared_anchors`` (otherwise
    they are ``<l>e<i>``). The same facts are stated in both languages (comparable, not
    parallel, corpora: the sentences are drawn independently).

    The task tags the value word of ``"<det> <value word> <filler> ."`` with the value's
    relation (``n_relations`` tags, a language-independent label). The
    (det, value, filler) combinations are split once into train and test; ``task_train`` has
    the source language's train part, ``task_test`` the test part in both languages.

    Parameters
    ----------
    languages : (str, str)
        Source and target codes (prefixes of every word; letters only).
    n_entities, n_relations, values_per_relation, relations_per_entity : int
        Size of the world.
    sentences_per_fact : int
        Sentences per fact and language in the corpus.
    shared_anchors : bool
        Whether entity names are shared by the two languages.
    test_share : float
        Share of the task combinations held out for testing, in (0, 1).
    seed : int
        Seeds the world, the corpus and the split.

    Returns
    -------
    ToyWorld

    Raises
    ------
    InputError
        Sizes below 1 (2 relations), equal or non-alphabetic language codes, or
        ``test_share`` outside (0, 1).
    """
    a, b = languages
    if a == b or not (a.isalpha() and b.isalpha()):
        raise InputError(f"languages must be two different alphabetic codes, got {languages!r}")
    if n_entities < 1 or n_relations < 2 or values_per_relation < 1 or sentences_per_fact < 1:
        raise InputError("toy world sizes must be >= 1 (n_relations >= 2)")
    if not 1 <= relations_per_entity <= n_relations:
        raise InputError(f"relations_per_entity must be in 1..{n_relations}, got {relations_per_entity}")
    if not 0.0 < test_share < 1.0:
        raise InputError(f"test_share must be in (0, 1), got {test_share}")
    rng = random.Random(seed)
    value_of: list[dict[int, int]] = [
        {r: rng.randrange(values_per_relation) for r in rng.sample(range(n_relations), relations_per_entity)}
        for _ in range(n_entities)
    ]

    def fw(lang: str, kind: str) -> tuple[str, ...]:
        return tuple(w.format(l=lang) for w in _FUNCTION[kind])

    def ent(lang: str, i: int) -> str:
        return f"e{i}" if shared_anchors else f"{lang}e{i}"

    def value(lang: str, r: int, v: int) -> str:
        return f"{lang}v{r}x{v}"

    corpus: dict[str, list[str]] = {}
    for lang in languages:
        det, fill, conj = fw(lang, "det"), fw(lang, "fill"), fw(lang, "conj")[0]
        lines = []
        for i in range(n_entities):
            for r, v in value_of[i].items():
                for _ in range(sentences_per_fact):
                    lines.append(
                        f"{rng.choice(det)} {ent(lang, i)} {lang}rel{r} {rng.choice(det)} {value(lang, r, v)} "
                        f"{rng.choice(fill)} ."
                    )
            if len(value_of[i]) >= 2:
                r1, r2 = rng.sample(sorted(value_of[i]), 2)
                lines.append(
                    f"{rng.choice(det)} {ent(lang, i)} {lang}rel{r1} {value(lang, r1, value_of[i][r1])} {conj} "
                    f"{lang}rel{r2} {value(lang, r2, value_of[i][r2])} ."
                )
        rng.shuffle(lines)
        corpus[lang] = lines
    combos = [
        (d, r, v, f)
        for d in range(len(_FUNCTION["det"]))
        for r in range(n_relations)
        for v in range(values_per_relation)
        for f in range(len(_FUNCTION["fill"]))
    ]
    rng.shuffle(combos)
    n_test = max(1, round(test_share * len(combos)))
    test, train = combos[:n_test], combos[n_test:]

    def sentence(lang: str, combo) -> tuple[str, int]:
        d, r, v, f = combo
        return f"{fw(lang, 'det')[d]} {value(lang, r, v)} {fw(lang, 'fill')[f]} .", r

    anchors = [ent(a, i) for i in range(n_entities)] if shared_anchors else []
    return ToyWorld(
        languages=(a, b),
        corpus=corpus,
        task_train=[sentence(a, c) for c in train],
        task_test={lang: [sentence(lang, c) for c in test] for lang in languages},
        n_labels=n_relations,
        anchors=anchors,
    )


def pretrain_base(
    world: ToyWorld,
    *,
    layers: int = 2,
    hidden: int = 64,
    heads: int = 2,
    steps: int = 1500,
    lr: float = 2e-3,
    batch_size: int = 32,
    mlm_probability: float = 0.15,
    seed: int = 0,
    device: str = "cpu",
):
    """A tiny BERT trained with MLM on both languages' corpora (the "multilingual model").

    Parameters
    ----------
    world : ToyWorld
    layers, hidden, heads : int
        Model size (:func:`kgalign.lm.finetune.tiny.tiny_model`; FFN width ``2 * hidden``).
    steps, lr, batch_size : training (:class:`~kgalign.lm.finetune.trainer.Trainer`, MLM,
        AdamW, linear decay after 5 % warm-up).
    mlm_probability : float
        Share of the tokens chosen for the MLM loss.
    seed : int
        Seeds the weights and the training.
    device : str

    Returns
    -------
    (transformers.BertForMaskedLM, transformers.PreTrainedTokenizerFast)
        The trained model (``eval()`` mode) and its word-level tokenizer.
    """
    from kgalign.lm.finetune.tiny import tiny_model, word_tokenizer
    from kgalign.lm.finetune.trainer import Trainer

    tok = word_tokenizer(world.texts())
    model = tiny_model("bert", len(tok), layers=layers, hidden=hidden, heads=heads, seed=seed)
    text = [s for lang in world.languages for s in world.corpus[lang]]
    Trainer(
        model,
        tok,
        objective="mlm",
        mlm_probability=mlm_probability,
        lr=lr,
        batch_size=batch_size,
        max_steps=steps,
        warmup_steps=max(1, steps // 20),
        schedule="linear",
        seed=seed,
        device=device,
        progress=False,
    ).train(text)
    model.eval()
    return model, tok


def tagging_examples(tokenizer, data: Sequence[tuple[str, int]], word: int = 1) -> list[dict]:
    """Token-tagging examples for the :class:`Trainer`: one tagged word per sentence.

    Parameters
    ----------
    tokenizer : transformers.PreTrainedTokenizerFast
        A fast tokenizer (``word_ids``).
    data : sequence of (str, int)
        Sentence and the label of its word number ``word``.
    word : int
        0-based index of the tagged word (its first token carries the label).

    Returns
    -------
    list of dict
        ``input_ids`` (with special tokens) and ``labels`` (-100 except at the tagged token),
        the form ``adapters``' tagging head computes its loss from.

    Raises
    ------
    InputError
        A sentence has fewer than ``word + 1`` words.
    """
    out = []
    for text, label in data:
        enc = tokenizer(text)
        pos = _first_token(enc.word_ids(), word, text)
        labels = [-100] * len(enc["input_ids"])
        labels[pos] = int(label)
        out.append({"input_ids": enc["input_ids"], "labels": labels})
    return out


def _first_token(word_ids, word: int, text: str) -> int:
    for i, w in enumerate(word_ids):
        if w == word:
            return i
    raise InputError(f"the sentence {text!r} has no word number {word}")


def tagging_accuracy(
    model, tokenizer, data: Sequence[tuple[str, int]], word: int = 1, *, batch_size: int = 64
) -> float:
    """Accuracy of the model's active tagging head at word ``word`` of each sentence.

    Raises
    ------
    InputError
        ``data`` is empty or a sentence is too short.
    """
    import torch

    if not data:
        raise InputError("nothing to evaluate")
    model.eval()
    device = next(model.parameters()).device
    correct = 0
    with torch.no_grad():
        for start in range(0, len(data), batch_size):
            chunk = data[start : start + batch_size]
            enc = tokenizer([t for t, _ in chunk], return_tensors="pt", padding=True)
            logits = model(
                input_ids=enc["input_ids"].to(device), attention_mask=enc["attention_mask"].to(device)
            ).logits
            for i, (text, label) in enumerate(chunk):
                pos = _first_token(enc.word_ids(i), word, text)
                correct += int(int(logits[i, pos].argmax()) == int(label))
    return correct / len(data)


def madx_zero_shot(
    model,
    tokenizer,
    world: ToyWorld,
    *,
    language_steps: int = 400,
    task_steps: int = 300,
    language_lr: float = 1e-3,
    task_lr: float = 1e-3,
    batch_size: int = 32,
    language_reduction_factor: int | None = None,
    task_reduction_factor: int | None = None,
    leave_out: Sequence[int] = (),
    seed: int = 0,
    device: str = "cpu",
) -> dict[str, Any]:
    """Train MAD-X language and task adapters on a frozen base and measure zero-shot transfer.

    Steps (Pfeiffer et al., EMNLP 2020, sec. 3): language adapters (Pfeiffer + invertible)
    for source A and target B with MLM on each language's corpus; a task adapter with its
    tagging head on ``Stack(lang_A, task)`` with A's labelled data; a second task
    adapter and head trained the same way without a language adapter (``task_only``).

    Parameters
    ----------
    model : transformers.PreTrainedModel
        The multilingual masked LM (e.g. from :func:`pretrain_base`); converted with
        :func:`~kgalign.lm.finetune.madx.lm_adapter_model` (a plain model is not changed).
    tokenizer : transformers.PreTrainedTokenizerBase
    world : ToyWorld
        Corpora and task data; ``world.languages = (A, B)``.
    language_steps, task_steps : int
        Optimizer steps per language adapter and per task adapter.
    language_lr, task_lr, batch_size : float, float, int
        AdamW learning rates and batch size.
    language_reduction_factor, task_reduction_factor : int, optional
        Default: MAD-X's 2 and 16 (:data:`~kgalign.lm.finetune.madx.LANGUAGE_REDUCTION_FACTOR`).
    leave_out : sequence of int
        Layers without a language adapter (MAD-X 2.0: the last one).
    seed : int
        Seeds every training run.
    device : str

    Returns
    -------
    dict
        ``accuracy``: ``{"in_language", "madx", "source_adapter_on_target", "task_only",
        "task_only_in_language"}``; ``chance`` (1 / n_labels); ``majority`` (share of the
        most frequent label in B's test data); ``mlm_loss`` of each language adapter
        (mean training loss over the first and over the last tenth of its steps);
        ``n_test``, ``n_train``.
    """
    from kgalign.lm.finetune import madx

    a, b = world.languages
    flex = madx.lm_adapter_model(model)
    lm_head = flex.active_head
    lrf = language_reduction_factor or madx.LANGUAGE_REDUCTION_FACTOR
    trf = task_reduction_factor or madx.TASK_REDUCTION_FACTOR
    common: dict[str, Any] = dict(batch_size=batch_size, seed=seed, device=device, progress=False)
    mlm: dict[str, list[float]] = {}
    for lang in (a, b):
        flex.active_head = lm_head
        res = madx.train_language_adapter(
            flex,
            tokenizer,
            world.corpus[lang],
            lang,
            reduction_factor=lrf,
            leave_out=leave_out,
            lr=language_lr,
            max_steps=language_steps,
            **common,
        )
        k = max(1, len(res.train_losses) // 10)  # mean of the first and last tenth of the steps
        mlm[lang] = [round(sum(x[:k]) / k, 4) for x in (res.train_losses, res.train_losses[::-1])]
    train = tagging_examples(tokenizer, world.task_train, world.tag_word)
    task_kwargs: dict[str, Any] = dict(
        objective="labels",
        train_head=True,
        reduction_factor=trf,
        lr=task_lr,
        max_steps=task_steps,
        **common,
    )
    for name in ("task", "task_only"):
        flex.add_tagging_head(name, num_labels=world.n_labels)
    madx.train_task_adapter(flex, tokenizer, train, "task", a, **task_kwargs)
    madx.train_task_adapter(flex, tokenizer, train, "task_only", None, **task_kwargs)

    def acc(language, task, lang_data):
        madx.activate(flex, language=language, task=task)
        return tagging_accuracy(flex, tokenizer, world.task_test[lang_data], world.tag_word)

    labels_b = [y for _, y in world.task_test[b]]
    out = {
        "accuracy": {
            "in_language": acc(a, "task", a),
            "madx": acc(b, "task", b),
            "source_adapter_on_target": acc(a, "task", b),
            "task_only": acc(None, "task_only", b),
            "task_only_in_language": acc(None, "task_only", a),
        },
        "chance": 1.0 / world.n_labels,
        "majority": max(labels_b.count(y) for y in set(labels_b)) / len(labels_b),
        "mlm_loss": mlm,
        "n_test": len(labels_b),
        "n_train": len(train),
    }
    flex.active_head = lm_head
    return out
