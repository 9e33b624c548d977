"""Task `xlsr_pretraining`: wav2vec 2.0 pretraining on many languages (and corpora) with
language-balanced sampling (Conneau et al. 2020, section 3.2; corpora within a language: XLS-R,
Babu et al. 2021). A bad audio file is replaced, logged once and counted (`bad_audio`)."""
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import List, Optional

from fairseq.dataclass import ChoiceEnum
from fairseq.logging import metrics
from fairseq.tasks import register_task
from fairseq.tasks.audio_pretraining import AudioPretrainingConfig, AudioPretrainingTask
from omegaconf import II

from xlsr_plugin.data.bad_audio import BadAudioLog
from xlsr_plugin.data.multilingual_dataset import raw_audio
from xlsr_plugin.tasks._checkpoints import CheckpointPolicyMixin
from xlsr_plugin.tasks._health_hooks import HealthConfig, HealthHooksMixin
from xlsr_plugin.tasks._multilingual import MultilingualTaskMixin, check_supported_options
from xlsr_plugin.tasks._seeded_steps import SeededStepsMixin
from xlsr_plugin.user_paths import resolve_user_paths

SAMPLING_UNITS = ChoiceEnum(["hours", "utterances"])


@dataclass
class XlsrPretrainingConfig(AudioPretrainingConfig, HealthConfig):
    corpora: List[str] = field(
        default_factory=list,
        metadata={"help": "corpus folders DATA/<corpus>/ (each a DATA folder of per-language "
                  "folders) trained on together, e.g. [cv,mls,babel]; empty: DATA is one corpus"},
    )
    langs: List[str] = field(
        default_factory=list,
        metadata={"help": "languages (folders DATA/<lang>/) to train on; empty: every language "
                  "folder that has the split"},
    )
    sampling_alpha: float = field(
        default=0.5,
        metadata={"help": "p_l ∝ (n_l/N)^alpha: 0.5 in the paper, 1 natural, 0 uniform"},
    )
    corpus_alpha: float = field(
        default=1.0,
        metadata={"help": "corpora within a language: q_c ∝ (n_c/n_l)^corpus_alpha; 1 pools "
                  "them (XLSR-53), < 1 up-samples a language's smaller corpora (XLS-R)"},
    )
    bad_audio_max_share: float = field(
        default=0.01,
        metadata={"help": "pretraining replaces a missing, unreadable or truncated file by "
                  "another utterance of its manifest; more than this share of one manifest "
                  "bad stops the run with the list"},
    )
    sampling_unit: SAMPLING_UNITS = field(
        default="hours", metadata={"help": "what n_l counts: hours of audio as trained (each "
                                   "clip capped at max_sample_size; clips under min_sample_size "
                                   "left out) or utterances"}
    )
    train_subset: str = II("dataset.train_subset")
    # Read, not set, here (no help text: fairseq adds no second command-line option): the
    # first validation subset selects checkpoint_best.pt; where fairseq saves and resumes, for
    # the resume from the newest checkpoint that loads; fairseq-generate's --path, checked
    # against the loading policy before fairseq reads it.
    valid_subset: str = II("dataset.valid_subset")
    save_dir: str = II("checkpoint.save_dir")
    restore_file: str = II("checkpoint.restore_file")
    eval_path: Optional[str] = II("common_eval.path")


@register_task("xlsr_pretraining", dataclass=XlsrPretrainingConfig)
class XlsrPretrainingTask(CheckpointPolicyMixin, HealthHooksMixin, SeededStepsMixin,
                          MultilingualTaskMixin, AudioPretrainingTask):
    """Loads DATA/<lang>/<split>.tsv (DATA/<corpus>/<lang>/<split>.tsv of each of task.corpora)
    of every language as one dataset whose batches carry `sample["lang"]`; the training split is
    resampled by language every epoch. Warns when the run does not learn (health_*)."""

    cfg: XlsrPretrainingConfig

    def __init__(self, cfg: XlsrPretrainingConfig):
        check_supported_options(cfg)
        resolve_user_paths(cfg, "data")
        super().__init__(cfg)
        self.bad_audio_log = BadAudioLog(cfg.bad_audio_max_share)

    def load_dataset(self, split: str, task_cfg=None, **kwargs):
        task_cfg = task_cfg or self.cfg
        base, parts = self.split_parts(split)
        datasets = OrderedDict(
            ((lang, corpus), self.load_language_audio(lang, base, task_cfg, corpus, replace_bad=True))
            for lang, corpus in parts
        )
        for dataset in datasets.values():
            self.bad_audio_log.add_manifest(raw_audio(dataset).manifest_path, len(dataset))
        self.datasets[split] = self.combine_languages(split, datasets, alpha=self.cfg.sampling_alpha)

    # -- bad audio: read in loader workers, reported through the batches ------------------------

    def replaced_audio(self, sample) -> int:
        """Logs the bad files a batch met (each once, and fails past bad_audio_max_share);
        returns how many of its utterances were replaced."""
        if not sample:
            return 0
        self.bad_audio_log.record(sample.get("bad_audio", ()))
        return int(sample.get("replaced_audio", 0))

    def train_step(self, sample, model, criterion, optimizer, update_num, ignore_grad=False):
        replaced = 0 if ignore_grad else self.replaced_audio(sample)  # (a dummy batch is ignored)
        loss, sample_size, logging_output = super().train_step(
            sample, model, criterion, optimizer, update_num, ignore_grad)
        logging_output["bad_audio"] = replaced
        return loss, sample_size, logging_output

    def valid_step(self, sample, model, criterion):
        replaced = self.replaced_audio(sample)
        loss, sample_size, logging_output = super().valid_step(sample, model, criterion)
        logging_output["bad_audio"] = replaced
        return loss, sample_size, logging_output

    def reduce_metrics(self, logging_outputs, criterion):
        # Summed here: the stock wav2vec criterion would average any key it does not know.
        super().reduce_metrics(
            [{k: v for k, v in log.items() if k != "bad_audio"} for log in logging_outputs], criterion)
        metrics.log_scalar_sum("bad_audio", sum(log.get("bad_audio", 0) for log in logging_outputs))
