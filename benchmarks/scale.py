"""Scale benchmark: synthetic aligned KG pairs of a chosen size, aligned from precomputed name
embeddings to a written alignment, locally or on Ray; time per stage, peak memory, Hits@1, F1.

Synthetic pairs (:func:`generate`)
    ``n`` entities per side; 10 % of each side dangling (no counterpart); names drawn from the
    real English DBpedia names of DBP15K (``ent_ids_2`` local names of zh_en, ja_en, fr_en,
    plus a second word from ``translated_names.json`` for half of them, so homonyms occur as in
    real KGs), side 2 names transliterated (ph->f, c->k, w->v, th->t, accents stripped, each
    rule with probability 1/2) and edited (a character deleted, swapped or replaced with
    probability 0.3, words swapped with probability 0.1); relation triples of a power-law graph
    (endpoints drawn with Zipf-like weights, exponent 0.8, 4 n triples, 40 relations), side 2
    keeping 80 % of the mapped triples plus its own; a known gold alignment.

Embeddings
    MiniLM on 1M names is far too slow on this 2-core CPU (about 1-2 ms per name, 30+ minutes
    per side), so names are embedded by hashed character 2-4-grams
    (``sklearn.feature_extraction.text.HashingVectorizer``, 2^18 features) and a seeded Gaussian
    random projection to 128 dimensions (Johnson-Lindenstrauss), L2-normalised. They are written
    chunk by chunk to memory-mapped files by :func:`kgalign.aligner.chunked.encode_chunked`
    (stage ``encode``; "precomputed embeddings" for the 1M target are the output of this stage).

Pipeline per run: ``encode`` -> ``candidates`` (:func:`kgalign.aligner.candidates.search_candidates`,
exact below ``EXACT_LIMIT`` pairs, faiss IVF beyond; recall against exact search on 1000 rows)
-> ``match`` (:func:`kgalign.aligner.sharded.match_blocks`, auction per block of connected
components, rows abstain below cosine 0.5) -> ``write`` (TSV, atomic) -> ``evaluate``.

Usage::

    python benchmarks/scale.py run --n 100000 [--executor ray]     # one size, JSON on stdout
    python benchmarks/scale.py load --n 100000                      # rdflib vs oxigraph loading
    python benchmarks/scale.py all --sizes 100000 300000 1000000    # every size, local and Ray,
                                                                    # results/scale.json + plot

Each measured run is its own process, so ``peak_rss_gb`` (``ru_maxrss``) is that run's peak.
With Ray, the workers' memory is not in the driver's peak; ``ray_workers_rss_gb`` adds the
peak of the worker processes seen during the run (sampled).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import resource
import subprocess
import sys
import time
import unicodedata
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))
DBP15K = REPO.parent / "shared" / "datasets" / "dbp15k"
DIM = 128
THRESHOLD = 0.5
#: the benchmark searches exactly up to this many pairs (30k x 30k), with faiss IVF beyond
EXACT_SCALE = 10**9


# ----------------------------------------------------------------------------------- generator
def base_names() -> tuple[list[str], list[str]]:
    """Distinct English DBpedia names of DBP15K and the words of its translated names."""
    from kgalign.labels import local_name

    names: dict[str, None] = {}
    words: dict[str, None] = {}
    for pair in sorted(DBP15K.glob("*_*")):
        with open(pair / "ent_ids_2", encoding="utf-8") as fh:
            for line in fh:
                iri = line.rstrip("\n").split("\t")[1]
                names.setdefault(re.sub(r"\s*\(.*\)$", "", local_name(iri)))
        for _, toks in json.loads((pair / "translated_names.json").read_text(encoding="utf-8")):
            for t in toks:
                if len(t) > 2:
                    words.setdefault(t.capitalize())
    return list(names), list(words)


_RULES = [("ph", "f"), ("c", "k"), ("w", "v"), ("th", "t"), ("ou", "u"), ("y", "i"), ("x", "ks"), ("sch", "sh")]
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def transliterate(name: str, rng: np.random.Generator) -> str:
    s = unicodedata.normalize("NFKD", name)
    s = "".join(ch for ch in s if not unicodedata.combining(ch))
    for a, b in _RULES:
        if rng.random() < 0.5:
            s = s.replace(a, b)
    return s


def add_noise(name: str, rng: np.random.Generator) -> str:
    s = name
    if len(s) > 3 and rng.random() < 0.3:
        i = int(rng.integers(1, len(s) - 1))
        op = rng.integers(3)
        if op == 0:
            s = s[:i] + s[i + 1 :]
        elif op == 1:
            s = s[: i - 1] + s[i] + s[i - 1] + s[i + 1 :]
        else:
            s = s[:i] + _LETTERS[int(rng.integers(26))] + s[i + 1 :]
    if " " in s and rng.random() < 0.1:
        parts = s.split(" ")
        parts[0], parts[-1] = parts[-1], parts[0]
        s = " ".join(parts)
    return s


def _powerlaw_edges(n: int, m: int, n_rel: int, rng: np.random.Generator) -> np.ndarray:
    w = (np.arange(1, n + 1, dtype=np.float64)) ** -0.8
    w /= w.sum()
    perm = rng.permutation(n)
    h = perm[rng.choice(n, m, p=w)]
    t = perm[rng.choice(n, m, p=w)]
    rw = (np.arange(1, n_rel + 1, dtype=np.float64)) ** -1.0
    r = rng.choice(n_rel, m, p=rw / rw.sum())
    keep = h != t
    return np.stack([h[keep], r[keep], t[keep]], axis=1)


def generate(n: int, seed: int = 0, dangling: float = 0.1) -> dict:
    """A synthetic aligned pair with ``n`` entities per side (see the module notes)."""
    rng = np.random.default_rng(seed)
    names, words = base_names()
    n_match = int(round(n * (1 - dangling)))

    def draw(k):
        a = rng.integers(len(names), size=k)
        b = rng.integers(len(words), size=k)
        two = rng.random(k) < 0.5
        return [f"{names[i]} {words[j]}" if t else names[i] for i, j, t in zip(a.tolist(), b.tolist(), two.tolist())]

    names1 = draw(n)
    src = rng.permutation(n)[:n_match]  # side-1 entities with a counterpart
    tgt = rng.permutation(n)[:n_match]  # their positions on side 2
    names2 = [None] * n
    for i, j in zip(src.tolist(), tgt.tolist()):
        names2[j] = add_noise(transliterate(names1[i], rng), rng)
    free = [j for j in range(n) if names2[j] is None]
    for j, name in zip(free, draw(len(free))):
        names2[j] = add_noise(transliterate(name, rng), rng)
    edges1 = _powerlaw_edges(n, 4 * n, 40, rng)
    to2 = np.full(n, -1, dtype=np.int64)
    to2[src] = tgt
    mapped = np.stack([to2[edges1[:, 0]], edges1[:, 1], to2[edges1[:, 2]]], axis=1)
    mapped = mapped[(mapped[:, 0] >= 0) & (mapped[:, 2] >= 0) & (rng.random(len(mapped)) < 0.8)]
    edges2 = np.concatenate([mapped, _powerlaw_edges(n, n, 40, rng)])
    return {
        "names1": names1,
        "names2": names2,
        "edges1": edges1,
        "edges2": edges2,
        "gold": np.stack([src, tgt], axis=1),
    }


def write_ntriples(path: Path, names: list[str], edges: np.ndarray, ns: str) -> None:
    """One side as N-Triples: ``rdfs:label`` per entity and the relation triples."""
    label = "<http://www.w3.org/2000/01/rdf-schema#label>"
    with open(path, "w", encoding="utf-8") as fh:
        for i, name in enumerate(names):
            esc = name.replace("\\", "\\\\").replace('"', '\\"')
            fh.write(f'<{ns}e{i}> {label} "{esc}"@en .\n')
        for h, r, t in edges.tolist():
            fh.write(f"<{ns}e{h}> <{ns}r{r}> <{ns}e{t}> .\n")


# ----------------------------------------------------------------------------------- embeddings
class HashedNgramEncoder:
    """Hashed character 2-4-grams + seeded Gaussian random projection, L2-normalised (picklable)."""

    def __init__(self, dim: int = DIM, n_features: int = 2**18, seed: int = 0):
        self.dim, self.n_features, self.seed = dim, n_features, seed
        self._proj = None

    def __call__(self, texts):
        from sklearn.feature_extraction.text import HashingVectorizer

        if self._proj is None:
            rng = np.random.default_rng(self.seed)
            self._proj = rng.standard_normal((self.n_features, self.dim)).astype(np.float32)
        X = HashingVectorizer(
            analyzer="char_wb",
            ngram_range=(2, 4),
            n_features=self.n_features,
            alternate_sign=False,
            norm="l2",
            lowercase=True,
        ).transform(texts)
        E = np.asarray(X.astype(np.float32) @ self._proj)
        E /= np.maximum(np.linalg.norm(E, axis=1, keepdims=True), 1e-12)
        return E

    def __getstate__(self):
        return {"dim": self.dim, "n_features": self.n_features, "seed": self.seed, "_proj": None}


# ----------------------------------------------------------------------------------- one run
def _rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def run(n: int, executor_name: str = "local", seed: int = 0, workdir: str | None = None, k: int = 10) -> dict:
    from kgalign.aligner.candidates import candidate_recall, search_candidates
    from kgalign.aligner.chunked import encode_chunked
    from kgalign.aligner.sharded import match_blocks
    from kgalign.executor import get_executor
    from kgalign.io.writers import write_tsv

    work = Path(workdir or f"/tmp/kgalign-scale-{n}-{executor_name}")
    work.mkdir(parents=True, exist_ok=True)
    times: dict[str, float] = {}
    cpu0 = time.process_time()
    t = time.perf_counter()
    data = generate(n, seed)
    times["generate"] = time.perf_counter() - t
    executor = get_executor("ray", num_cpus=os.cpu_count()) if executor_name == "ray" else get_executor("local")
    sampler = _RaySampler() if executor_name == "ray" else None
    try:
        t = time.perf_counter()
        enc = HashedNgramEncoder(seed=seed)
        E1 = encode_chunked(
            data["names1"], enc, work / "e1.npy", chunk_size=65536, key="hash", executor=executor, force=True
        )
        E2 = encode_chunked(
            data["names2"], enc, work / "e2.npy", chunk_size=65536, key="hash", executor=executor, force=True
        )
        times["encode"] = time.perf_counter() - t

        t = time.perf_counter()
        method = "exact" if n * n <= EXACT_SCALE else "ivf"
        # IVF lists grow as 4 sqrt(n); nprobe shrinks as 1/sqrt(n) beyond 100k so that a query scans
        # about the same number of vectors (16 lists of 100k / 1264) at every size
        nprobe = 16 if n <= 100_000 else max(4, int(round(16 * (100_000 / n) ** 0.5)))
        S = search_candidates(
            np.asarray(E1),
            np.asarray(E2),
            k,
            method=method,
            executor=executor,
            seed=seed,
            nprobe=nprobe,
            shard_rows=65536,
        )
        times["candidates"] = time.perf_counter() - t
        t = time.perf_counter()
        rows, cols, info = match_blocks(S, executor=executor, n_blocks=8, unmatched_value=THRESHOLD)
        times["match"] = time.perf_counter() - t

        t = time.perf_counter()
        scores = np.asarray(S[rows, cols]).ravel()
        out = work / "alignment.tsv"
        write_tsv(
            out,
            (
                (f"http://kg1.ex/e{i}", f"http://kg2.ex/e{j}", float(c), data["names1"][i], data["names2"][j])
                for i, j, c in zip(rows.tolist(), cols.tolist(), scores.tolist())
            ),
            force=True,
        )
        times["write"] = time.perf_counter() - t

        t = time.perf_counter()
        gold = data["gold"]
        gold_of = np.full(n, -1, dtype=np.int64)
        gold_of[gold[:, 0]] = gold[:, 1]
        best_cols = _row_argmax(S[gold[:, 0]])
        hits1 = float(np.mean(best_cols == gold[:, 1]))
        correct = int(np.sum(gold_of[rows] == cols))
        precision = correct / len(rows) if len(rows) else 0.0
        recall = correct / len(gold)
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        rec = (
            candidate_recall(np.asarray(E1), np.asarray(E2), S, k, sample=1000, seed=seed)
            if method != "exact"
            else {"recall_at_k": 1.0, "recall_top1": 1.0, "rows": 0, "k": k}
        )
        times["evaluate"] = time.perf_counter() - t
        digest = hashlib.sha256(np.stack([rows, cols]).tobytes()).hexdigest()[:16]
    finally:
        workers = sampler.stop() if sampler else None
        executor.close()
    pipeline = sum(times[s] for s in ("encode", "candidates", "match", "write"))
    return {
        "n": n,
        "executor": executor_name,
        "k": k,
        "candidate_method": method,
        "dim": DIM,
        "nprobe": nprobe if method == "ivf" else None,
        "times_s": {s: round(v, 2) for s, v in times.items()},
        "from_embeddings_to_alignment_s": round(times["candidates"] + times["match"] + times["write"], 2),
        "pipeline_s": round(pipeline, 2),
        "driver_cpu_s": round(time.process_time() - cpu0, 1),
        "load_avg_1min": round(os.getloadavg()[0], 1),
        "peak_rss_gb": round(_rss_gb(), 2),
        "ray_workers_rss_gb": workers,
        "hits@1": round(hits1, 4),
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "pairs": int(len(rows)),
        "candidate_recall": rec,
        "blocks": info,
        "alignment_sha256": digest,
        "cpus": os.cpu_count(),
    }


def _row_argmax(S) -> np.ndarray:
    """Column of the largest value of each CSR row (smallest column on ties; -1 for empty rows)."""
    n = S.shape[0]
    out = np.full(n, -1, dtype=np.int64)
    lens = np.diff(S.indptr)
    row_of = np.repeat(np.arange(n), lens)
    order = np.lexsort((S.indices, -S.data, row_of))
    first = S.indptr[:-1][lens > 0]
    out[lens > 0] = S.indices[order[first]]
    return out


class _RaySampler:
    """Samples the summed RSS of Ray worker processes (psutil) in a thread; the peak is kept."""

    def __init__(self, every: float = 0.5):
        import threading

        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, args=(every,), daemon=True)
        self._thread.start()

    def _loop(self, every):
        try:
            import psutil
        except ImportError:
            return
        me = os.getpid()
        while not self._stop.wait(every):
            total = 0
            for p in psutil.process_iter(["name", "cmdline", "memory_info", "ppid"]):
                try:
                    cmd = " ".join(p.info["cmdline"] or [])
                    if p.pid != me and (
                        "ray::" in cmd or "default_worker.py" in cmd or "raylet" in cmd or "gcs_server" in cmd
                    ):
                        total += p.info["memory_info"].rss
                except Exception:
                    pass
            self.peak = max(self.peak, total / 2**30)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join(2)
        return round(self.peak, 2)


# ----------------------------------------------------------------------------------- loading
LOADERS = {
    "rdflib": "import rdflib; g = rdflib.Graph(); g.parse({path!r}, format='nt'); n = len(g)",
    "kgalign-rdflib-path": "from kgalign.io import load_kg; n = len(load_kg({path!r}, engine='rdflib'))",
    "oxigraph": "from kgalign.io import load_kg; n = len(load_kg({path!r}, engine='oxigraph'))",
}


def measure_load(path: Path) -> dict:
    out = {}
    for name, code in LOADERS.items():
        script = (
            f"import resource, sys, time; sys.path.insert(0, {str(REPO)!r}); t = time.perf_counter(); "
            + code.format(path=str(path))
            + "; u = resource.getrusage(resource.RUSAGE_SELF)"
            + "; print(time.perf_counter() - t, u.ru_maxrss / 2**20, n, u.ru_utime + u.ru_stime)"
        )
        base = (
            f"import resource, sys; sys.path.insert(0, {str(REPO)!r}); "
            + ("import rdflib" if name == "rdflib" else "import kgalign.io, kgalign.io.rdf, numpy, tqdm")
            + "; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20)"
        )
        r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
        b = subprocess.run([sys.executable, "-c", base], capture_output=True, text=True, check=True)
        secs, rss, count, cpu = r.stdout.split()
        out[name] = {
            "seconds": round(float(secs), 2),
            "cpu_s_incl_imports": round(float(cpu), 2),
            "peak_rss_gb": round(float(rss), 3),
            "baseline_rss_gb": round(float(b.stdout.split()[0]), 3),
            "size": int(count),
        }
    for name in out:
        out[name]["added_rss_gb"] = round(out[name]["peak_rss_gb"] - out[name]["baseline_rss_gb"], 3)
    return out


def cmd_load(n: int, seed: int = 0) -> dict:
    data = generate(n, seed)
    path = Path(f"/tmp/kgalign-scale-load-{n}.nt")
    write_ntriples(path, data["names1"], data["edges1"], "http://kg1.ex/")
    res = {
        "n": n,
        "triples": len(data["names1"]) + len(data["edges1"]),
        "mb": round(path.stat().st_size / 1e6, 1),
        "loaders": measure_load(path),
    }
    path.unlink()
    ox, rl = res["loaders"]["oxigraph"], res["loaders"]["rdflib"]
    res["speedup_vs_rdflib"] = round(rl["seconds"] / ox["seconds"], 1)
    res["cpu_speedup_vs_rdflib"] = round(rl["cpu_s_incl_imports"] / ox["cpu_s_incl_imports"], 1)
    res["load_avg_1min"] = round(os.getloadavg()[0], 1)
    res["memory_ratio_vs_rdflib"] = round(rl["added_rss_gb"] / max(ox["added_rss_gb"], 1e-3), 1)
    return res


# ----------------------------------------------------------------------------------- all + plot
def plot(results: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.5))
    for ex in ("local", "ray"):
        rs = sorted((r for r in results if r["executor"] == ex), key=lambda r: r["n"])
        if not rs:
            continue
        ns = [r["n"] for r in rs]
        ax1.plot(ns, [r["pipeline_s"] for r in rs], "o-", label=f"{ex}: encode..write")
        ax1.plot(ns, [r["from_embeddings_to_alignment_s"] for r in rs], "s--", label=f"{ex}: from embeddings")
        ax2.plot(ns, [r["peak_rss_gb"] + (r.get("ray_workers_rss_gb") or 0) for r in rs], "o-", label=ex)
    for ax, title in ((ax1, "time (s)"), (ax2, "peak memory (GB)")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("entities per side")
        ax.set_title(title)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def table(results: list[dict]) -> str:
    """The Markdown table of the runs."""
    head = (
        "| n per side | executor | encode s | candidates s | match s | write s | embeddings -> alignment s "
        "| driver CPU s | peak RSS GB (driver + Ray workers) | cand. recall@10 / top-1 | Hits@1 | P | R | F1 "
        "| alignment sha256 |"
    )
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in results:
        t, c = r["times_s"], r["candidate_recall"]
        mem = f"{r['peak_rss_gb']}" + (f" + {r['ray_workers_rss_gb']}" if r.get("ray_workers_rss_gb") else "")
        lines.append(
            f"| {r['n']:,} | {r['executor']} | {t['encode']} | {t['candidates']} | {t['match']} | "
            f"{t['write']} | {r['from_embeddings_to_alignment_s']} | {r.get('driver_cpu_s', '')} | {mem} | "
            f"{c['recall_at_k']:.3f} / {c['recall_top1']:.3f} | {r['hits@1']:.3f} | {r['precision']:.3f} | "
            f"{r['recall']:.3f} | {r['f1']:.3f} | `{r['alignment_sha256']}` |"
        )
    return "\n".join(lines)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--n", type=int, required=True)
    r.add_argument("--executor", choices=["local", "ray"], default="local")
    r.add_argument("--seed", type=int, default=0)
    lo = sub.add_parser("load")
    lo.add_argument("--n", type=int, required=True)
    a = sub.add_parser("all")
    a.add_argument("--sizes", type=int, nargs="+", default=[100_000, 300_000, 1_000_000])
    a.add_argument("--executors", nargs="+", default=["local", "ray"])
    a.add_argument("--out", default=str(HERE / "results" / "scale.json"))
    rp = sub.add_parser(
        "report", help="add run results (JSON lines) to results/scale.json, redraw the plot, print the Markdown table"
    )
    rp.add_argument("files", nargs="*")
    rp.add_argument("--out", default=str(HERE / "results" / "scale.json"))
    args = ap.parse_args(argv)
    if args.cmd == "report":
        out = Path(args.out)
        results = json.loads(out.read_text())["runs"] if out.exists() else []
        for f in args.files:
            for line in Path(f).read_text().splitlines():
                if line.startswith("{"):
                    res = json.loads(line)
                    results = [x for x in results if (x["n"], x["executor"]) != (res["n"], res["executor"])] + [res]
        results.sort(key=lambda x: (x["n"], x["executor"]))
        out.write_text(json.dumps({"runs": results}, indent=1))
        plot(results, out.with_suffix(".png"))
        print(table(results))
        return
    if args.cmd == "run":
        print(json.dumps(run(args.n, args.executor, args.seed)))
    elif args.cmd == "load":
        print(json.dumps(cmd_load(args.n)))
    else:
        out = Path(args.out)
        results = json.loads(out.read_text())["runs"] if out.exists() else []
        for n in args.sizes:
            for ex in args.executors:
                p = subprocess.run(
                    [sys.executable, __file__, "run", "--n", str(n), "--executor", ex], capture_output=True, text=True
                )
                if p.returncode != 0:
                    print(p.stderr[-2000:], file=sys.stderr)
                    continue
                res = json.loads(p.stdout.strip().splitlines()[-1])
                print(json.dumps(res), flush=True)
                results = [x for x in results if (x["n"], x["executor"]) != (n, ex)] + [res]
                out.write_text(json.dumps({"runs": sorted(results, key=lambda x: (x["n"], x["executor"]))}, indent=1))
        plot(results, out.with_suffix(".png"))


if __name__ == "__main__":
    main()
