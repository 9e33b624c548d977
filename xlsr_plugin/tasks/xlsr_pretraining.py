"""Task `xlsr_pretraining`: wav2vec 2.0 pretraining on many languages with language-balanced
sampling (Conneau et al. 2020, section 3.2)."""
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import List

from fairseq.dataclass import ChoiceEnum
from fairseq.tasks import register_task
from fairseq.tasks.audio_pretraining import AudioPretrainingConfig, AudioPretrainingTask
from omegaconf import II

from xlsr_plugin.tasks._multilingual import MultilingualTaskMixin, check_supported_options
from xlsr_plugin.tasks._seeded_steps import SeededStepsMixin

SAMPLING_UNITS = ChoiceEnum(["hours", "utterances"])


@dataclass
class XlsrPretrainingConfig(AudioPretrainingConfig):
    langs: List[str] = field(
        default_factory=list,
        metadata={"help": "languages (folders DATA/<lang>/) to train on; empty: every language "
                  "folder that has the split"},
    )
    sampling_alpha: float = field(
        default=0.5,
        metadata={"help": "p_l ∝ (n_l/N)^alpha: 0.5 in the paper, 1 natural, 0 uniform"},
    )
    sampling_unit: SAMPLING_UNITS = field(
        default="hours", metadata={"help": "what n_l counts: hours of audio or utterances"}
    )
    train_subset: str = II("dataset.train_subset")


@register_task("xlsr_pretraining", dataclass=XlsrPretrainingConfig)
class XlsrPretrainingTask(SeededStepsMixin, MultilingualTaskMixin, AudioPretrainingTask):
    """Loads DATA/<lang>/<split>.tsv of every language as one dataset whose batches carry
    `sample["lang"]`; the training split is resampled by language every epoch."""

    cfg: XlsrPretrainingConfig

    def __init__(self, cfg: XlsrPretrainingConfig):
        check_supported_options(cfg)
        super().__init__(cfg)

    def load_dataset(self, split: str, task_cfg=None, **kwargs):
        task_cfg = task_cfg or self.cfg
        base, langs = self.split_languages(split)
        datasets = OrderedDict((lang, self.load_language_audio(lang, base, task_cfg)) for lang in langs)
        self.datasets[split] = self.combine_languages(split, datasets, alpha=self.cfg.sampling_alpha)
