"""Name-level effect of the offline fallback on MultiFarm: how often the two labels of a
same-ontology reference pair (edas-edas, ekaw-ekaw: the same entity in two languages) come out
equal, or share a word, once the non-English side is translated.

Compares the romanize fallback on vocabulary labels without (``romanize``) and with FreeDict
word glosses (``romanize+freedict``, :meth:`RomanizeTranslator.for_vocabulary`). Matching is on
lower-cased words; English stopwords (of, the, a, is, has) do not count as shared words.

    PYTHONPATH=. python benchmarks/multifarm_names.py --data-dir ../shared/datasets/multifarm
"""

from __future__ import annotations

import argparse
import json
import re
import time

_STOP = {"of", "the", "a", "an", "is", "has", "have", "be", "by", "in", "to", "for", "or", "and", "from", "at", "on"}


def _words(s: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", s.lower()) if w not in _STOP}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default="../shared/datasets/multifarm")
    args = ap.parse_args(argv)
    from kgalign.aligner.romanize import RomanizeTranslator
    from kgalign.evaluation.multifarm import find_tasks, reference_links
    from kgalign.io import load_kg

    out: dict = {}
    t0 = time.perf_counter()
    for task in find_tasks(args.data_dir):
        if not task["same"] or task["lang2"] == "en" and task["lang1"] == "en":
            continue
        kg1, kg2 = load_kg(task["ont1"]), load_kg(task["ont2"])
        present, _ = reference_links(kg1, kg2, task["ref"])
        # the non-English side is translated, the English side read as it is
        foreign_first = task["lang1"] != "en"
        lang = task["lang1"] if foreign_first else task["lang2"]
        kg_f, kg_e = (kg1, kg2) if foreign_first else (kg2, kg1)
        names_e = dict(zip(kg_e.entities, kg_e.names()))
        texts_f = kg_f.names()
        pairs = [(a, b) if foreign_first else (b, a) for a, b in present]
        row = {"pairs": len(pairs)}
        for label, tr in (("romanize", RomanizeTranslator(lang)), ("romanize+freedict", None)):
            if tr is None:
                tr = RomanizeTranslator(lang).for_vocabulary()
            trans = dict(zip(kg_f.entities, tr.translate(texts_f)))
            eq = sum(trans[f].strip().lower() == names_e[e].strip().lower() for f, e in pairs)
            share = sum(bool(_words(trans[f]) & _words(names_e[e])) for f, e in pairs)
            row[label] = {"equal": round(eq / len(pairs), 3), "share_word": round(share / len(pairs), 3)}
        out.setdefault(task["pair"], {})[task["name"]] = row
        print(task["pair"], task["name"], json.dumps(row))
    print(f"{time.perf_counter() - t0:.1f} s")
    return out


if __name__ == "__main__":
    main()
