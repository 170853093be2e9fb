"""DBP15K closed protocol without the shipped translations: the offline fallback of
``--translator auto`` (kgalign.aligner.romanize), 1-to-1 accuracy and wall time.

    HF_HUB_OFFLINE=1 python benchmarks/fallback.py zh_en romanize [--matching sparse]

variants: romanize (CC-CEDICT glosses + transliteration), translit (transliteration only),
identity (no translation), shipped (translated_names.json, today's default). Prints one JSON
line; targets are shuffled with seed 0 as ``kgalign align --closed`` does.
"""

import argparse
import json
import time

import numpy as np

from kgalign.aligner.pipeline import align
from kgalign.io import load_pair

ap = argparse.ArgumentParser()
ap.add_argument("pair")
ap.add_argument("variant", choices=["romanize", "translit", "identity", "shipped"])
ap.add_argument("--matching", default="sparse", choices=["auto", "dense", "sparse"])
ap.add_argument("--data-dir", default="../shared/datasets/dbp15k")
a = ap.parse_args()
pair = load_pair(f"{a.data_dir}/{a.pair}")
s = pair.links[:, 0]
t = np.random.default_rng(0).permutation(pair.links[:, 1])
tr = None if a.variant == "shipped" else a.variant  # as --translator VARIANT: one translator per side
t0 = time.time()
res = align(
    pair.kg1,
    pair.kg2,
    sources=s,
    targets=t,
    translations=pair.translations if a.variant == "shipped" else None,
    translator=tr,
    matching={"method": a.matching},
    show_progress=False,
    lang1=pair.lang1,
    lang2=pair.lang2,
)
gold = {(int(i), int(j)) for i, j in pair.links.tolist()}
r, c = res.assignment
acc = float(np.mean([(int(res.sources[x]), int(res.targets[y])) in gold for x, y in zip(r, c)]))
print(
    json.dumps(
        dict(
            pair=a.pair,
            variant=a.variant,
            matching=a.matching,
            accuracy_1to1=round(acc, 4),
            wall_s=round(time.time() - t0, 1),
            choice=res.info.get("choice"),
            stages={k: round(v["seconds"], 1) for k, v in res.stages.items()},
        )
    )
)
