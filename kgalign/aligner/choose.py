"""Automatic choice of translator and encoder per side (``--translator auto --encoder auto``).

For each graph the choice goes, in order:

1. translations shipped with the data (DBP15K ``translated_names.json``): a dictionary
   translator, with the default English encoder;
2. a side already in the target language (English): no translation;
3. a machine-translation model for the language pair: ``Helsinki-NLP/opus-mt-{src}-en``
   (OPUS-MT, Tiedemann & Thottingal, EAMT 2020), else NLLB-200 or M2M-100;
4. a multilingual sentence encoder (LaBSE, paraphrase-multilingual-MiniLM, multilingual-e5)
   that reads the language directly;
5. offline and without any of these: :class:`kgalign.aligner.romanize.RomanizeTranslator`
   (CC-CEDICT glosses and transliteration; for vocabulary labels also word-by-word FreeDict
   glosses, :mod:`kgalign.aligner.freedict`), never a silent identity.

Models are looked up in the local Hugging Face cache first (``huggingface_hub``
``try_to_load_from_cache``: no network, a few milliseconds). A model that is not cached is
only considered when the hub may be reached (``HF_HUB_OFFLINE`` unset) and answers one
metadata request within a few seconds. Translations of non-dictionary translators are kept on
disk under ``$KGALIGN_HOME/translations`` (:class:`CachedTranslator`), so a second run
translates nothing.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kgalign.aligner.translate import (
    IdentityTranslator,
    MTTranslator,
    Translator,
    _check_texts,
    _primary,
    make_translator,
)
from kgalign.errors import KgalignError

__all__ = [
    "SideChoice",
    "choose",
    "cached_model_dir",
    "check_mt_model",
    "CachedTranslator",
    "MT_CANDIDATES",
    "MULTILINGUAL_ENCODERS",
]

log = logging.getLogger(__name__)

#: Many-to-many MT models tried when no OPUS-MT model exists for the pair (first found wins).
MT_CANDIDATES = ("facebook/nllb-200-distilled-600M", "facebook/m2m100_418M")
#: Multilingual sentence encoders tried, best first (first found wins).
MULTILINGUAL_ENCODERS = (
    "sentence-transformers/LaBSE",
    "sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2",
    "sentence-transformers/paraphrase-multilingual-mpnet-base-v2",
)
_HUB_TIMEOUT_S = 5.0


def _offline() -> bool:
    return any(
        os.environ.get(v, "").strip().lower() in ("1", "true", "yes", "on")
        for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


def cached_model_dir(repo_id: str, cache_dir: str | os.PathLike | None = None) -> str | None:
    """Local snapshot directory of ``repo_id`` in the Hugging Face cache, or None.

    Uses ``huggingface_hub.try_to_load_from_cache`` on ``config.json`` (no network access).

    Parameters
    ----------
    repo_id : str
        Hub id such as ``Helsinki-NLP/opus-mt-zh-en``.
    cache_dir : str or os.PathLike, optional
        Hub cache root (default: ``huggingface_hub.constants.HF_HUB_CACHE``, i.e.
        ``$HF_HOME/hub``).
    """
    try:
        from huggingface_hub import constants, try_to_load_from_cache
    except ImportError:  # pragma: no cover - a dependency of sentence-transformers
        return None
    root = cache_dir if cache_dir is not None else constants.HF_HUB_CACHE
    try:
        hit = try_to_load_from_cache(repo_id, "config.json", cache_dir=os.fspath(root))
    except Exception:  # malformed id: not cached
        return None
    return str(Path(hit).parent) if isinstance(hit, str) else None


def _hub_has(repo_id: str) -> bool:
    """Whether the hub (when reachable) knows ``repo_id``; False offline or on any error."""
    if _offline():
        return False
    try:
        from huggingface_hub import HfApi

        HfApi().model_info(repo_id, timeout=_HUB_TIMEOUT_S)
        return True
    except Exception as exc:  # no network, unknown repo, rate limit: not available
        log.debug("hub lookup of %s failed: %s", repo_id, exc)
        return False


def _locate(repo_id: str, cache_dir=None, *, hub: bool = True) -> tuple[str | None, str]:
    """``(what to load, where)``: the cached snapshot, the hub id, or ``(None, "")``."""
    local = cached_model_dir(repo_id, cache_dir)
    if local is not None:
        return local, "local Hugging Face cache"
    if hub and _hub_has(repo_id):
        return repo_id, "Hugging Face hub"
    return None, ""


def check_mt_model(model: str, cache_dir=None) -> str:
    """Fail fast when an MT model given by the user cannot be loaded.

    Returns
    -------
    str
        What to pass to transformers: a local directory, the cached snapshot or the hub id.

    Raises
    ------
    KgalignError
        Naming the model, when it is neither a local directory, nor in the local cache, nor
        (online) known to the hub. Offline this is decided without any network request.
    """
    p = Path(model).expanduser()
    if p.is_dir():
        return str(p)
    where, _ = _locate(model, cache_dir)
    if where is None:
        how = (
            "offline (HF_HUB_OFFLINE/TRANSFORMERS_OFFLINE set) and it is not in the local Hugging Face cache"
            if _offline()
            else "it is neither a local directory, nor cached, nor found on the Hugging Face hub"
        )
        raise KgalignError(f"cannot load MT model {model!r}: {how}; pass a local directory with --translator mt:DIR")
    return where


@dataclass
class SideChoice:
    """What one side uses, and why (also recorded in ``AlignmentResult.info["choice"]``)."""

    lang: str | None
    translator: Translator
    reason: str
    fallback: str | None = None  # "romanize" when the offline fallback ran

    def record(self) -> dict:
        out: dict[str, Any] = {
            "lang": self.lang,
            "translator": self.translator.name,
            "translator_kind": self.translator.kind,
            "reason": self.reason,
            "fallback": self.fallback,
        }
        used = getattr(self.translator, "used", None)
        if used is None and isinstance(self.translator, CachedTranslator):
            used = getattr(self.translator.inner, "used", None)
        if used is not None:
            out["resources"] = sorted(used)
        return out


@dataclass
class Choice:
    """Translators of both sides and the shared encoder."""

    sides: tuple[SideChoice, SideChoice]
    encoder: str | None  # what to pass to Encoder (None: the default MiniLM)
    encoder_name: str
    encoder_reason: str
    notes: list = field(default_factory=list)

    def record(self) -> dict:
        return {
            "side1": self.sides[0].record(),
            "side2": self.sides[1].record(),
            "encoder": self.encoder_name,
            "encoder_reason": self.encoder_reason,
        }

    def lines(self) -> list[str]:
        """Human-readable summary, one line per side and one for the encoder."""
        out = []
        for k, s in enumerate(self.sides, start=1):
            extra = f" [fallback: {s.fallback}]" if s.fallback else ""
            out.append(f"side {k} ({s.lang or '?'}): translator {s.translator.name} - {s.reason}{extra}")
        out.append(f"encoder: {self.encoder_name} - {self.encoder_reason}")
        return out


def _is_auto(spec) -> bool:
    return spec is None or (isinstance(spec, str) and spec.strip().lower() in ("", "auto"))


def choose(
    translator_spec,
    encoder_spec,
    *,
    translations: Mapping[str, str] | None,
    lang1: str | None,
    lang2: str | None,
    target: str = "en",
    device: str = "auto",
    show_progress: bool = True,
    cache_dir=None,
    hub: bool = True,
) -> Choice:
    """Decide the translator of each side and the encoder (see the module docstring).

    Parameters
    ----------
    translator_spec : str, Translator or None
        ``--translator``; ``None``/``"auto"`` decides per side, anything else is used for both
        sides as :func:`kgalign.aligner.translate.make_translator` reads it (an ``mt:`` model is
        checked with :func:`check_mt_model` first).
    encoder_spec : str, Encoder or None
        ``--encoder``; ``None``/``"auto"`` decides, anything else is used as given.
    translations : mapping of str to str, optional
        Translations shipped with the data.
    lang1, lang2 : str, optional
        Label languages of the two graphs.
    target : str
        Language the default encoder reads (English).
    cache_dir : optional
        Hugging Face hub cache root (default ``$HF_HOME/hub``).
    hub : bool
        Also consider models on the hub when not offline.

    Returns
    -------
    Choice

    Raises
    ------
    KgalignError
        An ``mt:`` model that cannot be loaded (before any other work).
    """
    langs = (lang1, lang2)
    auto_tr, auto_enc = _is_auto(translator_spec), _is_auto(encoder_spec)
    sides: list[SideChoice | None] = [None, None]
    if not auto_tr:
        for k, lang in enumerate(langs):
            spec = translator_spec
            if isinstance(spec, str) and spec.strip().lower().startswith("mt:"):
                model = spec.strip()[3:].strip()
                if not (lang and _primary(lang) == _primary(target)):
                    check_mt_model(model, cache_dir)
            tr = make_translator(
                spec,
                translations=translations,
                src_lang=lang,
                tgt_lang=target,
                device=device,
                show_progress=show_progress,
            )
            if isinstance(tr, MTTranslator):
                tr = CachedTranslator(tr)
            fb = "romanize" if getattr(tr, "kind", "") == "romanize" else None
            sides[k] = SideChoice(lang, tr, "given by --translator", fb)
    else:
        for k, lang in enumerate(langs):
            if translations:
                sides[k] = SideChoice(
                    lang, make_translator("dict", translations=translations), "translations shipped with the data"
                )
            elif lang and _primary(lang) == _primary(target):
                sides[k] = SideChoice(lang, IdentityTranslator(), f"already in {target}")
            elif lang is None:
                sides[k] = _fallback(None, "label language unknown")
    need = [k for k in range(2) if sides[k] is None]
    # an MT model per remaining side
    mt_missing = []
    for k in need:
        lang = langs[k]
        found = None
        for repo in (f"Helsinki-NLP/opus-mt-{_primary(lang)}-{_primary(target)}",) + MT_CANDIDATES:
            where, how = _locate(repo, cache_dir, hub=hub)
            if where is not None:
                found = (repo, where, how)
                break
        if found is None:
            mt_missing.append(k)
            continue
        repo, where, how = found
        tr = MTTranslator(where, src_lang=lang, tgt_lang=target, device=device, show_progress=show_progress)
        tr.name = f"mt:{repo}"
        sides[k] = SideChoice(lang, CachedTranslator(tr), f"MT model for {lang}->{target} from the {how}")
    enc_spec, enc_name, enc_reason = encoder_spec, None, "given by --encoder"
    if auto_enc:
        enc_spec, enc_name = None, "sentence-transformers/all-MiniLM-L6-v2 (offline, English)"
        enc_reason = "every side is in English or translated into it"
        if mt_missing:
            for repo in MULTILINGUAL_ENCODERS:
                where, how = _locate(repo, cache_dir, hub=hub)
                if where is not None:
                    enc_spec, enc_name = where, repo
                    enc_reason = f"multilingual encoder from the {how}: reads {', '.join(str(langs[k]) for k in mt_missing)} directly"  # noqa: E501
                    for k in mt_missing:
                        sides[k] = SideChoice(langs[k], IdentityTranslator(), f"read directly by {repo}")
                    mt_missing = []
                    break
    else:
        enc_name = getattr(encoder_spec, "name", None) or str(encoder_spec)
        if mt_missing and _reads_many_languages(encoder_spec):
            for k in mt_missing:
                sides[k] = SideChoice(
                    langs[k], IdentityTranslator(), f"read directly by the multilingual encoder {enc_name}"
                )
            mt_missing = []
    if mt_missing and auto_enc:
        enc_reason = "no multilingual encoder found; the names it reads are romanised by the fallback"
    for k in mt_missing:
        sides[k] = _fallback(
            langs[k],
            f"no translations, no MT model for {langs[k]}->{target} and no multilingual "
            f"encoder {'in the local cache (offline)' if _offline() or not hub else 'found'}",
        )
    if enc_name is None:
        enc_name = str(enc_spec)
    side1, side2 = sides
    assert side1 is not None and side2 is not None  # every side is chosen above (fallback last)
    return Choice((side1, side2), enc_spec, enc_name, enc_reason)


def _reads_many_languages(encoder_spec) -> bool:
    """Whether a user-given encoder is multilingual (its ``multilingual`` flag, or the name /
    vocabulary guess of :attr:`kgalign.aligner.encode.Encoder.multilingual`; nothing is loaded)."""
    flag = getattr(encoder_spec, "multilingual", None)
    if flag is not None:
        return bool(flag)
    from kgalign.aligner.encode import Encoder

    try:
        return bool(Encoder(str(encoder_spec), cache_dir=False).multilingual)
    except KgalignError:
        return False


def _fallback(lang, why: str) -> SideChoice:
    from kgalign.aligner.romanize import RomanizeTranslator

    return SideChoice(
        lang,
        CachedTranslator(RomanizeTranslator(lang)),
        f"{why}: offline fallback (romanisation of non-Latin scripts; CC-CEDICT glosses for Chinese/Japanese; "
        "FreeDict word glosses for vocabulary labels)",
        "romanize",
    )


class CachedTranslator(Translator):
    """Wrap a translator with the on-disk translation cache
    (:class:`kgalign.aligner.cache.TranslationCache`, ``$KGALIGN_HOME/translations``), so a
    second run translates nothing and never loads the model.

    Parameters
    ----------
    inner : Translator
    cache_dir : str or os.PathLike, optional
        Root of the cache (default :func:`kgalign.aligner.cache.default_translation_dir`).
        Caching is off when ``KGALIGN_NO_CACHE`` is set.

    Attributes
    ----------
    n_translated, n_cached : int
        Unique texts sent to ``inner`` / served from the cache.
    """

    def __init__(self, inner: Translator, cache_dir: str | os.PathLike | None = None):
        from kgalign.aligner.cache import TranslationCache

        self.inner = inner
        self.kind = inner.kind
        self.is_identity = inner.is_identity
        self._cache = TranslationCache(cache_dir)
        self.enabled = TranslationCache.enabled()
        self.n_translated = 0
        self.n_cached = 0

    @property
    def name(self) -> str:  # type: ignore[override]
        return self.inner.name

    def for_vocabulary(self) -> Translator:
        """The inner translator's :meth:`~kgalign.aligner.translate.Translator.for_vocabulary`,
        cached on disk too (this translator when it is the same)."""
        voc = self.inner.for_vocabulary()
        if voc is self.inner:
            return self
        cached: CachedTranslator | None = getattr(self, "_vocabulary", None)
        if cached is None or cached.inner is not voc:
            cached = self._vocabulary = CachedTranslator(voc, self._cache.root)
        return cached

    def sense_readings(self) -> list[Translator]:
        """The inner translator's per-sense readers (``RomanizeTranslator.sense_readings``),
        each cached on disk too; empty when it has none."""
        inner = getattr(self.inner, "sense_readings", None)
        return [CachedTranslator(t, self._cache.root) for t in inner()] if inner is not None else []

    def sense_slots(self, texts: Sequence[str]) -> list[list[tuple[str, ...]]] | None:
        """The inner translator's ``sense_slots`` (``RomanizeTranslator.sense_slots``) through
        the on-disk cache (stored as one string per text); None when it has none."""
        inner = self.inner
        if not hasattr(inner, "sense_slots"):
            return None

        class _Slots:  # slots written as text: senses joined by US, slots by RS
            cache_key = inner.cache_key + "|slots:v3"

            def translate(self, todo):
                return ["\x1e".join("\x1f".join(sl) for sl in x) for x in inner.sense_slots(todo)]

        texts = _check_texts(texts)
        enc = self._cache.translate(_Slots(), texts) if self.enabled else _Slots().translate(texts)
        return [[tuple(sl.split("\x1f")) for sl in x.split("\x1e")] if x else [] for x in enc]

    @property
    def cache_key(self) -> str:
        return self.inner.cache_key

    def translate(self, texts: Sequence[str]) -> list[str]:
        texts = _check_texts(texts)
        sent: list[str] = []
        inner = self.inner
        used = getattr(inner, "used", None)  # resources that produced the output (romanize)

        class _Counting:  # what the cache passes on to the model, counted
            cache_key = inner.cache_key
            resources: set = set()  # those of this batch alone, stored with it

            def translate(self, todo):
                sent.extend(todo)
                if not isinstance(used, set):
                    return inner.translate(todo)
                before = set(used)
                used.clear()  # in place: a translator may share its set (for_vocabulary)
                try:
                    return inner.translate(todo)
                finally:
                    self.resources = set(used)
                    used.update(before)

            def __repr__(self) -> str:
                return repr(inner)

        if self.enabled:
            out = self._cache.translate(_Counting(), texts, used if isinstance(used, set) else None)
        else:
            out = _Counting().translate(texts)
        self.n_translated += len(set(sent))
        self.n_cached += len(set(texts)) - len(set(sent))
        return out

    def __repr__(self) -> str:
        return f"CachedTranslator({self.inner!r})"
