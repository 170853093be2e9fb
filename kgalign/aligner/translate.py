"""Translators that turn entity names into the encoder's language before encoding.

Three kinds:

* :class:`IdentityTranslator` leaves texts as they are (multilingual encoder, or same language);
* :class:`DictionaryTranslator` looks texts up in a table: a TSV file ``source<TAB>target``, a
  JSON object ``{source: target}``, or DBP15K's ``translated_names.json`` (``[[id, [token, ...]],
  ...]``, the Google-Translate names published with RDGCN, Wu et al., IJCAI 2019); misses fall
  back to the source text and are counted;
* :class:`MTTranslator` runs a sequence-to-sequence translation model through transformers:
  Marian (OPUS-MT, Tiedemann & Thottingal, EAMT 2020), NLLB-200 (NLLB Team, 2022), M2M-100
  or mBART-50, by hub id or local directory.

:func:`make_translator` builds one from the ``--translator`` option. Every translator has a
``cache_key`` that identifies it (for the embedding cache in :mod:`kgalign.aligner.cache`).
torch and transformers are imported only when an MT model is first used.
"""

from __future__ import annotations

import abc
import hashlib
import json
import logging
import os
import re
import unicodedata
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from kgalign.errors import InputError, KgalignError
from kgalign.labels import local_name, normalise_lang

__all__ = [
    "Translator",
    "IdentityTranslator",
    "DictionaryTranslator",
    "MTTranslator",
    "make_translator",
    "read_dictionary",
]

log = logging.getLogger(__name__)

_SPACES = re.compile(r"\s+")


def _norm(text: str) -> str:
    """NFC form with runs of whitespace collapsed and ends stripped (secondary lookup key)."""
    return _SPACES.sub(" ", unicodedata.normalize("NFC", text)).strip()


def _check_texts(texts: Sequence[str]) -> list[str]:
    if isinstance(texts, str):
        raise TypeError("translate() takes a list of texts, not one string")
    out = list(texts)
    for i, t in enumerate(out):
        if not isinstance(t, str):
            raise InputError(f"text #{i} to translate is {type(t).__name__}, not str: {t!r}")
    return out


class Translator(abc.ABC):
    """Base class: maps a list of texts to a list of the same length.

    Attributes
    ----------
    name : str
        Short human-readable description (for summaries).
    kind : str
        ``"identity"``, ``"dict"`` or ``"mt"``.
    is_identity : bool
        True when :meth:`translate` returns its input unchanged.
    """

    name: str = "translator"
    kind: str = "custom"
    is_identity: bool = False

    @abc.abstractmethod
    def translate(self, texts: Sequence[str]) -> list[str]:
        """Translate ``texts`` (list of str, length n) into a list of str of length n."""

    @property
    @abc.abstractmethod
    def cache_key(self) -> str:
        """A string that identifies this translator's output (same key, same translations)."""

    def for_vocabulary(self) -> Translator:
        """The translator for vocabulary labels (classes, properties, SKOS concepts), which are
        common nouns and verbs rather than proper names; the same translator by default."""
        return self

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name})"


class IdentityTranslator(Translator):
    """Returns texts unchanged; ``cache_key`` is ``"identity"``."""

    name = "identity"
    kind = "identity"
    is_identity = True

    def translate(self, texts: Sequence[str]) -> list[str]:
        return _check_texts(texts)

    @property
    def cache_key(self) -> str:
        return "identity"


# ---------------------------------------------------------------------------- dictionaries
def _decode(raw: bytes, path: Path, encoding: str) -> str:
    """Decode a whole file, naming line and byte on failure; a UTF-8 BOM is dropped."""
    enc = "utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding
    try:
        return raw.decode(enc)
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        bad = raw[exc.start : exc.start + 1]
        raise InputError(
            f"byte 0x{bad.hex()} is not valid {encoding}; save the file as UTF-8 "
            f"(or pass the right encoding, e.g. encoding='latin-1')",
            path,
            line,
        ) from None


def _read_tsv(path: Path, text: str) -> dict[str, str]:
    mapping: dict[str, str] = {}
    conflicts = 0
    first_conflict: tuple[int, str, str, str] | None = None
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        cols = line.split("\t")
        if len(cols) != 2:
            raise InputError(
                f"expected 2 tab-separated columns (source, target), found {len(cols)}: {line[:80]!r}",
                path,
                lineno,
            )
        src, tgt = cols[0].strip(), cols[1].strip()
        if not src:
            raise InputError("empty source text", path, lineno)
        if not tgt:
            raise InputError(f"empty translation of {src!r}", path, lineno)
        old = mapping.setdefault(src, tgt)
        if old != tgt:
            conflicts += 1
            first_conflict = first_conflict or (lineno, src, old, tgt)
    if conflicts:
        assert first_conflict is not None  # set with the first conflict
        lineno, src, old, tgt = first_conflict
        warnings.warn(
            f"{path.name}:{lineno}: {conflicts} source text(s) have several translations; "
            f"the first one is kept (e.g. {src!r} -> {old!r}, not {tgt!r})",
            stacklevel=4,
        )
    return mapping


def _target_text(value, path: Path, where: str) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return " ".join(v.strip() for v in value if v.strip())
    raise InputError(f"{where}: translation must be a string or a list of tokens, got {value!r:.80}", path)


def _dbp15k_names(directory: Path) -> dict[str, str]:
    """``{id: local name}`` from ``ent_ids_1`` and ``ent_ids_2`` in ``directory``."""
    names: dict[str, str] = {}
    for fname in ("ent_ids_1", "ent_ids_2"):
        f = directory / fname
        if not f.is_file():
            continue
        for lineno, line in enumerate(_decode(f.read_bytes(), f, "utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            cols = line.split("\t")
            if len(cols) < 2 or not cols[0].strip().isdigit():
                raise InputError(f"expected '<int id>\\t<IRI>', got {line[:80]!r}", f, lineno)
            names[cols[0].strip()] = local_name(cols[1].strip())
    return names


def _read_json(path: Path, text: str, names: Mapping | None) -> dict[str, str]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"invalid JSON: {exc.msg}", path, exc.lineno) from None
    mapping: dict[str, str] = {}
    if isinstance(data, dict):
        for src, tgt in data.items():
            tgt = _target_text(tgt, path, f"entry {src!r}")
            if src.strip() and tgt:
                mapping.setdefault(src.strip(), tgt)
        return mapping
    if not isinstance(data, list):
        raise InputError("expected a JSON object {source: target} or DBP15K's [[id, [token, ...]], ...]", path)
    # DBP15K translated_names.json: ids need the entity names from ent_ids_1/ent_ids_2.
    if names is None:
        names = _dbp15k_names(path.parent)
        if not names:
            raise InputError(
                "this is a DBP15K id -> tokens list, so the entity names are needed: keep "
                "ent_ids_1/ent_ids_2 beside it, or load the whole directory (kgalign align DIR), "
                "which uses it automatically",
                path,
            )
    names = {str(k): v for k, v in names.items()}
    unknown = 0
    for k, entry in enumerate(data):
        if not (isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], (int, str))):
            raise InputError(f"entry #{k}: expected [id, [token, ...]], got {entry!r:.80}", path)
        src = names.get(str(entry[0]))
        if src is None:
            unknown += 1
            continue
        tgt = _target_text(entry[1], path, f"entry #{k} (id {entry[0]})")
        if tgt:
            mapping.setdefault(src, tgt)
    if unknown:
        log.warning("%s: %d ids have no entity name in ent_ids_1/2; skipped", path.name, unknown)
    return mapping


def read_dictionary(
    path: str | os.PathLike, *, encoding: str = "utf-8", names: Mapping | None = None
) -> dict[str, str]:
    """Read a translation table into ``{source text: target text}``.

    Parameters
    ----------
    path : str or os.PathLike
        ``.json``: a JSON object ``{source: target}`` (a target may be a list of tokens, joined
        by spaces), or DBP15K's ``translated_names.json`` list ``[[id, [token, ...]], ...]``.
        Anything else: TSV, one ``source<TAB>target`` per line; blank lines are skipped.
    encoding : str
        Text encoding (default UTF-8; a byte-order mark is ignored).
    names : mapping of id to str, optional
        For DBP15K lists: the source text of every id. Default: the local names of the IRIs in
        ``ent_ids_1`` and ``ent_ids_2`` next to ``path`` (the same names the DBP15K loader uses).

    Returns
    -------
    dict of str to str
        Source texts are stripped; a source given twice keeps its first translation (a warning
        counts the conflicts).

    Raises
    ------
    InputError
        Missing file, undecodable bytes, a TSV line without exactly two columns or with an empty
        cell, invalid JSON; the message names the file and the line.
    """
    p = Path(path).expanduser()
    if not p.is_file():
        raise InputError("translation file not found", p)
    text = _decode(p.read_bytes(), p, encoding)
    if p.suffix.lower() == ".json":
        return _read_json(p, text, names)
    return _read_tsv(p, text)


class DictionaryTranslator(Translator):
    """Translate by table look-up; a text without an entry is returned unchanged (a miss).

    Look-up uses the exact text first, then its NFC form with whitespace collapsed.

    Parameters
    ----------
    mapping : mapping of str to str
        Source text -> translation. Entries with an empty translation are ignored.
    source : str, optional
        Where the table came from (for messages and :attr:`name`).

    Attributes
    ----------
    n_lookups, n_misses : int
        Texts translated and texts without an entry, over all calls.
    last_misses : int
        Misses in the latest call.
    missed_examples : list of str
        Up to 5 texts that had no entry (for messages).
    """

    kind = "dict"

    def __init__(self, mapping: Mapping[str, str], *, source: str | None = None):
        self.mapping: dict[str, str] = {}
        for k, v in mapping.items():
            if not isinstance(k, str) or not isinstance(v, str):
                raise InputError(f"translation table entries must be str -> str, got {k!r} -> {v!r}")
            if v.strip():
                self.mapping[k] = v.strip()
        self._normed: dict[str, str] = {}
        for k, v in self.mapping.items():
            self._normed.setdefault(_norm(k), v)
        self.source = source or "table"
        self.name = f"dict:{self.source} ({len(self.mapping)} entries)"
        self.n_lookups = 0
        self.n_misses = 0
        self.last_misses = 0
        self.missed_examples: list[str] = []
        self._key: str | None = None

    @classmethod
    def from_file(
        cls, path: str | os.PathLike, *, encoding: str = "utf-8", names: Mapping | None = None
    ) -> DictionaryTranslator:
        """Build from a TSV or JSON file; see :func:`read_dictionary` for formats and errors."""
        return cls(read_dictionary(path, encoding=encoding, names=names), source=str(path))

    def __len__(self) -> int:
        return len(self.mapping)

    def lookup(self, text: str) -> str | None:
        """The translation of ``text``, or None when the table has no entry."""
        hit = self.mapping.get(text)
        if hit is None:
            hit = self._normed.get(_norm(text))
        return hit

    def translate(self, texts: Sequence[str]) -> list[str]:
        texts = _check_texts(texts)
        out = []
        misses = 0
        for t in texts:
            hit = self.lookup(t)
            if hit is None:
                misses += 1
                if len(self.missed_examples) < 5 and t not in self.missed_examples:
                    self.missed_examples.append(t)
                hit = t
            out.append(hit)
        self.n_lookups += len(texts)
        self.n_misses += misses
        self.last_misses = misses
        if misses:
            log.info("%s: %d of %d texts have no translation; kept as they are", self.name, misses, len(texts))
        return out

    @property
    def cache_key(self) -> str:
        if self._key is None:
            h = hashlib.sha256()
            for k in sorted(self.mapping):
                h.update(
                    k.encode("utf-8", "surrogatepass")
                    + b"\0"
                    + self.mapping[k].encode("utf-8", "surrogatepass")
                    + b"\n"
                )
            self._key = f"dict:{h.hexdigest()[:24]}"
        return self._key


# ---------------------------------------------------------------------------- machine translation
#: ISO 639-1 -> FLORES-200 codes used by NLLB-200 (the common ones; any code can be given as is).
NLLB_CODES = {
    "ar": "arb_Arab",
    "bg": "bul_Cyrl",
    "cs": "ces_Latn",
    "da": "dan_Latn",
    "de": "deu_Latn",
    "el": "ell_Grek",
    "en": "eng_Latn",
    "es": "spa_Latn",
    "et": "est_Latn",
    "fa": "pes_Arab",
    "fi": "fin_Latn",
    "fr": "fra_Latn",
    "he": "heb_Hebr",
    "hi": "hin_Deva",
    "hr": "hrv_Latn",
    "hu": "hun_Latn",
    "id": "ind_Latn",
    "it": "ita_Latn",
    "ja": "jpn_Jpan",
    "ko": "kor_Hang",
    "lt": "lit_Latn",
    "lv": "lvs_Latn",
    "nl": "nld_Latn",
    "no": "nob_Latn",
    "pl": "pol_Latn",
    "pt": "por_Latn",
    "ro": "ron_Latn",
    "ru": "rus_Cyrl",
    "sk": "slk_Latn",
    "sl": "slv_Latn",
    "sv": "swe_Latn",
    "th": "tha_Thai",
    "tr": "tur_Latn",
    "uk": "ukr_Cyrl",
    "vi": "vie_Latn",
    "zh": "zho_Hans",
    "zh-cn": "zho_Hans",
    "zh-hans": "zho_Hans",
    "zh-tw": "zho_Hant",
    "zh-hant": "zho_Hant",
}


def _primary(lang: str | None) -> str:
    return normalise_lang(lang).split("-")[0]


class MTTranslator(Translator):
    """Neural machine translation through a transformers sequence-to-sequence model.

    Parameters
    ----------
    model : str
        Hub id (``Helsinki-NLP/opus-mt-zh-en``, ``facebook/nllb-200-distilled-600M``) or a local
        directory holding the model and its tokenizer.
    src_lang, tgt_lang : str, optional
        Languages (ISO 639-1 such as ``zh``, or the model's own code such as ``zho_Hans``).
        Needed by many-to-many models (NLLB, M2M-100, mBART-50); a multi-target Marian model
        gets the ``>>tgt<<`` prefix when its vocabulary has it.
    device : str
        ``auto``, ``cpu``, ``cuda``, ``cuda:N`` or ``mps`` (see :func:`kgalign.device.resolve_device`);
        the model runs in float16 on CUDA.
    batch_size : int
        Texts per ``generate`` call (texts are sorted by length first, to pad little).
    max_new_tokens : int
        Longest translation, in tokens; inputs are truncated to ``max_input_tokens``.
    num_beams : int
        Beam width; 1 = greedy (deterministic).
    show_progress : bool
        tqdm bar over texts.

    Notes
    -----
    Each unique text is translated once per translator object (kept in memory); empty texts
    stay empty. Output is deterministic for a given model, device and batch size.
    """

    kind = "mt"

    def __init__(
        self,
        model: str,
        *,
        src_lang: str | None = None,
        tgt_lang: str | None = "en",
        device: str = "auto",
        batch_size: int = 32,
        max_new_tokens: int = 64,
        max_input_tokens: int = 128,
        num_beams: int = 1,
        show_progress: bool = True,
    ):
        if not model or not str(model).strip():
            raise InputError("empty MT model name; use --translator mt:MODEL (hub id or local directory)")
        if batch_size < 1 or max_new_tokens < 1 or num_beams < 1 or max_input_tokens < 1:
            raise InputError("batch_size, max_new_tokens, max_input_tokens and num_beams must be >= 1")
        self.model_name = str(model).strip()
        self.src_lang = src_lang
        self.tgt_lang = tgt_lang
        self.device_spec = device
        self.batch_size = int(batch_size)
        self.max_new_tokens = int(max_new_tokens)
        self.max_input_tokens = int(max_input_tokens)
        self.num_beams = int(num_beams)
        self.show_progress = show_progress
        self.name = f"mt:{self.model_name}"
        # a transformers model and tokenizer, loaded on first use (see _load)
        self._model: Any = None
        self._tokenizer: Any = None
        self._device: str | None = None
        self._gen_kwargs: dict = {}
        self._prefix = ""
        self._memo: dict[str, str] = {}
        self._key: str | None = None
        p = Path(self.model_name).expanduser()
        if self.model_name.startswith((".", "/", "~")) and not p.is_dir():
            raise InputError("MT model directory not found", p)

    @property
    def device(self) -> str:
        if self._device is None:
            from kgalign.device import resolve_device

            self._device = resolve_device(self.device_spec)
        return self._device

    @property
    def cache_key(self) -> str:
        if self._key is None:  # the model files' fingerprint, computed once
            from kgalign.aligner.cache import model_fingerprint

            self._key = model_fingerprint(self.model_name)
        return (
            f"mt:{self._key}|{self.src_lang}->{self.tgt_lang}"
            f"|beams={self.num_beams}|max_new={self.max_new_tokens}|max_in={self.max_input_tokens}"
        )

    # ------------------------------------------------------------------ loading
    @staticmethod
    def _lang_token(lang: str, tok) -> str | None:
        """The tokenizer's token for ``lang`` (NLLB ``zho_Hans``, M2M-100 ``__zh__``, mBART ``zh_CN``)."""
        vocab = tok.get_vocab()

        def known(token: str) -> bool:
            if token in vocab:
                return True
            tid = tok.convert_tokens_to_ids(token)
            return tid is not None and tid != tok.unk_token_id

        candidates = [lang, NLLB_CODES.get(normalise_lang(lang), ""), f"__{_primary(lang)}__"]
        for c in candidates:
            if c and known(c):
                return c
        pref = _primary(lang) + "_"
        codes = list(vocab) + list(getattr(tok, "additional_special_tokens", None) or [])
        special = sorted({t for t in codes if t.startswith(pref) and len(t) == len(pref) + 2 and t[-2:].isupper()})
        return special[0] if special else None

    def _load(self) -> None:
        if self._model is not None:
            return
        try:
            import torch
            from transformers import AutoModelForSeq2SeqLM, AutoTokenizer
        except ImportError as exc:  # pragma: no cover - dependency missing
            raise KgalignError(f"machine translation needs torch and transformers: {exc}") from exc
        device = self.device
        from kgalign.aligner.hub import ensure_available

        ensure_available(os.fspath(self.model_name), "MT model")  # seconds, not a minute of hub retries
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*sacremoses.*")
                tok = AutoTokenizer.from_pretrained(self.model_name)
            model = AutoModelForSeq2SeqLM.from_pretrained(self.model_name)
        except (OSError, ValueError, ImportError) as exc:
            hint = " (offline: pass a local directory)" if os.environ.get("HF_HUB_OFFLINE") else ""
            if "sentencepiece" in str(exc).lower():
                hint = " (its tokenizer needs: pip install sentencepiece)"
            raise KgalignError(f"cannot load MT model {self.model_name!r}{hint}: {exc}") from exc
        model.eval()
        if device.startswith("cuda"):
            model = model.half()
        model.to(device)
        vocab = tok.get_vocab()
        kwargs: dict = {}
        cls = type(tok).__name__
        many_to_many = hasattr(tok, "src_lang") and not cls.startswith("Marian")
        if many_to_many:
            if not self.src_lang or not self.tgt_lang:
                raise InputError(
                    f"MT model {self.model_name!r} translates between many languages: give the source "
                    f"language (--lang1/--lang2) and the target language"
                )
            src = self._lang_token(self.src_lang, tok)
            tgt = self._lang_token(self.tgt_lang, tok)
            if src is None or tgt is None:
                missing = self.src_lang if src is None else self.tgt_lang
                raise InputError(f"MT model {self.model_name!r} has no language code for {missing!r}")
            tok.src_lang = src.strip("_") if src.startswith("__") else src
            kwargs["forced_bos_token_id"] = tok.convert_tokens_to_ids(tgt)
        elif self.tgt_lang:
            marker = f">>{_primary(self.tgt_lang)}<<"
            if marker in vocab:
                self._prefix = marker + " "
        self._tokenizer, self._model, self._gen_kwargs, self._torch = tok, model, kwargs, torch

    # ------------------------------------------------------------------ translating
    def translate(self, texts: Sequence[str]) -> list[str]:
        texts = _check_texts(texts)
        todo = sorted({t for t in texts if t.strip() and t not in self._memo}, key=lambda t: (len(t), t))
        if todo:
            self._load()
            from tqdm.auto import tqdm

            tok, model, torch = self._tokenizer, self._model, self._torch
            with tqdm(total=len(todo), desc="translating", unit="text", disable=not self.show_progress) as bar:
                for start in range(0, len(todo), self.batch_size):
                    batch = todo[start : start + self.batch_size]
                    enc = tok(
                        [self._prefix + t for t in batch],
                        return_tensors="pt",
                        padding=True,
                        truncation=True,
                        max_length=self.max_input_tokens,
                    )
                    inputs = {k: enc[k].to(self.device) for k in ("input_ids", "attention_mask") if k in enc}
                    with torch.inference_mode():
                        out = model.generate(
                            **inputs,
                            **self._gen_kwargs,
                            num_beams=self.num_beams,
                            do_sample=False,
                            max_new_tokens=self.max_new_tokens,
                        )
                    # the forced target-language token is not always marked special: drop it
                    forced = self._gen_kwargs.get("forced_bos_token_id")
                    seqs = [[i for i in seq if i != forced] for seq in out.tolist()]
                    decoded = tok.batch_decode(seqs, skip_special_tokens=True)
                    for src, tgt in zip(batch, decoded):
                        self._memo[src] = _SPACES.sub(" ", tgt).strip()
                    bar.update(len(batch))
        return [self._memo.get(t, t) if t.strip() else t for t in texts]


# ---------------------------------------------------------------------------- factory
_DICT_SUFFIXES = (".tsv", ".txt", ".json", ".tab", ".csv")


def make_translator(
    spec: str | Translator | None,
    *,
    translations: Mapping[str, str] | None = None,
    src_lang: str | None = None,
    tgt_lang: str | None = "en",
    device: str = "auto",
    show_progress: bool = True,
    batch_size: int = 32,
) -> Translator:
    """Build the translator named by a ``--translator`` value.

    Parameters
    ----------
    spec : str, Translator or None
        * None, ``""`` or ``"auto"``: a :class:`DictionaryTranslator` over ``translations`` when
          that is non-empty (DBP15K ships them), else :class:`IdentityTranslator`;
        * ``"identity"`` / ``"none"``: no translation;
        * ``"romanize"`` (``"translit"``: without dictionary glosses): the offline fallback
          :class:`kgalign.aligner.romanize.RomanizeTranslator`;
        * ``"dict"``: the shipped ``translations`` (error when there are none);
        * ``"dict:PATH"``, or a path ending in ``.tsv``/``.txt``/``.json``: a translation table
          (:func:`read_dictionary`);
        * ``"mt:MODEL"``: :class:`MTTranslator` on a hub id or local directory; when ``src_lang``
          and ``tgt_lang`` share their primary language, no translation is needed and an
          :class:`IdentityTranslator` is returned;
        * a :class:`Translator`: returned as is.
    translations : mapping of str to str, optional
        Translations shipped with the data (``KGPair.translations``).
    src_lang, tgt_lang : str, optional
        Language of the texts and the target language (default ``en``).
    device : str
        Device for MT models.
    show_progress : bool
        Progress bar while translating with MT.
    batch_size : int
        MT batch size.

    Returns
    -------
    Translator

    Raises
    ------
    InputError
        Unknown spec, missing or malformed dictionary file, ``dict`` without translations.
    """
    if isinstance(spec, Translator):
        return spec
    s = "" if spec is None else str(spec).strip()
    low = s.lower()
    if low in ("", "auto"):
        if translations:
            return DictionaryTranslator(translations, source="shipped translations")
        return IdentityTranslator()
    if low in ("identity", "none", "off"):
        return IdentityTranslator()
    if low in ("romanize", "romanise", "translit"):  # offline fallback: kgalign.aligner.romanize
        from kgalign.aligner.romanize import RomanizeTranslator

        return RomanizeTranslator(src_lang, gloss=low != "translit")
    if low == "dict":
        if not translations:
            raise InputError("--translator dict: this input ships no translations; use dict:FILE")
        return DictionaryTranslator(translations, source="shipped translations")
    if low.startswith("dict:"):
        return DictionaryTranslator.from_file(s[5:].strip())
    if low.startswith("mt:"):
        if src_lang and tgt_lang and _primary(src_lang) == _primary(tgt_lang):
            return IdentityTranslator()
        return MTTranslator(
            s[3:].strip(),
            src_lang=src_lang,
            tgt_lang=tgt_lang,
            device=device,
            show_progress=show_progress,
            batch_size=batch_size,
        )
    if Path(s).suffix.lower() in _DICT_SUFFIXES:
        return DictionaryTranslator.from_file(s)
    raise InputError(
        f"unknown translator {s!r}: use auto, identity, romanize, dict, dict:FILE (TSV source<TAB>target or "
        f"JSON), FILE.tsv/.json, or mt:MODEL (e.g. mt:Helsinki-NLP/opus-mt-zh-en)"
    )
