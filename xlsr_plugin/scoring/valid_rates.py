"""PER / CER at validation, counted with the units of the `per` and `cer` scorers, so that
`checkpoint.best_checkpoint_metric` can name the rate that is reported.

fairseq's `ctc` criterion logs `uer` over every target symbol (`|` included, which PER leaves
out) and `wer` over post-processed words; neither is PER. The fine-tuning task keeps the model
output of the criterion's own forward pass (a forward hook: no second pass), decodes it greedily
as the criterion does, and logs `per` (phn labels) or `cer` (ltr labels) from summed counts.
"""
from contextlib import contextmanager
from typing import Callable, Dict, List, Sequence, Tuple

import torch
from fairseq.logging import metrics

from xlsr_plugin.scoring.edit_counts import UNITS, Units, distance

# The units of the `per` scorer and of the `cer` scorer's default (word boundaries counted).
RATE_OF_LABELS: Dict[str, Tuple[str, Callable[[str, str], Units]]] = {
    "phn": ("per", UNITS["phone"]), "ltr": ("cer", UNITS["char"])}


def check_best_checkpoint_metric(metric: str, labels: str) -> None:
    """A rate of this module named by ``checkpoint.best_checkpoint_metric`` must be the one the
    labels log: fairseq looks the name up in the validation stats and would stop at the first
    validation with a bare ``KeyError: 'per'``."""
    labels_of_rate = {name: kind for kind, (name, _) in RATE_OF_LABELS.items()}
    logged = RATE_OF_LABELS.get(labels, (None,))[0]
    if metric not in labels_of_rate or metric == logged:
        return
    fix = logged or "uer or wer (the ctc criterion's) or loss"
    raise ValueError(
        f"checkpoint.best_checkpoint_metric={metric} is logged only with "
        f"task.labels={labels_of_rate[metric]}; with task.labels={labels} validation logs "
        f"{logged or 'neither per nor cer'}: pass checkpoint.best_checkpoint_metric={fix}"
    )


@contextmanager
def captured_outputs(model: torch.nn.Module):
    """The outputs of every ``model(...)`` call inside the block, in a list."""
    outputs: List = []
    handle = model.register_forward_hook(lambda module, args, output: outputs.append(output))
    try:
        yield outputs
    finally:
        handle.remove()


def greedy_units(model, net_output) -> List[torch.Tensor]:
    """Per utterance, the argmax CTC path with repeats merged (blanks still in), as fairseq's
    ctc criterion decodes for its `uer`."""
    lprobs = model.get_normalized_probs(net_output, log_probs=True).transpose(0, 1).float()
    padding = net_output.get("padding_mask")
    lengths = ((~padding).long().sum(-1) if padding is not None
               else torch.full((lprobs.size(0),), lprobs.size(1), dtype=torch.long))
    return [lp[:n].argmax(-1).unique_consecutive().cpu() for lp, n in zip(lprobs, lengths)]


def count_rate(logging_output: dict, model, net_output, targets: torch.Tensor, dictionary,
               blank: int, labels: str) -> None:
    """Add ``_<rate>_errors`` and ``_<rate>_units`` of one batch to ``logging_output``, and
    the symbols of the hypotheses and of the references (``_hyp_symbols``, ``_ref_symbols``:
    a CTC model stuck at its all-blank output emits few; run health)."""
    paths = greedy_units(model, net_output)
    logging_output["_hyp_symbols"] = sum(int((path != blank).sum()) for path in paths)
    logging_output["_ref_symbols"] = int(((targets != dictionary.pad()) & (targets != dictionary.eos())).sum())
    if labels not in RATE_OF_LABELS:
        return
    name, units_of = RATE_OF_LABELS[labels]
    errors = units = 0
    for path, target in zip(paths, targets):
        target = target[(target != dictionary.pad()) & (target != dictionary.eos())]
        # as fairseq-generate prints them: a reference's unknown symbol is `<<unk>>`, one unit
        reference, hypothesis = units_of(dictionary.string(target, escape_unk=True),
                                         dictionary.string(path[path != blank]))
        errors += distance(reference, hypothesis)
        units += len(reference)
    logging_output[f"_{name}_errors"] = errors
    logging_output[f"_{name}_units"] = units


def log_rates(logging_outputs: Sequence[dict]) -> None:
    """Corpus-level `per` / `cer` and `hyp_len` (hypothesis symbols per 100 reference
    symbols) from the counts summed over workers."""
    log_percent("hyp_len", "_hyp_symbols", "_ref_symbols", logging_outputs)
    for name, _ in RATE_OF_LABELS.values():
        log_percent(name, f"_{name}_errors", f"_{name}_units", logging_outputs)

def log_percent(name: str, count: str, total: str, logging_outputs: Sequence[dict]) -> None:
    """`name` = 100 x the summed `count` / the summed `total`, when the outputs carry them."""
    if not any(total in log for log in logging_outputs):
        return
    for key in (count, total):
        metrics.log_scalar(key, sum(log.get(key, 0) for log in logging_outputs))
    metrics.log_derived(name, lambda meters: round(100.0 * meters[count].sum / meters[total].sum, 3)
                        if meters[total].sum > 0 else float("nan"))
