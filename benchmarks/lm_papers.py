"""Benchmark: measured outcomes of the language-model toolkit against its papers (issue 15).

Small offline checks on tiny models built from configs (seconds each on a CPU):

* MAD-X (Pfeiffer et al., EMNLP 2020): a language adapter (Pfeiffer + invertible, reduction
  factor 2, last layer left out) on AdapterHub's flexible masked-LM head; MLM loss with every
  word masked once, before and after training; calls of the invertible adapter per forward
  pass (forward on the embeddings, inverse at the output); base weights changed.
* LT-SFT (Ansell et al., ACL 2022): the ticket against the phase-1 change (smallest kept vs
  largest dropped |change|), and how many ticket entries fall in embeddings / head /
  LayerNorm with the default freezing and without it.
* Composable SFT (Ansell et al., ACL 2022): zero-shot transfer of a token-tagging task
  between two toy languages (one template grammar, disjoint vocabularies, shared name/number
  anchors) on a tiny XLM-R pre-trained offline with MLM on both (B under-represented):
  theta + phi_B + phi_T against the bare task SFT and against keeping phi_A; 3 seeds.
* Task vectors (Ilharco et al., ICLR 2023): forgetting on a model that knows the task, with
  lambda chosen under a control-task constraint.
* MAD-X zero-shot transfer (``madx_transfer``): task adapter trained on Stack(lang_A, task),
  evaluated on language B with B's adapter swapped in, against A's adapter left in place and
  a task adapter without language adapter; 3 seeds (``--only madx_transfer`` runs it alone;
  ``madx_transfer_no_anchors``: the same without shared entity names, the control).

    nice -n 5 python benchmarks/lm_papers.py --out benchmarks/results/lm_papers.json
    nice -n 5 python benchmarks/lm_papers.py --only composable-sft --out benchmarks/results/lm_papers.json

``--only`` runs one section and updates only its entry of an existing ``--out`` file.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import time
from pathlib import Path

EN = ["paris is the capital of france .", "a cat sat on the mat .", "the river flows into the sea ."]
FACTS = [
    ("paris is the capital of", "france"),
    ("berlin is the capital of", "germany"),
    ("rome is the capital of", "italy"),
    ("madrid is the capital of", "spain"),
]
TEXTS = [f"{s} {o} ." for s, o in FACTS] + [
    "the river flows into the sea",
    "a cat sat on the mat",
    "the city has an old bridge",
    "people speak many languages there",
]


def fixed_mask_loss(torch, model, tok, texts):
    model.eval()
    out = []
    with torch.no_grad():
        for text in texts:
            ids = tok(text)["input_ids"]
            for i in range(1, len(ids) - 1):
                m = list(ids)
                m[i] = tok.mask_token_id
                lab = [-100] * len(ids)
                lab[i] = ids[i]
                out.append(float(model(input_ids=torch.tensor([m]), labels=torch.tensor([lab])).loss))
    return sum(out) / len(out)


def madx_check(torch):
    from kgalign.lm.finetune import madx, tiny_model, word_tokenizer

    tok = word_tokenizer(EN)
    model = madx.lm_adapter_model(tiny_model("bert", len(tok), seed=0))
    base = {n: p.detach().clone() for n, p in model.named_parameters()}
    madx.add_adapter(model, "en", "pfeiffer+inv", reduction_factor=madx.LANGUAGE_REDUCTION_FACTOR, leave_out=[1])
    madx.activate(model, language="en")
    calls = []
    h = model.base_model.invertible_adapters["en"].register_forward_hook(
        lambda m, a, kw, o: calls.append("inverse" if kw.get("rev") else "forward"), with_kwargs=True
    )
    with torch.no_grad():
        model(**tok(EN[0], return_tensors="pt"))
    h.remove()
    before = fixed_mask_loss(torch, model, tok, EN)
    madx.train_language_adapter(
        model, tok, EN * 4, "en", lr=1e-2, max_steps=40, batch_size=3, progress=False, device="cpu"
    )
    after = fixed_mask_loss(torch, model, tok, EN)
    params = dict(model.named_parameters())
    moved = sum(int(not torch.equal(params[n], v)) for n, v in base.items())
    return {
        "mlm_loss_before": round(before, 4),
        "mlm_loss_after": round(after, 4),
        "invertible_calls_per_forward": calls,
        "base_tensors_changed": moved,
    }


def ticket_check(torch):
    from kgalign.lm.finetune import TrainerHook, lt_sft, tiny_model, word_tokenizer
    from kgalign.lm.finetune.sparse import DEFAULT_FREEZE, frozen_by

    tok = word_tokenizer(TEXTS)

    class End(TrainerHook):
        def __init__(self):
            self.ends = []

        def on_train_end(self, trainer):
            self.ends.append({n: p.detach().clone() for n, p in trainer.model.named_parameters()})

    out = {}
    for label, freeze in (("default_freeze", DEFAULT_FREEZE), ("no_freeze", ())):
        model = tiny_model("bert", len(tok), seed=3)
        theta0 = {n: p.detach().clone() for n, p in model.named_parameters()}
        rec = End()
        diff = lt_sft(
            model,
            TEXTS,
            k=500,
            tokenizer=tok,
            full_steps=10,
            sparse_steps=10,
            freeze=freeze,
            trainer_kwargs=dict(lr=1e-2, batch_size=4, progress=False, device="cpu", hooks=[rec]),
        )
        mask = diff.mask()
        moved = {n: (rec.ends[0][n] - theta0[n]).abs() for n in mask}
        kept = torch.cat([moved[n][mask[n]] for n in mask])
        dropped = torch.cat([moved[n][~mask[n]] for n in mask])
        frozen = frozen_by(model, DEFAULT_FREEZE)
        out[label] = {
            "k": diff.nnz,
            "min_kept_change": float(kept.min()),
            "max_dropped_change": float(dropped.max()),
            "ticket_entries_in_embeddings_head_layernorm": int(sum(int(m.sum()) for n, m in mask.items() if frozen(n))),
        }
    return out


def forgetting_check(torch):
    from kgalign.lm.finetune import TaskVector, Trainer, tiny_model, word_tokenizer

    tok = word_tokenizer(TEXTS)

    def examples(facts):
        ex = []
        for s, o in facts:
            ids = tok(f"{s} {tok.mask_token} .")["input_ids"]
            lab = [-100] * len(ids)
            lab[ids.index(tok.mask_token_id)] = tok.convert_tokens_to_ids(o)
            ex.append({"input_ids": ids, "labels": lab})
        return ex

    def logits_at_mask(model, s):
        enc = tok(f"{s} {tok.mask_token} .", return_tensors="pt")
        pos = enc["input_ids"][0].tolist().index(tok.mask_token_id)
        with torch.no_grad():
            return model(**enc).logits[0, pos]

    def p1(model, facts):
        model.eval()
        return sum(tok.convert_ids_to_tokens(int(logits_at_mask(model, s).argmax())) == o for s, o in facts) / len(
            facts
        )

    def logprob(model, facts):
        model.eval()
        return sum(
            float(logits_at_mask(model, s).log_softmax(-1)[tok.convert_tokens_to_ids(o)]) for s, o in facts
        ) / len(facts)

    task, control = FACTS[:2], FACTS[2:]
    knows = tiny_model("bert", len(tok), seed=4)
    Trainer(knows, tok, objective="labels", lr=5e-3, batch_size=4, max_steps=60, progress=False, device="cpu").train(
        examples(FACTS)
    )
    ft = copy.deepcopy(knows)
    Trainer(ft, tok, objective="labels", lr=5e-3, batch_size=4, max_steps=30, progress=False, device="cpu").train(
        examples(task)
    )
    tau = TaskVector.from_models(knows, ft)
    coef, recs = tau.select_scaling_coef(
        knows,
        lambda m: logprob(m, task),
        coefs=[0, 0.25, 0.5, 1, 2, 4, 8],
        control=lambda m: p1(m, control),
        keep=1.0,
        sign=-1,
    )
    neg = tau.apply_to(copy.deepcopy(knows), scaling_coef=-coef)
    return {
        "lambda": coef,
        "task_logprob_before": round(logprob(knows, task), 3),
        "task_logprob_after": round(logprob(neg, task), 3),
        "task_p1_before": p1(knows, task),
        "task_p1_after": p1(neg, task),
        "control_p1_before": p1(knows, control),
        "control_p1_after": p1(neg, control),
        "candidates": recs,
    }


COMPOSABLE_SFT = dict(
    pretrain_sentences={"A": 3000, "B": 600},
    pretrain_steps=800,
    language_sentences=2000,
    language_k=20000,
    language_steps=200,
    task_train=300,
    task_test=500,
    task_k=5000,
    task_steps=100,
    lr=2e-3,
    batch_size=32,
    model=dict(layers=2, hidden=64, heads=4, max_positions=16),
)


def composable_sft_check(torch, seeds=(0, 1, 2)):
    """Ansell et al.'s recipe end to end on two toy languages, several seeds."""
    import statistics

    from transformers import XLMRobertaForTokenClassification

    from kgalign.lm.finetune import Trainer, tiny_model, word_tokenizer
    from kgalign.lm.finetune.composable import cross_lingual_transfer, with_task_head
    from kgalign.lm.finetune.toy_languages import TAGS, ToyLanguages

    c = COMPOSABLE_SFT
    runs = []
    for seed in seeds:
        world = ToyLanguages(seed=seed)
        tok = word_tokenizer(world.vocabulary())
        lm = tiny_model("xlm-roberta", len(tok), seed=seed, **c["model"])
        pre = [t for lang, n in c["pretrain_sentences"].items() for t in world.texts(lang, n, seed=0)]
        tk = dict(progress=False, device="cpu", batch_size=c["batch_size"], seed=seed, lr=c["lr"])
        Trainer(lm, tok, objective="mlm", max_steps=c["pretrain_steps"], **tk).train(pre)
        task = with_task_head(lm, XLMRobertaForTokenClassification, num_labels=len(TAGS), seed=seed)
        res = cross_lingual_transfer(
            lm,
            task,
            tokenizer=tok,
            source="A",
            target="B",
            texts={lang: world.texts(lang, c["language_sentences"], seed=1) for lang in "AB"},
            task_train=world.tagging("A", c["task_train"], tok, seed=2),
            task_test={lang: world.tagging(lang, c["task_test"], tok, seed=3) for lang in "AB"},
            language_kwargs=dict(
                k=c["language_k"], full_steps=c["language_steps"], sparse_steps=c["language_steps"], trainer_kwargs=tk
            ),
            task_kwargs=dict(
                k=c["task_k"], full_steps=c["task_steps"], sparse_steps=c["task_steps"], trainer_kwargs=tk
            ),
        )
        runs.append({"seed": seed, **res["scores"], "nnz": res["nnz"]})
        print("composable-sft seed", seed, json.dumps(res["scores"]))
    keys = [k for k in runs[0] if k not in ("seed", "nnz")]
    summary = {
        k: {
            "mean": round(statistics.fmean(r[k] for r in runs), 4),
            "std": round(statistics.stdev(r[k] for r in runs), 4) if len(runs) > 1 else 0.0,
        }
        for k in keys
    }
    gain = [r["target_swapped"] - r["target_bare_task_sft"] for r in runs]
    return {
        "setting": {**c, "seeds": list(seeds), "params": sum(p.numel() for p in lm.parameters())},
        "chance_accuracy": 0.5 * (1 / 2) + 0.5 * (1 / 4),  # adjective: 2 polarities, noun: 4 classes
        "summary": summary,
        "swap_minus_bare_per_seed": [round(g, 4) for g in gain],
        "runs": runs,
    }


def madx_transfer_check(torch, seeds=(0, 1, 2), shared_anchors=True):
    """MAD-X zero-shot transfer (Pfeiffer et al., EMNLP 2020, sec. 3) on a toy bilingual world.

    Per seed: a new world, a tiny BERT pre-trained with MLM on both languages (shared entity
    names as anchors; without them in the control), language adapters for both, task
    adapters; accuracies on the held-out tagging data
    (:func:`kgalign.lm.finetune.madx_transfer.madx_zero_shot`).
    """
    import statistics

    from kgalign.lm.finetune.madx_transfer import madx_zero_shot, pretrain_base, toy_bilingual_world

    runs = []
    for seed in seeds:
        world = toy_bilingual_world(seed=seed, shared_anchors=shared_anchors)
        model, tok = pretrain_base(world, steps=1500, lr=5e-3, mlm_probability=0.3, seed=seed)
        runs.append({"seed": seed, **madx_zero_shot(model, tok, world, task_lr=5e-3, task_steps=300, seed=seed)})
    keys = list(runs[0]["accuracy"])
    summary = {
        k: {
            "mean": round(statistics.mean(r["accuracy"][k] for r in runs), 3),
            "std": round(statistics.pstdev(r["accuracy"][k] for r in runs), 3),
        }
        for k in keys
    }
    return {"summary": summary, "chance": runs[0]["chance"], "runs": runs}


def main(argv=None) -> int:
    import torch

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=None)
    ap.add_argument(
        "--only",
        default=None,
        help="comma-separated section names (default: all); the others are kept from an existing --out file",
    )
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    res = json.loads(Path(args.out).read_text()) if args.only and args.out and Path(args.out).exists() else {}
    only = {x.strip().replace("-", "_") for x in args.only.split(",")} if args.only else None
    for name, fn in (
        ("madx", madx_check),
        ("lt_sft_ticket", ticket_check),
        ("composable_sft", composable_sft_check),
        ("task_vector_forgetting", forgetting_check),
        ("madx_transfer", madx_transfer_check),
        ("madx_transfer_no_anchors", lambda torch: madx_transfer_check(torch, shared_anchors=False)),
    ):
        if only is not None and name not in only:
            continue
        t = time.perf_counter()
        res[name] = fn(torch)
        res[name]["seconds"] = round(time.perf_counter() - t, 1)
        print(name, json.dumps(res[name]))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(args.out + ".tmp")
        tmp.write_text(json.dumps(res, indent=1))
        os.replace(tmp, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
