"""What the pretraining and fine-tuning tasks share: languages, corpora, and per-language (per
corpus) datasets that become one MultilingualDataset (language-balanced on the training split)."""
import logging
import os
from collections import OrderedDict
from typing import List, Tuple

from fairseq.data.text_compressor import TextCompressionLevel

from xlsr_plugin.data.manifests import (
    ManifestError,
    discover_corpus_languages,
    hours_of,
    language_folder,
    load_audio_manifest,
    manifest_path,
    parse_split,
)
from xlsr_plugin.data.multilingual_dataset import MultilingualDataset, raw_audio, trained_hours
from xlsr_plugin.tasks._evaluation_iterator import for_evaluation
from xlsr_plugin.tasks._interpolated import configured

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


def language_list(text: str) -> List[str]:
    """Language codes from the command line: `ky,sv`, `[ky,sv]` or fairseq's list literal
    `"['ky', 'sv']"`."""
    codes = (code.strip(" '\"") for code in text.strip().strip("[]").split(","))
    return [code for code in codes if code]


def part_name(lang: str, corpus: str) -> str:
    """A part's name in logs and MultilingualDataset.names: `pl`, or `mls/pl` with corpora."""
    return f"{corpus}/{lang}" if corpus else lang


def valid_subsets(cfg) -> List[str]:
    """dataset.valid_subset as the task config sees it; [] for a task config built without the
    rest of the configuration (nothing to resolve it from)."""
    return [s for s in str(configured(cfg, "valid_subset") or "").split(",") if s]


def every_utterance(dataset, kwargs: dict) -> dict:
    """get_batch_iterator arguments that drop no utterance of an evaluation subset: fairseq's
    batch_by_size drops a last batch smaller than required_batch_size_multiple (8 by default:
    subsets scored short, and "The dataset is empty" for one that fits in a batch), and
    max_tokens below the longest utterance would skip it."""
    max_tokens = kwargs.get("max_tokens")
    longest = int(dataset.sizes.max()) if len(dataset) else 0
    if max_tokens is not None and max_tokens < longest:
        logger.info("evaluation: max_tokens %d raised to the longest utterance, %d samples",
                    max_tokens, longest)
        max_tokens = longest
    return {**kwargs, "max_tokens": max_tokens, "required_batch_size_multiple": 1}


class MultilingualTaskMixin:
    """For a task whose cfg has data, corpora, langs, sampling_alpha, corpus_alpha,
    sampling_unit, train_subset, seed and the AudioPretrainingConfig fields."""

    _languages = None

    @classmethod
    def add_args(cls, parser):
        """The argparse options of fairseq-train and fairseq-generate: fairseq reads a list
        option as a Python literal only (`--langs "['ky']"`); take `--langs ky,sv` as well."""
        super().add_args(parser)
        parser._option_string_actions["--langs"].type = language_list

    @property
    def corpora(self) -> List[str]:
        corpora = list(self.cfg.corpora)
        for corpus in corpora:
            if not corpus or "_" in corpus or "/" in corpus:
                raise ValueError(f"task.corpora={corpora}: {corpus!r} is not a corpus folder name "
                                 "(no '_', it separates <split>_<corpus>_<lang>)")
            if not os.path.isdir(os.path.join(self.cfg.data, corpus)):
                raise ManifestError(f"task.corpora: corpus folder {os.path.join(self.cfg.data, corpus)} "
                                    "does not exist")
        return corpora

    @property
    def languages(self) -> List[str]:
        """Every language of the task, in id order; read lazily so that the task can be set up
        without its data (a fine-tuning run loading a pretrained checkpoint)."""
        if self._languages is None:
            self._languages = list(self.cfg.langs) or discover_corpus_languages(self.cfg.data, self.corpora)
            if not self._languages:
                where = f"DATA/{{{','.join(self.corpora)}}}/<lang>" if self.corpora else "DATA/<lang>"
                raise ManifestError(f"no {where}/*.tsv manifests found under {self.cfg.data}")
        return self._languages

    def split_parts(self, split: str) -> Tuple[str, List[Tuple[str, str]]]:
        """(manifest name, [(language, corpus)]) of a fairseq split name (`valid`, `valid_fi`,
        `valid_mls_fi`...); the corpus is "" without task.corpora."""
        corpora = self.corpora
        base, langs, selected = parse_split(self.cfg.data, split, self.languages, corpora)
        if base == split:
            self._check_named_language(split, corpora)
        if not self.cfg.langs and len(langs) > 1:
            langs = discover_corpus_languages(self.cfg.data, corpora, base)
        if not langs:
            raise ManifestError(f"split {split!r}: no DATA/<lang>/{base}.tsv under {self.cfg.data}")
        if not corpora:
            return base, [(lang, "") for lang in langs]
        parts = [(lang, corpus) for lang in langs for corpus in selected
                 if os.path.isfile(manifest_path(self.cfg.data, lang, base, corpus))]
        missing = [lang for lang in langs if lang not in {p[0] for p in parts}]
        if missing:
            raise ManifestError(f"split {split!r}: no {base}.tsv for language(s) {missing} in "
                                f"task.corpora={selected} under {self.cfg.data}")
        return base, parts

    def _check_named_language(self, split: str, corpora: List[str]) -> None:
        """A split that names a language of DATA outside the task's languages (`test_pt` with
        --langs pl) would otherwise be read as a split of every language (pl/test_pt.tsv)."""
        stem, _, lang = split.rpartition("_")
        if not stem or lang in self.languages or not any(
                os.path.isdir(language_folder(self.cfg.data, lang, corpus)) for corpus in corpora or [""]):
            return
        raise ManifestError(
            f"split {split!r}: language {lang!r} is not among the task's languages "
            f"{self.languages} (task.langs / --langs); add it there, or leave --langs out to "
            "decode it with the model's dictionary")

    def load_language_audio(self, lang: str, base: str, task_cfg, corpus: str = "", replace_bad=False):
        return load_audio_manifest(
            manifest_path(self.cfg.data, lang, base, corpus),
            part_name(lang, corpus),
            sample_rate=task_cfg.sample_rate,
            max_sample_size=self.cfg.max_sample_size,
            min_sample_size=self.cfg.min_sample_size,
            pad=task_cfg.labels is not None or task_cfg.enable_padding,
            normalize=task_cfg.normalize,
            text_compression_level=self.text_compression_level(),
            replace_bad=replace_bad,
            seed=self.cfg.seed,
        )

    def text_compression_level(self) -> TextCompressionLevel:
        return getattr(TextCompressionLevel, str(self.cfg.text_compression_level))

    def combine_languages(self, split: str, datasets: "OrderedDict", alpha=None) -> MultilingualDataset:
        """One dataset over the (language, corpus) keys of `datasets`; resampled with `alpha`
        (and task.corpus_alpha within a language) on the training split."""
        self.warn_if_selection_is_partial(split, {lang for lang, _ in datasets})
        hours = [hours_of(raw_audio(d)) for d in datasets.values()]
        resample = alpha is not None and split == self.cfg.train_subset and len(datasets) > 1
        amounts = None
        if resample:  # hours as trained: each clip capped at the crop, max_sample_size
            amounts = [trained_hours(d) for d in datasets.values()] \
                if self.cfg.sampling_unit == "hours" else [len(d) for d in datasets.values()]
        logger.info(
            "%s: %d language(s), %d part(s), %.3f hours, %d utterances",
            split, len({lang for lang, _ in datasets}), len(datasets), sum(hours),
            sum(len(d) for d in datasets.values()),
        )
        return MultilingualDataset(
            OrderedDict((part_name(lang, corpus), d) for (lang, corpus), d in datasets.items()),
            lang_ids=[self.languages.index(lang) for lang, _ in datasets],
            hours=hours,
            amounts=amounts,
            alpha=alpha if resample else None,
            seed=self.cfg.seed,
            corpus_alpha=self.cfg.corpus_alpha,
        )

    def warn_if_selection_is_partial(self, split: str, langs) -> None:
        """fairseq selects checkpoint_best.pt (and stops early) on the first validation subset
        alone: say so when it holds some of the task's languages and others are validated."""
        subsets = valid_subsets(self.cfg)
        if len(subsets) < 2 or split != subsets[0] or len(langs) >= len(self.languages):
            return
        combined = self.split_parts(split)[0]
        logger.warning(
            "checkpoint_best.pt is selected on %s alone (%s of the task's %d languages): fairseq "
            "selects on the first of dataset.valid_subset=%s. To select over every language, "
            "put the combined subset first: dataset.valid_subset=%s,%s", split,
            ",".join(sorted(langs)), len(self.languages), ",".join(subsets), combined,
            ",".join(subsets))

    # -- batch iterators ----------------------------------------------------------------------

    def is_training_dataset(self, dataset) -> bool:
        return dataset is self.datasets.get(self.cfg.train_subset)

    def get_batch_iterator(self, dataset, **kwargs):
        """Evaluation subsets keep every utterance and stop their DataLoader workers after each
        pass (training keeps fairseq's persistent ones): processes and descriptors stay bounded
        however many `valid_<lang>` subsets are validated."""
        if self.is_training_dataset(dataset):
            return super().get_batch_iterator(dataset, **kwargs)
        return for_evaluation(super().get_batch_iterator(dataset, **every_utterance(dataset, kwargs)))
