"""Two synthetic languages from one template grammar, for offline cross-lingual experiments.

Every sentence is ``NAME VERB DET NUM ADJ NOUN PREP CITY``. Concepts (nouns in four classes,
adjectives of two polarities, verbs, function words) have one pseudo-word per language, built
from disjoint syllable inventories, so the two vocabularies share no word. Names, numbers and
city names are shared anchors (spelled alike in both languages, as entity names and numerals
are across real languages); in unlabelled text a noun's city and an adjective's number follow
the concept with probability ``anchor_p``, which is what can align the languages' words in
multilingual pre-training. The tagging task labels each noun with its class and each
adjective with its polarity: a label that does not depend on the language.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from kgalign.errors import InputError

__all__ = ["ToyLanguages", "TAGS"]

#: tag names of :meth:`ToyLanguages.tagging`; the tag id is the position
TAGS = ("animal", "food", "tool", "place", "positive", "negative")
_NAMES = ("anna", "omar", "lena", "yuki", "ravi", "sofia", "ivan", "mia")
_CITIES = (
    "paris", "lima", "oslo", "cairo", "delhi", "quito", "rome", "tokyo",
    "dakar", "hanoi", "kyiv", "bern", "doha", "riga", "seoul", "accra",
)  # fmt: skip
_SYLLABLES = {"A": ("bdgkpt", "aeiou"), "B": ("lmnrsvz", "aeiouy")}


@dataclass
class ToyLanguages:
    """Vocabulary and generators of the two toy languages ``"A"`` and ``"B"``.

    Parameters
    ----------
    seed : int
        Seeds the pseudo-words.
    nouns_per_class : int
        Nouns in each of the four classes (at most 4, one city anchor per noun).
    adjectives_per_polarity : int
        Adjectives of each polarity (at most 4, one number anchor per adjective).
    verbs : int
        Verb concepts.

    Raises
    ------
    InputError
        Sizes out of range.
    """

    seed: int = 0
    nouns_per_class: int = 4
    adjectives_per_polarity: int = 4
    verbs: int = 6
    words: dict = field(init=False)

    def __post_init__(self):
        if not (1 <= self.nouns_per_class <= 4 and 1 <= self.adjectives_per_polarity <= 4 and self.verbs >= 1):
            raise InputError("ToyLanguages: 1-4 nouns per class, 1-4 adjectives per polarity, >= 1 verb")
        rng = random.Random(self.seed)
        n_concepts = {"noun": 4 * self.nouns_per_class, "adj": 2 * self.adjectives_per_polarity, "verb": self.verbs}
        n_concepts.update({"det": 1, "prep": 1})
        self.words = {}
        for lang, (cons, vows) in _SYLLABLES.items():
            seen: set[str] = set()
            table = {}
            for kind, n in n_concepts.items():
                row = []
                while len(row) < n:
                    w = "".join(rng.choice(cons) + rng.choice(vows) for _ in range(rng.choice((2, 3))))
                    if w not in seen:
                        seen.add(w)
                        row.append(w)
                table[kind] = row
            self.words[lang] = table

    @property
    def languages(self) -> tuple[str, str]:
        return ("A", "B")

    def vocabulary(self) -> list[str]:
        """Every word of both languages and the anchors (for a word-level tokenizer)."""
        out = list(_NAMES) + list(_CITIES) + [str(i) for i in range(2, 2 + 2 * self.adjectives_per_polarity)]
        for lang in self.languages:
            for row in self.words[lang].values():
                out.extend(row)
        return out

    def _sentence(self, lang: str, rng: random.Random, anchor_p: float) -> tuple[list[str], list[int]]:
        if lang not in self.words:
            raise InputError(f"ToyLanguages: unknown language {lang!r}; use A or B")
        w = self.words[lang]
        noun = rng.randrange(len(w["noun"]))
        adj = rng.randrange(len(w["adj"]))
        n_adj = len(w["adj"])
        city = noun if rng.random() < anchor_p else rng.randrange(len(w["noun"]))
        num = adj if rng.random() < anchor_p else rng.randrange(n_adj)
        words = [
            rng.choice(_NAMES),
            rng.choice(w["verb"]),
            w["det"][0],
            str(2 + num),
            w["adj"][adj],
            w["noun"][noun],
            w["prep"][0],
            _CITIES[city],
        ]
        tags = [-100] * len(words)
        tags[4] = 4 + adj // self.adjectives_per_polarity
        tags[5] = noun // self.nouns_per_class
        return words, tags

    def texts(self, lang: str, n: int, *, seed: int = 0, anchor_p: float = 0.8) -> list[str]:
        """``n`` unlabelled sentences of ``lang`` (anchors follow the concepts w.p. ``anchor_p``)."""
        rng = random.Random(f"{self.seed}-{lang}-{seed}-text")
        return [" ".join(self._sentence(lang, rng, anchor_p)[0]) for _ in range(n)]

    def tagging(self, lang: str, n: int, tokenizer, *, seed: int = 0, anchor_p: float = 0.0) -> list[dict]:
        """``n`` tagged sentences: ``input_ids`` and per-token ``labels`` (ids into :data:`TAGS`).

        Only the adjective and the noun are labelled (-100 elsewhere, and at ``[CLS]``/
        ``[SEP]``). ``anchor_p`` defaults to 0, so the anchors carry no hint of the tags and
        only the language's own words do.

        Parameters
        ----------
        lang : {"A", "B"}
        n : int
            Number of sentences.
        tokenizer : transformers.PreTrainedTokenizerBase
            Word-level, knowing :meth:`vocabulary` (one token per word, ``[CLS] ... [SEP]``).
        seed : int
            Seeds the sentences (a different seed gives a disjoint-by-chance sample).
        anchor_p : float
            As in :meth:`texts`.

        Returns
        -------
        list of dict
            ``input_ids`` and ``labels`` (lists of int of the same length).
        """
        rng = random.Random(f"{self.seed}-{lang}-{seed}-tag")
        out = []
        for _ in range(n):
            words, tags = self._sentence(lang, rng, anchor_p)
            ids = tokenizer.convert_tokens_to_ids(words)
            if tokenizer.unk_token_id in ids:
                raise InputError("ToyLanguages.tagging: the tokenizer does not know every word")
            out.append(
                {
                    "input_ids": [tokenizer.cls_token_id, *ids, tokenizer.sep_token_id],
                    "labels": [-100, *tags, -100],
                }
            )
        return out
