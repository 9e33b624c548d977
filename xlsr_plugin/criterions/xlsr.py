"""Criterion `xlsr`: stock wav2vec 2.0 loss plus per-language metrics."""
from contextlib import contextmanager
from dataclasses import dataclass

from fairseq import utils
from fairseq.criterions import register_criterion
from fairseq.criterions.wav2vec_criterion import Wav2vecCriterion, Wav2VecCriterionConfig

from xlsr_plugin.criterions._language_metrics import (
    is_language_key,
    language_key,
    language_statistics,
    reduce_language_metrics,
)

# How many logging outputs a (summed) logging output stands for.
OUTPUTS_KEY = "_outputs"
# Log keys that stock wav2vec keeps as arrays (validation only): they cannot be summed.
ARRAY_LOG_KEYS = {"logits", "target"}
# What Wav2vecCriterion.reduce_metrics sums; it averages its other keys, except loss_*, over the
# logging outputs it is given.
STOCK_SUMMED_KEYS = {"loss", "ntokens", "nsentences", "sample_size", "correct", "count"}


@dataclass
class XlsrCriterionConfig(Wav2VecCriterionConfig):
    """Wav2VecCriterionConfig: contrastive loss with distractors (infonce), then diversity and
    feature penalties weighted by loss_weights."""


@contextmanager
def _captured_forward_output(model):
    """The model's output during the block: Wav2vecCriterion.forward keeps it to itself."""
    captured = {}
    handle = model.register_forward_hook(lambda module, inputs, output: captured.update(output=output))
    try:
        yield captured
    finally:
        handle.remove()


@register_criterion("xlsr", dataclass=XlsrCriterionConfig)
class XlsrCriterion(Wav2vecCriterion):
    """The loss is Wav2vecCriterion's, computed by it; batches with `sample["lang"]` (from the
    xlsr tasks) add loss_<lang>, accuracy_<lang> and code_ppl_<lang> to the log.

    Its logging outputs have the same keys and shapes on every batch and worker, so fairseq sums
    them and all-reduces a few kilobytes per update across workers, where stock wav2vec pickles
    every output through all_gather_list (common.all_gather_list_size)."""

    def forward(self, model, sample, reduce=True):
        with _captured_forward_output(model) as captured:
            loss, sample_size, logging_output = super().forward(model, sample, reduce)
        logging_output[OUTPUTS_KEY] = 1
        if reduce and "lang" in sample and not self.xla:
            key = language_key(self.task.languages)
            logging_output[key] = self._language_statistics(model, sample, captured["output"])
        return loss, sample_size, logging_output

    def _language_statistics(self, model, sample, net_output):
        quantizer = getattr(model, "quantizer", None)
        return language_statistics(
            logits=model.get_logits(net_output).float(),
            codes=net_output.get("codes"),
            batch_langs=sample["lang"],
            languages=len(self.task.languages),
            num_vars=quantizer.num_vars if quantizer is not None else 0,
            infonce=self.infonce,
        )

    def logging_outputs_can_be_summed(self) -> bool:
        return getattr(self, "xla", False) or not ARRAY_LOG_KEYS.intersection(self.log_keys)

    @staticmethod
    def reduce_metrics(logging_outputs) -> None:
        outputs = utils.item(sum(log.get(OUTPUTS_KEY, 1) for log in logging_outputs))
        # Stock reduce_metrics reads the other outputs only for the keys of the first one.
        first = {k: v for k, v in logging_outputs[0].items() if k != OUTPUTS_KEY and not is_language_key(k)}
        stock_outputs = [first, *logging_outputs[1:]]
        if 0 < outputs != len(stock_outputs):
            stock_outputs = _averaged_over(stock_outputs, outputs)
        Wav2vecCriterion.reduce_metrics(stock_outputs)
        reduce_language_metrics(logging_outputs)


def _averaged_over(stock_outputs, outputs):
    """Summed logging outputs for Wav2vecCriterion.reduce_metrics, which divides the keys it
    averages (prob_perplexity, temp, ...) by the number of outputs it is given: scaled so that
    they read as the mean over the `outputs` they stand for."""
    scale = len(stock_outputs) / outputs
    return [
        {k: v if k in STOCK_SUMMED_KEYS or k.startswith("loss") else v * scale for k, v in log.items()}
        for log in stock_outputs
    ]
