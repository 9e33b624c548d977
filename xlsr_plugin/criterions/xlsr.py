"""Criterion `xlsr`: stock wav2vec 2.0 loss plus per-language metrics."""
from contextlib import contextmanager
from dataclasses import dataclass

from fairseq.criterions import register_criterion
from fairseq.criterions.wav2vec_criterion import Wav2vecCriterion, Wav2VecCriterionConfig

from xlsr_plugin.criterions._language_metrics import (
    is_language_key,
    language_statistics,
    reduce_language_metrics,
)


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
    xlsr tasks) add loss_<lang>, accuracy_<lang> and code_ppl_<lang> to the log."""

    def forward(self, model, sample, reduce=True):
        with _captured_forward_output(model) as captured:
            loss, sample_size, logging_output = super().forward(model, sample, reduce)
        if reduce and "lang" in sample and not self.xla:
            logging_output.update(self._language_statistics(model, sample, captured["output"]))
        return loss, sample_size, logging_output

    def _language_statistics(self, model, sample, net_output):
        quantizer = getattr(model, "quantizer", None)
        return language_statistics(
            logits=model.get_logits(net_output).float(),
            codes=net_output.get("codes"),
            batch_langs=sample["lang"],
            lang_names=self.task.languages,
            num_vars=quantizer.num_vars if quantizer is not None else 0,
            infonce=self.infonce,
        )

    @staticmethod
    def reduce_metrics(logging_outputs) -> None:
        stock_outputs = [{k: v for k, v in log.items() if not is_language_key(k)} for log in logging_outputs]
        Wav2vecCriterion.reduce_metrics(stock_outputs)
        reduce_language_metrics(logging_outputs)
