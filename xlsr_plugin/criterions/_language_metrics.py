"""Per-language metrics of the xlsr criterion: contrastive loss, accuracy and code usage.

The criterion stores raw sums under private keys (`_lang:<lang>:<stat>`), summed over workers and
updates; the rates are derived from the sums (corpus level, as fairseq's ctc criterion does), and
code perplexity from the summed code counts of the whole logging interval.
"""
import math
from typing import Dict, Iterable, List, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from fairseq.logging import metrics
from fairseq.logging.meters import safe_round

PREFIX = "_lang:"
STATS = ("loss", "frames", "correct", "codes")


def _key(lang: str, stat: str) -> str:
    return f"{PREFIX}{lang}:{stat}"


def is_language_key(key: str) -> bool:
    return key.startswith(PREFIX)


def per_row_losses(logits: torch.Tensor, infonce: bool) -> torch.Tensor:
    """The contrastive loss of each row of `model.get_logits` (target: column 0)."""
    if infonce:
        target = logits.new_zeros(logits.size(0), dtype=torch.long)
        return F.cross_entropy(logits, target, reduction="none")
    target = torch.zeros_like(logits)
    target[:, 0] = 1
    return F.binary_cross_entropy_with_logits(logits, target, reduction="none").sum(-1)


def per_row_correct(logits: torch.Tensor) -> torch.Tensor:
    """Stock wav2vec accuracy: the positive scores highest and not also lowest (all equal)."""
    return (logits.argmax(-1) == 0) & ~(logits.argmin(-1) == 0)


def language_statistics(
    logits: torch.Tensor,
    codes: torch.Tensor,
    batch_langs: torch.Tensor,
    lang_names: Sequence[str],
    num_vars: int,
    infonce: bool,
) -> Dict[str, object]:
    """Raw per-language sums for one batch.

    logits: [frames * batch, 1 + distractors], row r belongs to item r % batch (get_logits order)
    codes: [batch, frames, groups] codeword choices, or None
    batch_langs: [batch] language ids
    """
    batch = batch_langs.numel()
    with torch.no_grad():
        row_langs = batch_langs.to(logits.device).repeat(logits.size(0) // batch)
        n = len(lang_names)
        per_row = torch.stack(
            [per_row_losses(logits, infonce), torch.ones_like(logits[:, 0]), per_row_correct(logits).float()],
            dim=1,
        ).double()
        # [language, (loss, frames, correct)], one scatter and one copy to the host
        sums = per_row.new_zeros(n, 3).index_add_(0, row_langs, per_row).cpu().numpy()
        code_counts = None
        if codes is not None:
            groups = codes.size(-1)
            frame_langs = batch_langs.to(codes.device).view(-1, 1, 1).expand_as(codes)
            flat = (frame_langs * groups + torch.arange(groups, device=codes.device)) * num_vars + codes
            code_counts = torch.bincount(flat.reshape(-1), minlength=n * groups * num_vars)
            # Tensors, not numpy arrays: the meters go into checkpoints, which fairseq reads back
            # with torch.load(weights_only=True).
            code_counts = code_counts.view(n, groups, num_vars).cpu().double()
    out = {}
    for lang_id in np.flatnonzero(sums[:, 1]):
        lang = lang_names[lang_id]
        out[_key(lang, "loss")] = float(sums[lang_id, 0])
        out[_key(lang, "frames")] = float(sums[lang_id, 1])
        out[_key(lang, "correct")] = float(sums[lang_id, 2])
        if code_counts is not None:
            out[_key(lang, "codes")] = code_counts[lang_id]
    return out


def code_perplexity(counts: np.ndarray) -> float:
    """Stock code_perplexity (sum over groups of exp entropy of the code choices) from counts."""
    probs = counts / np.maximum(counts.sum(-1, keepdims=True), 1)
    return float(np.exp(-(probs * np.log(probs + 1e-7)).sum(-1)).sum())


def languages_in(logging_outputs: Iterable[dict]) -> List[str]:
    return sorted({k.split(":")[1] for log in logging_outputs for k in log if is_language_key(k)})


def reduce_language_metrics(logging_outputs: List[dict]) -> None:
    """Log loss_<lang> (bits), accuracy_<lang> and code_ppl_<lang> for every language seen.

    A language seen earlier but not since the meters were last reset (a log interval, an epoch)
    shows nan: it had no frames there."""
    for lang in languages_in(logging_outputs):
        for stat in STATS:
            key = _key(lang, stat)
            values = [log[key] for log in logging_outputs if key in log]
            if values:
                metrics.log_scalar(key, sum(values))
        metrics.log_derived(f"loss_{lang}", _derived_loss(lang))
        metrics.log_derived(f"accuracy_{lang}", _derived_ratio(_key(lang, "correct"), _key(lang, "frames")))
        if any(_key(lang, "codes") in log for log in logging_outputs):
            metrics.log_derived(f"code_ppl_{lang}", _derived_perplexity(_key(lang, "codes")))


def _derived_loss(lang):
    loss, frames = _key(lang, "loss"), _key(lang, "frames")
    return lambda m: safe_round(m[loss].sum / m[frames].sum / math.log(2), 3) if m[frames].sum > 0 else float("nan")


def _derived_ratio(numerator, denominator):
    return lambda m: safe_round(m[numerator].sum / m[denominator].sum, 5) if m[denominator].sum > 0 else float("nan")


def _derived_perplexity(key):
    def perplexity(meters):
        counts = np.asarray(meters[key].sum, dtype=np.float64)
        return safe_round(code_perplexity(counts), 3) if counts.sum() > 0 else float("nan")

    return perplexity
