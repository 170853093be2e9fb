"""kgalign.lm.finetune: the shared fine-tuning engine for probing and edit propagation.

Stable API (heavy libraries load on first use of a name)::

    Trainer(model, tokenizer=None, *, objective="mlm" | "clm" | "labels", loss_fn=None,
            lr=5e-5, weight_decay=0.0, batch_size=8, max_steps=None, epochs=1,
            mlm_probability=0.15, max_length=128, max_grad_norm=None, warmup_steps=0,
            schedule="constant", optimizer_factory=None, hooks=(), eval_data=None,
            eval_every=None, patience=None, min_delta=0.0, restore_best=False,
            device="auto", seed=0, shuffle=True, progress=True)
        .train(data) -> TrainResult      # data: list[str] or list[dict(input_ids, [labels])]
        .evaluate(data=None) -> float    # nats per predicted token
    TrainerHook                          # on_train_begin / before_optimizer_step /
                                         # after_optimizer_step / on_evaluate / on_train_end
    word_tokenizer(texts) / tiny_model("bert" | "xlm-roberta" | "gpt2", vocab_size, ...)

    TaskVector.from_models(pretrained, finetuned, *, include=None)     # Ilharco et al., 2023
        + , - (unary and binary), * float, TaskVector.analogy(a, b, c), .norm(),
        .apply_to(model, scaling_coef=1.0) -> model, .to_sparse(k=|density=),
        .select_scaling_coef(pre, score, coefs=None, *, control=None, keep=0.95, sign=1)
        .save(dir, force=False) / TaskVector.load(dir), TaskVector.from_sparse_diff(diff)
    SparseDiff(entries={name: (indices, values)}, shapes={name: shape})   # Ansell et al., 2022
        SparseDiff.from_models(base, tuned, *, mask=None) / .from_dense(dense, mask=None)
        .apply(model, scale=1.0) / .revert(model, scale=1.0), + , - , * float, .dense(),
        .mask(), .nnz, .to_task_vector(), .save(dir, force=False) / SparseDiff.load(dir)
    lt_sft(model, data, *, k=None | density=None, tokenizer=None, include=None,
           full_steps=None, sparse_steps=None, l1_reg=0.0, trainer_kwargs=None,
           freeze=("embeddings", "head", "layer_norm"), dense=None) -> SparseDiff
    select_top_k(tensors, *, k=None | density=None) -> {name: bool mask}
    kgalign.lm.finetune.composable (composable SFTs for cross-lingual transfer, Ansell et al. 2022):
        compose(model, *diffs) / with applied(model, *diffs): ...   # restored bit for bit on exit
        train_language_sft(lm, texts, *, tokenizer, k=|density=, ...) -> phi_L (MLM LT-SFT)
        train_task_sft(task_model, data, *, language_sft=phi_S, k=|density=, ...) -> phi_T
        cross_lingual_transfer(lm, task_model, *, source, target, texts, task_train, task_test, ...)
        with_task_head(lm, model_class, num_labels=...), token_accuracy(model, data)
    GradientMaskHook(masks)                          # train only masked entries
    L1TowardsInitHook(reg, include=None)             # + reg / n_params * sign(theta - theta_start)
    ChildTuningOptimizer(optimizer, *, mode="F" | "D", reserve_p=0.3, masks=None, seed=0)
    ChildTuningHook(mode="F" | "D", reserve_p=0.3, masks=None, seed=0)   # Xu et al., 2021
    fisher_information(model, data, *, tokenizer=None, objective="mlm", ...) -> {name: F}
    fisher_mask(fisher, reserve_p) -> {name: bool mask}
    kgalign.lm.finetune.madx (AdapterHub ``adapters``; Houlsby 2019, Pfeiffer et al. 2020):
        lm_adapter_model(model)   # AutoAdapterModel with a flexible LM head (inverse at the output)
        add_adapter(model, name, kind="pfeiffer" | "houlsby" | "pfeiffer+inv" | "houlsby+inv",
                    reduction_factor=16, leave_out=())
        train_language_adapter(model, tok, texts, language, *, kind="pfeiffer+inv",
                               reduction_factor=2, leave_out=(), **trainer)
        train_task_adapter(model, tok, data, task, language | None, *, kind="pfeiffer", **trainer)
        activate(model, *, language=None, task=None); save_adapter / load_adapter (safetensors)
    kgalign.lm.finetune.madx_transfer (MAD-X zero-shot transfer, Pfeiffer et al. 2020, sec. 3):
        toy_bilingual_world(...) -> ToyWorld; pretrain_base(world, ...) -> (model, tok)
        madx_zero_shot(model, tok, world, ...) -> {"accuracy": {"madx", "in_language", ...}}

Every file this package writes is safetensors plus a small JSON config; nothing is unpickled.
"""

from __future__ import annotations

from kgalign._lazy import lazy_exports

_LAZY = {
    "Trainer": "kgalign.lm.finetune.trainer",
    "TrainerHook": "kgalign.lm.finetune.trainer",
    "TrainResult": "kgalign.lm.finetune.trainer",
    "collate_examples": "kgalign.lm.finetune.trainer",
    "mask_tokens": "kgalign.lm.finetune.trainer",
    "word_tokenizer": "kgalign.lm.finetune.tiny",
    "tiny_model": "kgalign.lm.finetune.tiny",
    "TaskVector": "kgalign.lm.finetune.task_vector",
    "SparseDiff": "kgalign.lm.finetune.sparse",
    "GradientMaskHook": "kgalign.lm.finetune.sparse",
    "lt_sft": "kgalign.lm.finetune.sparse",
    "L1TowardsInitHook": "kgalign.lm.finetune.sparse",
    "select_top_k": "kgalign.lm.finetune.sparse",
    "compose": "kgalign.lm.finetune.composable",
    "applied": "kgalign.lm.finetune.composable",
    "cross_lingual_transfer": "kgalign.lm.finetune.composable",
    "ChildTuningOptimizer": "kgalign.lm.finetune.child_tuning",
    "ChildTuningHook": "kgalign.lm.finetune.child_tuning",
    "fisher_information": "kgalign.lm.finetune.child_tuning",
    "fisher_mask": "kgalign.lm.finetune.child_tuning",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
