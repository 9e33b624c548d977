"""What the pretraining and fine-tuning tasks share: languages, and per-language datasets that
become one MultilingualDataset (language-balanced on the training split)."""
import logging
from collections import OrderedDict
from typing import List

from fairseq.data.text_compressor import TextCompressionLevel

from xlsr_plugin.data.manifests import (
    ManifestError,
    discover_languages,
    hours_of,
    load_audio_manifest,
    manifest_path,
    split_and_languages,
)
from xlsr_plugin.data.multilingual_dataset import MultilingualDataset, raw_audio
from xlsr_plugin.tasks._evaluation_iterator import for_evaluation

logger = logging.getLogger(__name__)

# Stock audio_pretraining options that a per-language MultilingualDataset does not carry over.
UNSUPPORTED_OPTIONS = {
    "binarized_dataset": False,
    "multi_corpus_keys": None,
    "num_batch_buckets": 0,
    "precompute_mask_config": None,
    "subsample": 1,
}


def check_supported_options(cfg) -> None:
    for name, default in UNSUPPORTED_OPTIONS.items():
        value = getattr(cfg, name, default)
        if value != default:
            raise ValueError(
                f"task.{name}={value} is not supported by the multilingual tasks: "
                f"languages come from DATA/<lang>/ folders and task.langs (leave it at {default})"
            )


class MultilingualTaskMixin:
    """For a task whose cfg has data, langs, sampling_alpha, sampling_unit, train_subset, seed
    and the AudioPretrainingConfig fields."""

    _languages = None

    @property
    def languages(self) -> List[str]:
        """Every language of the task, in id order; read lazily so that the task can be set up
        without its data (a fine-tuning run loading a pretrained checkpoint)."""
        if self._languages is None:
            self._languages = list(self.cfg.langs) or discover_languages(self.cfg.data)
            if not self._languages:
                raise ManifestError(f"no DATA/<lang>/*.tsv manifests found under {self.cfg.data}")
        return self._languages

    def split_languages(self, split: str):
        """(manifest name, languages) of a fairseq split name (`valid`, `valid_fi`, ...)."""
        base, langs = split_and_languages(self.cfg.data, split, self.languages)
        if not self.cfg.langs and len(langs) > 1:
            langs = discover_languages(self.cfg.data, base)
        if not langs:
            raise ManifestError(f"split {split!r}: no DATA/<lang>/{base}.tsv under {self.cfg.data}")
        return base, langs

    def load_language_audio(self, lang: str, base: str, task_cfg):
        return load_audio_manifest(
            manifest_path(self.cfg.data, lang, base),
            lang,
            sample_rate=task_cfg.sample_rate,
            max_sample_size=self.cfg.max_sample_size,
            min_sample_size=self.cfg.min_sample_size,
            pad=task_cfg.labels is not None or task_cfg.enable_padding,
            normalize=task_cfg.normalize,
            text_compression_level=self.text_compression_level(),
        )

    def text_compression_level(self) -> TextCompressionLevel:
        return getattr(TextCompressionLevel, str(self.cfg.text_compression_level))

    def combine_languages(self, split: str, datasets: "OrderedDict", alpha=None) -> MultilingualDataset:
        """One dataset over the languages; resampled with `alpha` on the training split."""
        hours = [hours_of(raw_audio(d)) for d in datasets.values()]
        resample = alpha is not None and split == self.cfg.train_subset and len(datasets) > 1
        amounts = None
        if resample:
            amounts = hours if self.cfg.sampling_unit == "hours" else [len(d) for d in datasets.values()]
        logger.info(
            "%s: %d language(s), %.3f hours, %d utterances",
            split, len(datasets), sum(hours), sum(len(d) for d in datasets.values()),
        )
        return MultilingualDataset(
            datasets,
            lang_ids=[self.languages.index(lang) for lang in datasets],
            hours=hours,
            amounts=amounts,
            alpha=alpha if resample else None,
            seed=self.cfg.seed,
        )

    # -- batch iterators ----------------------------------------------------------------------

    def is_training_dataset(self, dataset) -> bool:
        return dataset is self.datasets.get(self.cfg.train_subset)

    def get_batch_iterator(self, dataset, **kwargs):
        """Evaluation subsets stop their DataLoader workers after each pass (training keeps
        fairseq's persistent ones): processes and descriptors stay bounded however many
        `valid_<lang>` subsets are validated."""
        iterator = super().get_batch_iterator(dataset, **kwargs)
        return iterator if self.is_training_dataset(dataset) else for_evaluation(iterator)
