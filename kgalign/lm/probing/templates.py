"""Cloze templates: relation IRI -> sentence with ``[X]`` (subject) and ``[Y]`` (object) per language.

The file format (YAML or JSON, ``format: kgalign-templates/1``) is documented in the shipped
file ``kgalign/data/templates/dbp15k.yaml``::

    format: kgalign-templates/1
    relations:
      - id: birthPlace
        match: [birthPlace, "http://fr.dbpedia.org/property/lieuDeNaissance"]
        templates: {en: "[X] was born in [Y] .", zh: "[X]出生于[Y]。"}

A ``match`` entry containing ``://`` must equal the relation IRI; any other entry is
compared with the IRI's local name (the part after the last ``/`` or ``#``), so one entry
covers the same DBpedia property in every language edition. Relations without a template
get a readable fallback built from the local name (``birthPlace`` -> "birth place"),
flagged ``fallback=True`` in every output.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from kgalign.errors import InputError

SUBJ = "[X]"
OBJ = "[Y]"
FORMAT = "kgalign-templates/1"

#: Fallback patterns per language; ``{name}`` is the relation's readable local name.
FALLBACK_PATTERNS: dict[str, str] = {
    "en": "The {name} of [X] is [Y] .",
    "fr": "[X] a pour {name} [Y] .",
    "de": "[X] hat als {name} [Y] .",
    "es": "El {name} de [X] es [Y] .",
    "zh": "[X]的{name}是[Y]。",
    "ja": "[X]の{name}は[Y]である。",
}
_DEFAULT_FALLBACK = "[X] {name} [Y] ."


def default_template_path() -> Path:
    """Path of the shipped DBP15K template file (``kgalign/data/templates/dbp15k.yaml``)."""
    return Path(__file__).resolve().parents[2] / "data" / "templates" / "dbp15k.yaml"


def relation_local_name(iri: str) -> str:
    """The part of a relation IRI after the last ``/`` or ``#``, percent-decoded."""
    stripped = iri.rstrip("/#")
    cut = max(stripped.rfind("/"), stripped.rfind("#"))
    return unquote(stripped[cut + 1 :], encoding="utf-8", errors="replace")


def readable_relation_name(iri: str) -> str:
    """A readable name from a relation IRI: ``birthPlace`` -> ``birth place``.

    camelCase is split, underscores become spaces, the result is lower-cased where the
    script has case. Non-Latin names (``主演``) are returned unchanged.
    """
    name = relation_local_name(iri).replace("_", " ")
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name)
    return re.sub(r"\s+", " ", name).strip().lower() or iri


@dataclass(frozen=True)
class Template:
    """A cloze template for one relation and language.

    Attributes
    ----------
    text : str
        The sentence with one ``[X]`` and one ``[Y]``.
    relation_id : str
        The relation's short name (the template file's ``id`` or the fallback name).
    lang : str
    fallback : bool
        True when built from the relation's local name (no template in the file).
    """

    text: str
    relation_id: str
    lang: str
    fallback: bool = False

    def fill(self, subject: str, obj: str | None = None) -> str:
        """The sentence with ``[X]`` replaced by ``subject`` and ``[Y]`` by ``obj`` (kept when None)."""
        out = self.text.replace(SUBJ, subject)
        return out if obj is None else out.replace(OBJ, obj)

    def split(self, subject: str) -> tuple[str, str]:
        """``(left, right)``: the text before and after ``[Y]`` with the subject filled in."""
        left, right = self.text.split(OBJ)
        return left.replace(SUBJ, subject), right.replace(SUBJ, subject)


def _check_template(text, where: str, path) -> str:
    if not isinstance(text, str):
        raise InputError(f"{where}: template must be a string, got {type(text).__name__}", path)
    if text.count(SUBJ) != 1 or text.count(OBJ) != 1:
        raise InputError(f"{where}: template {text!r} must contain [X] and [Y] exactly once", path)
    return text


class TemplateSet:
    """Templates loaded from a file, with lookup by relation IRI and language.

    Parameters
    ----------
    entries : list of dict
        ``{"id": str, "match": [str, ...], "templates": {lang: str}}``.
    source : str
        Where they came from (for messages).
    """

    def __init__(self, entries: list[dict], source: str = ""):
        self.entries = entries
        self.source = source
        self._by_iri: dict[str, dict] = {}
        self._by_local: dict[str, dict] = {}
        for e in entries:
            for m in e["match"]:
                target = self._by_iri if "://" in m else self._by_local
                target.setdefault(m, e)

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(cls, path: str | os.PathLike | None = None) -> TemplateSet:
        """Read a template file (YAML or JSON); the shipped DBP15K file when ``path`` is None.

        Raises
        ------
        InputError
            When the file cannot be read or parsed, or an entry is malformed (the message
            names the file and the entry).
        """
        path = Path(path) if path is not None else default_template_path()
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError(f"cannot read template file: {exc.strerror or exc}", path) from exc
        if path.suffix.lower() == ".json":
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                raise InputError(f"invalid JSON: {exc.msg}", path, exc.lineno) from exc
        else:
            import yaml

            try:
                data = yaml.safe_load(text)
            except yaml.YAMLError as exc:
                mark = getattr(exc, "problem_mark", None)
                raise InputError(
                    f"invalid YAML: {getattr(exc, 'problem', exc)}", path, None if mark is None else mark.line + 1
                ) from exc
        return cls.from_data(data, path)

    @classmethod
    def from_data(cls, data, path=None) -> TemplateSet:
        """Build from parsed data (``{"format": ..., "relations": [...]}``); see :meth:`load`."""
        if not isinstance(data, dict) or not isinstance(data.get("relations"), list):
            raise InputError("template file must be a mapping with a 'relations' list", path)
        fmt = data.get("format", FORMAT)
        if fmt != FORMAT:
            raise InputError(f"unknown template format {fmt!r} (expected {FORMAT!r})", path)
        entries = []
        for k, e in enumerate(data["relations"]):
            where = f"relation #{k + 1}"
            if not isinstance(e, dict):
                raise InputError(f"{where}: must be a mapping", path)
            rid = str(e.get("id") or "")
            where = f"relation #{k + 1} ({rid or 'no id'})"
            match = e.get("match")
            if isinstance(match, str):
                match = [match]
            if not rid or not match or not isinstance(match, list):
                raise InputError(f"{where}: needs 'id' and a non-empty 'match' list", path)
            tpls = e.get("templates")
            if not isinstance(tpls, dict) or not tpls:
                raise InputError(f"{where}: needs a 'templates' mapping language -> template", path)
            entries.append(
                {
                    "id": rid,
                    "match": [str(m) for m in match],
                    "templates": {
                        str(lang).lower(): _check_template(t, f"{where} [{lang}]", path) for lang, t in tpls.items()
                    },
                }
            )
        return cls(entries, "" if path is None else os.fspath(path))

    # ------------------------------------------------------------------ lookup
    def entry(self, iri: str) -> dict | None:
        """The entry matching a relation IRI (full IRI first, then local name), or None."""
        hit = self._by_iri.get(iri)
        if hit is None:
            hit = self._by_local.get(relation_local_name(iri))
        return hit

    def get(self, iri: str, lang: str, also: tuple[str, ...] = ()) -> Template:
        """The template for relation ``iri`` in ``lang``.

        Parameters
        ----------
        iri : str
            Relation IRI.
        lang : str
            Language (``en``, ``zh-hans`` falls back to ``zh``).
        also : tuple of str
            IRIs of relations aligned with ``iri`` (the other KG's relation), tried in order
            when ``iri`` itself has no template in ``lang``.

        Returns
        -------
        Template
            From the file, or a fallback built from the local name (``fallback=True``).
        """
        lang = (lang or "").lower().replace("_", "-")
        base = lang.split("-")[0]
        for cand in (iri, *also):
            e = self.entry(cand)
            if e is None:
                continue
            t = e["templates"].get(lang) or e["templates"].get(base)
            if t is not None:
                return Template(t, e["id"], lang, False)
        return fallback_template(iri, lang)

    def __len__(self) -> int:
        return len(self.entries)


def fallback_template(iri: str, lang: str) -> Template:
    """A readable template from the relation's local name (flagged ``fallback=True``).

    ``http://dbpedia.org/property/birthPlace`` gives ``"The birth place of [X] is [Y] ."`` in
    English and ``"[X]的birth place是[Y]。"`` in Chinese (the name is not translated).
    """
    base = (lang or "").lower().split("-")[0]
    name = readable_relation_name(iri)
    pattern = FALLBACK_PATTERNS.get(base, _DEFAULT_FALLBACK)
    return Template(pattern.replace("{name}", name), relation_local_name(iri), lang, True)
