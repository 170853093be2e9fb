"""The table of public datasets kgalign knows: where they are published, their checksums,
licences and citations, and the layout they unpack to.

Provenance of the checksums (no machine of the project reaches the internet, so no URL here
was downloaded live):

* DBP15K: the five core files of each pair (``ent_ids_*``, ``triples_*``, ``ref_ent_ids``) are
  fetched one by one from the GCN-Align repository pinned at commit ``4fc90c43``; their sha256
  were computed from that commit's git blobs and equal the project's reference copies. The
  optional ``rel_ids_*`` (JAPE's files) and ``translated_names.json`` (RDGCN line of work) are
  published only inside Google Drive folders with no stable direct link: they are listed with
  their known checksums but without URL, so ``fetch`` skips them (place them by hand).
* SILKNOW: ``thesaurus.ttl`` pinned at commit ``0119855c`` of github.com/silknow/thesaurus;
  sha256 computed from that commit's blob (equal to the reference copy).
* MultiFarm (development split: de-en, ar-en, en-ru): the OAEI 2015 evaluation suites
  republished in github.com/abhiseksharma/PunjabiMultifarmDataset, pinned at ``735ef67e``;
  archive checksums computed from that commit's blobs. Their ``ref/`` files differ from the
  reference copies in trailing whitespace only (24 of 72), so no per-file checksums are given.

A ``sha256`` of None means "not yet known": the download is accepted, its sha256 printed and a
warning logged (no entry of this table has one today; user-registered entries may).
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Resource", "Dataset", "REGISTRY", "DBP15K_FILES", "register", "get", "names"]


@dataclass(frozen=True)
class Resource:
    """One published file of a dataset.

    Attributes
    ----------
    url : str or None
        Where it is published (``https://`` or ``file://``); None: no stable direct link,
        ``fetch`` skips it (only allowed for ``optional`` resources).
    target : str
        Path relative to the dataset directory: the file itself, or for an archive the
        folder it unpacks into (``""`` = the dataset directory).
    sha256 : str or None
        Hex digest of the downloaded bytes; None when not yet known (accepted with a warning).
    archive : bool
        A zip or tar archive to unpack (``rename`` maps member prefixes, ``skip`` drops members).
    rename : tuple of (str, str)
        Member-path prefix -> prefix inside ``target`` (first match wins).
    skip : tuple of str
        Member paths (exact) that are not unpacked.
    optional : bool
        The dataset is usable without it.
    """

    url: str | None
    target: str
    sha256: str | None = None
    archive: bool = False
    rename: tuple[tuple[str, str], ...] = ()
    skip: tuple[str, ...] = ()
    optional: bool = False


@dataclass(frozen=True)
class Dataset:
    """A registered dataset.

    Attributes
    ----------
    name : str
        Registry key (``kgalign datasets fetch NAME``).
    title, licence, citation, homepage : str
    layout : str
        What the dataset directory holds after ``fetch``.
    resources : tuple of Resource
    marker : str
        A relative path that exists in every usable copy (used to recognise one).
    aliases : tuple of str
        Other paths, relative to a datasets root, where a copy may live (e.g. ``dbp15k/fr_en``
        in a development checkout's ``../shared/datasets``, or ``fr_en``).
    """

    name: str
    title: str
    licence: str
    citation: str
    homepage: str
    layout: str
    resources: tuple[Resource, ...]
    marker: str
    aliases: tuple[str, ...] = field(default_factory=tuple)


# ------------------------------------------------------------------------------------ DBP15K
_GCN_ALIGN = "https://raw.githubusercontent.com/1049451037/GCN-Align/4fc90c438e5a609b96df03daff170fbcf03fde94/data"

#: sha256 of the files of the published DBP15K id format, per pair (GCN-Align's five core
#: files; JAPE's rel_ids_* and RDGCN's translated_names.json)
DBP15K_FILES: dict[str, dict[str, str]] = {
    "zh_en": {
        "ent_ids_1": "6d230db7922b58f6fe31fb75b478d5edcbb3cc7d3f76763b5af8232ff1940082",
        "ent_ids_2": "68d7cccc5334881d386094df3e4f9af479eedf3161ed00ec4d06e0685d510f69",
        "triples_1": "5bd1df6af7b51a0bc1111809c980364455e42f2cc27946cd664861f0d95aafcb",
        "triples_2": "bbab07e5d97247221d742a7ab4e14c20ffdb3125667b2bac2b317a714a07bc48",
        "ref_ent_ids": "f6fc5f4b4c162eb21119697561b38686c48935222c11d07f08edc6efc5414507",
        "rel_ids_1": "2a22b3d7549eb695399e78f79f765a9829839ed842b0e5fa11fbed981f6b5ef3",
        "rel_ids_2": "bc2a1147569feff967e67d9bfc6521e381397f29cbac5f9dad8b1be40fbba118",
        "translated_names.json": "d187deebecf6406527b3a15757e93a782ec7de25e05872e54c1e59d1949424fd",
    },
    "ja_en": {
        "ent_ids_1": "c0163c3e4d1a1173fde4941c6c3752e659ff54c50149fbe8776e10c78077f1ad",
        "ent_ids_2": "b6e8aa468861daa932f5bbb50c4743273418331839543de8889b13cc267a84a2",
        "triples_1": "5c9396f4bc18f62f395bdea897228285be85f3590d89c336739877d7fc0eeae5",
        "triples_2": "aeb66ed5e3dd1588f4d7e2cae50bc930794dbc29063f71365242c924ae27c2d6",
        "ref_ent_ids": "60edbd1d05d65e80cc81957eb6efa06fa53901a2a3042cfb0a115abccb2dff91",
        "rel_ids_1": "d6a33937b2820d96ae189a58b2e43551ae4453664c0d7a7dc1c4ace2b81679cd",
        "rel_ids_2": "55f80bbacb93af1f97655cdcc6050d1f5eb62ee06b5dd7fb3963957a7f01b889",
        "translated_names.json": "d5b6501885f5184d25bd0ebcab6e689cd295c8ac8efd1c7aef113ba56c72428e",
    },
    "fr_en": {
        "ent_ids_1": "8c5c96ba6ef3b3a7791f2ee33e0a779049e4fee36aac77c813814964a23b4401",
        "ent_ids_2": "9e14e2ae75c45d18fc1fd310657dfd2b84925e625ceb89f96b7775f6218e042c",
        "triples_1": "318c50b356055ccfdbb98d6733ecb8213b3f0ee8f2222cd9733e2d6ef04f5718",
        "triples_2": "38508926b2e93dae9bb9b066e308cbb11545e62fa93239b574b53f496aeb2f1c",
        "ref_ent_ids": "ba1c4b07e67ab2581d6ca11038e9f527b08666fe5bedad3a95cb7f61579a3c64",
        "rel_ids_1": "70ec21bf881d06fce2acc6b644c880c6232dae54cb9b57303a5df8aadc9e0c8f",
        "rel_ids_2": "eb301fea34f30fc7f01e2cf1ceefca612a92005757f25af3d396fe071a52ff4d",
        "translated_names.json": "9a76ccc43353f9e8e27c214d6fef401de866dbda751d39c176470adc5cce35c0",
    },
}
_DBP15K_CORE = ("ent_ids_1", "ent_ids_2", "triples_1", "triples_2", "ref_ent_ids")
_DBP15K_CITATION = (
    "Z. Sun, W. Hu, C. Li. Cross-lingual Entity Alignment via Joint Attribute-Preserving "
    "Embedding. ISWC 2017. Id format: Z. Wang et al., Cross-lingual Knowledge Graph Alignment "
    "via Graph Convolutional Networks (GCN-Align), EMNLP 2018."
)


def _dbp15k(pair: str) -> Dataset:
    files = DBP15K_FILES[pair]
    res = tuple(
        Resource(f"{_GCN_ALIGN}/{pair}/{n}" if n in _DBP15K_CORE else None, n, files[n], optional=n not in _DBP15K_CORE)
        for n in files
    )
    return Dataset(
        name=f"dbp15k-{pair}",
        title=f"DBP15K {pair} (15,000 gold links, id format)",
        licence="CC BY-SA 3.0 (derived from DBpedia)",
        citation=_DBP15K_CITATION,
        homepage="https://github.com/nju-websoft/JAPE",
        layout="ent_ids_1, ent_ids_2, triples_1, triples_2, ref_ent_ids [, rel_ids_1, rel_ids_2, "
        "translated_names.json: optional, not downloadable]",
        resources=res,
        marker="ent_ids_1",
        aliases=(f"dbp15k/{pair}", pair),
    )


# ------------------------------------------------------------------------------------ SILKNOW
_SILKNOW = Dataset(
    name="silknow",
    title="SILKNOW multilingual thesaurus of silk heritage (en/es/fr/it SKOS)",
    licence="Apache-2.0",
    citation="SILKNOW project (EU H2020 grant 769504), SILKNOW Thesaurus, https://github.com/silknow/thesaurus",
    homepage="https://github.com/silknow/thesaurus",
    layout="thesaurus.ttl (666 skos:Concepts with en/es/fr/it labels)",
    resources=(
        Resource(
            "https://raw.githubusercontent.com/silknow/thesaurus/"
            "0119855ccb49019c99e13f650c1538d027842717/thesaurus.ttl",
            "thesaurus.ttl",
            "abf7273034562dce63ce00facbbc76a24ab143512cbb54c8abb3df9962b89239",
        ),
    ),
    marker="thesaurus.ttl",
    aliases=("silknow",),
)

# ------------------------------------------------------------------------------------ MultiFarm
_MF = (
    "https://raw.githubusercontent.com/abhiseksharma/PunjabiMultifarmDataset/"
    "735ef67e1f283369d0645f3a8a66cc9374b5f29d/2.%20Multifarm%20base%20dataset/Sent%20by%20cassia%20mam/"
    "testsuites-2015-eval/testsuites-2015-eval"
)
_MF_ZIPS = {
    "de-en": "ffc496bc5ee6af528c64de860dd28eada3d22cf4cdb48ec97c6200ba58d17804",
    "ar-en": "68418e0c5526d46694fd9d684336c0015652cb15441a47fdfc572e567a2fce28",
    "en-ru": "c33b1cf1f84c857c76fc4542dff8842b54dd6765f80ce5af58a720cf5d2e8dc3",
}
_MULTIFARM = Dataset(
    name="multifarm-dev",
    title="OAEI MultiFarm, development split (de-en, ar-en, en-ru)",
    licence="free for scientific use (MultiFarm); republication MIT",
    citation=(
        "C. Meilicke, R. Garcia-Castro, F. Freitas, W. R. van Hage, E. Montiel-Ponsoda, R. Ribeiro de "
        "Azevedo, H. Stuckenschmidt, O. Svab-Zamazal, V. Svatek, A. Tamilin, C. Trojahn, S. Wang. "
        "MultiFarm: A Benchmark for Multilingual Ontology Matching. Journal of Web Semantics 15 (2012)."
    ),
    homepage="https://www.irit.fr/recherches/MELODI/multifarm/",
    layout="ont/<onto>-<lang>.owl (7 conference ontologies in en, de, ar, ru); "
    "ref/<pair>/<onto1>-<onto2>-<l1>-<l2>.rdf (Alignment API reference alignments)",
    resources=tuple(
        Resource(
            f"{_MF}/{p}/{p}.zip",
            "",
            h,
            archive=True,
            rename=(("ont/", "ont/"), ("ref/", f"ref/{p}/")),
            skip=("metadata.rdf",),
        )
        for p, h in _MF_ZIPS.items()
    ),
    marker="ont/cmt-en.owl",
    aliases=("multifarm",),
)

#: name -> Dataset
REGISTRY: dict[str, Dataset] = {
    d.name: d for d in [_dbp15k("zh_en"), _dbp15k("ja_en"), _dbp15k("fr_en"), _SILKNOW, _MULTIFARM]
}


def register(dataset: Dataset, *, replace: bool = False) -> None:
    """Add a dataset to :data:`REGISTRY` (e.g. a local mirror; tests use ``file://`` URLs).

    Raises
    ------
    KgalignError
        The name is taken and ``replace`` is false, or a required resource has no URL.
    """
    from kgalign.errors import KgalignError

    if dataset.name in REGISTRY and not replace:
        raise KgalignError(f"dataset {dataset.name!r} is already registered")
    for r in dataset.resources:
        if r.url is None and not r.optional:
            raise KgalignError(f"dataset {dataset.name!r}: required resource {r.target!r} has no URL")
    REGISTRY[dataset.name] = dataset


def names() -> list[str]:
    """Registered dataset names, sorted."""
    return sorted(REGISTRY)


def get(name: str) -> Dataset:
    """The registered dataset ``name``.

    Raises
    ------
    InputError
        Unknown name (the message lists the known ones).
    """
    from kgalign.errors import InputError

    try:
        return REGISTRY[name]
    except KeyError:
        raise InputError(f"unknown dataset {name!r}; known: {', '.join(names())}") from None
