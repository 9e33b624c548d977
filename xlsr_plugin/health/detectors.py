"""The four ways a wav2vec 2.0 / XLSR run fails to learn, each a function of the records the run
logged (oldest first) that returns what it finds now (an empty list: healthy, or not judged).

- chance: contrastive accuracy near 1/(K+1) after the warm-up (fairseq#3661, #3718, #3834);
- collapse: the quantizer uses a few codewords (code / prob perplexity);
- divergence: non-finite or exploding loss or gradient norm, fp16 loss scale at its floor
  (fairseq#1529, #2696);
- blank: CTC fine-tuning that outputs nothing after its frozen phase (fairseq#3004, #3425).
"""
import math
import statistics
from typing import List, Optional, Sequence

from xlsr_plugin.health.records import Finding, Record, RunSettings, Thresholds, finite

LAYER_NORM_RECIPE = (
    "model.extractor_mode=layer_norm model.layer_norm_first=true model.feature_grad_mult=1.0 "
    "criterion.loss_weights=[0.1,0] task.normalize=true"
)
# How many earlier records the explosion of the loss or gradient norm is measured against.
BASELINE_RECORDS = 20
PERPLEXITIES = ("code_perplexity", "prob_perplexity")


def warmup_end(train: Sequence[Record]) -> Optional[int]:
    """The update of the last record before the logged lr first stopped rising (the end of the
    warm-up); None while it still rises, or without lr."""
    lrs = [(r.update, r.get("lr")) for r in train if r.get("lr") is not None]
    for (update, lr), (_, next_lr) in zip(lrs, lrs[1:]):
        if next_lr <= lr:
            return update
    return None


def recent_mean(records: Sequence[Record], key: str) -> Optional[float]:
    values = [r.get(key) for r in records if finite(r.get(key))]
    return sum(values) / len(values) if values else None


def peak_lr(train: Sequence[Record]) -> str:
    lrs = [r.get("lr") for r in train if finite(r.get("lr"))]
    return f" (peak logged lr {max(lrs):g})" if lrs else ""


# -- pretraining at chance -----------------------------------------------------------------------

def detect_chance(train: Sequence[Record], run: RunSettings, th: Thresholds) -> List[Finding]:
    """Mean accuracy of the last `patience` records below (1 + margin) / (K+1), once the run is
    `chance_after` warm-ups in; per language (accuracy_<lang>) when the run as a whole is at
    twice that or more."""
    if not th.chance or not run.negatives or len(train) < th.patience:
        return []
    end = warmup_end(train)
    if end is None or train[-th.patience].update < th.chance_after * end:
        return []
    window, chance = train[-th.patience:], 1.0 / (run.negatives + 1)
    limit = (1.0 + th.chance_margin) * chance
    accuracy = recent_mean(window, "accuracy")
    if accuracy is None:
        return []
    where = (f"chance 1/(K+1) = 1/{run.negatives + 1} = {chance:.4f}, at chance below {limit:.4f}; "
             f"judged from update {th.chance_after * end:g}, {th.chance_after:g} x the warm-up of "
             f"{end} updates")
    if accuracy < limit:
        loss = recent_mean(window, "loss_0") or recent_mean(window, "loss")
        bits = f", loss {loss:.3f} bits (log2(K+1) = {math.log2(run.negatives + 1):.3f})" if loss else ""
        evidence = f"accuracy {accuracy:.4f} over the last {th.patience} logs{bits} ({where})"
        return [Finding("chance", "chance", train[-1].update, evidence, chance_causes(run, train))]
    if accuracy < 2 * limit:
        return []  # the run as a whole has not clearly left chance: no language stands out
    return [_language_at_chance(train[-1].update, lang, value, accuracy, where)
            for lang, value in language_accuracies(window).items() if value < limit]


def language_accuracies(window: Sequence[Record]) -> dict:
    langs = sorted({k[len("accuracy_"):] for r in window for k in r.values if k.startswith("accuracy_")})
    means = {lang: recent_mean(window, f"accuracy_{lang}") for lang in langs}
    return {lang: value for lang, value in means.items() if value is not None}


def _language_at_chance(update, lang, value, accuracy, where) -> Finding:
    evidence = f"language {lang}: accuracy_{lang} {value:.4f} while the run's is {accuracy:.4f} ({where})"
    causes = [
        f"{lang}'s audio: silence, noise, a wrong sample rate or channel count (16 kHz mono "
        f"expected), or labels of another language's files: listen to a few of DATA/{lang}/",
        f"too little of {lang} in the batches: task.sampling_alpha (lower gives the small "
        "languages more; 0.5 in the paper)",
    ]
    return Finding("chance", f"chance_{lang}", update, evidence, causes)


def chance_causes(run: RunSettings, train: Sequence[Record]) -> List[str]:
    recipe = ("the Base recipe (group-norm feature encoder, post-LN Transformer, feature "
              "gradient x0.1) stays at chance for long on new or small models and data")
    if run.extractor_mode == "layer_norm" and run.layer_norm_first:
        recipe = "the model already uses the layer-norm recipe; check the other causes first"
    causes = [f"{recipe}: use the layer-norm recipe of the Large / XLSR-53 configs, "
              f"{LAYER_NORM_RECIPE} (fairseq#3315; config/pretraining/xlsr_mini.yaml)"]
    if run.feature_grad_mult is not None and run.feature_grad_mult < 1:
        causes.append(f"model.feature_grad_mult={run.feature_grad_mult:g} scales the feature "
                      "encoder's gradient down: 1.0 with a layer-norm feature encoder")
    causes += [
        f"the learning rate, too low to leave chance or too high{peak_lr(train)}: optimization.lr, "
        "with a warm-up of a few percent of the run (lr_scheduler.warmup_updates)",
        "the data: silence, noise or a wrong sample rate (16 kHz mono expected); crops so short "
        "that masking covers them (task.min_sample_size, model.mask_prob)",
    ]
    return causes


# -- codebook collapse ---------------------------------------------------------------------------

def detect_collapse(train: Sequence[Record], run: RunSettings, th: Thresholds) -> List[Finding]:
    """code_perplexity or prob_perplexity, over each of the last `patience` records, below
    collapse_share x the codebook size, or below collapse_fall x its own peak so far."""
    if not th.collapse or len(train) < th.patience:
        return []
    for key in PERPLEXITIES:
        values = [r.get(key) for r in train if finite(r.get(key))]
        if len(values) < th.patience:
            continue
        recent, peak = max(values[-th.patience:]), max(values)
        if run.codebook and recent < th.collapse_share * run.codebook:
            evidence = (f"{key} {recent:g} (highest of the last {th.patience} logs) of a codebook of "
                        f"{run.codebook} (latent_vars x latent_groups; collapse below "
                        f"{th.collapse_share:g} x that)")
        elif recent < th.collapse_fall * peak:
            evidence = (f"{key} fell to {recent:g} (highest of the last {th.patience} logs) from a "
                        f"peak of {peak:g} (collapse below {th.collapse_fall:g} x the peak)")
        else:
            continue
        return [Finding("collapse", "collapse", train[-1].update, evidence, collapse_causes(train))]
    return []


def collapse_causes(train: Sequence[Record]) -> List[str]:
    accuracy = train[-1].get("accuracy")
    trivial = (f" (accuracy {accuracy:g}: with one codeword every distractor equals its target, "
               "so the contrastive task is trivial)" if finite(accuracy) and accuracy > 0.9 else "")
    return [
        f"the learning rate is too high{peak_lr(train)}{trivial}: lower optimization.lr, or "
        "lengthen lr_scheduler.warmup_updates",
        "the diversity loss is off or too weak: criterion.loss_weights=[0.1,...] (its first "
        "weight; 0.1 in the official configs) with criterion.log_keys holding prob_perplexity",
        "the Gumbel temperature anneals too fast: model.latent_temp=[2.0,0.5,0.999995] (start, "
        "end, decay per update; the paper's)",
    ]


# -- divergence ----------------------------------------------------------------------------------

def detect_divergence(train: Sequence[Record], run: RunSettings, th: Thresholds) -> List[Finding]:
    """The last record's loss or gnorm non-finite, or above divergence_factor x the median of
    the earlier records; or the fp16 loss scale at or below `loss_scale` in the last
    `patience` records (or fairseq's 'Minimum loss scale reached')."""
    if not th.divergence or not train:
        return []
    evidence = _exploding(train, th) or _loss_scale_floor(train, th)
    if evidence is None:
        return []
    return [Finding("divergence", "divergence", train[-1].update, evidence, divergence_causes(run, train))]


def _exploding(train: Sequence[Record], th: Thresholds) -> Optional[str]:
    last = train[-1]
    for key in ("loss", "gnorm"):
        value = last.get(key)
        if value is None:
            continue
        if not math.isfinite(value):
            return f"{key} is {value}"
        earlier = [r.get(key) for r in train[-BASELINE_RECORDS - 1:-1] if finite(r.get(key))]
        if earlier and value > th.divergence_factor * max(statistics.median(earlier), 1e-3):
            return (f"{key} {value:g}, over {th.divergence_factor:g} x the median of the "
                    f"{len(earlier)} logs before it ({statistics.median(earlier):g})")
    return None


def _loss_scale_floor(train: Sequence[Record], th: Thresholds) -> Optional[str]:
    last = train[-1]
    if last.get("min_loss_scale") is not None:
        return f"fairseq stopped: minimum loss scale reached ({last.get('min_loss_scale'):g})"
    scales = [r.get("loss_scale") for r in train[-th.patience:]]
    if len(scales) == th.patience and all(s is not None and s <= th.loss_scale for s in scales):
        return (f"fp16 loss scale {scales[-1]:g}, at or below {th.loss_scale:g} in the last "
                f"{th.patience} logs: gradients overflow at every scale")
    return None


def divergence_causes(run: RunSettings, train: Sequence[Record]) -> List[str]:
    causes = [f"the learning rate is too high{peak_lr(train)}: lower optimization.lr, or lengthen "
              "lr_scheduler.warmup_updates", "no gradient clipping: optimization.clip_norm (e.g. 10)"]
    if any(r.get("loss_scale") is not None for r in train):
        causes.append("fp16 overflows: common.amp=true or common.bf16=true, or fp32")
    if run.extractor_mode == "default" and (run.feature_grad_mult or 0) >= 1:
        causes.append("a group-norm feature encoder with model.feature_grad_mult=1.0: 0.1 in "
                      "the Base recipe, or the layer-norm recipe, " + LAYER_NORM_RECIPE)
    return causes


# -- fine-tuning outputs only blanks -------------------------------------------------------------

def detect_blank(valid: Sequence[Record], run: RunSettings, th: Thresholds) -> List[Finding]:
    """The last validation past model.freeze_finetune_updates: hypotheses that hold at most
    blank_output symbols per 100 reference symbols (hyp_len, logged by xlsr_finetuning: the
    rest is blank), or, without hyp_len (stock runs), uer from blank_uer to 100 (deletions)."""
    if not th.blank or not valid:
        return []
    last, frozen = valid[-1], run.freeze_finetune_updates or 0
    if last.update <= frozen:
        return []
    length, uer = last.get("hyp_len"), last.get("uer")
    subset = f"{last.subset}: " if last.subset else ""
    if length is not None and length <= th.blank_output:
        evidence = (f"{subset}the hypotheses hold {length:g} symbols per 100 of the references "
                    f"(at most {th.blank_output:g}: the rest is blank)")
        evidence += f", uer {uer:g}" if uer is not None else ""
    elif length is None and uer is not None and th.blank_uer <= uer <= 100:
        evidence = f"{subset}uer {uer:g} (from {th.blank_uer:g} to 100: the hypotheses miss almost every symbol)"
    else:
        return []
    return [Finding("blank", "blank", last.update, evidence, blank_causes(run, last.update))]


def blank_causes(run: RunSettings, update: int) -> List[str]:
    frozen = run.freeze_finetune_updates or 0
    causes = [
        f"too few updates: CTC outputs only blanks first and leaves that plateau some hundreds "
        f"to thousands of updates after the frozen phase; this run is {update - frozen} updates "
        f"past it (model.freeze_finetune_updates={frozen}): raise optimization.max_update",
        "the learning rate, too high (the model falls back to blanks) or too low: optimization.lr "
        "(official configs: 5e-5 to 3e-5 with the tri_stage schedule)",
        "the pretrained model never left the contrastive chance level: check its log with "
        "`python -m xlsr_plugin.health`",
    ]
    if not frozen:
        causes.insert(2, "the Transformer trained from the first update: model.freeze_finetune_updates "
                      "(10,000 in the official configs; the demo freezes the first quarter of its run)")
    if run.normalize is not None:
        causes.append(f"task.normalize={str(run.normalize).lower()} must match the pretraining "
                      "(false for Base, true for Large and XLSR-53)")
    return causes


TRAIN_DETECTORS = (detect_divergence, detect_chance, detect_collapse)
VALID_DETECTORS = (detect_blank,)
