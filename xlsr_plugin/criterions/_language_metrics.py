"""Per-language metrics of the xlsr criterion: contrastive loss, accuracy and code usage.

Every logging output carries one float64 tensor [language, statistic] over all of the task's
languages, under one key that names them, the same on every worker and every batch. So fairseq
can sum the logging outputs of a worker and all-reduce them across workers (the criterion says
`logging_outputs_can_be_summed`) instead of pickling them through `all_gather_list`: one update
sends languages x (4 + G) x 8 bytes whatever update_freq and the number of GPUs. Every statistic
is an integer-valued or additive sum, so the reduced metrics are exact whatever the split of the
batches over workers; the rates are derived from the sums (corpus level, as fairseq's ctc
criterion does).

Code usage, `code_ppl_<lang>`: for each quantizer group, 1 / the probability that two frames of
two different utterances of the language pick the same codeword (the collision, or Rényi order 2,
perplexity: the effective number of codewords), summed over groups as stock `code_perplexity`
sums its groups. The collisions and the frame pairs are counted between the utterances of a
batch, which estimates that probability without bias whatever the window: unlike the entropy of
the codes counted over a logging interval, it does not drift with the number of frames the
interval holds (GPUs x log_interval, the language's share).
"""
import math
from typing import Dict, List, Sequence

import torch
import torch.nn.functional as F
from fairseq.logging import metrics
from fairseq.logging.meters import safe_round

PREFIX = "_lang_stats:"
# Columns of the statistics: then one column of code collisions per quantizer group.
LOSS, FRAMES, CORRECT, PAIRS, COLLISIONS = range(5)


def language_key(lang_names: Sequence[str]) -> str:
    """The logging key of the statistics: it names the languages of the rows."""
    return PREFIX + ",".join(lang_names)


def is_language_key(key: str) -> bool:
    return key.startswith(PREFIX)


def languages_of(key: str) -> List[str]:
    return key[len(PREFIX):].split(",")


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


def code_collisions(codes: torch.Tensor, batch_langs: torch.Tensor, languages: int, num_vars: int):
    """Ordered frame pairs [language] and same-codeword pairs [language, group] between
    different utterances of each language.

    codes: [batch, frames, groups] codeword choices; batch_langs: [batch] language ids.
    """
    batch, _, groups = codes.shape
    item_group = torch.arange(batch, device=codes.device).view(-1, 1, 1) * groups + torch.arange(
        groups, device=codes.device
    )
    flat = (item_group * num_vars + codes).reshape(-1)
    # Counts as float64: integer-valued and exact (2^53) however many batches are summed.
    per_item = torch.bincount(flat, minlength=batch * groups * num_vars).view(batch, groups, num_vars).double()
    per_lang = per_item.new_zeros(languages, groups, num_vars).index_add_(0, batch_langs, per_item)
    same_item = per_item.new_zeros(languages, groups).index_add_(0, batch_langs, per_item.square().sum(-1))
    collisions = per_lang.square().sum(-1) - same_item
    frames = per_item[:, 0].sum(-1)  # every frame picks one codeword per group
    lang_frames = frames.new_zeros(languages).index_add_(0, batch_langs, frames)
    pairs = lang_frames.square() - frames.new_zeros(languages).index_add_(0, batch_langs, frames.square())
    return pairs, collisions


def language_statistics(
    logits: torch.Tensor,
    codes: torch.Tensor,
    batch_langs: torch.Tensor,
    languages: int,
    num_vars: int,
    infonce: bool,
) -> torch.Tensor:
    """Per-language sums of one batch: float64 [languages, 4 + groups] on the CPU (columns LOSS,
    FRAMES, CORRECT, PAIRS, then COLLISIONS of each group; no code columns without `codes`).

    logits: [frames * batch, 1 + distractors], row r belongs to item r % batch (get_logits order)
    codes: [batch, frames, groups] codeword choices, or None
    batch_langs: [batch] language ids
    """
    batch = batch_langs.numel()
    with torch.no_grad():
        row_langs = batch_langs.to(logits.device).repeat(logits.size(0) // batch)
        per_row = torch.stack(
            [per_row_losses(logits, infonce), torch.ones_like(logits[:, 0]), per_row_correct(logits).float()],
            dim=1,
        ).double()
        sums = per_row.new_zeros(languages, 3).index_add_(0, row_langs, per_row)
        if codes is None:
            pairs = sums.new_zeros(languages, 1)
            collisions = sums.new_zeros(languages, 0)
        else:
            pairs, collisions = code_collisions(codes, batch_langs.to(codes.device), languages, num_vars)
            pairs = pairs.unsqueeze(1).to(sums.device)
            collisions = collisions.to(sums.device)
        # One copy to the host. A tensor, not a numpy array: the meters go into checkpoints,
        # which fairseq reads back with torch.load(weights_only=True).
        return torch.cat([sums, pairs, collisions], dim=1).cpu()


def collision_perplexity(pairs: float, collisions: Sequence[float]) -> float:
    """Sum over groups of pairs / collisions: nan without pairs or with a group that never
    collided (too few pairs to tell)."""
    if pairs <= 0 or min(collisions) <= 0:
        return float("nan")
    return float(sum(pairs / c for c in collisions))


def reduce_language_metrics(logging_outputs: List[dict]) -> None:
    """Log loss_<lang> (bits), accuracy_<lang> and code_ppl_<lang> for every language with
    frames in these outputs (summed by fairseq or not).

    A language seen earlier but not since the meters were last reset (a log interval, an epoch)
    shows nan: it had no frames there."""
    if not logging_outputs:
        return
    key = next((k for k in logging_outputs[0] if is_language_key(k)), None)
    if key is None:
        return
    # After an all-reduce the sum is on the GPU; the meters keep it on the CPU.
    total = torch.stack([log[key] for log in logging_outputs if key in log]).sum(0).to("cpu", torch.float64)
    metrics.log_scalar(key, total)
    has_codes = total.size(1) > COLLISIONS
    for row, (lang, frames) in enumerate(zip(languages_of(key), total[:, FRAMES].tolist())):
        if frames <= 0:
            continue
        metrics.log_derived(f"loss_{lang}", _derived_loss(key, row))
        metrics.log_derived(f"accuracy_{lang}", _derived_accuracy(key, row))
        if has_codes:
            metrics.log_derived(f"code_ppl_{lang}", _derived_perplexity(key, row))


def _derived_loss(key, row):
    def loss(meters):
        stats = meters[key].sum[row]
        return safe_round(float(stats[LOSS] / stats[FRAMES]) / math.log(2), 3) if stats[FRAMES] > 0 else float("nan")

    return loss


def _derived_accuracy(key, row):
    def accuracy(meters):
        stats = meters[key].sum[row]
        return safe_round(float(stats[CORRECT] / stats[FRAMES]), 5) if stats[FRAMES] > 0 else float("nan")

    return accuracy


def _derived_perplexity(key, row):
    def perplexity(meters):
        stats = meters[key].sum[row].tolist()
        return safe_round(collision_perplexity(stats[PAIRS], stats[COLLISIONS:]), 3)

    return perplexity


def statistics_by_language(logging_outputs: List[dict]) -> Dict[str, torch.Tensor]:
    """The summed statistics row of every language (for tests and benchmarks)."""
    key = next(k for k in logging_outputs[0] if is_language_key(k))
    total = sum(log[key] for log in logging_outputs if key in log)
    return dict(zip(languages_of(key), total))
