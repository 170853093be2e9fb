"""Sense-overlap view: labels compared word by word through every dictionary sense of each word.

A glossed label keeps two senses of each word (:data:`kgalign.aligner.freedict.GLOSS_SENSES`)
for the encoder and the string view; a dictionary gives more, and the right one is often
further down (Ding's ``Beitrag``: post, due, contribution, article, ...). This view reads each
label as *slots* (one per word, German compound part or multi-word headword), each slot the
set of English words its senses use (:func:`slot_keys`), and scores a pair by the share of
slots, on both sides, that find a slot of the other label sharing a word: the soft Dice
coefficient of the two labels' words, with a word matched when any of its senses matches
(the lexical, synonym-aware label matchers of ontology matching: Cheatham and Hitzler,
"String similarity metrics for ontology alignment", ISWC 2013; AgreementMakerLight's word
matcher, Faria et al. 2013). An English label's slots are its words.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["slot_keys", "sense_overlap"]

#: A sense of more content words than this does not count (a description, not a translation)
MAX_SENSE_WORDS = 3
#: Marks a key that is a WordNet synonym of the slot's word, not the word or one of its senses:
#: a synonym matches the other label's own words only (no match through a shared synonym)
SYNONYM = "~"


def slot_keys(slots: Sequence[Sequence[str]], synonyms: int = 0) -> list[tuple[str, ...]]:
    """The English keys of one label's slots (:func:`kgalign.aligner.freedict.english_key`
    forms): per slot, of each sense the content word, or the last content word of a sense of
    several (its head: "membership fee" -> fee); slots whose first sense is a function word
    ("von": of, from) are left out.

    Parameters
    ----------
    slots : sequence of sequence of str
        Per slot the senses, best first (a word's translation alone is one sense).
    synonyms : int
        Also the WordNet synonyms of each slot's first key, from this many synsets per part of
        speech (:func:`kgalign.aligner.wordnet.synonyms`, lemmatised; 0: none): "chairman" then
        matches "chair", but not "track" through a synonym both share ("lead").

    Returns
    -------
    list of tuple of str
        Per slot its keys, that of the best sense first, then its synonyms marked with
        :data:`SYNONYM` (``("chairman", "~chair", "~president")``).
    """
    from kgalign.aligner.freedict import EN_FUNCTION_WORDS, english_key, label_words
    from kgalign.aligner.wordnet import synonyms as wordnet_synonyms

    out = []
    for senses in slots:
        keys: list[str] = []
        for s in senses:
            content = [
                k for k in (english_key(w) for w in label_words(s) if not w.isdigit()) if k not in EN_FUNCTION_WORDS
            ]
            if not content and not keys:
                break  # the best sense is a function word ("من": of): a function word
            if content and len(content) <= MAX_SENSE_WORDS and content[-1] not in keys:
                keys.append(content[-1])
        if keys:
            if synonyms > 0:
                syn = {english_key(w) for w in wordnet_synonyms(keys[0], synonyms)} - set(keys)
                keys += [SYNONYM + w for w in sorted(syn)]
            out.append(tuple(keys))
    return out


def _incidence(labels, vocab: dict[str, int], weight):
    """Slot x key incidence of the own keys and of the synonyms (as ``(rows, cols)`` lists) and
    the label x slot matrix holding each slot's weight."""
    import scipy.sparse as sp

    own: tuple[list, list] = ([], [])
    syn: tuple[list, list] = ([], [])
    owner, w = [], []
    k = 0
    for e, slots in enumerate(labels):
        for keys in slots:
            for x in keys:
                rc = syn if x.startswith(SYNONYM) else own
                rc[0].append(k)
                rc[1].append(vocab.setdefault(x.lstrip(SYNONYM), len(vocab)))
            owner.append(e)
            w.append(weight(keys[0]))
            k += 1
    E = sp.csr_matrix((np.asarray(w, np.float32), (np.asarray(owner, np.int64), np.arange(k))), shape=(len(labels), k))
    return own, syn, k, E


def sense_overlap(labels1: list[list[tuple[str, ...]]], labels2: list[list[tuple[str, ...]]]) -> np.ndarray:
    """Soft Dice of every pair of labels over their slots.

    ``score(a, b) = (w(slots of a matched in b) + w(slots of b matched in a)) / (w(slots of
    a) + w(slots of b))``, a slot being matched when one of its keys (word or sense) is a key
    of some slot of the other label, or a synonym of it (two synonyms alone do not match), and
    weighing the smoothed inverse document frequency of its first key,
    ``1 + log((n + 1) / (df + 1))`` over the ``n`` labels of both sides (a word every label
    has, "conference", counts least); 0 for a label without slots.

    Parameters
    ----------
    labels1, labels2 : list of list of tuple of str, lengths n1 / n2
        Per label its slots' keys (:func:`slot_keys`).

    Returns
    -------
    ndarray of float32, shape (n1, n2), values in [0, 1]
    """
    from collections import Counter

    import scipy.sparse as sp

    # a slot weighs the smoothed IDF of its first key: in how many labels of both sides a word
    # or sense (not a synonym) is that key
    df = Counter(
        k
        for labels in (labels1, labels2)
        for lab in labels
        for k in {x for sl in lab for x in sl if not x.startswith(SYNONYM)}
    )
    n = len(labels1) + len(labels2)

    def weight(k: str) -> float:
        return float(np.log((n + 1) / (df[k] + 1)) + 1.0)

    vocab: dict[str, int] = {}
    own1, syn1, s1, E1 = _incidence(labels1, vocab, weight)
    own2, syn2, s2, E2 = _incidence(labels2, vocab, weight)
    K = max(len(vocab), 1)

    def inc(rc, n_slots):
        return sp.csr_matrix((np.ones(len(rc[0]), np.float32), rc), shape=(n_slots, K))

    O1, O2, Y1, Y2 = inc(own1, s1), inc(own2, s2), inc(syn1, s1), inc(syn2, s2)
    # slot x slot: a word (or sense) of one is a word, sense or synonym of the other
    H = (O1 @ O2.T + O1 @ Y2.T + Y1 @ O2.T).tocsr()
    H.data[:] = 1.0
    hit1 = (H @ E2.T).tocsr()  # slot of side 1 x label of side 2: matched there
    hit1.data[:] = 1.0
    hit2 = (H.T @ E1.T).tocsr()
    hit2.data[:] = 1.0
    M = np.asarray((E1 @ hit1).todense(), np.float32) + np.asarray((E2 @ hit2).todense(), np.float32).T
    W = np.asarray(E1.sum(axis=1), np.float32).reshape(-1, 1) + np.asarray(E2.sum(axis=1), np.float32).reshape(1, -1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(W > 0, M / np.where(W > 0, W, 1.0), 0.0)
    return np.clip(out, 0.0, 1.0).astype(np.float32)  # float32 sums may pass 1 by an ulp
